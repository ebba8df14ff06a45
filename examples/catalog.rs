//! Prints the catalog of a local folder, or of layer files (tar, tar.gz, tar.zst, bottom
//! first), as JSON: a stand-in for `envaudit catalog` until the CLI has it, and the
//! program the catalog benchmarks time.
//!
//! `cargo run --release --example catalog -- DIR`
//! `cargo run --release --example catalog -- LAYER...`

// a command-line example: printing is its job
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.is_empty() {
        eprintln!("usage: catalog DIR | catalog LAYER...");
        return ExitCode::from(2);
    }
    let catalog = if args.len() == 1 && args[0].is_dir() {
        envaudit::catalog::catalog_folder(&args[0])
    } else {
        let mut readers = Vec::new();
        for a in &args {
            match std::fs::File::open(a) {
                Ok(f) => readers.push(std::io::BufReader::with_capacity(256 * 1024, f)),
                Err(e) => {
                    eprintln!("error: cannot open `{}`: {e}", a.display());
                    return ExitCode::from(2);
                }
            }
        }
        envaudit::catalog::catalog_layers(readers)
    };
    match serde_json::to_string_pretty(&catalog) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
