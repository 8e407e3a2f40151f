fn main() -> std::process::ExitCode {
    kit::run::<secrets_init::SecretsInit>()
}
