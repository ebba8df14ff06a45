//! envaudit's integration tests: one binary, shared helpers in `support`.

mod azureml;
mod azureml_stress;
mod build;
mod catalog;
mod catalog_cli;
mod catalog_venv;
mod cli;
mod corpus;
mod drift;
mod faults;
mod fuzz_replay;
mod hash;
mod integrity;
mod lint;
mod local_image;
mod lock;
mod pin;
mod predict;
mod predict_image_config;
mod predict_rebuild;
mod pyindex;
mod registry;
mod report;
mod support;
