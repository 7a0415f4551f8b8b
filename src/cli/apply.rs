//! `kubectl goosefs apply`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use super::plan::{ConnArgs, ScopeArgs, parse_duration, plan_text};
use super::render::CompileArgs;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::apply::{ApplyOptions, PlanSource, apply};
use crate::ops::plan::is_saved_plan;
use crate::output::status::table;

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: super::InputArgs,
    /// How to compile.
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Apply without asking (required when standard input is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Delete objects of the runtime this tool made that are no longer rendered.
    #[arg(long)]
    pub prune: bool,
    /// What the apply covers.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// After applying everything at once, wait for every pod of the runtime and its mount Job
    /// (`--wait=partial`: Fluid's phases, some workers will do; `--wait=false`: return at once).
    #[arg(long, value_enum, default_value_t = WaitFor::True, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_name = "WHEN")]
    pub wait: WaitFor,
    /// How long the wait lasts in all, e.g. 300s or 10m.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Apply a plan saved with `plan --out FILE` instead of rendering inputs (`apply FILE` does the
    /// same when FILE is such a plan); refused when any object it covers changed in the cluster since.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["paths", "files"])]
    pub plan: Option<std::path::PathBuf>,
    /// Apply even though Fluid's own GooseFS controller runs in the cluster (both would act).
    #[arg(long)]
    pub force: bool,
}

/// What `apply --wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WaitFor {
    /// Every pod ready and the mounts done.
    #[value(alias = "all")]
    True,
    /// Fluid's phases: masters ready, some workers, FUSE present; the mounts done.
    Partial,
    /// No wait.
    False,
}

/// Plans, shows the plan, asks, applies in order, prunes and waits.
///
/// # Errors
/// [`OpsError`]: inputs, the cluster, a declined or impossible confirmation, a wait timeout.
pub fn run(args: ApplyArgs, color: bool) -> Result<ExitStatus, OpsError> {
    let session = args.conn.connect()?;
    let inputs = args.input.all();
    let source = match &args.plan {
        Some(path) => PlanSource::Saved(path.clone()),
        None if is_saved_plan(&inputs) => PlanSource::Saved(inputs[0].clone()),
        None => PlanSource::Render(
            args.compile
                .options(&args.input, args.input.namespace.clone().unwrap_or_default()),
        ),
    };
    let options = ApplyOptions {
        source,
        scope: args.scope.into(),
        prune: args.prune,
        wait: (args.wait != WaitFor::False).then_some(args.timeout),
        partial: args.wait == WaitFor::Partial,
        force: args.force,
    };
    let yes = args.yes;
    // Output errors (a closed pipe) never decide whether the cluster is changed: see `progress`.
    let applied = apply(
        &session,
        &options,
        &mut |report| super::print_findings(report, color),
        &mut |plan| {
            let _ = super::print(&plan_text(plan, color));
        },
        &mut || Ok(yes || confirm("Apply?")?),
        &mut super::progress,
    )?;
    if !applied.changed {
        if applied.kept > 0 {
            eprintln!(
                "{} object(s) no longer rendered were kept; pass --prune to delete them",
                applied.kept
            );
        }
        super::progress("Nothing to apply.".to_owned());
        if applied.statuses_written > 0 {
            super::progress(format!(
                "status refreshed on {} Fluid object(s)",
                applied.statuses_written
            ));
        }
        return Ok(ExitStatus::Success);
    }
    if applied.statuses_written > 0 {
        super::progress(format!(
            "status written on {} Fluid object(s)",
            applied.statuses_written
        ));
    }
    if !applied.statuses.is_empty() {
        let _ = super::print(&table(&applied.statuses, true, crate::ops::now()));
    }
    Ok(ExitStatus::Success)
}

/// Asks `question [y/N]` on the terminal; refuses when there is no terminal to ask on.
///
/// # Errors
/// [`OpsError::NotConfirmed`] without a terminal (pass `--yes`), [`OpsError::Read`] when the
/// answer cannot be read.
pub(super) fn confirm(question: &str) -> Result<bool, OpsError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(OpsError::NotConfirmed(
            "refusing to change the cluster without confirmation: standard input is not a terminal; pass --yes".into(),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|source| OpsError::Read {
        path: "standard input".into(),
        source,
    })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}
