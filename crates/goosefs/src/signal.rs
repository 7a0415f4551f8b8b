//! SIGTERM and SIGINT as one future: every long-running command stops cleanly on either.

/// Resolves on SIGTERM or SIGINT.
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: stopping"),
                _ = int.recv() => tracing::info!("SIGINT: stopping"),
            }
        }
        // Without signal handlers, the default action (exit) applies: wait forever here.
        _ => std::future::pending().await,
    }
}
