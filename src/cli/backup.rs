//! `kubectl goosefs backup`.

use clap::Args;

use super::plan::ConnArgs;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::ops::backup::{BackupOptions, backup, default_location};

/// Arguments of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Runtime name.
    pub name: String,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Where the file goes: pvc://<claim>/<path> or local:///<path> (default: the masters' backup
    /// directory, local:///tmp/goosefs-backup/<namespace>/<name>/). Give the same value as the
    /// Dataset's dataRestoreLocation.path to restore from it.
    #[arg(long, value_name = "LOCATION")]
    pub to: Option<String>,
    /// With local://: the node whose directory takes the file.
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Follow the backup's log until it ends (`--wait=false`: return once its Job is created).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub wait: bool,
    /// How long the wait lasts.
    #[arg(long, default_value = "10m", value_parser = super::plan::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Backs up the runtime's metadata and says where the file is.
///
/// # Errors
/// [`OpsError`]: no such runtime, a bad location, the cluster, a failed backup, the wait's limit.
pub fn run(args: &BackupArgs) -> Result<ExitStatus, OpsError> {
    let session = args.conn.connect()?;
    let namespace = session.namespace(args.namespace.as_ref());
    let options = BackupOptions {
        to: args
            .to
            .clone()
            .unwrap_or_else(|| default_location(&namespace, &args.name)),
        name: args.name.clone(),
        namespace,
        node: args.node.clone(),
        wait: args.wait.then_some(args.timeout),
    };
    let mut out = std::io::stdout().lock();
    let done = backup(&session, &options, &mut |line| {
        use std::io::Write as _;
        let _ = writeln!(out, "{line}");
    })?;
    if args.wait {
        use std::io::Write as _;
        let node = done.node.map(|n| format!(" (node {n})")).unwrap_or_default();
        let _ = writeln!(
            std::io::stdout(),
            "backed up: {}{node}; restore with the Dataset's dataRestoreLocation: {{path: {}}}",
            done.location,
            options.to
        );
    }
    Ok(ExitStatus::Success)
}
