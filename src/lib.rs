//! envaudit: audit and lock machine-learning training environments.
//!
//! The library never prints and never exits; the `envaudit` binary (`cli`) does both.

pub mod audit;
pub mod azureml;
pub mod build;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod definition;
pub mod diag;
pub mod diff;
pub mod drift;
pub mod export;
pub mod fuzz;
pub mod graph;
pub mod hash;
pub mod image;
pub mod layer;
pub mod lint;
pub mod lockfile;
pub mod marker;
pub mod model;
pub mod pin;
pub mod pinning;
pub mod registry;
pub mod report;
pub mod source;
pub mod version;
