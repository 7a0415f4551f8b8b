//! A connection to a cluster and the async runtime its requests run on, shared by the cluster
//! commands. Commands stay synchronous; each request batch runs to completion on this runtime.

use super::OpsError;
use crate::cluster::client::{Cluster, ConnectOptions};

/// A connected cluster.
pub struct Session {
    /// The runtime requests run on (one thread: a CLI waits on the network, not the CPU).
    pub runtime: tokio::runtime::Runtime,
    /// The cluster.
    pub cluster: Cluster,
}

impl Session {
    /// Connects as kubectl would (kubeconfig, context, request timeout).
    ///
    /// # Errors
    /// [`OpsError::Runtime`] when the async runtime cannot start, [`OpsError::Cluster`] for an
    /// unusable kubeconfig.
    pub fn connect(options: &ConnectOptions) -> Result<Session, OpsError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(OpsError::Runtime)?;
        let cluster = runtime.block_on(Cluster::connect(options))?;
        Ok(Session { runtime, cluster })
    }

    /// `namespace` when given, else the kubeconfig context's namespace.
    pub fn namespace(&self, namespace: Option<&String>) -> String {
        namespace
            .cloned()
            .unwrap_or_else(|| self.cluster.default_namespace().to_owned())
    }

    /// Runs one async step to completion.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
