//! `kubectl goosefs plan`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::render::{CompileArgs, validate_and_compile};
use super::{CliError, EXIT_OK};
use crate::cluster::client::{Cluster, ConnectOptions};
use crate::cluster::plan::{PlanOptions, plan};
use crate::model::Kind;
use crate::model::schema::crd;
use crate::output::Style;
use crate::output::diff::render_plan;

/// Exit code of `plan` for a cluster error (and, with `--detailed-exitcode`, 2 means changes).
pub const EXIT_CLUSTER: u8 = 1;

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

/// A connected cluster and the async runtime its requests run on.
pub(super) struct Session {
    pub runtime: tokio::runtime::Runtime,
    pub cluster: Cluster,
}

impl Session {
    /// Connects; `Err(code)` once a connection error has been reported.
    ///
    /// # Errors
    /// [`CliError::Usage`] when the async runtime cannot start.
    pub fn connect(conn: &ConnArgs) -> Result<Result<Session, u8>, CliError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
        let options = ConnectOptions {
            kubeconfig: conn.kubeconfig.clone(),
            context: conn.context.clone(),
            request_timeout: (!conn.request_timeout.is_zero()).then_some(conn.request_timeout),
        };
        Ok(match runtime.block_on(Cluster::connect(&options)) {
            Ok(cluster) => Ok(Session { runtime, cluster }),
            Err(e) => Err(cluster_failure(&e)),
        })
    }

    /// `--namespace`, else the kubeconfig context's namespace.
    pub fn namespace(&self, input: Option<&String>) -> String {
        input
            .cloned()
            .unwrap_or_else(|| self.cluster.default_namespace().to_owned())
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

/// Validates, compiles, dry-runs and diffs: what `plan` prints and `apply` carries out, for the
/// `scope` (namespaces, CRDs, forced fields, quorum loss).
/// `Err(code)` once a finding or cluster error has been reported.
///
/// # Errors
/// Usage errors.
pub(super) fn make_plan(
    session: &Session,
    input: &super::InputArgs,
    compile: &CompileArgs,
    scope: ScopeArgs,
    verb: &str,
    color: bool,
) -> Result<Result<crate::cluster::Plan, u8>, CliError> {
    let namespace = session.namespace(input.namespace.as_ref());
    let (outcome, compiled) = match validate_and_compile(input, compile, &namespace, verb, color)? {
        Ok(done) => done,
        Err(code) => return Ok(Err(code)),
    };
    let mut objects: Vec<serde_json::Value> = Vec::new();
    // With Fluid's CRDs served (or installed now), the Dataset and GooseFSRuntime objects are
    // applied too, first, so `kubectl get goosefsruntime` works as under Fluid.
    let fluid_served = match session.runtime.block_on(session.cluster.fluid_crds_installed()) {
        Ok(found) => found,
        Err(e) => return Ok(Err(cluster_failure(&e))),
    };
    let with_fluid = scope.install_crds || fluid_served;
    let mut absent_namespaces: Vec<String> = Vec::new();
    if scope.create_namespace {
        let mut namespaces: Vec<&str> = compiled.values.iter().map(|v| v.namespace.as_str()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        for ns in namespaces {
            let object = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            match session
                .runtime
                .block_on(session.cluster.get(&crate::cluster::ResourceKey::of(&object)))
            {
                Ok(Some(_)) => {}
                Ok(None) => absent_namespaces.push(ns.to_owned()),
                Err(e) => return Ok(Err(cluster_failure(&e))),
            }
            objects.push(object);
        }
    }
    if with_fluid && !compiled.values.is_empty() {
        if scope.install_crds {
            objects.extend([Kind::Dataset, Kind::GooseFsRuntime].map(crd));
        }
        let fluid = |object: serde_json::Result<serde_json::Value>| {
            let mut object = object.map_err(|e| CliError::Usage(e.to_string()))?;
            if object["metadata"]["namespace"].as_str().is_none_or(str::is_empty) {
                object["metadata"]["namespace"] = namespace.clone().into();
            }
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
            Ok::<_, CliError>(object)
        };
        for dataset in &outcome.datasets {
            objects.push(fluid(serde_json::to_value(dataset))?);
        }
        for runtime in &outcome.runtimes {
            objects.push(fluid(serde_json::to_value(runtime))?);
        }
    }
    for manifest in &compiled.manifests {
        objects.push(manifest.object().map_err(|e| CliError::Usage(e.to_string()))?);
    }
    let runtimes: Vec<(String, String)> = compiled
        .values
        .iter()
        .map(|v| (v.namespace.clone(), v.name.clone()))
        .collect();
    let as_rendered = |object: &serde_json::Value| {
        (crate::cluster::client::is_fluid_kind(object) && !fluid_served)
            || object["metadata"]["namespace"]
                .as_str()
                .is_some_and(|ns| absent_namespaces.iter().any(|a| a == ns))
    };
    let (desired, live) = match session.runtime.block_on(session.cluster.gather(
        &objects,
        &runtimes,
        &as_rendered,
        scope.force_conflicts,
    )) {
        Ok(found) => found,
        Err(e) => return Ok(Err(cluster_failure(&e))),
    };
    let options = PlanOptions {
        allow_quorum_loss: scope.allow_quorum_loss,
    };
    Ok(match plan(&desired, &live, options) {
        Ok(mut plan) => {
            let mut by_key: std::collections::HashMap<_, _> = objects
                .into_iter()
                .map(|o| (crate::cluster::ResourceKey::of(&o), o))
                .collect();
            for change in &mut plan.changes {
                change.object = by_key.remove(&change.key);
            }
            Ok(plan)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(EXIT_CLUSTER)
        }
    })
}

/// The plan as text for people.
pub(super) fn plan_text(plan: &crate::cluster::Plan, color: bool) -> String {
    render_plan(plan, if color { Style::Color } else { Style::Plain })
}

/// Renders, asks the server for dry-run applies, compares with the live objects, prints the plan.
///
/// # Errors
/// Usage errors and failures writing output; cluster errors are reported and give exit 1.
pub fn run(args: PlanArgs, color: bool) -> Result<u8, CliError> {
    let session = match Session::connect(&args.conn)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let plan = match make_plan(&session, &args.input, &args.compile, args.scope, "plan", color)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let json = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        crate::output::write_atomic(path, json.as_bytes()).map_err(|source| CliError::Write {
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
        2
    } else {
        EXIT_OK
    })
}

/// Reports a cluster error; its exit code.
pub(super) fn cluster_failure(error: &dyn std::fmt::Display) -> u8 {
    eprintln!("error: {error}");
    EXIT_CLUSTER
}
