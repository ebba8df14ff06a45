//! The command-line interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
