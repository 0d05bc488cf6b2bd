//! The command line run: a subcommand, `--follow`, or a batch scan whose
//! analysis is written to every output. What a run is lives in `pipeline`;
//! what it found, in `analysis`.
use crate::analysis::{add_errors, EXIT_ERROR};
use crate::cli::Cli;
use crate::matcher::Matcher;
use crate::pipeline::{self, Inputs};
use crate::progress::Progress;
use crate::report::{self, sink::Sink};
use crate::rules::RuleSet;
use std::io::IsTerminal;

/// Runs the command line; returns the exit code.
pub fn run(cli: &Cli) -> u8 {
    match &cli.command {
        Some(command) => crate::subcommands::run(command, cli),
        None => match cli.request(chrono::Utc::now().fixed_offset()) {
            Ok(request) if reads_a_terminal(&request.paths, std::io::stdin().is_terminal()) => {
                crate::messages::say(TERMINAL_HINT);
                run_request(cli, &request)
            }
            Err(err) => {
                crate::messages::say(err);
                EXIT_ERROR
            }
            Ok(request) => run_request(cli, &request),
        },
    }
}

fn run_request(cli: &Cli, request: &pipeline::Request) -> u8 {
    if cli.follow {
        crate::follow::run(cli, request)
    } else {
        diagnose(cli, request)
    }
}

const TERMINAL_HINT: &str = "reading logs from the terminal: paste them and press Ctrl-D to end, \
     or pipe them in (`kubectl logs rw-meta-0 | rwdoctor`) or name files (`rwdoctor meta.log`)";

/// Whether stdin is read (no path, or `-`) and is a terminal: a user who
/// typed `rwdoctor` alone would otherwise wait on a silent prompt.
fn reads_a_terminal(paths: &[std::path::PathBuf], stdin_is_terminal: bool) -> bool {
    stdin_is_terminal && (paths.is_empty() || paths.iter().any(|p| p.as_os_str() == "-"))
}

/// Scans every input, then writes every report.
fn diagnose(cli: &Cli, request: &pipeline::Request) -> u8 {
    let rules = RuleSet::load_with(!cli.no_builtin_rules, &cli.rules_dirs);
    // Inputs first: a report file is compared with every one of them.
    // A previous report in an input directory is not read (this run
    // replaces it); any other file there is an input, and refused as output.
    let inputs = Inputs::expand_skipping(
        &request.paths,
        &report::sink::previous_reports(&cli.outputs),
    );
    let (mut sinks, output_errors) = Sink::open_all(
        &cli.outputs,
        |tty| cli.color.enabled(tty),
        &inputs.specs,
        false,
    );
    let progress = Progress::on_terminal(&inputs.specs);
    let matcher = Matcher::new_compiling_ahead(&rules);
    let mut analysis =
        pipeline::analyse_inputs(request, inputs, &rules, &matcher, progress.as_ref());
    if let Some(progress) = &progress {
        progress.clear();
    }
    add_errors(&mut analysis.summary, output_errors);
    let context = report::Context {
        rules: &rules,
        fail_on: request.fail_on,
    };
    report::write_all(&mut analysis, &mut sinks, &mut |sink, analysis| {
        report::render(sink.format, analysis, &context, sink.color)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_terminal_on_stdin_is_said_only_when_stdin_is_read() {
        assert!(reads_a_terminal(&[], true));
        assert!(reads_a_terminal(&[PathBuf::from("-")], true));
        assert!(!reads_a_terminal(&[], false));
        assert!(!reads_a_terminal(&[PathBuf::from("meta.log")], true));
    }
}
