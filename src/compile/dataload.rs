//! DataLoads compiled into their runtime's objects: what Fluid's `fluid-dataloader/goosefs`
//! chart makes of one (a Job for `Once`, a CronJob for `Cron`, nothing for `OnEvent`), as
//! values for `templates/dataload.yaml.j2`. A `Once` Job's name carries a hash of what its pod
//! template renders from (a Job's template is immutable: a changed DataLoad is a new Job, and
//! an unchanged one is not run again); a CronJob keeps Fluid's `<name>-loader-job`.

use serde::Serialize;
use serde_json::Value;

use super::values::{Values, fnv64};
use crate::model::DataLoad;
use crate::model::dataload::Policy;

/// One DataLoad's loader.
#[derive(Debug, Clone, Serialize)]
pub struct Loader {
    /// The DataLoad's name.
    pub name: String,
    /// The Job's (or CronJob's) name.
    pub job: String,
    /// `Once` or `Cron`.
    pub policy: &'static str,
    /// The cron schedule (`Cron`).
    pub schedule: String,
    /// Target paths joined with `:` (Fluid's `DATA_PATH`).
    pub paths: String,
    /// Their replicas joined with `:` (Fluid's `PATH_REPLICAS`).
    pub replicas: String,
    /// `spec.loadMetadata`.
    pub load_metadata: bool,
    /// `options.atomicCache`, when set.
    pub atomic_cache: Option<String>,
    /// `options.expireTime`, when set.
    pub expire_time: Option<String>,
    /// Pod labels (`spec.podMetadata.labels`).
    pub pod_labels: std::collections::BTreeMap<String, String>,
    /// Pod annotations (`spec.podMetadata.annotations`).
    pub pod_annotations: std::collections::BTreeMap<String, String>,
    /// `spec.nodeSelector`.
    pub node_selector: std::collections::BTreeMap<String, String>,
    /// `spec.affinity` (null when unset).
    pub affinity: Value,
    /// `spec.tolerations` (null when unset).
    pub tolerations: Value,
    /// `spec.schedulerName`.
    pub scheduler_name: String,
    /// `spec.resources` (null when unset).
    pub resources: Value,
    /// `spec.ttlSecondsAfterFinished` (`Once`).
    pub ttl: Option<i32>,
}

/// The loaders of `loads` (those targeting `values`' Dataset), by name. `OnEvent` loads have
/// none: Fluid runs nothing for them.
pub fn loaders(values: &Values, loads: &[&DataLoad], template: Option<&str>) -> Vec<Loader> {
    let mut out: Vec<Loader> = loads
        .iter()
        .filter_map(|load| {
            let policy = match load.policy() {
                Policy::Once => "Once",
                Policy::Cron => "Cron",
                Policy::OnEvent => return None,
            };
            let name = load.metadata.name.clone().unwrap_or_default();
            let targets = load.targets();
            let join = |parts: Vec<String>| parts.join(":");
            let options = load.spec.options.clone().unwrap_or_default();
            let pod = load.spec.pod_metadata.clone().unwrap_or_default();
            let json = |v: Option<Value>| v.unwrap_or(Value::Null);
            let mut loader = Loader {
                job: String::new(),
                policy,
                schedule: load.spec.schedule.clone().unwrap_or_default(),
                paths: join(targets.iter().map(|(p, _)| p.clone()).collect()),
                replicas: join(targets.iter().map(|(_, r)| r.to_string()).collect()),
                load_metadata: load.spec.load_metadata.unwrap_or(false),
                atomic_cache: options.get("atomicCache").cloned(),
                expire_time: options.get("expireTime").cloned(),
                pod_labels: pod.labels.unwrap_or_default(),
                pod_annotations: pod.annotations.unwrap_or_default(),
                node_selector: load.spec.node_selector.clone().unwrap_or_default(),
                affinity: json(load.spec.affinity.as_ref().and_then(|a| serde_json::to_value(a).ok())),
                tolerations: json(
                    load.spec
                        .tolerations
                        .as_ref()
                        .and_then(|t| serde_json::to_value(t).ok()),
                ),
                scheduler_name: load.spec.scheduler_name.clone().unwrap_or_default(),
                resources: json(load.spec.resources.as_ref().and_then(|r| serde_json::to_value(r).ok())),
                ttl: load.spec.ttl_seconds_after_finished,
                name,
            };
            loader.job = if policy == "Cron" {
                format!("{}-loader-job", loader.name)
            } else {
                let inputs = serde_json::json!({
                    "loader": &loader,
                    "image": values.images.goosefs.reference,
                    "pullPolicy": values.images.goosefs.pull_policy,
                    "template": template,
                });
                format!("{}-loader-{}", loader.name, &fnv64(&inputs.to_string())[..10])
            };
            Some(loader)
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
