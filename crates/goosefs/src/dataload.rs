//! `goosefs dataload`: the pod of a DataLoad's Job, as kubectl-goosefs renders it. For each
//! target path (`DATA_PATH`, `:`-separated, with `PATH_REPLICAS`) it checks the path exists,
//! syncs its metadata from the UFS first when `NEED_LOAD_METADATA` is `true`, and runs
//! `distributedLoad` through the job master, printing its progress. Fluid's controller would
//! write the DataLoad's status from the Job; with no controller the pod writes it itself
//! through the status subresource (its service account may patch only its DataLoads' status
//! and read their Jobs): `Executing` (duration `Unfinished`, as Fluid writes it) when it
//! starts, then `Complete`, or `Failed` once the
//! Job has no attempt left, with Fluid's duration (Job creation to finish, as Go prints a
//! duration) and its `Complete`/`Failed` condition.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::client::{ClientError, MasterClient};
use crate::kubeapi::{KubeApi, KubeError};

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum DataLoadError {
    /// The pod's environment is not what the rendered Job sets.
    #[error("{0}")]
    Usage(String),
    /// A path does not exist, or the masters or job master refused.
    #[error("{path}: {source}")]
    Load {
        /// The target path.
        path: String,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// The status could not be written.
    #[error("cannot write the DataLoad's status: {0}")]
    Status(#[from] KubeError),
}

/// What the rendered Job tells its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The DataLoad's name; `None` for a load with no DataLoad (`kubectl goosefs load`), whose
    /// status nobody keeps.
    pub name: Option<String>,
    /// Its namespace (the runtime's).
    pub namespace: String,
    /// The pod's Job (its `job-name` label).
    pub job: Option<String>,
    /// Target paths with their replicas.
    pub targets: Vec<(String, u32)>,
    /// Sync metadata first.
    pub load_metadata: bool,
}

impl Task {
    /// From the pod's environment.
    ///
    /// # Errors
    /// [`DataLoadError::Usage`] naming the variable that is missing or wrong.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Task, DataLoadError> {
        let need = |key: &str| {
            env(key)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| DataLoadError::Usage(format!("{key} is not set: the rendered loader Job sets it")))
        };
        let paths = need("DATA_PATH")?;
        let replicas = env("PATH_REPLICAS").unwrap_or_default();
        let mut replicas = replicas.split(':');
        let targets = paths
            .split(':')
            .map(|path| {
                let r = replicas.next().unwrap_or("1");
                let r =
                    r.trim().parse::<u32>().ok().filter(|r| *r > 0).ok_or_else(|| {
                        DataLoadError::Usage(format!("PATH_REPLICAS: {r:?} is not a positive number"))
                    })?;
                if !path.starts_with('/') {
                    return Err(DataLoadError::Usage(format!("DATA_PATH: {path:?} is not absolute")));
                }
                Ok((path.to_owned(), r))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Task {
            name: env("DATALOAD_NAME").filter(|n| !n.is_empty()),
            namespace: need(crate::metrics::RUNTIME_NAMESPACE_ENV)?,
            job: env("DATALOAD_JOB").filter(|j| !j.is_empty()),
            targets,
            load_metadata: env("NEED_LOAD_METADATA").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }

    fn status_path(&self) -> Option<String> {
        let name = self.name.as_deref()?;
        Some(format!(
            "/apis/data.fluid.io/v1alpha1/namespaces/{}/dataloads/{name}/status",
            self.namespace
        ))
    }

    fn job_path(&self) -> Option<String> {
        let job = self.job.as_deref()?;
        Some(format!("/apis/batch/v1/namespaces/{}/jobs/{job}", self.namespace))
    }
}

/// Loads every target, writing the DataLoad's status around it when in a cluster.
///
/// # Errors
/// [`DataLoadError`]: the first path that failed (the Job then retries), or a status write.
pub async fn run(
    task: &Task,
    client: &MasterClient,
    job_masters: &[String],
    kube: Option<&KubeApi>,
) -> Result<String, DataLoadError> {
    // Only a DataLoad has a status to keep.
    let operation = match kube.zip(task.status_path()) {
        Some((kube, status)) => Some(Operation::begin(kube, status, task.job_path(), json!({})).await),
        None => None,
    };
    let began = now_seconds();
    let outcome = load_all(task, client, job_masters).await;
    let ended = outcome.as_ref().map(|_| ()).map_err(ToString::to_string);
    let duration = match &operation {
        Some(op) => op.end(ended, json!({})).await?,
        None => go_duration(Duration::from_secs(now_seconds().saturating_sub(began))),
    };
    outcome.map(|()| format!("loaded in {duration}\n"))
}

/// A data operation (DataLoad, DataBackup) whose status its own pod keeps, as Fluid's controller
/// kept it from the Job: `Executing` (duration `Unfinished`) when it starts, then `Complete`, or
/// `Failed` once the Job has no attempt left, with Fluid's duration (Job creation to finish, as
/// Go prints a duration) and its `Complete`/`Failed` condition.
pub(crate) struct Operation<'a> {
    kube: &'a KubeApi,
    /// The object's status subresource.
    status: String,
    /// The pod's Job, when it could be read (its start and attempts).
    job: Option<Value>,
    /// When the operation started (the Job's creation), in seconds since the epoch.
    started: u64,
}

impl<'a> Operation<'a> {
    /// Reads the Job (at `job_path`) and writes `Executing`, with `extra` status fields. A failed
    /// write does not stop the operation: the final one is retried with the Job's next attempt.
    pub(crate) async fn begin(
        kube: &'a KubeApi,
        status: String,
        job_path: Option<String>,
        extra: Value,
    ) -> Operation<'a> {
        let job = match job_path {
            Some(path) => kube.get(&path).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the operation's Job: its start time and attempts are unknown");
                None
            }),
            None => None,
        };
        let started = job
            .as_ref()
            .and_then(|j| j["metadata"]["creationTimestamp"].as_str())
            .and_then(goosefs_conf::fluid_status::epoch_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or_else(now_seconds);
        let mut body = json!({"status": {"phase": "Executing", "duration": "Unfinished", "conditions": []}});
        merge(&mut body["status"], extra);
        if let Err(e) = kube.merge_patch(&status, &body).await {
            tracing::warn!(error = %e, "cannot write the operation's status; going on");
        }
        Operation {
            kube,
            status,
            job,
            started,
        }
    }

    /// Writes how it ended (with `extra` status fields) and returns its duration. A failure
    /// before the Job's last attempt leaves it `Executing`: the Job runs another pod.
    ///
    /// # Errors
    /// The status write.
    pub(crate) async fn end(&self, outcome: Result<(), String>, extra: Value) -> Result<String, KubeError> {
        let finished = now_seconds();
        let duration = go_duration(Duration::from_secs(finished.saturating_sub(self.started)));
        let at = goosefs_conf::fluid_status::rfc3339(i64::try_from(finished).unwrap_or(i64::MAX));
        let mut body = match &outcome {
            Ok(()) => json!({"status": {"phase": "Complete", "duration": duration, "conditions": [
                {"type": "Complete", "status": "True", "lastProbeTime": at, "lastTransitionTime": at}
            ]}}),
            Err(e) if last_attempt(self.job.as_ref()) => {
                json!({"status": {"phase": "Failed", "duration": duration, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": e, "lastProbeTime": at, "lastTransitionTime": at}
                ]}})
            }
            Err(e) => {
                tracing::warn!(error = %e, "this attempt failed; the Job retries");
                return Ok(duration);
            }
        };
        merge(&mut body["status"], extra);
        self.kube.merge_patch(&self.status, &body).await?;
        Ok(duration)
    }
}

/// Adds the fields of `extra` (an object) to `into`.
fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

async fn load_all(task: &Task, client: &MasterClient, job_masters: &[String]) -> Result<(), DataLoadError> {
    for (path, replicas) in &task.targets {
        let failed = |source| DataLoadError::Load {
            path: path.clone(),
            source,
        };
        println!("distributedLoad on {path} starts");
        if task.load_metadata {
            // The parent's listing first: a file added to the UFS since it was listed is then
            // known, as Fluid's sync interval of 0 makes it.
            let parent = match path.trim_end_matches('/').rsplit_once('/') {
                Some(("", _)) | None => "/",
                Some((parent, _)) => parent,
            };
            crate::fs::load_metadata(client, parent, false, true)
                .await
                .map_err(failed)?;
            crate::fs::load_metadata(client, path, true, true)
                .await
                .map_err(failed)?;
        } else {
            crate::fs::stat(client, path).await.map_err(failed)?;
        }
        if *replicas > 1 {
            println!("{path}: {replicas} replicas asked; this runtime caches one copy of each block");
        }
        // What the path holds, counted as it is walked (a directory of millions of files is not
        // held in memory), for the rate.
        let (mut files, mut bytes) = (0u64, 0u64);
        let mut walk = client.walk(path).await.map_err(failed)?;
        while let Some(file) = walk.next().await.map_err(failed)? {
            if !file.folder {
                files += 1;
                bytes += file.length;
            }
        }
        let started = std::time::Instant::now();
        let printed = crate::jobs::distributed_load(job_masters, path).await.map_err(failed)?;
        print!("{printed}");
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rate = (bytes as f64 / seconds) as u64;
        println!(
            "{path}: {files} files, {} loaded in {seconds:.1}s ({}/s)",
            crate::fsdata::size(bytes),
            crate::fsdata::size(rate)
        );
        println!("distributedLoad on {path} ends");
    }
    Ok(())
}

/// Whether this pod is the Job's last attempt: the pods failed before it reach the backoff
/// limit. Unknown (no Job read) counts as last, so a failure is never left unreported.
fn last_attempt(job: Option<&Value>) -> bool {
    let Some(job) = job else {
        return true;
    };
    let failed = job["status"]["failed"].as_u64().unwrap_or(0);
    let limit = job["spec"]["backoffLimit"].as_u64().unwrap_or(6);
    failed + 1 > limit
}

/// A duration as Go's `time.Duration.String()` prints one rounded to the second (Fluid's
/// `CalculateDuration`): `0s`, `45s`, `1m5s`, `2h0m3s`.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(0)), "0s");
        assert_eq!(go_duration(Duration::from_secs(45)), "45s");
        assert_eq!(go_duration(Duration::from_secs(65)), "1m5s");
        assert_eq!(go_duration(Duration::from_secs(7203)), "2h0m3s");
    }

    #[test]
    fn the_task_comes_from_the_rendered_environment() {
        let env = |k: &str| {
            match k {
                "DATA_PATH" => Some("/hbase/a:/hbase/b"),
                "PATH_REPLICAS" => Some("1:2"),
                "DATALOAD_NAME" => Some("warm"),
                "DATALOAD_JOB" => Some("warm-loader-0123456789"),
                "NEED_LOAD_METADATA" => Some("true"),
                "GOOSEFS_RUNTIME_NAMESPACE" => Some("default"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let task = Task::from_env(&env).expect("task");
        assert_eq!(task.targets, [("/hbase/a".to_owned(), 1), ("/hbase/b".to_owned(), 2)]);
        assert!(task.load_metadata);
        assert_eq!(
            task.status_path().as_deref(),
            Some("/apis/data.fluid.io/v1alpha1/namespaces/default/dataloads/warm/status")
        );
        let bad = |k: &str| {
            if k == "PATH_REPLICAS" {
                Some("0".to_owned())
            } else {
                env(k)
            }
        };
        assert_eq!(
            Task::from_env(&bad).err().map(|e| e.to_string()).as_deref(),
            Some("PATH_REPLICAS: \"0\" is not a positive number")
        );
        let none = |k: &str| if k == "DATA_PATH" { None } else { env(k) };
        assert!(Task::from_env(&none).is_err());
        let imperative = |k: &str| if k == "DATALOAD_NAME" { None } else { env(k) };
        let task = Task::from_env(&imperative).expect("a load with no DataLoad");
        assert_eq!(task.status_path(), None, "no DataLoad, no status");
    }

    #[test]
    fn only_the_last_attempt_reports_failed() {
        assert!(last_attempt(None));
        let job = |failed: u64| json!({"spec": {"backoffLimit": 3}, "status": {"failed": failed}});
        assert!(!last_attempt(Some(&job(0))));
        assert!(!last_attempt(Some(&job(2))));
        assert!(last_attempt(Some(&job(3))));
    }
}
