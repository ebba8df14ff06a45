//! envaudit: audit and lock machine-learning training environments.
//!
//! The library never prints and never exits; the `envaudit` binary (`cli`) does both.

pub mod analysis;
pub mod azureml;
pub mod build;
pub mod catalog;
pub mod cli;
pub mod conda;
pub mod config;
pub mod definition;
pub mod diag;
pub mod fuzz;
pub mod hash;
pub mod image;
pub mod layer;
pub mod lock;
pub mod lockfile;
pub mod model;
pub mod python;
pub mod registry;
pub mod render;
pub mod rewrite;
pub mod scan;
pub mod source;
pub mod version;
