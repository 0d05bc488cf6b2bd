use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rwdoctor::cli::Cli::parse();
    let code = rwdoctor::app::run(&cli);
    ExitCode::from(code)
}
