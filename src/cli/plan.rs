//! `kubectl goosefs plan`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::render::CompileArgs;
use crate::cluster::client::ConnectOptions;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::plan::{Scope, make_plan};
use crate::ops::session::Session;
use crate::output::Style;
use crate::output::diff::render_plan;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: super::InputArgs,
    /// How to compile.
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
    /// Also save the plan as JSON to FILE (atomically), for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// What the apply would cover.
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Unified diffs per object and a summary line.
    Text,
    /// The plan as JSON (objects, operations, normalised before/after, live resourceVersions).
    Json,
}

pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{text:?}: use ms, s or m")),
    }
}

/// How to reach the cluster: kubectl's flags.
#[derive(Debug, Args)]
pub struct ConnArgs {
    /// Path to the kubeconfig (else KUBECONFIG, else ~/.kube/config).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Timeout of each request to the API server, e.g. 30s or 1m (0: none).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
}

impl ConnArgs {
    /// Connects.
    ///
    /// # Errors
    /// [`OpsError`] for an unusable kubeconfig.
    pub fn connect(&self) -> Result<Session, OpsError> {
        Session::connect(&ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            request_timeout: (!self.request_timeout.is_zero()).then_some(self.request_timeout),
        })
    }
}

/// What an apply covers besides the rendered objects and what it may change; `plan` takes the
/// same flags so that it shows what `apply` with them does.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ScopeArgs {
    /// Create the runtimes' namespaces first (server-side applied, like the rest).
    #[arg(long)]
    pub create_namespace: bool,
    /// Install Fluid's Dataset and GooseFSRuntime CRDs (from `schemas/`) so the objects and their
    /// status are kept in the cluster; when the CRDs are already there this happens anyway.
    #[arg(long)]
    pub install_crds: bool,
    /// Take over fields that another field manager owns instead of stopping on the conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Allow master-count changes that lower the Raft quorum's fault tolerance (e.g. 3 -> 1).
    #[arg(long)]
    pub allow_quorum_loss: bool,
}

impl From<ScopeArgs> for Scope {
    fn from(a: ScopeArgs) -> Scope {
        Scope {
            create_namespace: a.create_namespace,
            install_crds: a.install_crds,
            force_conflicts: a.force_conflicts,
            allow_quorum_loss: a.allow_quorum_loss,
        }
    }
}

/// The plan as text for people.
pub(super) fn plan_text(plan: &crate::cluster::Plan, color: bool) -> String {
    render_plan(plan, if color { Style::Color } else { Style::Plain })
}

/// Renders, asks the server for dry-run applies, compares with the live objects, prints the plan.
///
/// # Errors
/// [`OpsError`] from the inputs, the cluster, or writing output.
pub fn run(args: PlanArgs, color: bool) -> Result<ExitStatus, OpsError> {
    let session = args.conn.connect()?;
    let render = args
        .compile
        .options(&args.input, args.input.namespace.clone().unwrap_or_default());
    let plan = make_plan(&session, &render, args.scope.into(), "planned", &mut |report| {
        super::print_findings(report, color);
    })?;
    let json = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        crate::output::write_atomic(path, json.as_bytes()).map_err(|source| OpsError::Write {
            what: path.display().to_string(),
            source,
        })?;
    }
    let text = match args.output {
        PlanFormat::Text => plan_text(&plan, color),
        PlanFormat::Json => json,
    };
    super::print(&text)?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
