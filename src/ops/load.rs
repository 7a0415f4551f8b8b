//! `load`: Fluid's DataLoad, imperatively. A one-off Job in the runtime's namespace whose pod
//! runs the runtime's loader (`goosefs dataload`) on the given paths, with the runtime's
//! ConfigMap and client credential; no DataLoad object, so no status is kept. With a wait, the
//! pod's log (per file, then per path its files, bytes and rate) is followed until the Job ends.
//! The Job is not part of the runtime's ApplySet (an `apply --prune` leaves it) and is removed by
//! Kubernetes an hour after it finishes.

use std::time::Duration;

use serde_json::{Value, json};

use super::OpsError;
use super::session::Session;

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Runtime name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Paths to load (`/` when none).
    pub paths: Vec<String>,
    /// Sync the paths' metadata from the UFS first.
    pub metadata: bool,
    /// Follow the load until it ends, at most this long.
    pub wait: Option<Duration>,
}

/// The Job that runs the load, from the runtime's live master StatefulSet (its image) and
/// whether its credential Secret exists (our images: the loader is in them).
///
/// # Errors
/// [`OpsError::NotFound`] without the runtime; [`OpsError::Usage`] for paths the loader cannot
/// take or a runtime on Fluid's images.
pub fn job(options: &LoadOptions, masters: &Value, credential: bool, suffix: &str) -> Result<Value, OpsError> {
    let container = super::job::master_container(masters).ok_or_else(|| OpsError::NotFound(options.name.clone()))?;
    if !credential {
        return Err(OpsError::Usage(format!(
            "runtime {}/{} runs Fluid's images, which lack this runtime's loader: describe the load as a DataLoad instead",
            options.namespace, options.name
        )));
    }
    let paths = if options.paths.is_empty() {
        vec!["/".to_owned()]
    } else {
        options.paths.clone()
    };
    if let Some(bad) = paths
        .iter()
        .find(|p| !p.starts_with('/') || p.contains(':') || p.chars().any(char::is_whitespace))
    {
        return Err(OpsError::Usage(format!(
            "path {bad:?}: give absolute GooseFS paths without ':' or whitespace (/hbase/stable)"
        )));
    }
    let name = &options.name;
    let labels = json!({"app": "goosefs", "release": name, "role": "dataload-job", "targetDataset": name});
    let items: Vec<Value> = goosefs_conf::credential::Pod::Loader
        .items()
        .into_iter()
        .map(|i| json!({"key": i, "path": i}))
        .collect();
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": format!("{name}-load-{suffix}"), "namespace": options.namespace, "labels": labels},
        "spec": {
            // Run once: a failure is reported to the user now, not retried behind their back.
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {"app": "goosefs", "release": name, "role": "dataload-pod", "targetDataset": name},
                             "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {
                    "restartPolicy": "Never",
                    "enableServiceLinks": false,
                    "containers": [{
                        "name": "dataloader",
                        "image": container["image"],
                        "imagePullPolicy": container["imagePullPolicy"],
                        "command": ["goosefs", "dataload"],
                        "env": [
                            {"name": "DATA_PATH", "value": paths.join(":")},
                            {"name": "PATH_REPLICAS", "value": vec!["1"; paths.len()].join(":")},
                            {"name": "NEED_LOAD_METADATA", "value": options.metadata.to_string()},
                        ],
                        "envFrom": [{"configMapRef": {"name": format!("{name}-config")}}],
                        "volumeMounts": [{"name": "goosefs-credential", "mountPath": goosefs_conf::credential::MOUNT_PATH, "readOnly": true}],
                    }],
                    "volumes": [{"name": "goosefs-credential", "secret": {
                        "secretName": goosefs_conf::credential::secret_name(name), "defaultMode": 288, "items": items}}],
                },
            },
        },
    }))
}

/// Starts the load; with a wait, follows its pod's log (each line to `line`) until the Job ends.
/// Returns the Job's name.
///
/// # Errors
/// [`OpsError`]: no such runtime, the cluster, a failed load (with its last log line) or the
/// wait's limit.
pub fn load(session: &Session, options: &LoadOptions, line: &mut dyn FnMut(&str)) -> Result<String, OpsError> {
    session.block_on(async {
        let cluster = &session.cluster;
        let facts = super::job::facts(cluster, &options.namespace, &options.name).await?;
        let job = job(options, &facts.masters, facts.credential, &facts.suffix)?;
        super::job::run(cluster, &job, options.wait, line)
            .await
            .map(|ran| ran.job)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(paths: &[&str]) -> LoadOptions {
        LoadOptions {
            name: "hbase".to_owned(),
            namespace: "default".to_owned(),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            metadata: true,
            wait: None,
        }
    }

    fn masters() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "goosefs-master", "image": "kubectl-goosefs/goosefs:0.1.0", "imagePullPolicy": "IfNotPresent"}]}}}})
    }

    #[test]
    fn the_job_runs_the_runtimes_loader_with_its_config_and_client_key() {
        let job = job(&options(&["/hbase/a", "/hbase/b"]), &masters(), true, "1a").expect("job");
        assert_eq!(job["metadata"]["name"], "hbase-load-1a");
        assert!(
            job["metadata"]["labels"]
                .get("applyset.kubernetes.io/part-of")
                .is_none()
        );
        let pod = &job["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(container["image"], "kubectl-goosefs/goosefs:0.1.0");
        assert_eq!(container["command"], json!(["goosefs", "dataload"]));
        assert_eq!(
            container["env"][0],
            json!({"name": "DATA_PATH", "value": "/hbase/a:/hbase/b"})
        );
        assert_eq!(container["env"][1], json!({"name": "PATH_REPLICAS", "value": "1:1"}));
        assert_eq!(container["envFrom"][0]["configMapRef"]["name"], "hbase-config");
        let items = pod["volumes"][0]["secret"]["items"].as_array().expect("items");
        assert!(items.iter().any(|i| i["key"] == "client.key"));
        assert!(!items.iter().any(|i| i["key"] == "admin.key"), "a client, not an admin");
        let whole = super::job(&options(&[]), &masters(), true, "1a").expect("job");
        assert_eq!(
            whole["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "/"
        );
    }

    #[test]
    fn bad_paths_and_fluids_images_are_refused() {
        assert!(matches!(
            job(&options(&["hbase"]), &masters(), true, "1"),
            Err(OpsError::Usage(_))
        ));
        assert!(matches!(
            job(&options(&["/a:b"]), &masters(), true, "1"),
            Err(OpsError::Usage(_))
        ));
        assert!(matches!(
            job(&options(&["/a"]), &masters(), false, "1"),
            Err(OpsError::Usage(_))
        ));
        assert!(matches!(
            job(&options(&["/a"]), &json!({}), true, "1"),
            Err(OpsError::NotFound(_))
        ));
    }
}
