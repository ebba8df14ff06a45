//! envaudit's integration tests: one binary, shared helpers in `support`.

mod cli;
mod corpus;
mod hash;
mod lint;
mod support;
