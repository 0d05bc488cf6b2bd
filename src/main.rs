use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rwdoctor::cli::Cli::from_env();
    ExitCode::from(rwdoctor::app::run(&cli))
}
