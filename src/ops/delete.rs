//! `delete`: every object this tool made for the named runtimes (FUSE first, config last), then
//! a wait until their pods are gone.

use std::time::Duration;

use super::session::Session;
use super::{OpsError, Progress};
use crate::cluster::apply::{delete_runtime, wait_for_pods_gone};

/// What to delete.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// Runtime names.
    pub names: Vec<String>,
    /// Their namespace (empty: the kubeconfig context's).
    pub namespace: String,
    /// Wait at most this long per runtime for its pods to go.
    pub wait: Option<Duration>,
    /// A runtime without objects is not an error.
    pub ignore_not_found: bool,
}

/// Deletes each runtime in turn, reporting each object to `progress`. A runtime without objects
/// is reported (unless ignored) after the others were deleted.
///
/// # Errors
/// [`OpsError::Cluster`], [`OpsError::Apply`] when pods remain after the wait,
/// [`OpsError::NotFound`] for a runtime without objects.
pub fn delete(session: &Session, options: &DeleteOptions, progress: Progress<'_>) -> Result<(), OpsError> {
    let namespace = session.namespace(Some(&options.namespace).filter(|n| !n.is_empty()));
    let mut missing = Vec::new();
    for name in &options.names {
        let deleted = session.block_on(delete_runtime(&session.cluster, &namespace, name, progress))?;
        if deleted == 0 {
            missing.push(format!("{namespace}/{name}"));
            continue;
        }
        if let Some(limit) = options.wait {
            let poll = Duration::from_millis(500);
            session.block_on(wait_for_pods_gone(&session.cluster, &namespace, name, limit, poll))?;
        }
    }
    match missing.is_empty() || options.ignore_not_found {
        true => Ok(()),
        false => Err(OpsError::NotFound(missing.join(", "))),
    }
}
