//! `kubectl goosefs delete`.

use clap::Args;

use super::plan::ConnArgs;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::delete::{DeleteOptions, delete};

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
/// [`OpsError`]: a declined or impossible confirmation, the cluster, missing runtimes.
pub fn run(args: &DeleteArgs) -> Result<ExitStatus, OpsError> {
    let session = args.conn.connect()?;
    let namespace = session.namespace(args.namespace.as_ref());
    let question = format!(
        "Delete every object of runtime(s) {} in namespace {namespace}?",
        args.names.join(", ")
    );
    if !args.yes && !super::apply::confirm(&question)? {
        return Err(OpsError::NotConfirmed(
            "Delete cancelled; nothing was changed.".to_owned(),
        ));
    }
    let options = DeleteOptions {
        names: args.names.clone(),
        namespace,
        wait: args.wait.then_some(args.timeout),
        ignore_not_found: args.ignore_not_found,
    };
    delete(&session, &options, &mut super::progress)?;
    Ok(ExitStatus::Success)
}
