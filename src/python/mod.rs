//! Python packaging standards: PEP 440 versions, PEP 508 requirements and their environment
//! markers.

pub mod marker;
pub mod pep508;
pub mod version;
