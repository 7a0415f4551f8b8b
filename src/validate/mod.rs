//! Stage 3 of the pipeline: validate. Turns loaded documents into a [`Report`] of located
//! findings: YAML problems, schema violations (the checked-in `schemas/`), and GooseFS rules.
//!
//! Files are checked in parallel, one document at a time: memory stays proportional to the
//! largest document, not the input (a large file on its own gets a second thread for its
//! checks). Only small per-object keys are kept for the cross-file runtime/dataset pairing.
//! Findings are data: nothing here fails on bad input.

pub mod codes;
pub mod diagnostic;
pub mod document;
pub mod path;
pub mod rules;
pub mod schema;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

pub use codes::Code;
pub use diagnostic::{Diagnostic, Report, Severity, Summary};
use document::{DocOutcome, Role, Seen};

use crate::load::{self, Input, LoadError, Source};

/// Stack of each worker thread.
const WORKER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// What to validate and how.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Files, directories, or `-` for stdin.
    pub paths: Vec<PathBuf>,
    /// Namespace of objects that do not set one.
    pub namespace: String,
    /// Largest file read.
    pub max_file_bytes: u64,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// Codes whose findings are dropped.
    pub ignore: Vec<Code>,
    /// Report warnings as errors.
    pub strict: bool,
    /// Keep the typed objects (for `render`); off for plain validation, which then holds only
    /// one document at a time.
    pub keep_objects: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            paths: Vec::new(),
            namespace: "default".to_owned(),
            max_file_bytes: load::DEFAULT_MAX_FILE_BYTES,
            jobs: 0,
            ignore: Vec::new(),
            strict: false,
            keep_objects: false,
        }
    }
}

/// The outcome of a run: findings, plus inputs that could not be read at all.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings and counts.
    pub report: Report,
    /// Unreadable inputs (missing, permission denied): exit code 2.
    pub unreadable: Vec<LoadError>,
    /// Well-formed runtimes, in input order (with `keep_objects`).
    pub runtimes: Vec<crate::model::GooseFsRuntime>,
    /// Well-formed datasets, in input order (with `keep_objects`).
    pub datasets: Vec<crate::model::Dataset>,
    /// Well-formed data loads, in input order (with `keep_objects`).
    pub dataloads: Vec<crate::model::DataLoad>,
    /// Well-formed data backups, in input order (with `keep_objects`).
    pub databackups: Vec<crate::model::DataBackup>,
}

/// Everything one file yields.
#[derive(Debug, Default)]
struct FileOutcome {
    diagnostics: Vec<Diagnostic>,
    goosefs_only: Vec<(String, String, Vec<Diagnostic>)>,
    seen: Vec<Seen>,
    documents: usize,
    skipped: usize,
    unreadable: Option<LoadError>,
    typed: Vec<document::Typed>,
}

/// Validates every input of `options`.
pub fn validate(options: &ValidateOptions) -> Outcome {
    let (inputs, unreadable) = load::discover(&options.paths);
    let mut outcome = validate_inputs(inputs, options);
    outcome.unreadable.splice(0..0, unreadable);
    outcome
}

/// Validates `inputs` (files, standard input, or bytes in memory) as [`validate`] does with the
/// inputs its paths name; `options.paths` is not read.
pub fn validate_inputs(inputs: Vec<load::Input>, options: &ValidateOptions) -> Outcome {
    let mut unreadable = Vec::new();
    let results = run_parallel(&inputs, options);
    let mut report = Report::default();
    let mut seen = Vec::new();
    let mut goosefs_only = Vec::new();
    let mut typed = Vec::new();
    for file in results {
        if let Some(e) = file.unreadable {
            unreadable.push(e);
            continue;
        }
        report.summary.files += 1;
        report.summary.documents += file.documents;
        report.summary.skipped += file.skipped;
        report.diagnostics.extend(file.diagnostics);
        seen.extend(file.seen);
        goosefs_only.extend(file.goosefs_only);
        typed.extend(file.typed);
    }
    pair(&seen, goosefs_only, &mut report.diagnostics);
    let order: HashMap<Arc<str>, usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (Arc::from(input.display_name()), i))
        .collect();
    report.diagnostics.sort_by_key(|d| {
        (
            order.get(&d.file).copied().unwrap_or(usize::MAX),
            d.line,
            d.column,
            d.code,
        )
    });
    report.diagnostics.retain(|d| !options.ignore.contains(&d.code));
    if options.strict {
        report.diagnostics.iter_mut().for_each(|d| d.severity = Severity::Error);
    }
    report.summary.errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    report.summary.warnings = report.diagnostics.len() - report.summary.errors;
    // Sized exactly: with thousands of runtimes, a doubling vector's spare half is megabytes.
    let runtime_count = typed
        .iter()
        .filter(|t| matches!(t, document::Typed::Runtime(_)))
        .count();
    let mut runtimes = Vec::with_capacity(runtime_count);
    let mut datasets = Vec::with_capacity(typed.len() - runtime_count);
    let mut dataloads = Vec::new();
    let mut databackups = Vec::new();
    for object in typed {
        match object {
            document::Typed::Runtime(r) => runtimes.push(*r),
            document::Typed::Dataset(d) => datasets.push(*d),
            document::Typed::DataLoad(l) => dataloads.push(*l),
            document::Typed::DataBackup(b) => databackups.push(*b),
        }
    }
    Outcome {
        report,
        unreadable,
        runtimes,
        datasets,
        dataloads,
        databackups,
    }
}

fn run_parallel(inputs: &[Input], options: &ValidateOptions) -> Vec<FileOutcome> {
    // Asking the system for its cores reads cgroup files (a tenth of a millisecond, a few percent
    // of a one-file run): only asked when the answer matters.
    let cores = || match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let threads = match inputs.len() {
        0 | 1 => 1,
        n => cores().clamp(1, n),
    };
    // With fewer files than cores, a large file may use two threads itself.
    let split = OnceLock::new();
    let split_work = || *split.get_or_init(|| cores() >= 2 * threads);
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<FileOutcome>> = Vec::new();
    slots.resize_with(inputs.len(), || None);
    let chunks: Vec<Vec<(usize, FileOutcome)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .filter_map(|_| {
                // Trees are at most 64 levels deep (the reader's limit), but schema checks and
                // serde recurse over them: a roomy stack (virtual memory, not resident) in
                // debug builds too.
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(input) = inputs.get(i) else { break };
                            done.push((i, check_file(input, options, &split_work)));
                        }
                        done
                    })
                    .ok()
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    for (i, result) in chunks.into_iter().flatten() {
        slots[i] = Some(result);
    }
    // A file no worker took (a thread could not be started) is checked here: never dropped.
    slots
        .into_iter()
        .zip(inputs)
        .map(|(slot, input)| slot.unwrap_or_else(|| check_file(input, options, &|| false)))
        .collect()
}

/// `split_work` says whether a large file may take a second thread (asked only for a large one).
fn check_file(input: &Input, options: &ValidateOptions, split_work: &(dyn Fn() -> bool + Sync)) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let file: Arc<str> = Arc::from(input.display_name());
    let text = match load::read(input, options.max_file_bytes) {
        Err(e) => {
            outcome.unreadable = Some(e);
            return outcome;
        }
        Ok(Source::Unusable(problem)) => {
            let code = if problem.limit { Code::GFS005 } else { Code::GFS001 };
            outcome.diagnostics.push(file_level(
                &file,
                code,
                problem.line,
                problem.column,
                problem.message,
                None,
            ));
            return outcome;
        }
        Ok(Source::Text(text)) => text,
    };
    let check = |node: &load::Node| document::check(&file, &text, node, &options.namespace, options.keep_objects);
    let pipelined = (text.len() > PIPELINE_MIN_BYTES && split_work())
        .then(|| pipeline(&text, &check))
        .flatten();
    let parse_error = match pipelined {
        Some((parse_error, results)) => {
            for result in results {
                absorb(&mut outcome, result);
            }
            parse_error
        }
        None => load::for_each_document(&text, |node| absorb(&mut outcome, check(&node))),
    };
    if outcome.documents == 0 && parse_error.is_none() {
        let mut d = file_level(
            &file,
            Code::GFS001,
            1,
            1,
            "file contains no YAML documents".to_owned(),
            None,
        );
        d.severity = Severity::Warning;
        outcome.diagnostics.push(d);
    }
    if let Some(parse) = parse_error {
        let code = if parse.limit { Code::GFS005 } else { Code::GFS001 };
        let mut d = file_level(&file, code, parse.pos.line, parse.pos.column, parse.message, None);
        d.source_line = document::snippet(&text, parse.pos);
        if parse.limit {
            d.help = Some(
                "Kubernetes objects need neither deep nesting nor repeated aliases; write the values out".to_owned(),
            );
        }
        outcome.diagnostics.push(d);
    }
    outcome
}

/// Files larger than this are parsed and checked on two threads when a core is free.
const PIPELINE_MIN_BYTES: usize = 256 * 1024;
/// Documents handed to the checking thread at a time.
const PIPELINE_BATCH: usize = 64;

/// Parses `text` on this thread and checks its documents on a second one, in batches (a bounded
/// queue keeps memory proportional to a few batches, not the file). `None` when the checking
/// thread could not run or failed: the caller then checks the file on its own, losing nothing.
fn pipeline(
    text: &str,
    check: &(dyn Fn(&load::Node) -> DocOutcome + Sync),
) -> Option<(Option<load::ParseFailure>, Vec<DocOutcome>)> {
    std::thread::scope(|scope| {
        let (to_checker, batches) = std::sync::mpsc::sync_channel::<Vec<load::Node>>(2);
        let checker = std::thread::Builder::new()
            .stack_size(WORKER_STACK_BYTES)
            .spawn_scoped(scope, move || {
                batches
                    .into_iter()
                    .flatten()
                    .map(|node| check(&node))
                    .collect::<Vec<_>>()
            })
            .ok()?;
        let mut batch = Vec::with_capacity(PIPELINE_BATCH);
        let parse_error = load::for_each_document(text, |node| {
            batch.push(node);
            if batch.len() == PIPELINE_BATCH {
                let _ = to_checker.send(std::mem::replace(&mut batch, Vec::with_capacity(PIPELINE_BATCH)));
            }
        });
        if !batch.is_empty() {
            let _ = to_checker.send(batch);
        }
        drop(to_checker);
        checker.join().ok().map(|results| (parse_error, results))
    })
}

/// Adds one checked document to its file's outcome.
fn absorb(outcome: &mut FileOutcome, doc: DocOutcome) {
    outcome.documents += 1;
    outcome.diagnostics.extend(doc.diagnostics);
    outcome.typed.extend(doc.typed);
    if doc.skipped {
        outcome.skipped += 1;
    }
    if let Some(seen) = doc.seen {
        if !doc.goosefs_only.is_empty() {
            outcome
                .goosefs_only
                .push((seen.namespace.clone(), seen.name.clone(), doc.goosefs_only));
        }
        outcome.seen.push(seen);
    } else {
        outcome.diagnostics.extend(doc.goosefs_only);
    }
}

fn file_level(
    file: &Arc<str>,
    code: Code,
    line: u64,
    column: u64,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    Diagnostic {
        file: file.clone(),
        line,
        column,
        severity: code.severity(),
        code,
        path: String::new(),
        object: String::new(),
        message,
        help,
        source_line: None,
    }
}

/// GFS202 pairing across all inputs, and the GooseFS-only Dataset findings, which are kept
/// unless another Fluid runtime kind claims the Dataset.
fn pair(seen: &[Seen], goosefs_only: Vec<(String, String, Vec<Diagnostic>)>, out: &mut Vec<Diagnostic>) {
    let key = |s: &Seen| (s.namespace.clone(), s.name.clone());
    let datasets: HashSet<_> = seen.iter().filter(|s| s.role == Role::Dataset).map(key).collect();
    let runtimes: HashSet<_> = (seen.iter())
        .filter(|s| matches!(s.role, Role::GooseFsRuntime | Role::OtherRuntime))
        .map(key)
        .collect();
    let goosefs: HashSet<_> = (seen.iter())
        .filter(|s| s.role == Role::GooseFsRuntime)
        .map(key)
        .collect();
    let others: HashSet<_> = seen.iter().filter(|s| s.role == Role::OtherRuntime).map(key).collect();
    // GFS301: a DataLoad compiles into the loader Job of its Dataset's runtime, so both are in
    // the input, in the DataLoad's own namespace (Fluid refuses any other).
    // GFS302: a DataBackup backs up the runtime of its Dataset (in its own namespace).
    for s in seen.iter().filter(|s| s.role == Role::DataBackup) {
        let Some((namespace, name, at)) = &s.target else {
            continue;
        };
        if name.is_empty()
            || (goosefs.contains(&(namespace.clone(), name.clone()))
                && datasets.contains(&(namespace.clone(), name.clone())))
        {
            continue;
        }
        let mut d = at.clone();
        d.message = format!(
            "DataBackup {}/{} backs up Dataset {namespace}/{name}, which has no Dataset and GooseFSRuntime in the input",
            s.namespace, s.name
        );
        d.help = Some(
            "its Job is compiled into the runtime's objects (and pruned with them): give the Dataset and its GooseFSRuntime in the same input"
                .to_owned(),
        );
        out.push(d);
    }
    for s in seen.iter().filter(|s| s.role == Role::DataLoad) {
        let Some((namespace, name, at)) = &s.target else {
            continue;
        };
        let (message, help) = if *namespace != s.namespace {
            (
                format!(
                    "DataLoad {}/{} targets Dataset {namespace}/{name} in another namespace",
                    s.namespace, s.name
                ),
                "Fluid runs a DataLoad only in its Dataset's namespace: move it there, or drop spec.dataset.namespace",
            )
        } else if !goosefs.contains(&(namespace.clone(), name.clone()))
            || !datasets.contains(&(namespace.clone(), name.clone()))
        {
            (
                format!(
                    "DataLoad {}/{} targets Dataset {namespace}/{name}, which has no Dataset and GooseFSRuntime in the input",
                    s.namespace, s.name
                ),
                "its loader Job is compiled into the runtime's objects (and pruned with them): give the Dataset and its GooseFSRuntime in the same input",
            )
        } else {
            continue;
        };
        let mut d = at.clone();
        d.message = message;
        d.help = Some(help.to_owned());
        out.push(d);
    }
    for s in seen {
        let (message, help) = match s.role {
            Role::GooseFsRuntime if !datasets.contains(&key(s)) => (
                format!(
                    "GooseFSRuntime {}/{} has no Dataset of the same name and namespace in the input",
                    s.namespace, s.name
                ),
                "add a Dataset with the same metadata.name and namespace (Fluid binds them by name)",
            ),
            Role::Dataset if !runtimes.contains(&key(s)) => (
                format!(
                    "Dataset {}/{} has no runtime of the same name and namespace in the input",
                    s.namespace, s.name
                ),
                "add a GooseFSRuntime with the same metadata.name and namespace",
            ),
            _ => continue,
        };
        let mut d = s.at.clone();
        d.message = message;
        d.help = Some(help.to_owned());
        out.push(d);
    }
    // GFS106 across runtimes: host networking means two runtimes pinning one port collide on
    // any node running both.
    let mut owners: HashMap<i64, &Seen> = HashMap::new();
    for s in seen.iter().filter(|s| s.role == Role::GooseFsRuntime) {
        let mut own: Vec<i64> = Vec::new();
        for (port, at) in &s.ports {
            if own.contains(port) {
                continue; // reported within the runtime
            }
            own.push(*port);
            match owners.get(port) {
                Some(other) => {
                    let mut d = at.clone();
                    d.message = format!(
                        "port {port} is also pinned by GooseFSRuntime {}/{}",
                        other.namespace, other.name
                    );
                    d.help = Some("runtimes use host networking: pin a different port or remove the pin".to_owned());
                    out.push(d);
                }
                None => {
                    owners.insert(*port, s);
                }
            }
        }
    }
    for (namespace, name, diagnostics) in goosefs_only {
        if !others.contains(&(namespace, name)) {
            out.extend(diagnostics);
        }
    }
}
