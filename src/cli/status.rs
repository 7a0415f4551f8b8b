//! `kubectl goosefs status`.

use clap::{Args, ValueEnum};

use super::plan::{ConnArgs, Session, cluster_failure};
use super::{CliError, EXIT_OK};
use crate::cluster::client::Watched;
use crate::cluster::status::{details, explain, table_of};

/// Exit code of `status` when a runtime is not ready (1 stays for cluster errors).
pub const EXIT_NOT_READY: u8 = 3;

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
    /// Adds ready and desired counts, as `kubectl get goosefsruntime -o wide`.
    Wide,
    /// Phases and counts as JSON.
    Json,
    /// Phases and counts as YAML.
    Yaml,
}

/// How often `--watch` reads the cluster when the server serves no watches.
const WATCH_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long `--watch` lets a burst of changes settle before reading.
const WATCH_SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

/// Seconds since the epoch, for AGE.
pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Prints the phases of the runtimes; exit 0 when all are ready, 3 when one is not.
///
/// # Errors
/// Usage errors; cluster errors are reported and give exit 1.
pub fn run(args: &StatusArgs) -> Result<u8, CliError> {
    let session = match Session::connect(&args.conn)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let namespace = session.namespace(args.namespace.as_ref());
    let wide = match args.output {
        StatusFormat::Table => false,
        StatusFormat::Wide => true,
        StatusFormat::Json | StatusFormat::Yaml if args.watch => {
            return Err(CliError::Usage(
                "--watch prints table rows: use it with -o table or -o wide".into(),
            ));
        }
        StatusFormat::Json | StatusFormat::Yaml => false,
    };
    let all = args.all_namespaces;
    let read = || async {
        let runtimes = if !args.names.is_empty() {
            args.names.iter().map(|n| (namespace.clone(), n.clone())).collect()
        } else {
            session
                .cluster
                .runtimes_in((!all).then_some(namespace.as_str()))
                .await?
        };
        let mut statuses = Vec::with_capacity(runtimes.len());
        for (namespace, name) in &runtimes {
            statuses.push(session.cluster.runtime_details(namespace, name).await?);
        }
        Ok::<_, crate::cluster::client::ClusterError>(statuses)
    };
    let result = session.runtime.block_on(read());
    let statuses = match result {
        Ok(s) => s,
        Err(e) => return Ok(cluster_failure(&e)),
    };
    if statuses.is_empty() {
        let place = if all {
            "any namespace".to_owned()
        } else {
            format!("namespace {namespace}")
        };
        eprintln!("No GooseFS runtimes managed by kubectl-goosefs in {place}.");
        return Ok(EXIT_NOT_READY);
    }
    let text = match args.output {
        StatusFormat::Table | StatusFormat::Wide => table_of(&statuses, wide, all, now()) + &details(&statuses, all),
        StatusFormat::Json => serde_json::to_string_pretty(&statuses).unwrap_or_default() + "\n",
        StatusFormat::Yaml => serde_saphyr::to_string(&statuses).map_err(|e| CliError::Usage(e.to_string()))?,
    };
    super::print(&text)?;
    if args.explain {
        let lines: Vec<String> = statuses.iter().map(explain).collect();
        super::print(&(lines.join("\n") + "\n"))?;
    }
    if args.watch {
        // As `kubectl get -w`: a new row whenever a runtime's status changes, until interrupted.
        return session.runtime.block_on(async {
            let mut shown = statuses;
            let mut changes = session.cluster.workload_changes(if all { "" } else { &namespace });
            let mut poll = false;
            loop {
                if poll {
                    tokio::time::sleep(WATCH_POLL).await;
                } else {
                    match changes.recv().await {
                        Some(Ok(Watched::Changed)) => {
                            // A rollout changes many objects at once: read once after the burst.
                            tokio::time::sleep(WATCH_SETTLE).await;
                            while let Ok(event) = changes.try_recv() {
                                if let Err(e) = event {
                                    return Ok(cluster_failure(&e));
                                }
                            }
                        }
                        Some(Ok(Watched::Unsupported)) | None => poll = true,
                        Some(Err(e)) => return Ok(cluster_failure(&e)),
                    }
                }
                let current = match read().await {
                    Ok(s) => s,
                    Err(e) => return Ok(cluster_failure(&e)),
                };
                // Rows laid out with every current runtime, so they line up with the table above.
                let table = table_of(&current, wide, all, now());
                for (status, row) in current.iter().zip(table.lines().skip(1)) {
                    if !shown.contains(status) {
                        super::print(&format!("{row}\n"))?;
                    }
                }
                shown = current;
            }
        });
    }
    Ok(
        if statuses.iter().all(crate::cluster::status::RuntimeStatus::is_ready) {
            EXIT_OK
        } else {
            EXIT_NOT_READY
        },
    )
}
