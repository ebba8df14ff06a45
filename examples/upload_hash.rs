//! Prints azure-ai-ml's upload hash (`get_object_hash`) of a build context.
//!
//! `cargo run --release --example upload_hash -- DIR`

// a command-line example: printing is its job
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: upload_hash DIR");
        return ExitCode::from(2);
    };
    match envaudit::azureml::upload_hash(&dir) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot hash `{}`: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
