fn main() -> std::process::ExitCode {
    kit::run::<pipeline_up::PipelineUp>()
}
