//! `envaudit lint`: findings about a definition.
