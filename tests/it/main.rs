//! envaudit's integration tests: one binary, shared helpers in `support`.

mod azureml;
mod catalog;
mod cli;
mod corpus;
mod fuzz_replay;
mod hash;
mod lint;
mod support;
