//! The `envaudit` binary: the command line lives in the library's `cli` module, which parses
//! arguments, prints and picks the exit code; this only calls it.

fn main() -> std::process::ExitCode {
    envaudit::cli::main()
}
