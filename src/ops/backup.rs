//! `backup`: Fluid's DataBackup, imperatively. A one-off Job in the runtime's namespace whose pod
//! runs the runtime's `goosefs databackup` (the leader's mount table and namespace, with the
//! runtime's admin key; no DataBackup, so no status) and leaves the file where Fluid's
//! DataBackup leaves it: `metadata-backup-<name>-<ns>.gz` in the directory of `--to`
//! (`pvc://<claim>/<sub>` or `local://<path>`), which is where a Dataset's `dataRestoreLocation`
//! of the same value makes the masters restore it from.

use std::time::Duration;

use serde_json::{Value, json};

use super::OpsError;
use super::session::Session;
use crate::compile::values::{BackupLocation, backup_file, backup_location};

/// What to back up, where.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Runtime name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// `pvc://<claim>/<sub>` or `local://<path>`.
    pub to: String,
    /// With `local://`: the node whose directory takes the file (default: wherever the pod runs).
    pub node: Option<String>,
    /// Follow the backup until it ends, at most this long.
    pub wait: Option<Duration>,
}

/// The backup, done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackedUp {
    /// The Job.
    pub job: String,
    /// The file, as `--to` names its directory.
    pub location: String,
    /// The node that ran it (where a `local://` file is).
    pub node: Option<String>,
}

/// The default location: the masters' own backup directory's host path, as Fluid's workdir has it.
pub fn default_location(namespace: &str, name: &str) -> String {
    format!("local:///tmp/goosefs-backup/{namespace}/{name}/")
}

/// The Job that takes the backup.
///
/// # Errors
/// [`OpsError::Usage`] for a location that is neither `pvc://` nor `local://`, or a runtime on
/// Fluid's images; [`OpsError::NotFound`] without the runtime's masters.
pub fn job(options: &BackupOptions, masters: &Value, credential: bool, suffix: &str) -> Result<Value, OpsError> {
    let container = super::job::master_container(masters).ok_or_else(|| OpsError::NotFound(options.name.clone()))?;
    if !credential {
        return Err(OpsError::Usage(format!(
            "runtime {}/{} runs Fluid's images: back it up with a DataBackup under Fluid",
            options.namespace, options.name
        )));
    }
    let BackupLocation { restore, dir } = backup_location(&options.to)
        .filter(|_| !options.to.contains(char::is_whitespace))
        .ok_or_else(|| {
            OpsError::Usage(format!(
                "--to {:?}: give pvc://<claim>/<path> or local:///<path>",
                options.to
            ))
        })?;
    let target = match (&restore.claim, &restore.host_path) {
        (Some(claim), _) => json!({"name": "backup-target", "persistentVolumeClaim": {"claimName": claim}}),
        (None, Some(path)) => {
            json!({"name": "backup-target", "hostPath": {"path": path, "type": "DirectoryOrCreate"}})
        }
        (None, None) => return Err(OpsError::Usage(format!("--to {:?}: no directory", options.to))),
    };
    let mount_path = if restore.claim.is_some() { "/pvc" } else { "/host" };
    let name = &options.name;
    let labels = json!({"app": "goosefs", "release": name, "role": "databackup-job", "targetDataset": name});
    let items: Vec<Value> = goosefs_conf::credential::Pod::Backup
        .items()
        .into_iter()
        .map(|i| json!({"key": i, "path": i}))
        .collect();
    let mut spec = json!({
        "restartPolicy": "Never",
        "enableServiceLinks": false,
        "containers": [{
            "name": "backup",
            "image": container["image"],
            "imagePullPolicy": container["imagePullPolicy"],
            "command": ["goosefs", "databackup"],
            "env": [
                {"name": "BACKUP_DIR", "value": dir},
                {"name": "BACKUP_FILE", "value": backup_file(&options.namespace, name)},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            ],
            "envFrom": [{"configMapRef": {"name": format!("{name}-config")}}],
            "volumeMounts": [
                {"name": "goosefs-credential", "mountPath": goosefs_conf::credential::MOUNT_PATH, "readOnly": true},
                {"name": "backup-target", "mountPath": mount_path},
            ],
        }],
        "volumes": [
            {"name": "goosefs-credential", "secret": {
                "secretName": goosefs_conf::credential::secret_name(name), "defaultMode": 288, "items": items}},
            target,
        ],
    });
    if let Some(node) = options.node.as_ref().filter(|_| restore.claim.is_none()) {
        spec["nodeSelector"] = json!({"kubernetes.io/hostname": node});
    }
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": format!("{name}-backup-{suffix}"), "namespace": options.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {"app": "goosefs", "release": name, "role": "databackup-pod", "targetDataset": name},
                             "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": spec,
            },
        },
    }))
}

/// Takes the backup; with a wait, follows its pod's log (each line to `line`) until it ends.
///
/// # Errors
/// [`OpsError`]: no such runtime, a bad location, the cluster, a failed backup or the wait's
/// limit.
pub fn backup(session: &Session, options: &BackupOptions, line: &mut dyn FnMut(&str)) -> Result<BackedUp, OpsError> {
    session.block_on(async {
        let cluster = &session.cluster;
        let facts = super::job::facts(cluster, &options.namespace, &options.name).await?;
        let job = job(options, &facts.masters, facts.credential, &facts.suffix)?;
        let ran = super::job::run(cluster, &job, options.wait, line).await?;
        let dir = options.to.trim_end_matches('/');
        Ok(BackedUp {
            job: ran.job,
            location: format!("{dir}/{}", backup_file(&options.namespace, &options.name)),
            node: ran.node,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(to: &str) -> BackupOptions {
        BackupOptions {
            name: "hbase".to_owned(),
            namespace: "default".to_owned(),
            to: to.to_owned(),
            node: Some("node-2".to_owned()),
            wait: None,
        }
    }

    fn masters() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "goosefs-master", "image": "kubectl-goosefs/goosefs:0.1.0", "imagePullPolicy": "IfNotPresent"}]}}}})
    }

    #[test]
    fn the_job_backs_up_with_the_admin_key_into_the_place_a_restore_reads() {
        let job = job(&options("pvc://backups/hbase"), &masters(), true, "1a").expect("job");
        assert_eq!(job["metadata"]["name"], "hbase-backup-1a");
        let pod = &job["spec"]["template"]["spec"];
        let env = &pod["containers"][0]["env"];
        assert_eq!(env[0], json!({"name": "BACKUP_DIR", "value": "/pvc/hbase/"}));
        assert_eq!(env[1]["value"], "metadata-backup-hbase-default.gz");
        assert_eq!(pod["volumes"][1]["persistentVolumeClaim"]["claimName"], "backups");
        assert!(pod.get("nodeSelector").is_none(), "a claim is wherever the pod is");
        let items = pod["volumes"][0]["secret"]["items"].as_array().expect("items");
        assert!(items.iter().any(|i| i["key"] == "admin.key"));
        assert!(
            !items
                .iter()
                .any(|i| i["key"] == "client.key" || i["key"] == "master.key")
        );
        // The Dataset's dataRestoreLocation of the same value reads that very file.
        let restore = crate::compile::values::backup_location("pvc://backups/hbase").expect("location");
        assert_eq!(
            format!("{}{}", restore.dir, env[1]["value"].as_str().unwrap_or_default()),
            "/pvc/hbase/metadata-backup-hbase-default.gz"
        );

        let local = super::job(&options("local:///srv/backups"), &masters(), true, "1a").expect("job");
        let pod = &local["spec"]["template"]["spec"];
        assert_eq!(pod["volumes"][1]["hostPath"]["path"], "/srv/backups/");
        assert_eq!(pod["containers"][0]["env"][0]["value"], "/host/");
        assert_eq!(pod["nodeSelector"]["kubernetes.io/hostname"], "node-2");
    }

    #[test]
    fn bad_locations_and_fluids_images_are_refused() {
        for bad in ["s3://bucket/x", "/srv/backups", "pvc://", "local:///a b"] {
            assert!(
                matches!(job(&options(bad), &masters(), true, "1"), Err(OpsError::Usage(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            job(&options("pvc://b/x"), &masters(), false, "1"),
            Err(OpsError::Usage(_))
        ));
    }
}
