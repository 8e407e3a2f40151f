fn main() -> std::process::ExitCode {
    kit::run::<slr_check::SlrCheck>()
}
