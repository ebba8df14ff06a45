//! `envaudit.toml`: project settings, found by walking up from the current folder.
