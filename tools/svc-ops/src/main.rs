fn main() -> std::process::ExitCode {
    svc_ops::main()
}
