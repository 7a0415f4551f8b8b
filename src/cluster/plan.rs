//! `plan` as a value: desired (server dry-run results) against live objects, normalised, into a
//! list of [`Change`]s with a fixed vocabulary ([`ChangeOp`]) and GooseFS-aware notes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::quantity::parse_quantity;

/// Identifies an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// The key of an object, from its `apiVersion`, `kind` and metadata.
    pub fn of(object: &Value) -> ResourceKey {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        ResourceKey {
            api_version: s(&object["apiVersion"]),
            kind: s(&object["kind"]),
            namespace: s(&object["metadata"]["namespace"]),
            name: s(&object["metadata"]["name"]),
        }
    }
}

impl std::fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// Not in the cluster yet.
    Create,
    /// In the cluster, and the apply changes it.
    Update,
    /// In the cluster, and the apply would not change it.
    Unchanged,
    /// Ours (inventory labels) but no longer rendered: pruned.
    Delete,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The object.
    pub key: ResourceKey,
    /// What happens.
    pub op: ChangeOp,
    /// The live object, normalised (none for a create).
    pub before: Option<Value>,
    /// The object after the apply, normalised (none for a delete).
    pub after: Option<Value>,
    /// `resourceVersion` of the live object, so a saved plan can refuse a changed cluster.
    pub live_resource_version: Option<String>,
    /// GooseFS-aware notes (quorum changes, restarts, cache rebuilds).
    pub notes: Vec<String>,
    /// For an update, the fields that change, for machines (people read the unified diff).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FieldChange>,
    /// The rendered object an apply sends (none for a delete), so a saved plan can be applied
    /// exactly as planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
}

/// One changed field of an update: `spec.template.spec.containers[goosefs-worker].image`, with
/// its value before and after (absent on one side when added or removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Dotted path; list items by their `name` when they have one, else by index.
    pub path: String,
    /// Live value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Value after the apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// The fields that differ between `before` and `after`, in document order. Secret values are
/// never included (see the redaction of people's diffs): a changed Secret value shows as the
/// path alone.
pub fn field_changes(before: &Value, after: &Value, secret: bool) -> Vec<FieldChange> {
    fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, secret: bool, out: &mut Vec<FieldChange>) {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match (before, after) {
            (Some(b), Some(a)) if b == a => {}
            (Some(Value::Object(b)), Some(Value::Object(a))) => {
                for (key, value) in a {
                    walk(&join(key), b.get(key), Some(value), secret, out);
                }
                for (key, value) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                    walk(&join(key), Some(value), None, secret, out);
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a))) if named(b) && named(a) => {
                let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
                for item in a {
                    let old = b.iter().find(|o| name(o) == name(item));
                    walk(&format!("{path}[{}]", name(item)), old, Some(item), secret, out);
                }
                for item in b.iter().filter(|o| !a.iter().any(|n| name(n) == name(o))) {
                    walk(&format!("{path}[{}]", name(item)), Some(item), None, secret, out);
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a))) if b.len() == a.len() => {
                for (i, (old, new)) in b.iter().zip(a).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(old), Some(new), secret, out);
                }
            }
            (before, after) => {
                let hidden = secret && (path.starts_with("data.") || path.starts_with("stringData."));
                let shown = |v: Option<&Value>| if hidden { None } else { v.cloned() };
                out.push(FieldChange {
                    path: path.to_owned(),
                    before: shown(before),
                    after: shown(after),
                });
            }
        }
    }
    fn named(items: &[Value]) -> bool {
        !items.is_empty() && items.iter().all(|i| i["name"].is_string())
    }
    let mut out = Vec::new();
    walk("", Some(before), Some(after), secret, &mut out);
    out
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Changes, in apply order of the desired objects, deletes last.
    pub changes: Vec<Change>,
    /// What may not fit on the live nodes ([`super::capacity`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// One line per runtime: cache capacity, memory its MEM tiers take, host ports per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub costs: Vec<String>,
}

/// Why a plan is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Fewer masters would tolerate fewer failures, or lose the quorum's data.
    #[error(
        "{object}: master replicas {from} -> {to} lowers the failures the Raft quorum tolerates from {tolerated_before} to {tolerated_after}; pass --allow-quorum-loss to plan it anyway"
    )]
    QuorumLoss {
        /// The master StatefulSet (`Kind/namespace/name`).
        object: String,
        /// Live replicas.
        from: i64,
        /// Desired replicas.
        to: i64,
        /// Failures tolerated now.
        tolerated_before: i64,
        /// Failures tolerated after.
        tolerated_after: i64,
    },
    /// Pods of something else hold host ports the runtime's pods need.
    #[error("host ports are taken: {}; free them (or change the runtime's ports) and plan again", .0.join("; "))]
    HostPortsHeld(Vec<String>),
}

impl Plan {
    /// Counts per operation: (create, update, delete, unchanged).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let count = |op| self.changes.iter().filter(|c| c.op == op).count();
        (
            count(ChangeOp::Create),
            count(ChangeOp::Update),
            count(ChangeOp::Delete),
            count(ChangeOp::Unchanged),
        )
    }

    /// `Plan: N to create, M to update, K to delete, U unchanged.`
    pub fn summary(&self) -> String {
        let (c, u, d, n) = self.counts();
        format!("Plan: {c} to create, {u} to update, {d} to delete, {n} unchanged.")
    }

    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.op != ChangeOp::Unchanged)
    }
}

/// Metadata the server owns; never part of a comparison.
const SERVER_METADATA: [&str; 8] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Maps whose values are quantities, compared as quantities (`1000m` equals `1`).
const QUANTITY_MAPS: [&str; 4] = ["limits", "requests", "capacity", "allocatable"];

/// An object as it should be compared: server-owned metadata and status dropped, quantities in
/// canonical form (the server returns `1Gi` for `1024Mi`).
pub fn normalize(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in SERVER_METADATA {
                meta.remove(key);
            }
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
    }
    canonical_quantities(&mut object);
    object
}

fn canonical_quantities(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (QUANTITY_MAPS.contains(&key.as_str()), value) {
                    (true, Value::Object(quantities)) => quantities.values_mut().for_each(canonical_quantity),
                    (false, value) if key == "sizeLimit" || key == "storage" => canonical_quantity(value),
                    (_, value) => canonical_quantities(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical_quantities),
        _ => {}
    }
}

/// A quantity in one spelling (thousandths of the unit), whatever the input's suffix.
fn canonical_quantity(value: &mut Value) {
    let millis = match value {
        Value::String(text) => parse_quantity(text).ok().map(|q| q.millis),
        Value::Number(n) => n.as_i64().map(|i| i128::from(i) * 1000),
        _ => None,
    };
    if let Some(millis) = millis {
        *value = Value::String(format!("{millis}m"));
    }
}

/// Options of [`plan`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Plan master count drops that lower fault tolerance.
    pub allow_quorum_loss: bool,
}

/// Computes the plan.
///
/// `desired` are the objects as the server's dry-run apply returns them (or as rendered, for
/// objects the server cannot dry-run), in apply order; `live` the objects in the cluster that
/// either are desired or carry this runtime's inventory labels.
///
/// # Errors
/// [`PlanError::QuorumLoss`] for a master count change that lowers fault tolerance, unless
/// allowed.
pub fn plan(desired: &[Value], live: &[Value], options: PlanOptions) -> Result<Plan, PlanError> {
    let live_by_key: BTreeMap<ResourceKey, &Value> = live.iter().map(|o| (ResourceKey::of(o), o)).collect();
    let mut changes = Vec::with_capacity(desired.len());
    for object in desired {
        let key = ResourceKey::of(object);
        let after = normalize(object);
        let Some(live_object) = live_by_key.get(&key) else {
            changes.push(Change {
                key,
                op: ChangeOp::Create,
                before: None,
                after: Some(after),
                live_resource_version: None,
                notes: Vec::new(),
                diff: Vec::new(),
                object: None,
            });
            continue;
        };
        let before = normalize(live_object);
        let op = if before == after {
            ChangeOp::Unchanged
        } else {
            ChangeOp::Update
        };
        let mut notes = if op == ChangeOp::Update {
            notes(&key, &before, &after, options)?
        } else {
            Vec::new()
        };
        if let Some(note) = terminating(live_object) {
            notes.push(note);
        }
        let diff = if op == ChangeOp::Update {
            field_changes(&before, &after, key.kind == "Secret")
        } else {
            Vec::new()
        };
        changes.push(Change {
            live_resource_version: live_object["metadata"]["resourceVersion"].as_str().map(str::to_owned),
            key,
            op,
            before: Some(before),
            after: Some(after),
            notes,
            diff,
            object: None,
        });
    }
    let desired_keys: std::collections::BTreeSet<ResourceKey> = desired.iter().map(ResourceKey::of).collect();
    for (key, object) in live_by_key {
        if !desired_keys.contains(&key) {
            changes.push(Change {
                live_resource_version: object["metadata"]["resourceVersion"].as_str().map(str::to_owned),
                key,
                op: ChangeOp::Delete,
                before: Some(normalize(object)),
                after: None,
                notes: Vec::new(),
                diff: Vec::new(),
                object: None,
            });
        }
    }
    Ok(Plan {
        changes,
        ..Plan::default()
    })
}

/// A note for a live object that is being deleted: applying to it does not stop that, so the
/// user must know it will go (a PVC in use, waiting on `kubernetes.io/pvc-protection`).
fn terminating(live: &Value) -> Option<String> {
    let metadata = &live["metadata"];
    metadata["deletionTimestamp"].as_str()?;
    let finalizers: Vec<&str> = metadata["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    Some(format!(
        "is being deleted (Terminating, waiting for finalizers: {}): it disappears once they are removed; apply again then to recreate it",
        if finalizers.is_empty() {
            "none".to_owned()
        } else {
            finalizers.join(", ")
        }
    ))
}

/// Failures a Raft quorum of `n` members tolerates.
pub fn tolerated_failures(n: i64) -> i64 {
    if n <= 0 { 0 } else { (n - 1) / 2 }
}

fn notes(key: &ResourceKey, before: &Value, after: &Value, options: PlanOptions) -> Result<Vec<String>, PlanError> {
    let mut notes = Vec::new();
    let role = after["metadata"]["labels"]["role"].as_str().unwrap_or_default();
    let template_changed = before["spec"]["template"] != after["spec"]["template"];
    match (key.kind.as_str(), role) {
        ("StatefulSet", "goosefs-master") => {
            let (from, to) = (
                before["spec"]["replicas"].as_i64().unwrap_or(1),
                after["spec"]["replicas"].as_i64().unwrap_or(1),
            );
            if from != to {
                let (tb, ta) = (tolerated_failures(from), tolerated_failures(to));
                if ta < tb && !options.allow_quorum_loss {
                    return Err(PlanError::QuorumLoss {
                        object: key.to_string(),
                        from,
                        to,
                        tolerated_before: tb,
                        tolerated_after: ta,
                    });
                }
                notes.push(format!(
                    "masters {from} -> {to}: Raft quorum {} of {from} -> {} of {to}, tolerating {tb} -> {ta} failed master(s)",
                    from / 2 + 1,
                    to / 2 + 1
                ));
            }
            if template_changed {
                notes.push("restarts the masters (rolling; the Raft leader moves)".to_owned());
            }
        }
        ("StatefulSet", "goosefs-worker") if template_changed => {
            let tiers = |v: &Value| v["spec"]["template"]["spec"]["volumes"].clone();
            notes.push(if tiers(before) == tiers(after) {
                "restarts the workers".to_owned()
            } else {
                "restarts the workers and rebuilds their cache (tier paths changed)".to_owned()
            });
        }
        ("DaemonSet", "goosefs-fuse") if template_changed => {
            notes.push("restarts the FUSE pods: applications lose the mount until they restart".to_owned());
        }
        ("ConfigMap", _) if before["data"] != after["data"] => {
            let tiers = |v: &Value| {
                v["data"]["GOOSEFS_JAVA_OPTS"]
                    .as_str()
                    .unwrap_or_default()
                    .split(' ')
                    .filter(|f| f.starts_with("-Dgoosefs.worker.tieredstore."))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            if tiers(before) != tiers(after) {
                notes.push("tiered store settings change: the worker cache will be rebuilt".to_owned());
            }
        }
        _ => {}
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(role: &str, replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": format!("hbase-{}", role.trim_start_matches("goosefs-")), "namespace": "default",
                         "labels": {"role": role}, "resourceVersion": "7", "uid": "u", "managedFields": [{}]},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": image,
                "resources": {"limits": {"memory": "1024Mi", "cpu": 1}}}]}}},
            "status": {"readyReplicas": replicas}
        })
    }

    #[test]
    fn server_owned_fields_and_quantity_spellings_are_not_changes() {
        let live = sts("goosefs-master", 3, "goosefs:v1");
        let mut desired = sts("goosefs-master", 3, "goosefs:v1");
        desired["metadata"].as_object_mut().map(|m| m.remove("resourceVersion"));
        desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] =
            json!({"memory": "1Gi", "cpu": "1000m"});
        let plan = plan(&[desired], &[live], PlanOptions::default()).unwrap_or_default();
        assert_eq!(plan.changes[0].op, ChangeOp::Unchanged);
        assert_eq!(plan.changes[0].live_resource_version.as_deref(), Some("7"));
        assert_eq!(
            plan.summary(),
            "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged."
        );
        assert!(!plan.has_changes());
    }

    #[test]
    fn field_changes_name_list_items_and_hide_secret_values() {
        let before = json!({"spec": {"replicas": 3, "containers": [{"name": "w", "image": "a:1"}], "ports": [1, 2]},
                            "gone": true});
        let after = json!({"spec": {"replicas": 4, "containers": [{"name": "w", "image": "a:2"}], "ports": [1, 3]},
                           "new": {"x": 1}});
        let paths: Vec<(String, Option<Value>, Option<Value>)> = field_changes(&before, &after, false)
            .into_iter()
            .map(|c| (c.path, c.before, c.after))
            .collect();
        assert_eq!(
            paths,
            [
                ("spec.replicas".to_owned(), Some(json!(3)), Some(json!(4))),
                (
                    "spec.containers[w].image".to_owned(),
                    Some(json!("a:1")),
                    Some(json!("a:2"))
                ),
                ("spec.ports[1]".to_owned(), Some(json!(2)), Some(json!(3))),
                ("new".to_owned(), None, Some(json!({"x": 1}))),
                ("gone".to_owned(), Some(json!(true)), None),
            ]
        );
        let secret = field_changes(&json!({"data": {"k": "b2xk"}}), &json!({"data": {"k": "bmV3"}}), true);
        assert_eq!(
            (secret[0].path.as_str(), &secret[0].before, &secret[0].after),
            ("data.k", &None, &None)
        );
    }

    #[test]
    fn a_live_object_being_deleted_is_noted_even_when_unchanged() {
        let object = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "hbase", "namespace": "default", "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"volumeName": "default-hbase"}});
        // The dry run returns the live object with the apply merged in: the same finalizers.
        let mut live = object.clone();
        live["metadata"]["deletionTimestamp"] = json!("2026-11-26T04:00:00Z");
        let p = plan(&[object], &[live], PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.changes[0].op, ChangeOp::Unchanged);
        assert!(
            p.changes[0].notes[0]
                .starts_with("is being deleted (Terminating, waiting for finalizers: kubernetes.io/pvc-protection)"),
            "{:?}",
            p.changes[0].notes
        );
    }

    #[test]
    fn creates_updates_deletes_and_notes() {
        let live = vec![sts("goosefs-worker", 3, "goosefs:v1"), sts("goosefs-fuse", 1, "old")];
        let desired = vec![
            sts("goosefs-master", 3, "goosefs:v1"),
            sts("goosefs-worker", 3, "goosefs:v2"),
        ];
        let plan = plan(&desired, &live, PlanOptions::default()).unwrap_or_default();
        let ops: Vec<ChangeOp> = plan.changes.iter().map(|c| c.op).collect();
        assert_eq!(ops, [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete]);
        assert_eq!(plan.changes[1].notes, ["restarts the workers"]);
        assert_eq!(
            plan.summary(),
            "Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged."
        );
    }

    #[test]
    fn quorum_drops_are_refused_unless_allowed() {
        let live = [sts("goosefs-master", 3, "g")];
        let desired = [sts("goosefs-master", 1, "g")];
        let err = plan(&desired, &live, PlanOptions::default());
        assert!(matches!(
            err,
            Err(PlanError::QuorumLoss {
                from: 3,
                to: 1,
                tolerated_before: 1,
                tolerated_after: 0,
                ..
            })
        ));
        let allowed = plan(
            &desired,
            &live,
            PlanOptions {
                allow_quorum_loss: true,
            },
        )
        .unwrap_or_default();
        assert!(allowed.changes[0].notes[0].starts_with("masters 3 -> 1: Raft quorum 2 of 3 -> 1 of 1"));
        let grow = plan(&[sts("goosefs-master", 5, "g")], &live, PlanOptions::default()).unwrap_or_default();
        assert!(grow.changes[0].notes[0].contains("tolerating 1 -> 2"));
        assert_eq!((tolerated_failures(4), tolerated_failures(5)), (1, 2));
    }
}
