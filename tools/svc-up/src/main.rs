fn main() -> std::process::ExitCode {
    kit::run::<svc_up::SvcUp>()
}
