//! DataBackups compiled into their runtime's objects: a Job whose pod (`goosefs databackup`, with
//! the runtime's admin key) takes the metadata backup and leaves it as
//! `metadata-backup-<name>-<ns>.gz` in the DataBackup's `backupPath`, where a Dataset's
//! `dataRestoreLocation` of the same path restores it, and writes the DataBackup's status as
//! Fluid's controller did. The Job's name carries a hash of what its pod renders from: applying
//! the same DataBackup again runs nothing; a changed one is a new Job.

use serde::Serialize;

use super::values::{Values, backup_file, backup_location, fnv64};
use crate::model::DataBackup;

/// One DataBackup's Job.
#[derive(Debug, Clone, Serialize)]
pub struct BackupJob {
    /// The DataBackup's name.
    pub name: String,
    /// The Job's name.
    pub job: String,
    /// `spec.backupPath` as written (the status's `BackupLocationPath`).
    pub path: String,
    /// The directory in the pod that takes the file.
    pub dir: String,
    /// The file name.
    pub file: String,
    /// The claim (`pvc://`), mounted at `/pvc`.
    pub claim: Option<String>,
    /// The host directory (`local://`), mounted at `/host`.
    pub host_path: Option<String>,
    /// `spec.ttlSecondsAfterFinished`.
    pub ttl: Option<i32>,
}

/// The Jobs of `backups` (those of `values`' Dataset), by name; a backup whose path is no
/// location (validate refuses it) has none.
pub fn jobs(values: &Values, backups: &[&DataBackup], template: Option<&str>) -> Vec<BackupJob> {
    let mut out: Vec<BackupJob> = backups
        .iter()
        .filter_map(|backup| {
            let path = backup.spec.backup_path.clone().unwrap_or_default();
            let location = backup_location(&path)?;
            let name = backup.metadata.name.clone().unwrap_or_default();
            let mut job = BackupJob {
                job: String::new(),
                dir: location.dir,
                file: backup_file(&values.namespace, &values.name),
                claim: location.restore.claim,
                host_path: location.restore.host_path,
                ttl: backup.spec.ttl_seconds_after_finished,
                path,
                name,
            };
            let inputs = serde_json::json!({
                "backup": &job,
                "image": values.images.goosefs.reference,
                "pullPolicy": values.images.goosefs.pull_policy,
                "template": template,
            });
            job.job = format!("{}-backup-{}", job.name, &fnv64(&inputs.to_string())[..10]);
            Some(job)
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
