fn main() -> std::process::ExitCode {
    kit::run::<ecr_up::EcrUp>()
}
