fn main() -> std::process::ExitCode {
    stack_status::main()
}
