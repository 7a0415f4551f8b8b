//! One-off Jobs of a runtime (`load`, `backup`): what they are built from (the live master
//! StatefulSet's image, whether the runtime's credential Secret exists, a unique suffix), and
//! running one: create it, then with a wait follow its pod's log to the end and report how the
//! Job ended. Such Jobs are not part of the runtime's ApplySet; `delete` removes them.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::OpsError;
use crate::cluster::ResourceKey;
use crate::cluster::apply::job_outcome;
use crate::cluster::client::Cluster;

/// What a one-off Job is built from.
pub struct Facts {
    /// The runtime's live master StatefulSet.
    pub masters: Value,
    /// Its credential Secret exists (our images; nothing of it is read).
    pub credential: bool,
    /// Unique per run, so a second run is a new Job, not the finished one.
    pub suffix: String,
}

/// The facts of runtime `namespace/name`.
///
/// # Errors
/// [`OpsError::NotFound`] without the runtime's masters; the cluster's errors.
pub async fn facts(cluster: &Cluster, namespace: &str, name: &str) -> Result<Facts, OpsError> {
    let key = |api_version: &str, kind: &str, name: String| ResourceKey {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name,
    };
    let masters = cluster
        .get(&key("apps/v1", "StatefulSet", format!("{name}-master")))
        .await?
        .ok_or_else(|| OpsError::NotFound(name.to_owned()))?;
    let secret = key("v1", "Secret", goosefs_conf::credential::secret_name(name));
    let credential = cluster.get(&secret).await?.is_some();
    let suffix = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    Ok(Facts {
        masters,
        credential,
        suffix,
    })
}

/// The master container of a live master StatefulSet (its image is the Jobs' image).
pub fn master_container(masters: &Value) -> Option<&Value> {
    masters["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "goosefs-master"))
}

/// A Job that ran (or was started).
pub struct Ran {
    /// Its name.
    pub job: String,
    /// The node its pod ran on, once known.
    pub node: Option<String>,
}

/// Creates `job`; with a wait, follows its pod's log (each line to `line`) until the Job ends.
///
/// # Errors
/// [`OpsError::JobFailed`] for a failed Job or the wait's limit; the cluster's errors.
pub async fn run(
    cluster: &Cluster,
    job: &Value,
    wait: Option<Duration>,
    line: &mut dyn FnMut(&str),
) -> Result<Ran, OpsError> {
    let job_key = ResourceKey::of(job);
    cluster.create(job).await?;
    line(&format!("job/{} created", job_key.name));
    let Some(limit) = wait else {
        line(&format!(
            "follow it with: kubectl logs -f job/{} -n {}",
            job_key.name, job_key.namespace
        ));
        return Ok(Ran {
            job: job_key.name,
            node: None,
        });
    };
    let started = Instant::now();
    let timed_out = || {
        OpsError::JobFailed(format!(
            "job/{} has not finished after {}s; it goes on: kubectl logs -f job/{} -n {}",
            job_key.name,
            limit.as_secs(),
            job_key.name,
            job_key.namespace
        ))
    };
    // The pod, once it runs (or already ended): then its log, followed to the end.
    let (pod, node) = loop {
        let pods = cluster
            .list_labelled("v1", "Pod", &job_key.namespace, &format!("job-name={}", job_key.name))
            .await?;
        if let Some(pod) = pods
            .iter()
            .find(|p| matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded" | "Failed")))
        {
            break (
                pod["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                pod["spec"]["nodeName"].as_str().map(str::to_owned),
            );
        }
        if started.elapsed() >= limit {
            return Err(timed_out());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let left = limit.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, cluster.follow_log(&job_key.namespace, &pod, line)).await {
        Ok(followed) => followed?,
        Err(_) => return Err(timed_out()),
    }
    loop {
        match cluster.get(&job_key).await?.as_ref().and_then(job_outcome) {
            Some(Ok(())) => {
                return Ok(Ran {
                    job: job_key.name,
                    node,
                });
            }
            Some(Err(reason)) => {
                return Err(OpsError::JobFailed(format!(
                    "job/{} {reason}; its log above says why",
                    job_key.name
                )));
            }
            None if started.elapsed() >= limit => return Err(timed_out()),
            None => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
