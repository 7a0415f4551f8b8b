//! `job-master`, `job-worker` and `proxy`: they read their configuration, listen on the ports the
//! manifests give them, answer `/health` on each, and stop cleanly on SIGTERM. The job master's
//! RPC port runs distributed loads and the job worker's RPC port their tasks ([`crate::jobs`];
//! its web port has `/metrics`); the S3 gateway does nothing more yet: other requests are
//! answered 501, so nothing mistakes it for a working service.

use axum::http::StatusCode;
use axum::routing::get;
use goosefs_conf::ports::PortRole;
use goosefs_conf::{Conf, Role};

use crate::auth::Port;
use crate::net;

/// Why a service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A property is unusable.
    #[error(transparent)]
    Property(#[from] goosefs_conf::opts::ConfError),
    /// A port cannot be bound.
    #[error(transparent)]
    Listen(std::io::Error),
    /// The masters' addresses cannot be read.
    #[error("{0}")]
    Client(String),
}

/// The ports a role listens on, and the property naming the address it binds.
fn ports(role: Role) -> (&'static [PortRole], &'static str) {
    match role {
        Role::JobMaster => (
            &[PortRole::JobMasterRpc, PortRole::JobMasterWeb],
            "goosefs.job.master.bind.host",
        ),
        Role::JobWorker => (
            &[PortRole::JobWorkerRpc, PortRole::JobWorkerData, PortRole::JobWorkerWeb],
            "goosefs.job.worker.bind.host",
        ),
        _ => (&[PortRole::ApiGatewayRest], "goosefs.proxy.bind.host"),
    }
}

/// Runs the placeholder service of `role` until SIGTERM or SIGINT.
///
/// # Errors
/// [`ServiceError`].
pub async fn run(role: Role, conf: &Conf) -> Result<(), ServiceError> {
    let (roles, bind_key) = ports(role);
    let bind = conf.get_or(bind_key, "0.0.0.0").to_owned();
    let client = || -> Result<crate::client::MasterClient, ServiceError> {
        let cfg = crate::config::ClientConfig::from_conf(conf).map_err(|e| ServiceError::Client(e.to_string()))?;
        Ok(crate::client::MasterClient::new(&cfg))
    };
    let job_master = if role == Role::JobMaster {
        let retention = match conf.interval(
            "goosefs.job.master.finished.job.retention.time",
            goosefs_conf::duration::Interval::After(std::time::Duration::from_secs(300)),
        )? {
            goosefs_conf::duration::Interval::After(d) => d,
            goosefs_conf::duration::Interval::Never => std::time::Duration::MAX,
        };
        Some(crate::jobs::JobMaster::new(
            client()?,
            conf.port(PortRole::JobWorkerRpc)?,
            retention,
        ))
    } else {
        None
    };
    let job_worker = if role == Role::JobWorker {
        let host = conf
            .get(goosefs_conf::keys::WORKER_HOSTNAME)
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
        Some(crate::jobs::JobWorker::new(client()?, host))
    } else {
        None
    };
    let mut servers = tokio::task::JoinSet::new();
    for port_role in roles {
        let port = conf.port(*port_role)?;
        let listener = net::listen(&bind, port, port_role.property())
            .await
            .map_err(ServiceError::Listen)?;
        let base = match (&job_master, &job_worker, port_role) {
            (Some(jm), _, PortRole::JobMasterRpc) => crate::jobs::routes(jm.clone()),
            (_, Some(jw), PortRole::JobWorkerRpc) => crate::jobs::worker_routes(jw.clone()),
            (_, Some(jw), PortRole::JobWorkerWeb) => {
                let jw = jw.clone();
                axum::Router::new().route("/metrics", get(move || async move { crate::jobs::worker_metrics(&jw) }))
            }
            _ => axum::Router::new(),
        };
        let routes = base
            .route("/health", get(|| async { "ok\n" }))
            .fallback(|| async { (StatusCode::NOT_IMPLEMENTED, "not implemented in this runtime yet\n") });
        tracing::info!(port, property = port_role.property(), "listening");
        let guarded = match port_role {
            PortRole::JobMasterWeb | PortRole::JobWorkerWeb => Port::Web,
            _ => Port::Job,
        };
        servers.spawn(net::serve(listener, guarded, routes, None));
    }
    tokio::select! {
        () = crate::signal::terminated() => {}
        Some(ended) = servers.join_next() => tracing::error!(?ended, "a server stopped"),
    }
    Ok(())
}
