//! `kubectl goosefs apply`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use super::plan::{ConnArgs, ScopeArgs, Session, cluster_failure, make_plan, parse_duration, plan_text};
use super::render::CompileArgs;
use super::{CliError, EXIT_FAILURE, EXIT_OK};
use crate::cluster::Plan;
use crate::cluster::apply::{ApplyOptions, check_fresh, execute, write_fluid_status};
use crate::cluster::status::table;

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
    /// Wait for the masters before the mount Job, and for Ready phases at the end
    /// (`--wait=false`: apply everything at once and return).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub wait: bool,
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

/// How often `--wait` polls.
const POLL: Duration = Duration::from_millis(500);

/// Plans, shows the plan, asks, applies in order, prunes and waits.
///
/// # Errors
/// Usage errors; cluster errors are reported and give exit 1.
pub fn run(args: ApplyArgs, color: bool) -> Result<u8, CliError> {
    let session = match Session::connect(&args.conn)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let saved = args.plan.clone().or_else(|| saved_plan_input(&args.input));
    let plan = match &saved {
        Some(path) => {
            let plan = read_plan(path)?;
            if let Err(e) = session.runtime.block_on(check_fresh(&session.cluster, &plan)) {
                return Ok(cluster_failure(&e));
            }
            plan
        }
        None => match make_plan(&session, &args.input, &args.compile, args.scope, "apply", color)? {
            Ok(p) => p,
            Err(code) => return Ok(code),
        },
    };
    let plan = &plan;
    // Output errors (a closed pipe) never decide whether the cluster is changed: see `progress`.
    let _ = super::print(&plan_text(plan, color));
    let (creates, updates, deletes, _) = plan.counts();
    let work = creates + updates > 0 || (args.prune && deletes > 0);
    let fluid_objects = plan.changes.iter().any(|c| c.key.kind == "GooseFSRuntime");
    if !work {
        if deletes > 0 {
            eprintln!("{deletes} object(s) no longer rendered were kept; pass --prune to delete them");
        }
        super::progress("Nothing to apply.".to_owned());
        // Nothing to apply, but the workloads may have become ready since: no controller keeps
        // the GooseFSRuntime's status current, so bring it up to date (written only if stale).
        if fluid_objects {
            match session
                .runtime
                .block_on(write_fluid_status(&session.cluster, plan, &[], super::status::now()))
            {
                Ok(0) => {}
                Ok(n) => super::progress(format!("status refreshed on {n} Fluid object(s)")),
                Err(e) => return Ok(cluster_failure(&e)),
            }
        }
        return Ok(EXIT_OK);
    }
    // Before asking: a refusal should not follow a yes.
    if fluid_objects && !args.force {
        match session.runtime.block_on(session.cluster.fluid_controller_running()) {
            Ok(false) => {}
            Ok(true) => {
                eprintln!(
                    "error: Fluid's GooseFS controller (fluid-system/goosefsruntime-controller) runs in this cluster and would \
                     deploy these runtimes too; uninstall it, or pass --force to apply anyway"
                );
                return Ok(super::plan::EXIT_CLUSTER);
            }
            Err(e) => return Ok(cluster_failure(&e)),
        }
    }
    if !args.yes && !confirm("Apply?")? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(EXIT_FAILURE);
    }
    let apply_options = ApplyOptions {
        prune: args.prune,
        force_conflicts: args.scope.force_conflicts,
        wait: args.wait.then_some(args.timeout),
        poll: POLL,
    };
    let mut report = super::progress;
    let result = session
        .runtime
        .block_on(execute(&session.cluster, plan, apply_options, &mut report));
    let statuses = match result {
        Ok(statuses) => statuses,
        Err(e) => return Ok(cluster_failure(&e)),
    };
    if fluid_objects {
        match session.runtime.block_on(write_fluid_status(
            &session.cluster,
            plan,
            &statuses,
            super::status::now(),
        )) {
            Ok(n) => super::progress(format!("status written on {n} Fluid object(s)")),
            Err(e) => return Ok(cluster_failure(&e)),
        }
    }
    if !statuses.is_empty() {
        let _ = super::print(&table(&statuses, true, super::status::now()));
    }
    Ok(EXIT_OK)
}

/// `apply plan.json`: a single input that is a plan saved by `plan --out` (a JSON object with
/// `changes`) is applied as `--plan` would, rather than read as manifests.
fn saved_plan_input(input: &super::InputArgs) -> Option<std::path::PathBuf> {
    let [path] = input.paths.iter().chain(&input.files).collect::<Vec<_>>()[..] else {
        return None;
    };
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    // Plans are small; a large JSON input is manifests, not worth reading twice.
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < 64 << 20);
    if !is_json || !small {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    (value.get("changes").is_some_and(serde_json::Value::is_array) && value.get("kind").is_none()).then(|| path.clone())
}

/// Reads a plan saved by `plan --out`.
fn read_plan(path: &std::path::Path) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read the plan {}: {e}", path.display())))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{}:{}:{}: not a plan saved by `kubectl goosefs plan --out`: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if plan
        .changes
        .iter()
        .any(|c| c.op != crate::cluster::ChangeOp::Delete && c.object.is_none())
    {
        return Err(CliError::Usage(format!(
            "{}: the plan lacks the objects to apply (saved by an older version?); run plan --out again",
            path.display()
        )));
    }
    Ok(plan)
}

/// Asks `question [y/N]` on the terminal; refuses when there is no terminal to ask on.
///
/// # Errors
/// [`CliError::Usage`] without a terminal (pass `--yes`) or when the answer cannot be read.
pub(super) fn confirm(question: &str) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "refusing to change the cluster without confirmation: standard input is not a terminal; pass --yes".into(),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}
