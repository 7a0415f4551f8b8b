//! `kubectl goosefs delete`.

use clap::Args;

use super::plan::{ConnArgs, Session, cluster_failure};
use super::{CliError, EXIT_OK};
use crate::cluster::apply::{delete_runtime, wait_for_pods_gone};

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Runtime names.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Delete without asking (required when standard input is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Wait until the runtime's pods are gone (`--wait=false`: return once the deletes are sent).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub wait: bool,
    /// How long the wait for pods lasts, per runtime.
    #[arg(long, default_value = "2m", value_parser = super::plan::parse_duration)]
    pub timeout: std::time::Duration,
    /// Exit 0 when a runtime has no objects (as kubectl's --ignore-not-found).
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// Deletes every object this tool made for each runtime (FUSE first, config last).
///
/// # Errors
/// Usage errors; cluster errors and missing runtimes are reported and give exit 1.
pub fn run(args: &DeleteArgs) -> Result<u8, CliError> {
    let session = match Session::connect(&args.conn)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let namespace = session.namespace(args.namespace.as_ref());
    let question = format!(
        "Delete every object of runtime(s) {} in namespace {namespace}?",
        args.names.join(", ")
    );
    if !args.yes && !super::apply::confirm(&question)? {
        eprintln!("Delete cancelled; nothing was changed.");
        return Ok(super::EXIT_FAILURE);
    }
    let mut code = EXIT_OK;
    for name in &args.names {
        let mut report = super::progress;
        match session
            .runtime
            .block_on(delete_runtime(&session.cluster, &namespace, name, &mut report))
        {
            Ok(0) if !args.ignore_not_found => {
                eprintln!("error: runtime {namespace}/{name}: no objects made by kubectl-goosefs found");
                code = super::plan::EXIT_CLUSTER;
            }
            Ok(_) if args.wait => {
                let poll = std::time::Duration::from_millis(500);
                let gone = wait_for_pods_gone(&session.cluster, &namespace, name, args.timeout, poll);
                if let Err(e) = session.runtime.block_on(gone) {
                    return Ok(cluster_failure(&e));
                }
            }
            Ok(_) => {}
            Err(e) => return Ok(cluster_failure(&e)),
        }
    }
    Ok(code)
}
