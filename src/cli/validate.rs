//! `kubectl goosefs validate`.

use std::io::Write;

use clap::Args;

use crate::exit::ExitStatus;
use crate::model::quantity::parse_quantity;
use crate::ops::OpsError;
use crate::output::{self, Format, Style};
use crate::validate::{self, Code, ValidateOptions};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: super::InputArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Largest file read (a quantity: 64Mi, 500k, 1048576).
    #[arg(long, default_value = "64Mi", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Drop findings of this code (repeatable), e.g. --ignore GFS202 when Datasets live elsewhere.
    #[arg(long, value_name = "CODE", value_parser = str::parse::<Code>)]
    pub ignore: Vec<Code>,
    /// Files checked in parallel (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let q = parse_quantity(text).map_err(|e| e.to_string())?;
    u64::try_from(q.value_ceil()).map_err(|_| format!("{text:?} is not a positive size"))
}

/// Runs `validate` and maps the outcome to an exit code.
///
/// # Errors
/// [`OpsError`]: no input, broken embedded schemas, failures writing the report.
pub fn run(args: ValidateArgs, color: bool) -> Result<ExitStatus, OpsError> {
    let paths = args.input.all();
    if paths.is_empty() {
        return Err(OpsError::NoInput("validate"));
    }
    let options = ValidateOptions {
        paths,
        namespace: args.input.namespace.unwrap_or_else(|| "default".to_owned()),
        max_file_bytes: args.max_file_size,
        jobs: args.jobs,
        ignore: args.ignore,
        strict: args.strict,
        keep_objects: false,
    };
    let outcome = validate::validate(&options);
    for e in &outcome.unreadable {
        eprintln!("error: {e}");
    }
    let style = if color { Style::Color } else { Style::Plain };
    let mut out = std::io::stdout().lock();
    output::write_report(&outcome.report, args.format, style, &mut out)
        .and_then(|()| out.flush())
        .map_err(|source| OpsError::Write {
            what: "the report".into(),
            source,
        })?;
    Ok(if !outcome.unreadable.is_empty() {
        ExitStatus::Failure
    } else if outcome.report.has_errors() {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
