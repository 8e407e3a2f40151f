fn main() -> std::process::ExitCode {
    kit::run::<core_up::CoreUp>()
}
