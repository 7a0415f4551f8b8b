//! Taking a metadata backup from the client side: `goosefs fsadmin backup [DIR]` and
//! `goosefs databackup`, the pod of a DataBackup's Job as kubectl-goosefs renders it (and of
//! `kubectl goosefs backup`'s one-off Job, which has no DataBackup and keeps no status).
//!
//! Both ask the leader for its backup (`master::backup`, admin role) and write the file on this
//! machine, atomically (a temporary name, synced, renamed). `goosefs databackup` names it as
//! Fluid's DataBackup does (`BACKUP_FILE` in `BACKUP_DIR`: the claim at `/pvc` or the host
//! directory at `/host`) and keeps the DataBackup's status as Fluid's controller did, through the
//! status subresource (its service account may patch only its DataBackups' status): `Executing`,
//! then `Complete` or, on the Job's last attempt, `Failed`, with Fluid's infos (the backup path and
//! the node that wrote it).

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::client::{ClientError, MasterClient};
use crate::dataload::Operation;
use crate::kubeapi::{KubeApi, KubeError};

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The pod's environment is not what the rendered Job sets.
    #[error("{0}")]
    Usage(String),
    /// The leader did not answer, or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The file could not be written.
    #[error("cannot write the backup into {path}: {source}")]
    File {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The status could not be written.
    #[error("cannot write the DataBackup's status: {0}")]
    Status(#[from] KubeError),
}

/// A backup written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// GooseFS' three lines: `Backup Host`, `Backup URI`, `Backup Entry Count`.
    pub text: String,
    /// The file.
    pub path: PathBuf,
}

/// Takes the leader's backup and writes it into `dir` (made if missing) as `file`, or GooseFS'
/// `goosefs-backup-<date>-<ms>.gz`.
///
/// # Errors
/// [`BackupError::Client`] from the leader, [`BackupError::File`] from the file system.
pub async fn take(client: &MasterClient, dir: &Path, file: Option<&str>) -> Result<Taken, BackupError> {
    use base64::Engine as _;
    let reply: crate::proto::BackupReply = client.call::<(), _>(crate::proto::paths::BACKUP, None).await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(reply.data.as_bytes())
        .map_err(|e| {
            ClientError::Refused(crate::proto::Refusal::failed(format!(
                "a backup that is not base64: {e}"
            )))
        })?;
    let name = file.map_or_else(
        || {
            let (year, month, day) = goosefs_conf::duration::civil_from_days(reply.created_ms.div_euclid(86_400_000));
            format!("goosefs-backup-{year:04}-{month:02}-{day:02}-{}.gz", reply.created_ms)
        },
        str::to_owned,
    );
    let path = dir.join(name);
    let failed = |source| BackupError::File {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let tmp = dir.join(format!(".goosefs-backup-{}.tmp", std::process::id()));
    let written = (|| {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed(e));
    }
    Ok(Taken {
        text: format!(
            "Backup Host        : {}\nBackup URI         : {}\nBackup Entry Count : {}\n",
            reply.host,
            path.display(),
            reply.entries
        ),
        path,
    })
}

/// What the rendered Job tells its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The DataBackup's name; `None` for a backup with no DataBackup (`kubectl goosefs backup`),
    /// whose status nobody keeps.
    pub name: Option<String>,
    /// Its namespace (the runtime's).
    pub namespace: String,
    /// The pod's Job (its `job-name` label).
    pub job: Option<String>,
    /// Where the file goes in this pod.
    pub dir: PathBuf,
    /// Its name.
    pub file: String,
    /// `spec.backupPath`, for the status.
    pub path: String,
    /// This pod's node, for the status.
    pub node: String,
}

impl Task {
    /// From the pod's environment.
    ///
    /// # Errors
    /// [`BackupError::Usage`] naming the variable that is missing or wrong.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Task, BackupError> {
        let need = |key: &str| {
            env(key)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| BackupError::Usage(format!("{key} is not set: the rendered DataBackup Job sets it")))
        };
        let file = need("BACKUP_FILE")?;
        if file.contains('/') || file.starts_with('.') {
            return Err(BackupError::Usage(format!("BACKUP_FILE {file:?} is not a file name")));
        }
        Ok(Task {
            name: env("DATABACKUP_NAME").filter(|n| !n.is_empty()),
            namespace: need(crate::metrics::RUNTIME_NAMESPACE_ENV)?,
            job: env("DATABACKUP_JOB").filter(|j| !j.is_empty()),
            dir: PathBuf::from(need("BACKUP_DIR")?),
            file,
            path: env("BACKUP_PATH").unwrap_or_default(),
            node: env("NODE_NAME")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "NA".to_owned()),
        })
    }
}

/// Takes the backup, keeping the DataBackup's status when in a cluster.
///
/// # Errors
/// [`BackupError`]: the backup (the Job then retries) or a status write.
pub async fn run(task: &Task, client: &MasterClient, kube: Option<&KubeApi>) -> Result<String, BackupError> {
    let infos = json!({"infos": {"BackupLocationPath": task.path, "BackupLocationNodeName": task.node}});
    // Only a DataBackup has a status to keep.
    let operation = match kube.zip(task.name.as_ref()) {
        Some((kube, name)) => {
            let status = format!(
                "/apis/data.fluid.io/v1alpha1/namespaces/{}/databackups/{name}/status",
                task.namespace
            );
            let job = (task.job.as_ref()).map(|j| format!("/apis/batch/v1/namespaces/{}/jobs/{j}", task.namespace));
            Some(Operation::begin(kube, status, job, infos.clone()).await)
        }
        None => None,
    };
    let taken = take(client, &task.dir, Some(&task.file)).await;
    if let Some(op) = &operation {
        let ended = taken.as_ref().map(|_| ()).map_err(ToString::to_string);
        op.end(ended, infos).await?;
    }
    let taken = taken?;
    Ok(format!(
        "{}backup saved: {} on node {}\n",
        taken.text,
        taken.path.display(),
        task.node
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_comes_from_the_rendered_environment() {
        let vars = |extra: &[(&str, &str)]| {
            let mut all: Vec<(String, String)> = [
                ("DATABACKUP_NAME", "nightly"),
                ("GOOSEFS_RUNTIME_NAMESPACE", "default"),
                ("DATABACKUP_JOB", "nightly-backup-1"),
                ("BACKUP_DIR", "/pvc/hbase/"),
                ("BACKUP_FILE", "metadata-backup-hbase-default.gz"),
                ("BACKUP_PATH", "pvc://backups/hbase/"),
                ("NODE_NAME", "node-1"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            for (k, v) in extra {
                all.retain(|(key, _)| key != k);
                all.push(((*k).to_owned(), (*v).to_owned()));
            }
            all
        };
        let task = |extra: &[(&str, &str)]| {
            let all = vars(extra);
            Task::from_env(&|k: &str| all.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
        };
        let ok = task(&[]).expect("task");
        assert_eq!(ok.dir, PathBuf::from("/pvc/hbase/"));
        assert_eq!(ok.job.as_deref(), Some("nightly-backup-1"));
        assert!(matches!(
            task(&[("BACKUP_FILE", "../x.gz")]),
            Err(BackupError::Usage(_))
        ));
        assert!(matches!(task(&[("BACKUP_DIR", "")]), Err(BackupError::Usage(_))));
        assert_eq!(task(&[("NODE_NAME", "")]).expect("task").node, "NA");
        assert_eq!(
            task(&[("DATABACKUP_NAME", "")])
                .expect("a backup of no DataBackup")
                .name,
            None
        );
    }
}
