fn main() -> std::process::ExitCode {
    kit::run::<alb_up::AlbUp>()
}
