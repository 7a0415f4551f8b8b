//! `apply`: the plan (made now, or saved by `plan --out`), a confirmation, then the ordered
//! server-side applies, prune and wait of [`crate::cluster::apply`], and Fluid's status on the
//! GooseFSRuntime and Dataset objects.

use std::time::Duration;

use super::plan::{Scope, make_plan, read_plan};
use super::render::RenderOptions;
use super::session::Session;
use super::{OpsError, Progress, now};
use crate::cluster::Plan;
use crate::cluster::apply::{ApplyOptions as ExecuteOptions, check_fresh, execute, write_fluid_status};
use crate::cluster::status::RuntimeStatus;
use crate::validate::Report;

/// Where the plan comes from.
#[derive(Debug, Clone)]
pub enum PlanSource {
    /// Render these inputs and plan now.
    Render(RenderOptions),
    /// A plan saved by `plan --out` (refused when anything it covers changed since).
    Saved(std::path::PathBuf),
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The plan.
    pub source: PlanSource,
    /// What the apply covers and may change.
    pub scope: Scope,
    /// Delete objects of ours no longer rendered.
    pub prune: bool,
    /// Wait at the end for every pod and the mount Job, this long at most.
    pub wait: Option<Duration>,
    /// At the end, wait only for Fluid's phases (workers PartialReady will do).
    pub partial: bool,
    /// Apply even though Fluid's own controller runs.
    pub force: bool,
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Whether anything was written (besides a status refresh).
    pub changed: bool,
    /// Objects no longer rendered that were kept (no `--prune`).
    pub kept: usize,
    /// Fluid objects whose status was written.
    pub statuses_written: usize,
    /// The runtimes' final statuses (when waiting).
    pub statuses: Vec<RuntimeStatus>,
}

/// How often waits poll.
const POLL: Duration = Duration::from_millis(500);

/// Plans, shows the plan (`show`), asks (`confirm`, only when there is something to do), then
/// applies, prunes and waits, reporting each step to `progress`.
///
/// # Errors
/// [`OpsError`]: findings, a stale saved plan, the cluster, a refusal, a declined confirmation,
/// a wait that timed out.
pub fn apply(
    session: &Session,
    options: &ApplyOptions,
    findings: &mut dyn FnMut(&Report),
    show: &mut dyn FnMut(&Plan),
    confirm: &mut dyn FnMut() -> Result<bool, OpsError>,
    progress: Progress<'_>,
) -> Result<Applied, OpsError> {
    let cluster = &session.cluster;
    let plan = match &options.source {
        PlanSource::Saved(path) => {
            let plan = read_plan(path)?;
            session.block_on(check_fresh(cluster, &plan))?;
            plan
        }
        PlanSource::Render(render) => make_plan(session, render, options.scope, "applied", findings)?,
    };
    show(&plan);
    let (creates, updates, deletes, _) = plan.counts();
    let work = creates + updates > 0 || (options.prune && deletes > 0);
    let fluid_objects = plan.changes.iter().any(|c| c.key.kind == "GooseFSRuntime");
    let kept = if options.prune { 0 } else { deletes };
    if !work {
        // Nothing to apply, but the workloads may have become ready since: no controller keeps
        // the GooseFSRuntime's status current, so bring it up to date (written only if stale).
        let statuses_written = if fluid_objects {
            session.block_on(write_fluid_status(cluster, &plan, &[], now()))?
        } else {
            0
        };
        return Ok(Applied {
            kept,
            statuses_written,
            ..Applied::default()
        });
    }
    // Before asking: a refusal should not follow a yes.
    if fluid_objects && !options.force && session.block_on(cluster.fluid_controller_running())? {
        return Err(OpsError::FluidControllerRunning);
    }
    if !confirm()? {
        return Err(OpsError::NotConfirmed(
            "Apply cancelled; nothing was changed.".to_owned(),
        ));
    }
    let execute_options = ExecuteOptions {
        prune: options.prune,
        force_conflicts: options.scope.force_conflicts,
        wait: options.wait,
        partial: options.partial,
        poll: POLL,
    };
    let statuses = session.block_on(execute(cluster, &plan, execute_options, progress))?;
    let statuses_written = if fluid_objects {
        session.block_on(write_fluid_status(cluster, &plan, &statuses, now()))?
    } else {
        0
    };
    Ok(Applied {
        changed: true,
        kept,
        statuses_written,
        statuses,
    })
}
