//! Where the pods run (FACTS c.2, c.6, c.8): worker anti-affinity by the Dataset's placement
//! (Exclusive or Shared) and its node affinity, the master's node affinity (only with local://
//! mounts, whose host paths must be there), the Dataset's tolerations, and the PV's node
//! affinity (the FUSE node selector). Pure.

use serde_json::{Value, json};

use crate::model::Dataset;
use crate::model::dataset::Placement as DatasetPlacement;

/// The placement of one runtime's pods.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// `Exclusive` or `Shared`.
    pub mode: &'static str,
    /// Worker affinity.
    pub worker_affinity: Value,
    /// Master affinity, or null.
    pub master_affinity: Value,
    /// Tolerations of master and worker pods (and the mount Job).
    pub tolerations: Value,
}

/// The placement Fluid computes for `dataset` (`has_local`: some mount is local://).
pub fn placement(dataset: &Dataset, has_local: bool) -> Placement {
    let mode = match dataset.spec.placement {
        Some(DatasetPlacement::Shared) => "Shared",
        _ => "Exclusive",
    };
    let node_required = dataset
        .spec
        .node_affinity
        .as_ref()
        .and_then(|a| a.required.as_ref())
        .and_then(|r| serde_json::to_value(r).ok());
    let on_dataset = json!({"matchExpressions": [{"key": "fluid.io/dataset", "operator": "Exists"}]});
    let anti_affinity = if mode == "Exclusive" {
        json!({"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": on_dataset, "topologyKey": "kubernetes.io/hostname"}]})
    } else {
        json!({
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
                "labelSelector": on_dataset, "topologyKey": "kubernetes.io/hostname"}}],
            "requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchExpressions": [
                    {"key": "fluid.io/dataset-placement", "operator": "In", "values": ["Exclusive"]}]},
                "topologyKey": "kubernetes.io/hostname"}]
        })
    };
    let mut worker_affinity = json!({"podAntiAffinity": anti_affinity});
    if let Some(required) = &node_required {
        worker_affinity["nodeAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution": required});
    }
    let master_affinity = match (&node_required, has_local) {
        (Some(required), true) => json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}),
        _ => Value::Null,
    };
    Placement {
        mode,
        worker_affinity,
        master_affinity,
        tolerations: dataset
            .spec
            .tolerations
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .unwrap_or_else(|| json!([])),
    }
}

/// The PV's node affinity: one `In` requirement per FUSE node-selector entry, or null.
pub fn volume_affinity(fuse_selector: &std::collections::BTreeMap<String, String>) -> Value {
    if fuse_selector.is_empty() {
        return Value::Null;
    }
    let requirements: Vec<Value> = fuse_selector
        .iter()
        .map(|(k, v)| json!({"key": k, "operator": "In", "values": [v]}))
        .collect();
    json!({"required": {"nodeSelectorTerms": [{"matchExpressions": requirements}]}})
}
