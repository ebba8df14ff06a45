fn main() -> std::process::ExitCode {
    envaudit::cli::main()
}
