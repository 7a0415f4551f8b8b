//! `kubectl goosefs status`.

use clap::{Args, ValueEnum};

use super::plan::ConnArgs;
use crate::cluster::status::RuntimeStatus;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::status::{StatusOptions, ask_not_ready_pods, status, watch};
use crate::output::status::{details, explain, table_of};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Runtime names (default: every runtime this tool manages in the namespace, or with -A in all).
    pub names: Vec<String>,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Every namespace (a NAMESPACE column comes first), as `kubectl get -A`.
    #[arg(short = 'A', long, conflicts_with_all = ["names", "namespace"])]
    pub all_namespaces: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// After printing, keep watching and print a row whenever a runtime's status changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Also walk each runtime -> workloads -> master pods and name the first broken link.
    #[arg(long)]
    pub explain: bool,
}

/// Status output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// `kubectl get goosefsruntime`'s columns: NAME, MASTER/WORKER/FUSE PHASE, AGE.
    Table,
    /// Adds ready and desired counts, as `kubectl get goosefsruntime -o wide`, and the cache
    /// columns of the live status (CACHED, CAPACITY, CACHED %, HIT RATIO).
    Wide,
    /// Phases, counts, the live cache states and failing conditions as JSON.
    Json,
    /// Phases and counts as YAML.
    Yaml,
}

/// Prints the phases of the runtimes; exit 0 when all are ready, 3 when one is not.
///
/// # Errors
/// [`OpsError`]: usage, the cluster, writing output.
pub fn run(args: &StatusArgs) -> Result<ExitStatus, OpsError> {
    if args.watch && matches!(args.output, StatusFormat::Json | StatusFormat::Yaml) {
        return Err(OpsError::Usage(
            "--watch prints table rows: use it with -o table or -o wide".into(),
        ));
    }
    let session = args.conn.connect()?;
    let options = StatusOptions {
        names: args.names.clone(),
        namespace: args.namespace.clone().unwrap_or_default(),
        all_namespaces: args.all_namespaces,
    };
    let mut statuses = status(&session, &options)?;
    if args.explain {
        ask_not_ready_pods(&session, &mut statuses);
    }
    let all = args.all_namespaces;
    if statuses.is_empty() {
        let place = if all {
            "any namespace".to_owned()
        } else {
            format!("namespace {}", session.namespace(args.namespace.as_ref()))
        };
        eprintln!("No GooseFS runtimes managed by kubectl-goosefs in {place}.");
        return Ok(ExitStatus::NotReady);
    }
    let wide = args.output == StatusFormat::Wide;
    let now = crate::ops::now();
    let text = match args.output {
        StatusFormat::Table | StatusFormat::Wide => table_of(&statuses, wide, all, now) + &details(&statuses, all),
        StatusFormat::Json => serde_json::to_string_pretty(&statuses).unwrap_or_default() + "\n",
        StatusFormat::Yaml => serde_saphyr::to_string(&statuses).map_err(|e| OpsError::Invalid(e.to_string()))?,
    };
    super::print(&text)?;
    if args.explain {
        let lines: Vec<String> = statuses.iter().map(explain).collect();
        super::print(&(lines.join("\n") + "\n"))?;
    }
    if args.watch {
        // As `kubectl get -w`: a new row whenever a runtime's status changes, until interrupted.
        let mut shown = statuses;
        watch(&session, &options, &mut |current: &[RuntimeStatus]| {
            // Rows laid out with every current runtime, so they line up with the table above.
            let table = table_of(current, wide, all, crate::ops::now());
            for (status, row) in current.iter().zip(table.lines().skip(1)) {
                if !shown.contains(status) {
                    super::print(&format!("{row}\n"))?;
                }
            }
            shown = current.to_vec();
            Ok(true)
        })?;
        return Ok(ExitStatus::Success);
    }
    Ok(if statuses.iter().all(RuntimeStatus::is_ready) {
        ExitStatus::Success
    } else {
        ExitStatus::NotReady
    })
}
