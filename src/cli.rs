//! Command-line interface. The flags, their values and the exit codes are a
//! fixed interface: CI scripts depend on them. Values and subcommands may be
//! added; none may change meaning.
use crate::model::Timestamp;
use crate::pipeline::Request;
use crate::report::{Format, OutputSpec, OutputTarget};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
EXIT CODES:
  0  scanned, nothing at or above --fail-on
  1  a finding at or above --fail-on
  2  an input could not be read, an argument or rule is invalid, or a
     report could not be written (the readable inputs are still scanned
     and reported)
  3  inconclusive: not one line looked like a RisingWave or etcd log
  Precedence: 2, then 1, then 3, then 0.
  `rules test` and `rules lint` exit 1 when a test fails or a rule has an
  error, 2 when a rule directory cannot be read.

REPORTS (--format, --output):
  Each --output FILE receives the --format given just before it; the one
  --format not followed by an --output goes to stdout (at most one can).
  Without --format: the human report on stdout.
    rwdoctor --format human --format junit --output junit.xml logs/
      human on stdout, JUnit XML in junit.xml
    rwdoctor --format github --format markdown --output \"$GITHUB_STEP_SUMMARY\"
  `--output -` is stdout.

FOLLOW:
  --follow reads one input (stdin or a file, polled for growth like
  `tail -f`) and prints each finding as soon as it is certain; the summary
  follows at the end of the input or on Ctrl-C. Document formats (json,
  junit, markdown) are written at the end.

EXAMPLES:
  kubectl logs rw-meta-0 --previous | rwdoctor
  kubectl logs -f rw-meta-0 | rwdoctor --follow
  rwdoctor meta.log etcd-0.log.gz logs/
  rwdoctor --format json --fail-on warning ci-artifacts/ > report.json
  rwdoctor rules list            rwdoctor explain meta-leader-lease-lost
  rwdoctor rules test my-rules/  rwdoctor rules lint my-rules/

A log file named like a subcommand (rules, explain, templates, completions,
man) is read when written as a path: `rwdoctor ./rules` or `rwdoctor -- rules`.
Gzip input is recognised by its magic bytes, whatever its name; rotated
logs joined with `cat` (several gzip members) are read whole.
Colour: --color auto colours a terminal only; NO_COLOR (non-empty) and
TERM=dumb turn it off, CLICOLOR_FORCE (non-empty, not 0) forces it on.";

#[derive(Debug, Parser)]
#[command(
    name = "rwdoctor",
    version,
    about = "Tells why a RisingWave meta node failed, from its logs (and etcd's).",
    long_about = "Reads RisingWave meta-node logs and the etcd logs beside them, finds known \
failure patterns (a meta leader that lost its etcd lease and exited, election retries, \
oversized etcd requests, a full or slow etcd...), and explains what happened, the likely \
causes with the evidence for each, and what to change.",
    after_help = "Exit codes: 0 nothing at or above --fail-on, 1 a finding, 2 an error, 3 nothing \
could be checked. More (reports, --follow, examples): --help.",
    after_long_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Log files or directories (scanned recursively); `-` or nothing reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format; repeat with --output to write several (see REPORTS).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Vec<Format>,

    /// Write the report of the --format before it to FILE (`-`: stdout).
    ///
    /// Write the report of the --format just before it to FILE (`-`: stdout);
    /// alone, the format is taken from FILE's extension (.json, .jsonl, .xml
    /// for JUnit, .md, .txt).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Like --output, but add to the end of FILE.
    ///
    /// Like --output, but add the report to the end of FILE instead of
    /// replacing it (`$GITHUB_STEP_SUMMARY`).
    #[arg(long, value_name = "FILE")]
    pub output_append: Vec<PathBuf>,

    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,

    /// Keep reading one input as it grows; print findings as they happen.
    ///
    /// Keep reading one input as it grows (a pipe, or a file like `tail -f`);
    /// print findings as soon as they are certain.
    #[arg(long)]
    pub follow: bool,

    /// Run without the built-in rules: only those of --rules (or none).
    ///
    /// Run without the built-in rule pack: only the rules of --rules DIR, or
    /// none, so that discovery ("What else changed") can be seen alone.
    /// With no rule at all the run is inconclusive (exit 3): nothing looked
    /// for a failure.
    #[arg(long)]
    pub no_builtin_rules: bool,

    /// Show "What else changed" (templates mined from the lines); =all mines every line.
    ///
    /// Show the "What else changed" section of the human report even when a
    /// finding is at warning or above (it is shown anyway when none is).
    /// Every run mines the WARN and ERROR lines, and every level in the
    /// last minutes (--discover-window) before each restart of a node and
    /// before the end of its input, so an INFO line the node never wrote
    /// before shows (`windows`, the default). `--discover=warn` mines the
    /// WARN and ERROR lines only (about 10% less CPU on a large log);
    /// `--discover=all` mines every line (about 1.5x); `--discover=off`
    /// none.
    /// The JSON report always has a `discovery` object.
    #[arg(long, value_enum, value_name = "LINES", num_args = 0..=1, require_equals = true, default_missing_value = "windows")]
    pub discover: Option<DiscoverLines>,

    /// A known-good log to compare templates with (repeatable; read like inputs).
    ///
    /// A known-good log (file, directory, gzip; repeatable), mined like the
    /// inputs: "What else changed" then lists templates new in the inputs,
    /// much more frequent (a Poisson test: small counts are not increases),
    /// or gone.
    #[arg(long, value_name = "PATH")]
    pub baseline: Vec<PathBuf>,

    /// Exit 1 when a WARN/ERROR template is new (against --baseline, else before a restart).
    ///
    /// Exit 1 when a WARN/ERROR template is new: against --baseline when one
    /// is given, else first seen in the minutes before a restart of its
    /// node or the end of its input. Without it, discovery never changes
    /// the exit code.
    #[arg(long)]
    pub fail_on_new: bool,

    /// The window before a restart or the end of an input (default 2m).
    #[arg(long, value_name = "DURATION")]
    pub discover_window: Option<String>,

    /// Directory of extra rule files (*.json); a rule with a built-in id replaces it.
    #[arg(long = "rules", value_name = "DIR", global = true)]
    pub rules_dirs: Vec<PathBuf>,

    /// Only lines at or after TIME (RFC 3339, or `2h` back from now).
    ///
    /// Only consider lines at or after this time: RFC 3339, or a duration
    /// back from now like `2h` (as `kubectl logs --since`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only consider lines at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Threads to scan with (default: the cores available).
    ///
    /// Threads to scan with (default: the cores available). A gzip input
    /// is decoded on a thread of its own only when a core would otherwise
    /// be idle (with 1, never). Output does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// When to colour human output (see the note on NO_COLOR, CLICOLOR_FORCE).
    #[arg(
        long,
        value_enum,
        default_value_t = ColorChoice::Auto,
        value_name = "WHEN",
        global = true
    )]
    pub color: ColorChoice,

    /// The full human report: timelines, every cause, every input.
    ///
    /// The human report in full: every timeline, every cause with what was
    /// looked for, every input's statistics.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// The human report's closing verdict only.
    #[arg(short, long)]
    pub quiet: bool,

    /// Where each report goes, from the --format/--output pairs.
    #[arg(skip)]
    pub outputs: Vec<OutputSpec>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, show, test and lint rules.
    #[command(after_help = "A log file named `rules` is read with `rwdoctor ./rules`.")]
    Rules {
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// Explain a rule without any log: what it means, the causes, what to do.
    Explain {
        /// Rule id, as `rwdoctor rules list` shows it.
        #[arg(value_name = "RULE")]
        id: String,
    },
    /// Print a shell completion script (e.g. `rwdoctor completions bash`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout (`rwdoctor man | man -l -`).
    Man,
    /// Group lines into templates (numbers, ids, hex, addresses masked) and
    /// count them: WARN and ERROR lines (and lines with no level), or every
    /// line with --all-levels. Lines in no known shape are grouped whole.
    Templates {
        /// Log files or directories (scanned recursively); `-` or nothing reads stdin.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Every level, not only WARN and ERROR.
        #[arg(long)]
        all_levels: bool,
        /// List every line number of each template (JSON: `lines`).
        #[arg(long)]
        lines: bool,
        /// Join templates that differ in one word taking at least N values
        /// (a pass over the unique templates; the ids change).
        #[arg(
            long,
            value_name = "N",
            num_args = 0..=1,
            default_missing_value = "3",
            conflicts_with = "baseline"
        )]
        merge: Option<usize>,
        /// A known-good log (repeatable; files, directories, gzip): each
        /// template is marked new, increased, same or gone against it; new
        /// first (earliest first), then increased (most significant first).
        #[arg(long, value_name = "PATH")]
        baseline: Vec<PathBuf>,
        /// Exit 1 when a WARN or ERROR template is new against --baseline.
        #[arg(long, requires = "baseline")]
        fail_on_new: bool,
        /// `human` or `json`.
        #[arg(long, value_enum, default_value_t = TemplatesFormat::Human, value_name = "FORMAT")]
        format: TemplatesFormat,
    },
}

/// The formats of `rwdoctor templates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplatesFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every loaded rule: id, severity, title, and where it comes from.
    List,
    /// A rule's JSON definition, as written.
    Show {
        #[arg(value_name = "RULE")]
        id: String,
    },
    /// Run every rule's own tests, and the annotated fixtures (*.log) in DIR.
    #[command(
        long_about = "Runs every rule's own tests (its `match` and `no_match` lines and \
its scenarios). With DIR: the rules in DIR, and every *.log file under DIR as an annotated \
fixture: a line ending in `# expect: RULE` must be matched by a signal of RULE, a line \
ending in `# ok: RULE` must match none of its trigger signals (several ids may be given, \
separated by commas). Without DIR: the built-in rules and those of --rules. Exits 1 when \
a test fails, 2 when a rule cannot be loaded."
    )]
    Test {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Check rule files: schema, regexes, duplicate ids, unused signals,
    /// missing tests and doc links, signals the prefilter cannot use.
    #[command(
        long_about = "Checks the rule files in DIR (without DIR: the built-in rules \
and those of --rules). Errors (exit 1): invalid JSON or schema, invalid regex, unknown \
signal, duplicate id in one directory. Warnings (exit 0): a signal no `match` or cause \
uses, a rule without test lines, a rule without doc links, a signal with no literal the \
prefilter can use (checked on every line, which slows every scan)."
    )]
    Lint {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `--discover[=LINES]`: which lines are mined into templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscoverLines {
    /// WARN, ERROR and FATAL lines and panics, and every level in the
    /// minutes before each restart and the end (the default).
    Windows,
    /// WARN, ERROR and FATAL lines and panics only.
    Warn,
    /// Every line.
    All,
    /// None: no discovery at all.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Critical,
    /// Never exit 1 because of findings.
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<crate::model::Severity> {
        use crate::model::Severity;
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Error => Some(Severity::Error),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to a terminal (`is_terminal`) or not.
    pub fn enabled(self, is_terminal: bool) -> bool {
        self.enabled_with(is_terminal, |name| std::env::var_os(name))
    }

    /// `auto`: CLICOLOR_FORCE (non-empty, not `0`) forces colour, even into a
    /// pipe (as in the CLICOLOR convention, it wins over NO_COLOR); then a
    /// non-empty NO_COLOR or TERM=dumb turns it off; else only a terminal is
    /// coloured.
    pub fn enabled_with(self, is_terminal: bool, env: impl Fn(&str) -> Option<OsString>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let set = |name: &str| env(name).filter(|v| !v.is_empty());
                if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                    return true;
                }
                set("NO_COLOR").is_none() && env("TERM").is_none_or(|t| t != "dumb") && is_terminal
            }
        }
    }
}

/// One report: a format and where it goes.
impl Cli {
    /// How much the human report says (`-q`, default, `-v`).
    pub fn detail(&self) -> crate::report::human::Detail {
        use crate::report::human::Detail;
        match (self.quiet, self.verbose) {
            (true, _) => Detail::Quiet,
            (_, true) => Detail::Verbose,
            _ => Detail::Default,
        }
    }

    /// Parses the process arguments; on a usage error prints it (prefixed
    /// `rwdoctor: `, as every other message) and exits 2.
    pub fn from_env() -> Cli {
        Cli::try_from_args(std::env::args_os()).unwrap_or_else(|err| {
            if err.use_stderr() {
                let text = err.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                eprint!("rwdoctor: {text}");
                std::process::exit(2);
            }
            err.exit()
        })
    }

    /// The command, with the version naming the built-in rule pack.
    pub fn command_with_version() -> clap::Command {
        let rules = crate::rules::builtin_rule_files().len();
        let version = format!(
            "{} (built-in rule pack: {rules} rules)",
            env!("CARGO_PKG_VERSION")
        );
        // Built once per process: leaking it is what `&'static str` asks.
        Cli::command().version(&*Box::leak(version.into_boxed_str()))
    }

    pub fn try_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Cli::command_with_version();
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if cli.command.is_none() {
            if let Some(message) = mistyped_subcommand(&cli.paths) {
                return Err(command.error(ErrorKind::InvalidSubcommand, message));
            }
        }
        if let Some(sub) = &cli.command {
            if let Some(flag) = diagnosis_only_flag(&matches) {
                return Err(command.error(
                    ErrorKind::ArgumentConflict,
                    format!(
                        "{flag} is for diagnosing logs; it does not apply to `{}`",
                        sub.name()
                    ),
                ));
            }
        }
        cli.outputs = pair_outputs(&matches)
            .map_err(|msg| command.error(ErrorKind::ArgumentConflict, msg))?;
        Ok(cli)
    }

    /// The scan flags resolved once into what both drivers (batch and
    /// `--follow`) take; `now` anchors durations such as `--since 2h`.
    pub fn request(&self, now: Timestamp) -> Result<Request, String> {
        let bound = |text: &Option<String>| {
            text.as_deref()
                .map(|t| parse_time_bound(t, now))
                .transpose()
        };
        let (since, until) = (bound(&self.since)?, bound(&self.until)?);
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(format!(
                    "--since {} is after --until {}: no line can be in that window",
                    self.since.as_deref().unwrap_or_default(),
                    self.until.as_deref().unwrap_or_default()
                ));
            }
        }
        Ok(Request {
            paths: self.paths.clone(),
            fail_on: self.fail_on.threshold(),
            since,
            until,
            threads: self.threads.map(usize::from),
            min_split_bytes: None,
            discover: self.discover_options()?,
        })
    }

    fn discover_options(&self) -> Result<crate::discovery::Options, String> {
        use crate::templates::Depth;
        let depth = match self.discover {
            Some(DiscoverLines::All) => Depth::All,
            Some(DiscoverLines::Off) => Depth::Off,
            Some(DiscoverLines::Warn | DiscoverLines::Windows) | None => Depth::WarnError,
        };
        if depth == Depth::Off && (!self.baseline.is_empty() || self.fail_on_new) {
            return Err(
                "--discover=off leaves nothing for --baseline or --fail-on-new to compare".into(),
            );
        }
        let window_secs = match &self.discover_window {
            None => crate::discovery::DEFAULT_WINDOW_SECS,
            Some(text) => crate::model::parse_duration(text)
                .map(|d| d.num_seconds().max(1))
                .map_err(|_| {
                    format!("invalid --discover-window `{text}`: expected a duration (2m, 90s)")
                })?,
        };
        Ok(crate::discovery::Options {
            depth,
            show: self.discover.is_some_and(|d| d != DiscoverLines::Off),
            baseline: self.baseline.clone(),
            fail_on_new: self.fail_on_new,
            window_secs,
            every_level_windows: matches!(self.discover, None | Some(DiscoverLines::Windows)),
        })
    }
}

/// The width of the human report: `COLUMNS` when set, else the terminal's
/// (stdout's) when it is one, else 80 (the report never goes below 80).
pub fn report_width() -> usize {
    use std::io::IsTerminal;
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let from_tty = || {
        std::io::stdout()
            .is_terminal()
            .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten()
    };
    from_env
        .or_else(from_tty)
        .unwrap_or(crate::report::human::WIDTH)
}

/// `--since`/`--until`: RFC 3339, or a duration (`2h`, `30m`) back from now.
/// A time without a zone is refused: taking it as UTC, or as the local
/// zone, would shift the window by hours without a word.
pub fn parse_time_bound(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Some(time) = crate::record::json::parse_time(text) {
        let zoned = chrono::DateTime::parse_from_rfc3339(text).is_ok()
            || chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").is_ok();
        if !zoned {
            return Err(format!(
                "time `{text}` has no zone: add `Z` for UTC ({text}Z) or an offset ({text}+08:00)"
            ));
        }
        return Ok(time);
    }
    crate::model::parse_duration(text)
        .map(|d| now - d)
        .map_err(|_| format!("invalid time `{text}`: expected RFC 3339 (2024-02-11T06:20:00Z) or a duration back from now (2h, 30m)"))
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Rules { action } => match action {
                RulesCommand::List => "rules list",
                RulesCommand::Show { .. } => "rules show",
                RulesCommand::Test { .. } => "rules test",
                RulesCommand::Lint { .. } => "rules lint",
            },
            Command::Explain { .. } => "explain",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
            Command::Templates { .. } => "templates",
        }
    }
}

/// A diagnosis option given together with a subcommand (clap accepts
/// top-level options before a subcommand; these would be silently ignored).
fn diagnosis_only_flag(matches: &ArgMatches) -> Option<&'static str> {
    [
        ("format", "--format"),
        ("output", "--output"),
        ("output_append", "--output-append"),
        ("verbose", "--verbose"),
        ("quiet", "--quiet"),
        ("fail_on", "--fail-on"),
        ("follow", "--follow"),
        ("since", "--since"),
        ("until", "--until"),
        ("threads", "--threads"),
    ]
    .into_iter()
    .find(|(id, _)| matches.value_source(id) == Some(ValueSource::CommandLine))
    .map(|(_, flag)| flag)
}

/// Pairs `--format` and `--output` by their order on the command line: an
/// `--output` takes the `--format` just before it; the one `--format` left
/// over goes to stdout.
fn pair_outputs(matches: &ArgMatches) -> Result<Vec<OutputSpec>, String> {
    enum Item {
        Format(Format),
        Output(PathBuf, bool),
    }
    let mut items: Vec<(usize, Item)> = Vec::new();
    if let (Some(values), Some(indices)) = (
        matches.get_many::<Format>("format"),
        matches.indices_of("format"),
    ) {
        items.extend(indices.zip(values.map(|f| Item::Format(*f))));
    }
    if let (Some(values), Some(indices)) = (
        matches.get_many::<PathBuf>("output"),
        matches.indices_of("output"),
    ) {
        items.extend(indices.zip(values.map(|p| Item::Output(p.clone(), false))));
    }
    if let (Some(values), Some(indices)) = (
        matches.get_many::<PathBuf>("output_append"),
        matches.indices_of("output_append"),
    ) {
        items.extend(indices.zip(values.map(|p| Item::Output(p.clone(), true))));
    }
    items.sort_by_key(|(index, _)| *index);

    let mut outputs: Vec<OutputSpec> = Vec::new();
    let mut pending: Option<Format> = None;
    let mut to_stdout: Vec<Format> = Vec::new();
    for (_, item) in items {
        match item {
            Item::Format(format) => {
                if let Some(previous) = pending.replace(format) {
                    to_stdout.push(previous);
                }
            }
            Item::Output(path, append) => {
                let flag = if append {
                    "--output-append"
                } else {
                    "--output"
                };
                let Some(format) = pending.take().or_else(|| format_of(&path)) else {
                    return Err(format!(
                        "{flag} {} has no --format just before it, and its name does not \
                         say one (.json, .jsonl, .xml, .md, .txt): e.g. `--format junit {flag} {}`",
                        path.display(),
                        path.display()
                    ));
                };
                let target = if path.as_os_str() == "-" {
                    to_stdout.push(format);
                    continue;
                } else if append {
                    OutputTarget::Append(path)
                } else {
                    OutputTarget::File(path)
                };
                if outputs.iter().any(|o| o.target.path() == target.path()) {
                    return Err(format!(
                        "--output {} is given twice",
                        match &target {
                            OutputTarget::File(p) | OutputTarget::Append(p) =>
                                p.display().to_string(),
                            OutputTarget::Stdout => "-".into(),
                        }
                    ));
                }
                outputs.push(OutputSpec { format, target });
            }
        }
    }
    to_stdout.extend(pending);
    if to_stdout.len() > 1 {
        let names: Vec<String> = to_stdout
            .iter()
            .map(|f| format!("--format {}", f.name()))
            .collect();
        return Err(format!(
            "only one report can go to stdout, but {} would all go there: give each but \
             one an --output FILE after it",
            names.join(" and ")
        ));
    }
    let stdout_format = match (to_stdout.first(), outputs.is_empty()) {
        (Some(format), _) => Some(*format),
        // No --format at all: the human report, as always.
        (None, true) => Some(Format::Human),
        (None, false) => None,
    };
    if let Some(format) = stdout_format {
        outputs.push(OutputSpec {
            format,
            target: OutputTarget::Stdout,
        });
    }
    Ok(outputs)
}

/// The format a file's extension names, for `-o report.json` alone.
fn format_of(path: &std::path::Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "json" => Format::Json,
        "jsonl" | "ndjson" => Format::Jsonl,
        "xml" => Format::Junit,
        "md" | "markdown" => Format::Markdown,
        "html" | "htm" => Format::Html,
        "txt" => Format::Human,
        _ => return None,
    })
}

/// The subcommands, as typed.
const SUBCOMMANDS: [&str; 5] = ["rules", "explain", "completions", "man", "help"];

/// A first path that does not exist and is spelt almost like a subcommand
/// (`rwdoctor rule list`, `rwdoctor version`): a message suggesting it,
/// rather than "no such file".
fn mistyped_subcommand(paths: &[PathBuf]) -> Option<String> {
    let first = paths.first()?;
    let word = first.to_str()?;
    if word.contains(['/', '.']) || word == "-" || first.exists() {
        return None;
    }
    if word == "version" {
        return Some("there is no subcommand `version`; did you mean `rwdoctor --version`?".into());
    }
    let lower = word.to_ascii_lowercase();
    let (best, distance) = SUBCOMMANDS
        .iter()
        .map(|name| (*name, edit_distance(&lower, name)))
        .min_by_key(|(_, d)| *d)?;
    let close = distance <= 2 && distance * 3 <= best.len().max(lower.len());
    close.then(|| {
        format!(
            "there is no subcommand or file `{word}`; did you mean `rwdoctor {best}`? \
             (A log file with that name: `rwdoctor ./{word}`.)"
        )
    })
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(args: &str) -> Result<Vec<(Format, String)>, String> {
        let argv = std::iter::once("rwdoctor").chain(args.split_whitespace());
        Cli::try_from_args(argv)
            .map(|cli| {
                cli.outputs
                    .into_iter()
                    .map(|o| {
                        let target = match o.target {
                            OutputTarget::Stdout => "-".to_string(),
                            OutputTarget::File(p) => p.display().to_string(),
                            OutputTarget::Append(p) => format!(">>{}", p.display()),
                        };
                        (o.format, target)
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_output_takes_the_format_before_it_and_the_rest_goes_to_stdout() {
        assert_eq!(outputs("x.log"), Ok(vec![(Format::Human, "-".into())]));
        assert_eq!(
            outputs("--format human --format junit --output j.xml x.log"),
            Ok(vec![
                (Format::Junit, "j.xml".into()),
                (Format::Human, "-".into())
            ])
        );
        assert_eq!(
            outputs("--format junit --output j.xml --format=json --format markdown -o m.md"),
            Ok(vec![
                (Format::Junit, "j.xml".into()),
                (Format::Markdown, "m.md".into()),
                (Format::Json, "-".into())
            ])
        );
        // Everything to files: nothing on stdout.
        assert_eq!(
            outputs("--format junit --output j.xml"),
            Ok(vec![(Format::Junit, "j.xml".into())])
        );
        assert_eq!(
            outputs("--format jsonl --output -"),
            Ok(vec![(Format::Jsonl, "-".into())])
        );
    }

    #[test]
    fn ambiguous_pairings_are_refused() {
        let err = outputs("--format human --format json x.log").unwrap_err();
        assert!(err.contains("only one report can go to stdout"), "{err}");
        let err = outputs("--output a.bin --format json").unwrap_err();
        assert!(err.contains("--output a.bin has no --format"), "{err}");
        let err = outputs("--format json --output - --format junit --output -").unwrap_err();
        assert!(err.contains("would all go there"), "{err}");
        let err = outputs("--format json --output a --format junit --output a").unwrap_err();
        assert!(err.contains("given twice"), "{err}");
    }

    #[test]
    fn an_output_alone_takes_the_format_its_name_says() {
        let err = outputs("-o -").unwrap_err();
        assert!(err.contains("its name does not say one"), "{err}");
        assert_eq!(
            outputs("-o r.JSON --output-append s.md x.log"),
            Ok(vec![
                (Format::Json, "r.JSON".into()),
                (Format::Markdown, ">>s.md".into())
            ])
        );
    }

    #[test]
    fn mistyped_subcommands_are_suggested_not_read() {
        for (typed, meant) in [
            ("rule", "rules"),
            ("explian", "explain"),
            ("completion", "completions"),
        ] {
            let message = mistyped_subcommand(&[PathBuf::from(typed)]).unwrap();
            assert!(
                message.contains(&format!("`rwdoctor {meant}`")),
                "{message}"
            );
        }
        for path in ["logs", "./rule", "meta.log", "-"] {
            assert_eq!(mistyped_subcommand(&[PathBuf::from(path)]), None, "{path}");
        }
    }

    #[test]
    fn subcommands_and_paths_named_like_them() {
        let cli = Cli::try_from_args(["rwdoctor", "--rules", "d", "rules", "list"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Rules {
                action: RulesCommand::List
            })
        ));
        assert_eq!(cli.rules_dirs, vec![PathBuf::from("d")]);
        let cli = Cli::try_from_args(["rwdoctor", "rules", "test", "d", "--rules", "e"]).unwrap();
        assert_eq!(cli.rules_dirs, vec![PathBuf::from("e")]);
        for argv in [
            &["rwdoctor", "./rules"][..],
            &["rwdoctor", "--", "rules"],
            &["rwdoctor", "a.log", "rules"],
        ] {
            let cli = Cli::try_from_args(argv).unwrap();
            assert!(cli.command.is_none(), "{argv:?}");
            assert_eq!(cli.paths.last().unwrap().file_name().unwrap(), "rules");
        }
        let err = Cli::try_from_args(["rwdoctor", "--format", "json", "rules", "list"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not apply to `rules list`"), "{err}");
    }

    #[test]
    fn clicolor_force_no_color_and_dumb_terminals() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let auto = ColorChoice::Auto;
        assert!(auto.enabled_with(true, env(&[])));
        assert!(!auto.enabled_with(false, env(&[])));
        assert!(auto.enabled_with(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!auto.enabled_with(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!auto.enabled_with(false, env(&[("CLICOLOR_FORCE", "")])));
        assert!(!auto.enabled_with(true, env(&[("NO_COLOR", "1")])));
        assert!(auto.enabled_with(true, env(&[("NO_COLOR", "")])));
        assert!(!auto.enabled_with(true, env(&[("TERM", "dumb")])));
        assert!(auto.enabled_with(false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])));
        assert!(!ColorChoice::Never.enabled_with(true, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(ColorChoice::Always.enabled_with(false, env(&[("NO_COLOR", "1")])));
    }
}
