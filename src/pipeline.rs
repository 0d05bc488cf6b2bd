//! The one pipeline: hits → timeline (cluster facts, time window,
//! correlation) → incidents → findings → `Analysis`. Two drivers feed it:
//! the batch scan (`analyse`, every input on every core, hits merged by
//! time) and `--follow` (one live input, `crate::follow`). Both take the
//! same `Request` and end in the same `finish`, so a flag or a summary
//! field cannot work in one mode and be forgotten in the other.
use crate::analysis::{summarise, Analysis, Tally, Window};
use crate::context::ClusterContext;
use crate::correlate::Correlator;
use crate::diagnosis::{Diagnoser, InputInfo};
use crate::discovery::{discover, Baseline, InputTemplates, Start};
use crate::input::{self, InputError, InputSpec};
use crate::matcher::Matcher;
use crate::model::{Severity, Timestamp};
use crate::progress::Progress;
use crate::record::Shape;
use crate::rules::{Component, RuleSet};
use crate::scan::{Coverage, Hit};
use crate::workers;
use std::path::PathBuf;
use std::sync::Arc;

/// What to analyse and how: the command line resolved once
/// (`cli::Cli::request`), or built directly by tests.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    /// Only lines at or after this time take part (lines without a time do).
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Threads to scan with (default: the cores available).
    pub threads: Option<usize>,
    /// Plain files at least this big are split across threads (default
    /// `workers::MIN_SPLIT_BYTES`; tests lower it to split small files).
    pub min_split_bytes: Option<u64>,
    /// Discovery: what is mined, the baseline, `--fail-on-new`.
    pub discover: crate::discovery::Options,
}

/// A request's inputs, expanded once (directories walked, duplicates and
/// loops dropped), with what could not be expanded.
pub struct Inputs {
    pub specs: Vec<InputSpec>,
    pub errors: Vec<InputError>,
}

impl Inputs {
    pub fn expand(paths: &[PathBuf]) -> Inputs {
        Inputs::expand_skipping(paths, &[])
    }

    /// `expand`, leaving out of directories the files of `skip` (device and
    /// inode): the previous reports a run replaces.
    pub fn expand_skipping(paths: &[PathBuf], skip: &[(u64, u64)]) -> Inputs {
        let (specs, errors) = input::expand_skipping(paths, skip);
        Inputs { specs, errors }
    }
}

pub fn analyse(request: &Request, rules: &RuleSet) -> Analysis {
    let inputs = Inputs::expand(&request.paths);
    analyse_inputs(request, inputs, rules, &Matcher::new(rules), None)
}

/// The batch driver: scans `inputs` on all cores (showing `progress`) with
/// the matcher of `rules` already built (the fuzz checks analyse thousands
/// of inputs with one rule set).
pub fn analyse_inputs(
    request: &Request,
    inputs: Inputs,
    rules: &RuleSet,
    matcher: &Matcher,
    progress: Option<&Progress>,
) -> Analysis {
    let Inputs {
        specs,
        errors: mut input_errors,
    } = inputs;
    let mut timeline = Timeline::new(Correlator::new(rules), request);
    let mut coverages: Vec<Option<Coverage>> = Vec::with_capacity(specs.len());

    // Scanned on all cores; the hits arrive merged into one timeline by
    // time, each input's own order kept (a clock step back stays in line
    // order), and stream into the correlator as they come.
    let plan = workers::Plan {
        threads: workers::thread_count(request.threads),
        min_split_bytes: request.min_split_bytes.unwrap_or(workers::MIN_SPLIT_BYTES),
        discover: request.discover.depth,
        windows: request.discover.scan_windows(),
    };
    let scans = workers::scan_merged(&specs, matcher, plan, progress, &mut |hit| {
        timeline.push(hit);
    });
    for scan in scans {
        if let Some(error) = scan.error {
            input_errors.push(error);
        }
        coverages.push(scan.coverage);
    }
    finish(timeline, &specs, coverages, &input_errors, rules, request)
}

/// The end of the pipeline, for both drivers: settles the cluster facts,
/// closes the incidents, diagnoses them and summarises the run. `coverages`
/// has one entry per spec (`None`: the input could not be opened).
pub fn finish(
    timeline: Timeline,
    specs: &[InputSpec],
    coverages: Vec<Option<Coverage>>,
    input_errors: &[InputError],
    rules: &RuleSet,
    request: &Request,
) -> Analysis {
    let Timeline {
        correlator,
        mut context,
        outside_range,
        inside_range,
        election_lines,
        starts,
        ..
    } = timeline;
    context.settle();
    let (baseline, baseline_errors) = mine_baseline(request);
    let mut input_errors = input_errors.to_vec();
    input_errors.extend(baseline_errors);
    let input_errors = &input_errors[..];
    let outcomes = correlator.finish();
    let inputs = input_infos(specs, &coverages);
    for event in &mut context.node_events {
        if let Some(input) = inputs.get(event.input) {
            event.source.clone_from(&input.name);
        }
    }
    let findings = Diagnoser {
        rules,
        inputs: &inputs,
        context: &context,
    }
    .findings(&outcomes);
    // Inputs that could not be opened have no coverage (and no summary).
    let election_lines: Vec<u64> = coverages
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .map(|(i, _)| election_lines.get(i).copied().unwrap_or(0))
        .collect();
    let empty = crate::templates::Table::default();
    // One per spec (`Start::input` counts specs); an unopened input has none.
    let mined: Vec<InputTemplates> = specs
        .iter()
        .zip(coverages.iter().chain(std::iter::repeat(&None)))
        .map(|(spec, c)| InputTemplates {
            name: c
                .as_ref()
                .map_or_else(|| spec.display_name(), |c| c.name.clone()),
            table: c.as_ref().map_or(&empty, |c| &c.templates),
            first: c.as_ref().and_then(|c| c.first_timestamp),
            last: c.as_ref().and_then(|c| c.last_timestamp),
            windows: c.as_ref().and_then(|c| c.windows.as_ref()),
        })
        .collect();
    let mut discovery = discover(&request.discover, &mined, &starts, baseline.as_ref());
    let alarming = findings
        .iter()
        .any(|f| f.severity >= crate::model::Severity::Warning);
    discovery.asked = request.discover.show || !request.discover.baseline.is_empty();
    discovery.shown =
        request.discover.depth != crate::templates::Depth::Off && (discovery.asked || !alarming);
    drop(mined);
    let coverages: Vec<Coverage> = coverages.into_iter().flatten().collect();
    let summary = summarise(Tally {
        coverages: &coverages,
        election_lines: &election_lines,
        findings: &findings,
        input_errors,
        rules,
        cluster: context,
        outside_time_range: outside_range,
        window: Window {
            since: request.since,
            until: request.until,
            checked: inside_range,
        },
        fail_on: request.fail_on,
        new_templates: if request.discover.fail_on_new {
            discovery.new_alerts
        } else {
            0
        },
    });
    Analysis {
        findings,
        summary,
        discovery,
    }
}

/// Mines the `--baseline` logs (read like inputs, with no rule: only the
/// templates count), with the errors of those that could not be read.
fn mine_baseline(request: &Request) -> (Option<Baseline>, Vec<InputError>) {
    if request.discover.baseline.is_empty()
        || request.discover.depth == crate::templates::Depth::Off
    {
        return (None, Vec::new());
    }
    let Inputs { specs, mut errors } = Inputs::expand(&request.discover.baseline);
    let no_rules = RuleSet::default();
    let matcher = Matcher::new(&no_rules);
    let plan = workers::Plan {
        threads: workers::thread_count(request.threads),
        min_split_bytes: request.min_split_bytes.unwrap_or(workers::MIN_SPLIT_BYTES),
        discover: request.discover.depth,
        windows: None,
    };
    let mut table = crate::templates::Table::new(false);
    for scan in workers::scan_merged(&specs, &matcher, plan, None, &mut |_| {}) {
        if let Some(error) = scan.error {
            errors.push(error);
        }
        if let Some(coverage) = scan.coverage {
            if let Some(read_error) = coverage.read_error {
                errors.push(InputError {
                    name: coverage.name.clone(),
                    message: read_error,
                });
            }
            table.absorb(coverage.templates, 0);
        }
    }
    for error in &mut errors {
        error.name = format!("--baseline {}", error.name);
    }
    let sources = specs.iter().map(InputSpec::display_name).collect();
    (Some(Baseline { sources, table }), errors)
}

/// The merged stream of hits: cluster facts, the time filter, correlation.
/// Batch scans and `--follow` both feed hits through it.
pub struct Timeline<'r> {
    pub correlator: Correlator<'r>,
    pub context: ClusterContext,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    pub outside_range: u64,
    /// Matching lines inside the window (all of them without one).
    pub inside_range: u64,
    /// Per input: lines about the election (campaigns, wins, lease trouble).
    pub election_lines: Vec<u64>,
    /// Start-up banners, for discovery's windows before restarts.
    pub starts: Vec<Start>,
}

impl<'r> Timeline<'r> {
    /// A timeline with the time window of `request`.
    pub fn new(correlator: Correlator<'r>, request: &Request) -> Self {
        Timeline {
            correlator,
            context: ClusterContext::new(),
            since: request.since,
            until: request.until,
            outside_range: 0,
            inside_range: 0,
            election_lines: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// Takes one hit; returns whether it went to the correlator.
    pub fn push(&mut self, hit: Hit) -> bool {
        use crate::facts::FactKind;
        // A line of a rule about the election (not the meta store's, a
        // node's or a connector's rules), or one naming election members.
        let rules = self.correlator.rules();
        let about_election = hit
            .signals
            .iter()
            .any(|s| rules.rules[s.rule as usize].topic == Some(crate::rules::Topic::Election))
            || hit
                .facts
                .iter()
                .any(|(kind, _)| *kind == FactKind::ElectionMember);
        if about_election {
            if self.election_lines.len() <= hit.input {
                self.election_lines.resize(hit.input + 1, 0);
            }
            self.election_lines[hit.input] += 1;
        }
        if hit.facts.iter().any(|(k, _)| *k == FactKind::NodeStarting) {
            self.starts.push(Start {
                input: hit.input,
                line: hit.line,
                time: hit.sort_time,
                restart: hit.before.is_some(),
            });
        }
        // Facts describe the cluster whatever the time filter says.
        self.context.observe(&hit);
        self.correlator.set_lease_secs(self.context.lease_secs);
        if hit.signals.is_empty() {
            return false;
        }
        if let Some(time) = hit.sort_time {
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
                self.outside_range += 1;
                return false;
            }
        }
        self.inside_range += 1;
        self.correlator.push(Arc::new(hit));
        true
    }
}

/// What the diagnosis needs to know of each input, from its coverage.
pub fn input_infos(specs: &[InputSpec], coverages: &[Option<Coverage>]) -> Vec<InputInfo> {
    specs
        .iter()
        .zip(coverages.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(spec, coverage)| {
            let coverage = coverage.and_then(Option::as_ref);
            InputInfo {
                name: spec.display_name(),
                components: coverage.map(second_logs).unwrap_or_default(),
                first: coverage.and_then(|c| c.first_timestamp),
                last: coverage.and_then(|c| c.last_timestamp),
            }
        })
        .collect()
}

/// The second logs (etcd's, PostgreSQL's, Kubernetes', the kernel's,
/// Docker's) an input holds, from the shapes of its lines.
fn second_logs(coverage: &Coverage) -> Vec<Component> {
    let mut components: Vec<Component> = coverage
        .shapes
        .keys()
        .map(|shape| crate::diagnosis::shape_component(*shape, None))
        .filter(|c| *c != Component::Meta)
        .collect();
    if coverage.shapes.contains_key(&Shape::Journald)
        && coverage.origins.iter().any(|o| o.contains("etcd"))
    {
        components.push(Component::Etcd);
    }
    components.sort();
    components.dedup();
    components
}
