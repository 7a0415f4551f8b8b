//! `status`: Fluid's phases of the runtimes, computed from the live workloads, and `--watch`'s
//! stream of changed statuses (API watches; polling where the server serves none).

use std::time::Duration;

use super::OpsError;
use super::session::Session;
use crate::cluster::client::{ClusterError, Watched};
use crate::cluster::status::RuntimeStatus;

/// Which runtimes.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// Runtime names (empty: every runtime this tool manages in the namespace, or everywhere).
    pub names: Vec<String>,
    /// Namespace (empty: the kubeconfig context's).
    pub namespace: String,
    /// Every namespace.
    pub all_namespaces: bool,
}

/// How often a watch reads when the server serves no watches.
const WATCH_POLL: Duration = Duration::from_secs(1);

/// How long a watch lets a burst of changes settle before reading.
const WATCH_SETTLE: Duration = Duration::from_millis(100);

fn namespace(session: &Session, options: &StatusOptions) -> String {
    session.namespace(Some(&options.namespace).filter(|n| !n.is_empty()))
}

async fn read(session: &Session, options: &StatusOptions) -> Result<Vec<RuntimeStatus>, ClusterError> {
    let namespace = namespace(session, options);
    let runtimes = if options.names.is_empty() {
        let scope = (!options.all_namespaces).then_some(namespace.as_str());
        session.cluster.runtimes_in(scope).await?
    } else {
        options.names.iter().map(|n| (namespace.clone(), n.clone())).collect()
    };
    let mut statuses = Vec::with_capacity(runtimes.len());
    for (namespace, name) in &runtimes {
        statuses.push(session.cluster.runtime_details(namespace, name).await?);
    }
    Ok(statuses)
}

/// The statuses of the runtimes, with their journal addresses and master pods.
///
/// # Errors
/// [`OpsError::Cluster`].
pub fn status(session: &Session, options: &StatusOptions) -> Result<Vec<RuntimeStatus>, OpsError> {
    Ok(session.block_on(read(session, options))?)
}

/// Asks each not-ready master, worker and FUSE pod's readiness endpoint why (through the API server's pod
/// proxy), for `--explain`.
pub fn ask_not_ready_pods(session: &Session, statuses: &mut [RuntimeStatus]) {
    session.block_on(async {
        for status in statuses.iter_mut() {
            // The first of each role: `--explain` names one (each answer may take seconds).
            let first =
                |pods: &[crate::cluster::status::PodStatus]| pods.iter().position(|p| !p.ready && p.node.is_some());
            let (m, w, f) = (
                first(&status.master_pods),
                first(&status.unready_workers),
                first(&status.unready_fuses),
            );
            let unready = (m.map(|i| &mut status.master_pods[i]).into_iter())
                .chain(w.map(|i| &mut status.unready_workers[i]))
                .chain(f.map(|i| &mut status.unready_fuses[i]));
            for pod in unready {
                if let Some(port) = pod.probe_port {
                    pod.ready_answer = session
                        .cluster
                        .pod_ready_answer(&status.namespace, &pod.name, port)
                        .await;
                }
            }
        }
    });
}

/// Watches the runtimes' workloads and calls `changed` with every status read after a change
/// (all runtimes, so rows line up), until `changed` returns false or the cluster fails.
///
/// # Errors
/// [`OpsError::Cluster`], or `changed`'s own error.
pub fn watch(
    session: &Session,
    options: &StatusOptions,
    changed: &mut dyn FnMut(&[RuntimeStatus]) -> Result<bool, OpsError>,
) -> Result<(), OpsError> {
    let scope = if options.all_namespaces {
        String::new()
    } else {
        namespace(session, options)
    };
    session.block_on(async {
        let mut changes = session.cluster.workload_changes(&scope);
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
                            event?;
                        }
                    }
                    Some(Ok(Watched::Unsupported)) | None => poll = true,
                    Some(Err(e)) => return Err(e.into()),
                }
            }
            let current = read(session, options).await?;
            if !changed(&current)? {
                return Ok(());
            }
        }
    })
}
