fn main() -> std::process::ExitCode {
    kit::run::<db_up::DbUp>()
}
