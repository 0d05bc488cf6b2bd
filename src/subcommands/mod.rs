//! The subcommands besides diagnosing logs: rule tools for authors
//! (`rules list|show|test|lint`, `explain`) and install helpers
//! (`completions`, `man`). Each prints to stdout and returns an exit code.
mod explain;
mod man;
mod rules;
mod templates;

use crate::cli::{Cli, Command, RulesCommand};
use crate::report::write_stdout;

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
            clap_complete::generate(*shell, &mut completion_command(), "rwdoctor", &mut script);
            write_stdout(&String::from_utf8_lossy(&script));
            crate::analysis::EXIT_CLEAN
        }
        Command::Man => {
            write_stdout(&man::page(&Cli::command_with_version()));
            crate::analysis::EXIT_CLEAN
        }
    }
}

/// The command line as completion scripts see it: the rule ids of the
/// built-in pack offered after `explain` and `rules show` (only there: a
/// rule of `--rules DIR` is still accepted when typed).
fn completion_command() -> clap::Command {
    let ids: Vec<&'static str> = crate::rules::builtin_rule_files()
        .iter()
        .filter_map(|file| {
            let value: serde_json::Value = serde_json::from_str(&file.text).ok()?;
            let id = value["id"].as_str()?.to_string();
            // Once per process (a completion script is printed and done).
            Some(&*Box::leak(id.into_boxed_str()))
        })
        .collect();
    let with_ids =
        |arg: clap::Arg| arg.value_parser(clap::builder::PossibleValuesParser::new(ids.clone()));
    Cli::command_with_version()
        .mut_subcommand("explain", |c| c.mut_arg("id", with_ids))
        .mut_subcommand("rules", |c| {
            c.mut_subcommand("show", |c| c.mut_arg("id", with_ids))
        })
}

/// The rule `id` (in any case), or a message naming the ids that come
/// closest.
fn find_rule<'a>(
    rules: &'a crate::rules::RuleSet,
    id: &str,
) -> Result<&'a crate::rules::Rule, String> {
    if let Some(rule) = rules.get(id).or_else(|| {
        rules
            .rules
            .iter()
            .rev() // a rule of --rules replaces a built-in one of the same id
            .find(|r| r.id.eq_ignore_ascii_case(id))
    }) {
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
