//! `kubectl goosefs load`.

use clap::Args;

use super::plan::ConnArgs;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::load::{LoadOptions, load};

/// Arguments of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Runtime name.
    pub name: String,
    /// GooseFS paths to load (default: the whole namespace, /).
    pub paths: Vec<String>,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Sync the paths' metadata from the UFS first (files added since the last listing load too).
    #[arg(long)]
    pub metadata: bool,
    /// Follow the load's log until it ends (`--wait=false`: return once its Job is created).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub wait: bool,
    /// How long the wait lasts.
    #[arg(long, default_value = "60m", value_parser = super::plan::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Starts a load of the runtime's cache and, with `--wait`, prints its progress until it ends.
///
/// # Errors
/// [`OpsError`]: no such runtime, the cluster, a failed load, the wait's limit.
pub fn run(args: &LoadArgs) -> Result<ExitStatus, OpsError> {
    let session = args.conn.connect()?;
    let options = LoadOptions {
        name: args.name.clone(),
        namespace: session.namespace(args.namespace.as_ref()),
        paths: args.paths.clone(),
        metadata: args.metadata,
        wait: args.wait.then_some(args.timeout),
    };
    let mut out = std::io::stdout().lock();
    load(&session, &options, &mut |line| {
        use std::io::Write as _;
        let _ = writeln!(out, "{line}");
    })?;
    Ok(ExitStatus::Success)
}
