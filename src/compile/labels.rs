//! Labels per object role: the common ones (`app`, `release`, `app.kubernetes.io/*`,
//! `fluid.io/dataset-id`), Fluid's `role`, the worker's dataset and placement labels its
//! anti-affinity selects on, and the ApplySet membership of every object (not of pod templates).

use std::collections::BTreeMap;

/// The labels every object of runtime `name` carries.
pub fn common(name: &str, dataset_id: &str) -> BTreeMap<String, String> {
    [
        ("app", "goosefs"),
        ("release", name),
        ("app.kubernetes.io/name", "goosefs"),
        ("app.kubernetes.io/instance", name),
        ("app.kubernetes.io/managed-by", "kubectl-goosefs"),
        ("fluid.io/dataset-id", dataset_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Labels per object role: the common ones plus Fluid's `role`, and for workers the dataset
/// and placement labels the anti-affinity rules select on.
pub fn role_labels(
    common: &BTreeMap<String, String>,
    name: &str,
    namespace: &str,
    dataset_id: &str,
    placement: &str,
    monitoring: Option<&str>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let with = |pairs: &[(&str, &str)]| {
        let mut l = common.clone();
        for (k, v) in pairs {
            l.insert((*k).to_owned(), (*v).to_owned());
        }
        l
    };
    let master_name = format!("{name}-master");
    let worker = [
        ("role", "goosefs-worker"),
        ("fluid.io/dataset", dataset_id),
        ("fluid.io/dataset-placement", placement),
    ];
    let mut service = vec![("role", "goosefs-master")];
    if let Some(m) = monitoring {
        service.push(("monitor", m));
    }
    let mut out = BTreeMap::new();
    out.insert("config".to_owned(), with(&[("name", &format!("{name}-config"))]));
    out.insert("status".to_owned(), with(&[("role", "goosefs-master")]));
    out.insert("monitor".to_owned(), with(&[]));
    out.insert(
        "master".to_owned(),
        with(&[("role", "goosefs-master"), ("name", &master_name)]),
    );
    let no_sidecar = ("sidecar.istio.io/inject", "false");
    out.insert(
        "master_pod".to_owned(),
        with(&[("role", "goosefs-master"), ("name", &master_name), no_sidecar]),
    );
    out.insert("master_service".to_owned(), with(&service));
    out.insert("worker".to_owned(), with(&worker));
    let mut worker_pod = worker.to_vec();
    worker_pod.push(no_sidecar);
    out.insert("worker_pod".to_owned(), with(&worker_pod));
    out.insert("fuse".to_owned(), with(&[("role", "goosefs-fuse")]));
    out.insert("fuse_pod".to_owned(), with(&[("role", "goosefs-fuse"), no_sidecar]));
    out.insert("mount_pod".to_owned(), with(&[("role", "goosefs-mount")]));
    out.insert("mount".to_owned(), with(&[("role", "goosefs-mount")]));
    // Fluid's loader labels: `role: dataload-job` (the Job), `dataload-cronjob`, `dataload-pod`.
    out.insert(
        "loader".to_owned(),
        with(&[("role", "dataload-job"), ("targetDataset", name)]),
    );
    // A DataBackup's Job and pod (Fluid's backup pod had the chart's labels only).
    out.insert(
        "backup".to_owned(),
        with(&[("role", "databackup-job"), ("targetDataset", name)]),
    );
    out.insert(
        "backup_pod".to_owned(),
        with(&[("role", "databackup-pod"), ("targetDataset", name)]),
    );
    out.insert(
        "loader_cron".to_owned(),
        with(&[("role", "dataload-cronjob"), ("targetDataset", name)]),
    );
    out.insert(
        "loader_pod".to_owned(),
        with(&[("role", "dataload-pod"), ("targetDataset", name)]),
    );
    out.insert(
        "volume".to_owned(),
        with(&[(&format!("fluid.io/s-{dataset_id}") as &str, "true")]),
    );
    // Objects (not their pods) are members of the runtime's ApplySet.
    for (group, labels) in &mut out {
        if !group.ends_with("_pod") {
            labels.insert(
                super::applyset::PART_OF.to_owned(),
                super::applyset::id(name, namespace),
            );
        }
    }
    out
}
