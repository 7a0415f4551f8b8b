//! `kubectl goosefs plan`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::render::{CompileArgs, validate_and_compile};
use super::{CliError, EXIT_OK};
use crate::cluster::client::{Cluster, ClusterError, ConnectOptions};
use crate::cluster::plan::{PlanOptions, plan};
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
    /// Path to the kubeconfig (else KUBECONFIG, else ~/.kube/config).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Timeout of each request to the API server, e.g. 30s or 1m (0: none).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
    /// Also save the plan as JSON to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan master-count changes that lower the Raft quorum's fault tolerance (e.g. 3 -> 1).
    #[arg(long)]
    pub allow_quorum_loss: bool,
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Unified diffs per object and a summary line.
    Text,
    /// The plan as JSON (objects, operations, normalised before/after, live resourceVersions).
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
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

/// Renders, asks the server for dry-run applies, compares with the live objects, prints the plan.
///
/// # Errors
/// Usage errors and failures writing output; cluster errors are reported and give exit 1.
pub fn run(args: PlanArgs, color: bool) -> Result<u8, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let connect = ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        request_timeout: (!args.request_timeout.is_zero()).then_some(args.request_timeout),
    };
    let cluster = match runtime.block_on(Cluster::connect(&connect)) {
        Ok(c) => c,
        Err(e) => return Ok(cluster_failure(&e)),
    };
    let namespace = args
        .input
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_owned());
    let (_, compiled) = match validate_and_compile(&args.input, &args.compile, &namespace, "plan", color)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let objects: Vec<serde_json::Value> = compiled
        .manifests
        .iter()
        .map(|m| m.object().map_err(|e| CliError::Usage(e.to_string())))
        .collect::<Result<_, _>>()?;
    let runtimes: Vec<(String, String)> = compiled
        .values
        .iter()
        .map(|v| (v.namespace.clone(), v.name.clone()))
        .collect();
    let gathered = runtime.block_on(cluster.gather(&objects, &runtimes));
    let (desired, live) = match gathered {
        Ok(found) => found,
        Err(e) => return Ok(cluster_failure(&e)),
    };
    let plan = match plan(
        &desired,
        &live,
        PlanOptions {
            allow_quorum_loss: args.allow_quorum_loss,
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CLUSTER);
        }
    };
    let json = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        crate::output::write_atomic(path, json.as_bytes()).map_err(|source| CliError::Write {
            what: path.display().to_string(),
            source,
        })?;
    }
    let text = match args.output {
        PlanFormat::Text => render_plan(&plan, if color { Style::Color } else { Style::Plain }),
        PlanFormat::Json => json,
    };
    super::print(&text)?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        EXIT_OK
    })
}

fn cluster_failure(error: &ClusterError) -> u8 {
    eprintln!("error: {error}");
    EXIT_CLUSTER
}
