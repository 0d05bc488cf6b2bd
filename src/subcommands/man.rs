//! `rwdoctor man`: the man page, in roff, for `man -l -`. Written here rather
//! than by clap_mangen, which puts the help epilogue under a section "EXTRA",
//! fills the exit-code table into one paragraph, and points at subcommand
//! pages that do not exist. The options come from the command line's own
//! definition, so they cannot drift from `--help`.
use clap::{Arg, ArgAction, Command};
use std::fmt::Write;

/// The whole page.
pub fn page(command: &Command) -> String {
    let mut out = String::new();
    let version = command.get_version().unwrap_or("");
    let _ = writeln!(
        out,
        ".TH RWDOCTOR 1 \"\" \"rwdoctor {}\" \"User Commands\"",
        escape(version)
    );
    // No hyphenation: commands and flags are copied from the page.
    out.push_str(".nh\n.SH NAME\n");
    let about = command
        .get_about()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "rwdoctor \\- {}", escape(&about));

    out.push_str(".SH SYNOPSIS\n");
    let synopsis = [
        "\\fBrwdoctor\\fR [\\fIOPTIONS\\fR] [\\fIPATH\\fR...]",
        "\\fBrwdoctor\\fR \\fB\\-\\-follow\\fR [\\fIOPTIONS\\fR] [\\fIPATH\\fR]",
        "\\fBrwdoctor rules\\fR \\fBlist\\fR | \\fBshow\\fR \\fIRULE\\fR | \\fBtest\\fR [\\fIDIR\\fR] | \\fBlint\\fR [\\fIDIR\\fR]",
        "\\fBrwdoctor explain\\fR \\fIRULE\\fR",
        "\\fBrwdoctor completions\\fR \\fISHELL\\fR",
        "\\fBrwdoctor man\\fR",
    ];
    for (i, line) in synopsis.iter().enumerate() {
        if i > 0 {
            out.push_str(".br\n");
        }
        let _ = writeln!(out, "{line}");
    }

    out.push_str(".SH DESCRIPTION\n");
    let long = command
        .get_long_about()
        .or(command.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "{}", escape(&long));
    out.push_str(".PP\nThe default report gives the verdict first, then a short block per problem (when, the likely cause and why, the first actions, evidence), then the verdict again; \\fB\\-v\\fR shows every timeline, cause and input, \\fB\\-q\\fR the closing verdict only.\n");

    out.push_str(".SH OPTIONS\n");
    for arg in command.get_arguments() {
        if arg.is_hide_set() || arg.is_positional() {
            continue;
        }
        render_option(&mut out, arg);
    }
    out.push_str(".TP\n\\fIPATH\\fR...\n");
    let paths = command
        .get_arguments()
        .find(|a| a.is_positional())
        .and_then(|a| a.get_help().map(|h| h.to_string()))
        .unwrap_or_default();
    let _ = writeln!(out, "{}", escape(&paths));

    out.push_str(".SH SUBCOMMANDS\n");
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let children: Vec<&Command> = sub.get_subcommands().collect();
        if children.is_empty() {
            let args: Vec<String> = sub
                .get_arguments()
                .filter(|a| a.is_positional())
                .map(|a| format!(" \\fI{}\\fR", value_name(a)))
                .collect();
            let _ = writeln!(
                out,
                ".TP\n\\fBrwdoctor {}\\fR{}",
                sub.get_name(),
                args.join("")
            );
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(out, "{}", escape(&about));
        } else {
            for child in children {
                if child.get_name() == "help" {
                    continue;
                }
                let args: Vec<String> = child
                    .get_arguments()
                    .filter(|a| a.is_positional())
                    .map(|a| {
                        if a.is_required_set() {
                            format!(" \\fI{}\\fR", value_name(a))
                        } else {
                            format!(" [\\fI{}\\fR]", value_name(a))
                        }
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    ".TP\n\\fBrwdoctor {} {}\\fR{}",
                    sub.get_name(),
                    child.get_name(),
                    args.join("")
                );
                let about = child
                    .get_long_about()
                    .or(child.get_about())
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let _ = writeln!(out, "{}", escape(&about));
            }
        }
    }

    out.push_str(".SH EXIT STATUS\n");
    for (code, meaning) in [
        ("0", "Scanned; nothing at or above \\fB\\-\\-fail\\-on\\fR."),
        ("1", "A finding at or above \\fB\\-\\-fail\\-on\\fR (default: error). \\fBrules test\\fR and \\fBrules lint\\fR: a test failed or a rule has an error."),
        ("2", "An input could not be read, an argument or rule is invalid, or a report could not be written (the readable inputs are still scanned and reported)."),
        ("3", "Inconclusive: nothing could be checked (not one line looked like a RisingWave or etcd log)."),
    ] {
        let _ = writeln!(out, ".TP\n.B {code}\n{meaning}");
    }
    out.push_str(".PP\nWhen several apply: 2, then 1, then 3, then 0.\n");

    out.push_str(".SH ENVIRONMENT\n");
    for (name, meaning) in [
        ("NO_COLOR", "When non-empty, \\fB\\-\\-color auto\\fR does not colour."),
        ("CLICOLOR_FORCE", "When non-empty and not 0, \\fB\\-\\-color auto\\fR colours even into a pipe (it wins over NO_COLOR)."),
        ("TERM", "\\fBdumb\\fR turns colour off."),
        ("COLUMNS", "The width of the human report (at least 80); without it, the terminal's width."),
    ] {
        let _ = writeln!(out, ".TP\n.B {name}\n{meaning}");
    }

    out.push_str(".SH EXAMPLES\n");
    for (what, example) in [
        ("Why did the meta pod restart?", "kubectl logs rw\\-meta\\-0 \\-\\-previous | rwdoctor"),
        ("Watch a live log:", "kubectl logs \\-f rw\\-meta\\-0 | rwdoctor \\-\\-follow"),
        ("Several files, compressed or not, and a directory:", "rwdoctor meta.log etcd\\-0.log.gz logs/"),
        ("Everything the report knows:", "rwdoctor \\-v meta.log"),
        ("JSON for a script; the format from the file name:", "rwdoctor \\-o report.json \\-\\-fail\\-on warning logs/"),
        ("A GitHub Actions step: annotations, and a summary added to the step's:", "rwdoctor \\-\\-format github \\-\\-format markdown \\-\\-output\\-append \"$GITHUB_STEP_SUMMARY\" logs/"),
        ("The rules, and one explained without a log:", "rwdoctor rules list\n.br\nrwdoctor explain meta\\-leader\\-lease\\-lost"),
        ("Test and lint your own rules:", "rwdoctor rules test my\\-rules/\n.br\nrwdoctor rules lint my\\-rules/"),
    ] {
        let _ = writeln!(out, ".PP\n{what}\n.PP\n.RS 4\n.nf\n{example}\n.fi\n.RE");
    }
    out.push_str(".SH NOTES\nA log file named like a subcommand is read when written as a path: \\fBrwdoctor ./rules\\fR or \\fBrwdoctor \\-\\- rules\\fR. Gzip input is recognised by its magic bytes, whatever its name; rotated logs joined with \\fBcat\\fR are read whole. Each \\fB\\-\\-output\\fR \\fIFILE\\fR receives the \\fB\\-\\-format\\fR given just before it (alone, the format its extension names); the one \\fB\\-\\-format\\fR not followed by an output goes to stdout.\n");
    out
}

/// `.TP` with `-s, --long VALUE`, then the help text and possible values.
fn render_option(out: &mut String, arg: &Arg) {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let takes_value = matches!(arg.get_action(), ArgAction::Set | ArgAction::Append);
    let value = if takes_value {
        format!(" \\fI{}\\fR", value_name(arg))
    } else {
        String::new()
    };
    let _ = writeln!(out, ".TP\n{}{value}", names.join(", "));
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut text = escape(help.trim_end());
    if !text.ends_with('.') {
        text.push('.');
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if takes_value && !values.is_empty() && values.len() < 12 {
        let _ = write!(text, " One of: {}.", escape(&values.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() {
        let _ = write!(text, " Default: {}.", escape(&defaults.join(", ")));
    }
    let _ = writeln!(out, "{text}");
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map_or_else(
            || arg.get_id().to_string().to_uppercase(),
            |n| n.to_string(),
        )
}

/// Text safe in roff: backslashes and hyphens escaped, no line starting
/// with a control character, paragraphs as `.PP`.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    let lines: Vec<String> = text
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(|line| {
                    let line = line.trim_start();
                    if line.starts_with('.') || line.starts_with('\'') {
                        format!("\\&{line}")
                    } else {
                        line.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    lines.join("\n.PP\n")
}
