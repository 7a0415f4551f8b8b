//! Carrying out a [`Plan`]: server-side applies in the plan's order (config, services, volume,
//! masters, mount Job, workers, FUSE; the objects of one step concurrently across runtimes),
//! then pruning, then (`--wait`) waiting for the runtime's phases and its mount Job. Nothing
//! waits in between: the mount Job, the workers and FUSE each wait for a leader themselves (the
//! client retries for `goosefs.user.rpc.retry.max.duration`, the workers register every
//! heartbeat), so their pods start while the masters elect one. Progress is reported line by line through a callback so the CLI decides
//! where it goes.

use std::time::{Duration, Instant};

use serde_json::Value;

use futures::{StreamExt, TryStreamExt, stream};

use super::client::{CONCURRENCY, Cluster, ClusterError, Deletion, is_fluid_kind};
use super::credential;
use super::plan::{ChangeOp, Plan, ResourceKey};
use super::status::RuntimeStatus;

/// How to apply.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Delete objects of the runtime that are no longer rendered.
    pub prune: bool,
    /// Take over fields another field manager owns (`force=true`).
    pub force_conflicts: bool,
    /// Wait at the end for every pod of the runtime and its mount Job, at most this long.
    pub wait: Option<Duration>,
    /// At the end, wait only for Fluid's phases (workers PartialReady will do).
    pub partial: bool,
    /// How often to poll while waiting.
    pub poll: Duration,
}

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A request failed; what was applied before it stays applied.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A saved plan no longer matches the cluster.
    #[error(
        "the saved plan is stale: {object} changed since it was made (resourceVersion {planned} then, {live} now); run plan again"
    )]
    Stale {
        /// `Kind/ns/name`.
        object: String,
        /// resourceVersion in the plan (`none`: absent).
        planned: String,
        /// resourceVersion now (`none`: absent).
        live: String,
    },
    /// Pods of a deleted runtime were still there when the wait ended.
    #[error("timed out after {}s waiting for the pods of {runtime} to go: {pods} remain", waited.as_secs())]
    PodsRemain {
        /// How long was waited.
        waited: Duration,
        /// `namespace/name`.
        runtime: String,
        /// Pod names.
        pods: String,
    },
    /// The mount Job failed, or had not completed when the wait ended.
    #[error("the mount Job {namespace}/{job} {state}; its pods' logs say why (kubectl logs job/{job} -n {namespace})")]
    MountJob {
        /// Namespace.
        namespace: String,
        /// Job name.
        job: String,
        /// `failed (...)` or `has not completed after Ns`.
        state: String,
    },
    /// The runtime did not become ready in time.
    #[error("timed out after {}s waiting for runtime {namespace}/{name}: masters {master}, workers {worker}, fuses {fuse}", waited.as_secs())]
    Timeout {
        /// How long was waited.
        waited: Duration,
        /// Namespace.
        namespace: String,
        /// Runtime.
        name: String,
        /// Master phase with counts.
        master: String,
        /// Worker phase with counts.
        worker: String,
        /// FUSE phase with counts.
        fuse: String,
    },
}

/// The runtime a namespaced object belongs to, from its instance label.
fn runtime_of(object: &Value) -> Option<(String, String)> {
    let metadata = &object["metadata"];
    let name = metadata["labels"]["app.kubernetes.io/instance"].as_str()?;
    let namespace = metadata["namespace"].as_str().filter(|ns| !ns.is_empty())?;
    Some((namespace.to_owned(), name.to_owned()))
}

/// Applies `plan` (its changes carry the objects to send), returning the final status of each
/// runtime when waiting.
///
/// # Errors
/// [`ApplyError`]: the first failed request, or a wait that timed out.
pub async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    options: ApplyOptions,
    report: &mut dyn FnMut(String),
) -> Result<Vec<RuntimeStatus>, ApplyError> {
    let started = Instant::now();
    let mut runtimes: Vec<(String, String)> = Vec::new();
    for object in plan.changes.iter().filter_map(|c| c.object.as_ref()) {
        if let Some(runtime) = runtime_of(object)
            && !runtimes.contains(&runtime)
        {
            runtimes.push(runtime);
        }
    }
    let writes: Vec<(&ResourceKey, &str, &Value)> = plan
        .changes
        .iter()
        .filter_map(|change| {
            let verb = match change.op {
                ChangeOp::Create => "created",
                ChangeOp::Update => "configured",
                ChangeOp::Unchanged | ChangeOp::Delete => return None,
            };
            Some((&change.key, verb, change.object.as_ref()?))
        })
        .collect();
    // Consecutive objects of one kind (the same step of every runtime) do not depend on each
    // other: they are applied concurrently; kinds follow each other in the plan's order.
    for group in writes.chunk_by(|a, b| a.0.kind == b.0.kind) {
        let results: Vec<Result<&str, ClusterError>> = stream::iter(group)
            .map(|(_, verb, object)| async move {
                if credential::is_generated(object) {
                    let secret = credential::generate(object).map_err(|e| ClusterError::Unreachable(e.to_string()))?;
                    return Ok(if cluster.create(&secret).await? {
                        "created (keys generated, never shown)"
                    } else {
                        "exists: kept as it is"
                    });
                }
                // Right after their CRDs are created, Fluid kinds are served within moments.
                let mut tries = if is_fluid_kind(object) { 20 } else { 1 };
                loop {
                    tries -= 1;
                    match cluster.apply(object, options.force_conflicts).await {
                        Err(ClusterError::Api { code: 404, .. }) if tries > 0 => {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        other => return other.map(|_| *verb),
                    }
                }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        // Report what was applied up to the first failure, then stop on it.
        for ((key, _, _), result) in group.iter().zip(results) {
            report(format!("{key} {}", result?));
        }
    }
    let deletes: Vec<&ResourceKey> = plan
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Delete)
        .map(|c| &c.key)
        .collect();
    if options.prune {
        for key in deletes.iter().rev() {
            match cluster.delete(key).await? {
                Deletion::Gone => report(format!("{key} pruned")),
                pending => report(format!("{key} pruned: {}", pending.verb())),
            }
        }
    } else if !deletes.is_empty() {
        report(format!(
            "{} object(s) no longer rendered were kept; pass --prune to delete them",
            deletes.len()
        ));
    }
    let mut statuses = Vec::new();
    if let Some(limit) = options.wait {
        let ready = if options.partial {
            RuntimeStatus::is_ready
        } else {
            RuntimeStatus::all_ready
        };
        for runtime in &runtimes {
            report(format!("waiting for runtime {}/{} to be ready", runtime.0, runtime.1));
            let ready = wait_until(cluster, runtime, started, limit, options.poll, ready, report).await?;
            if let Some(job) = mount_job(plan, runtime) {
                report(format!("waiting for the mount Job {}", job.name));
                if let Err(ApplyError::MountJob { namespace, job, state }) =
                    wait_for_job(cluster, &job, started, limit, options.poll).await
                {
                    // Say why, not only that: the Job's last log line and the runtime's own
                    // word on the mount (the Dataset's condition the leading master keeps).
                    let why = cluster.mount_failure(&namespace, &job, &runtime.1).await;
                    return Err(ApplyError::MountJob {
                        state: format!("{state}{why}"),
                        namespace,
                        job,
                    });
                }
            }
            statuses.push(ready);
        }
    }
    Ok(statuses)
}

/// The mount Job the plan renders for `runtime`, if it has mounts.
fn mount_job(plan: &Plan, runtime: &(String, String)) -> Option<ResourceKey> {
    plan.changes
        .iter()
        .filter(|c| c.op != ChangeOp::Delete && c.key.kind == "Job")
        // Not a DataLoad's loader Job: apply does not wait for a load.
        .filter(|c| {
            c.object
                .as_ref()
                .is_some_and(|o| o["metadata"]["labels"]["role"] == "goosefs-mount")
        })
        .find(|c| c.object.as_ref().and_then(runtime_of).as_ref() == Some(runtime))
        .map(|c| c.key.clone())
}

/// Whether the Job completed (`Some(Ok)`), failed (`Some(Err(reason))`) or neither yet.
pub(crate) fn job_outcome(job: &Value) -> Option<Result<(), String>> {
    let conditions = job["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let holds = |kind: &str| conditions.iter().find(|c| c["type"] == kind && c["status"] == "True");
    if holds("Complete").is_some() || job["status"]["succeeded"].as_i64().unwrap_or(0) > 0 {
        return Some(Ok(()));
    }
    holds("Failed").map(|c| {
        Err(format!(
            "failed ({}: {})",
            c["reason"].as_str().unwrap_or("Failed"),
            c["message"].as_str().unwrap_or("no message")
        ))
    })
}

/// Polls the mount Job until it completes; a failed Job, or the overall `limit`, ends the wait.
async fn wait_for_job(
    cluster: &Cluster,
    job: &ResourceKey,
    started: Instant,
    limit: Duration,
    poll: Duration,
) -> Result<(), ApplyError> {
    let failed = |state: String| ApplyError::MountJob {
        namespace: job.namespace.clone(),
        job: job.name.clone(),
        state,
    };
    loop {
        match cluster.get(job).await?.as_ref().and_then(job_outcome) {
            Some(Ok(())) => return Ok(()),
            Some(Err(reason)) => return Err(failed(reason)),
            None if started.elapsed() >= limit => {
                return Err(failed(format!(
                    "has not completed after {}s",
                    started.elapsed().as_secs()
                )));
            }
            None => tokio::time::sleep(poll).await,
        }
    }
}

/// Whether the mount Job of `runtime` in `plan` has completed (no mounts: nothing to wait for).
///
/// # Errors
/// [`ClusterError`] from the read.
pub async fn mounted(cluster: &Cluster, plan: &Plan, runtime: &(String, String)) -> Result<bool, ClusterError> {
    let Some(job) = mount_job(plan, runtime) else {
        return Ok(true);
    };
    Ok(matches!(
        cluster.get(&job).await?.as_ref().and_then(job_outcome),
        Some(Ok(()))
    ))
}

/// Writes Fluid's `.status` on each GooseFSRuntime (and its Dataset) the plan covers, from the
/// runtimes' live workloads, so `kubectl get goosefsruntime,dataset` reads as under Fluid; not
/// for a runtime whose leading master keeps it (our images). A
/// status that already says the same is left alone, and a condition whose status did not change
/// keeps its `lastTransitionTime`, as Fluid's controller does. `known` are statuses just read
/// (by the wait), not read again. Returns how many objects were written.
///
/// # Errors
/// [`ClusterError`] from the reads and writes.
pub async fn write_fluid_status(
    cluster: &Cluster,
    plan: &Plan,
    known: &[RuntimeStatus],
    now: i64,
) -> Result<usize, ClusterError> {
    let objects: Vec<&Value> = plan.changes.iter().filter_map(|c| c.object.as_ref()).collect();
    let mut written = 0;
    for runtime in objects.iter().filter(|o| o["kind"] == "GooseFSRuntime") {
        let key = ResourceKey::of(runtime);
        if keeps_own_status(&objects, &key) {
            continue;
        }
        let status = match known
            .iter()
            .find(|s| s.namespace == key.namespace && s.name == key.name)
        {
            Some(status) => status.clone(),
            None => cluster.runtime_status(&key.namespace, &key.name).await?,
        };
        let mut bodies = vec![(key.clone(), super::status::runtime_status_patch(&status, now))];
        let dataset = objects.iter().find(|o| {
            o["kind"] == "Dataset"
                && ResourceKey::of(o).name == key.name
                && ResourceKey::of(o).namespace == key.namespace
        });
        if let Some(dataset) = dataset {
            let masters = runtime["spec"]["master"]["replicas"]
                .as_i64()
                .filter(|n| *n > 0)
                .unwrap_or(1);
            let done = mounted(cluster, plan, &(key.namespace.clone(), key.name.clone())).await?;
            let body = super::status::dataset_status_patch(
                &status,
                done,
                &dataset["spec"]["mounts"],
                masters,
                &super::status::DatasetFacts::default(),
                now,
            );
            bodies.push((ResourceKey::of(dataset), body));
        }
        for (key, mut body) in bodies {
            let live = cluster.get(&key).await?;
            let live_status = live.as_ref().map_or(&Value::Null, |o| &o["status"]);
            if super::status::keep_transition_times(&mut body["status"], live_status) {
                continue;
            }
            cluster.patch_status(&key, &body).await?;
            written += 1;
        }
    }
    Ok(written)
}

/// Whether runtime `key`'s masters keep its status themselves: its render has the Role that lets
/// them (`<name>-status`, our images); `apply` then leaves the status to them.
fn keeps_own_status(objects: &[&Value], key: &ResourceKey) -> bool {
    objects.iter().any(|o| {
        o["kind"] == "Role"
            && o["metadata"]["namespace"] == key.namespace.as_str()
            && o["metadata"]["name"] == format!("{}-status", key.name).as_str()
    })
}

/// Refuses a saved plan when any object it covers changed (or appeared, or went) since: its
/// live resourceVersion must still be the one recorded.
///
/// # Errors
/// [`ApplyError::Stale`] naming the first changed object; [`ClusterError`] from the reads.
pub async fn check_fresh(cluster: &Cluster, plan: &Plan) -> Result<(), ApplyError> {
    let live: Vec<Option<String>> = stream::iter(&plan.changes)
        .map(|change| async move {
            let found = cluster.get(&change.key).await?;
            Ok::<_, ClusterError>(found.and_then(|o| o["metadata"]["resourceVersion"].as_str().map(str::to_owned)))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    for (change, live) in plan.changes.iter().zip(live) {
        if live != change.live_resource_version {
            let show = |v: Option<&String>| v.map_or_else(|| "none".to_owned(), Clone::clone);
            return Err(ApplyError::Stale {
                object: change.key.to_string(),
                planned: show(change.live_resource_version.as_ref()),
                live: show(live.as_ref()),
            });
        }
    }
    Ok(())
}

/// Polls the runtime's status until `done` or the overall `limit` since `started` passes.
async fn wait_until(
    cluster: &Cluster,
    (namespace, name): &(String, String),
    started: Instant,
    limit: Duration,
    poll: Duration,
    done: impl Fn(&RuntimeStatus) -> bool,
    report: &mut dyn FnMut(String),
) -> Result<RuntimeStatus, ApplyError> {
    let mut shown = String::new();
    loop {
        let status = cluster.runtime_status(namespace, name).await?;
        // Progress, one line whenever a count changes.
        let counts = format!(
            "  masters {}/{} ready, workers {}/{}, fuses {}/{}",
            status.master.ready,
            status.master.desired,
            status.worker.ready,
            status.worker.desired,
            status.fuse.ready,
            status.fuse.desired
        );
        if counts != shown {
            report(format!("{counts} ({}s)", started.elapsed().as_secs()));
            shown = counts;
        }
        if done(&status) {
            return Ok(status);
        }
        if started.elapsed() >= limit {
            let show = |c: &super::status::Component| format!("{} {}/{}", c.phase, c.ready, c.desired);
            return Err(ApplyError::Timeout {
                waited: started.elapsed(),
                namespace: namespace.clone(),
                name: name.clone(),
                master: show(&status.master),
                worker: show(&status.worker),
                fuse: show(&status.fuse),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// Deletes everything this tool made for runtime `name`, in reverse apply order (FUSE first,
/// config last, so nothing restarts against a half-removed runtime), then its GooseFSRuntime
/// object when Fluid's CRDs are served. Returns how many objects were deleted.
///
/// # Errors
/// [`ClusterError`] from the inventory or a delete.
pub async fn delete_runtime(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    report: &mut dyn FnMut(String),
) -> Result<usize, ClusterError> {
    let inventory = cluster.inventory(namespace, &[name]).await?;
    for object in inventory.iter().rev() {
        let key = ResourceKey::of(object);
        let deletion = cluster.delete(&key).await?;
        report(format!("{key} {}", deletion.verb()));
    }
    let mut deleted = inventory.len();
    // The runtime's one-off loads and backups (`kubectl goosefs load|backup`) are in no
    // inventory, so no apply prunes them; they go with the runtime (their finished pods would
    // outlive it for an hour). A backup's file stays where it was written.
    let mut jobs = Vec::new();
    for role in ["dataload-job", "databackup-job"] {
        let selector = format!("app=goosefs,release={name},role={role}");
        jobs.extend(cluster.list_labelled("batch/v1", "Job", namespace, &selector).await?);
    }
    let one_off = jobs
        .iter()
        .filter(|j| j["metadata"]["labels"][crate::compile::applyset::PART_OF].is_null());
    for job in one_off {
        let key = ResourceKey {
            api_version: "batch/v1".to_owned(),
            kind: "Job".to_owned(),
            namespace: namespace.to_owned(),
            name: job["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
        };
        let deletion = cluster.delete(&key).await?;
        report(format!("{key} {}", deletion.verb()));
        deleted += 1;
    }
    // The credential Secret is not in the inventory (never pruned): removed here when apply
    // generated it; one a user provides (GitOps) is theirs to remove.
    let secret = ResourceKey {
        api_version: "v1".to_owned(),
        kind: "Secret".to_owned(),
        namespace: namespace.to_owned(),
        name: goosefs_conf::credential::secret_name(name),
    };
    match cluster.get(&secret).await? {
        Some(live) if credential::is_generated(&live) => {
            let deletion = cluster.delete(&secret).await?;
            report(format!("{secret} {}", deletion.verb()));
            deleted += 1;
        }
        Some(_) => report(format!("{secret} kept: not generated by kubectl-goosefs")),
        None => {}
    }
    // With Fluid's CRDs, the GooseFSRuntime goes too and its Dataset is unbound, as when
    // Fluid removes a runtime; the Dataset itself (the user's description of data) stays.
    if !inventory.is_empty() && cluster.fluid_crds_installed().await? {
        let fluid = |kind: &str| ResourceKey {
            api_version: "data.fluid.io/v1alpha1".to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        let runtime = fluid("GooseFSRuntime");
        if cluster.get(&runtime).await?.is_some() {
            let deletion = cluster.delete(&runtime).await?;
            report(format!("{runtime} {}", deletion.verb()));
            deleted += 1;
        }
        let dataset = fluid("Dataset");
        if let Some(live) = cluster.get(&dataset).await? {
            // A status needs its conditions (the CRD requires them): a Dataset whose status was
            // never written (its runtime never reached the API) gets an empty list.
            let mut unbound = serde_json::json!({"status": {"phase": "NotBound", "runtimes": []}});
            if !live["status"]["conditions"].is_array() {
                unbound["status"]["conditions"] = serde_json::json!([]);
            }
            cluster.patch_status(&dataset, &unbound).await?;
            report(format!("{dataset} unbound"));
        }
    }
    Ok(deleted)
}

/// Waits until no pod of runtime `name` (label `release=<name>`) is left, at most `limit`.
///
/// # Errors
/// [`ApplyError::PodsRemain`] naming the pods still there; [`ClusterError`] from the lists.
pub async fn wait_for_pods_gone(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    limit: Duration,
    poll: Duration,
) -> Result<(), ApplyError> {
    let started = Instant::now();
    loop {
        let pods = cluster
            .list_labelled("v1", "Pod", namespace, &format!("release={name}"))
            .await?;
        if pods.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= limit {
            let names: Vec<&str> = pods.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
            return Err(ApplyError::PodsRemain {
                waited: started.elapsed(),
                runtime: format!("{namespace}/{name}"),
                pods: names.join(", "),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runtimes_come_from_namespaced_objects_only() {
        let labels = json!({"app.kubernetes.io/instance": "hbase"});
        let sts = json!({"metadata": {"namespace": "cache", "labels": labels}});
        let pv = json!({"metadata": {"labels": labels}});
        assert_eq!(runtime_of(&sts), Some(("cache".to_owned(), "hbase".to_owned())));
        assert_eq!(runtime_of(&pv), None);
        assert_eq!(runtime_of(&json!({"metadata": {"namespace": "cache"}})), None);
    }
}
