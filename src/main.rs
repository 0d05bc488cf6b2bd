use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rwdoctor::cli::Cli::from_env();
    rwdoctor::report::human::set_layout(cli.detail(), rwdoctor::cli::report_width());
    ExitCode::from(rwdoctor::app::run(&cli))
}
