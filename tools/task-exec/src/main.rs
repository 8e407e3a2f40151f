fn main() -> std::process::ExitCode {
    task_exec::main()
}
