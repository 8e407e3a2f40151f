fn main() -> std::process::ExitCode {
    stack_run::main()
}
