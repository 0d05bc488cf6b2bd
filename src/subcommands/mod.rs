//! The subcommands besides diagnosing logs: rule tools for authors
//! (`rules list|show|test|lint`, `explain`) and install helpers
//! (`completions`, `man`). Each prints to stdout and returns an exit code.
mod explain;
mod rules;
mod templates;

use crate::cli::{Cli, Command, RulesCommand};
use crate::report::write_stdout;
use clap::CommandFactory;

pub fn run(command: &Command, cli: &Cli) -> u8 {
    match command {
        Command::Rules { action } => match action {
            RulesCommand::List => rules::list(cli),
            RulesCommand::Show { id } => rules::show(cli, id),
            RulesCommand::Test { dir } => rules::test(cli, dir.as_deref()),
            RulesCommand::Lint { dir } => rules::lint(cli, dir.as_deref()),
        },
        Command::Explain { id } => explain::run(cli, id),
        Command::Templates {
            paths,
            all_levels,
            lines,
            merge,
            baseline,
            fail_on_new,
            format,
        } => templates::run(&templates::Options {
            paths,
            all_levels: *all_levels,
            lines: *lines,
            merge: *merge,
            baseline,
            fail_on_new: *fail_on_new,
            format: *format,
        }),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "rwdoctor", &mut script);
            write_stdout(&String::from_utf8_lossy(&script));
            crate::analysis::EXIT_CLEAN
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    write_stdout(&String::from_utf8_lossy(&page));
                    crate::analysis::EXIT_CLEAN
                }
                Err(err) => {
                    crate::messages::say(format!("rendering the man page: {err}"));
                    crate::analysis::EXIT_ERROR
                }
            }
        }
    }
}

/// The rule `id`, or a message naming the ids that come closest.
fn find_rule<'a>(
    rules: &'a crate::rules::RuleSet,
    id: &str,
) -> Result<&'a crate::rules::Rule, String> {
    if let Some(rule) = rules.get(id) {
        return Ok(rule);
    }
    let words: Vec<&str> = id.split('-').filter(|w| w.len() > 2).collect();
    let close: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|known| words.iter().any(|w| known.contains(w)))
        .collect();
    let hint = if close.is_empty() {
        "`rwdoctor rules list` shows every rule".to_string()
    } else {
        format!("did you mean {}?", close.join(", "))
    };
    Err(format!("no rule `{id}` is loaded; {hint}"))
}
