//! Inventory by Kubernetes' ApplySet conventions (KEP-3659), so that kubectl and other
//! ApplySet-aware tools see which objects belong to which runtime and which tool owns them.
//!
//! Each runtime gets a parent object, a data-less ConfigMap `<name>-applyset`, labelled
//! `applyset.kubernetes.io/id` and annotated with the tooling (`kubectl-goosefs/v<version>`) and
//! the group-kinds of its members; every rendered object is labelled
//! `applyset.kubernetes.io/part-of: <id>`. The id is the one kubectl computes from the parent's
//! name, namespace, kind and group, so it differs between namespaces and names.

use base64::Engine as _;

use crate::model::kinds::RENDERED;

/// The tooling annotation's value.
pub const TOOLING: &str = concat!("kubectl-goosefs/v", env!("CARGO_PKG_VERSION"));

/// The member label.
pub const PART_OF: &str = "applyset.kubernetes.io/part-of";

/// The parent's id label.
pub const ID: &str = "applyset.kubernetes.io/id";

/// The parent object's name for runtime `name`.
#[must_use]
pub fn parent_name(name: &str) -> String {
    format!("{name}-applyset")
}

/// The ApplySet id of runtime `name` in `namespace`: `applyset-<base64url(sha256(
/// "<parent>.<namespace>.ConfigMap."))>-v1`, as kubectl derives it from the parent reference.
#[must_use]
pub fn id(name: &str, namespace: &str) -> String {
    let key = format!("{}.{namespace}.ConfigMap.", parent_name(name));
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    )
}

/// `Kind.group` as ApplySet lists it (`Kind` alone for the core group).
fn group_kind(api_version: &str, kind: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_owned(),
    }
}

/// The parent object of a runtime whose members are `(apiVersion, kind)` pairs, as YAML. Its
/// `contains-group-kinds` names every kind of [`RENDERED`] whether or not the runtime has one
/// (a runtime without mounts has no Job, but a stale one may live until pruned: the list must
/// stay a superset of the live members) and any kind a user template adds.
#[must_use]
pub fn parent(
    name: &str,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
    members: &[(String, String)],
) -> String {
    let mut kinds: Vec<String> = RENDERED
        .iter()
        .map(|k| group_kind(k.api_version, k.kind))
        .chain(members.iter().map(|(a, k)| group_kind(a, k)))
        .collect();
    kinds.sort();
    kinds.dedup();
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n",
        quote(&parent_name(name)),
        quote(namespace)
    );
    let mut labels = labels.clone();
    labels.remove(PART_OF);
    labels.insert(ID.to_owned(), id(name, namespace));
    for (k, v) in &labels {
        text.push_str(&format!("    {}: {}\n", quote(k), quote(v)));
    }
    text.push_str(&format!(
        "  annotations:\n    \"applyset.kubernetes.io/contains-group-kinds\": {}\n    \"applyset.kubernetes.io/tooling\": {}\n",
        quote(&kinds.join(",")),
        quote(TOOLING)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_a_valid_label_value_that_depends_on_name_and_namespace() {
        let hbase = id("hbase", "default");
        assert!(hbase.starts_with("applyset-") && hbase.ends_with("-v1"));
        // 32 bytes of SHA-256 are 43 base64url characters; label values allow at most 63.
        assert_eq!(hbase.len(), "applyset-".len() + 43 + "-v1".len());
        assert!(hbase.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_ne!(hbase, id("hbase", "other"));
        assert_ne!(hbase, id("spark", "default"));
        assert_eq!(hbase, id("hbase", "default"));
    }

    #[test]
    fn parent_lists_member_group_kinds_sorted_once() {
        // Job.batch is named without a Job (a stale one may live until pruned); a kind a user
        // template adds is named too.
        let members = [
            ("apps/v1".to_owned(), "StatefulSet".to_owned()),
            ("v1".to_owned(), "ConfigMap".to_owned()),
            ("apps/v1".to_owned(), "StatefulSet".to_owned()),
            ("v1".to_owned(), "Secret".to_owned()),
        ];
        let text = parent("hbase", "default", &Default::default(), &members);
        assert!(
            text.contains(
                "\"applyset.kubernetes.io/contains-group-kinds\": \"ConfigMap,CronJob.batch,DaemonSet.apps,Job.batch,PersistentVolume,PersistentVolumeClaim,PodMonitor.monitoring.coreos.com,Role.rbac.authorization.k8s.io,RoleBinding.rbac.authorization.k8s.io,Secret,Service,ServiceAccount,StatefulSet.apps\""
            ),
            "{text}"
        );
        assert!(text.contains(&format!(
            "\"applyset.kubernetes.io/id\": \"{}\"",
            id("hbase", "default")
        )));
        assert!(text.contains(&format!("\"applyset.kubernetes.io/tooling\": \"{TOOLING}\"")));
    }
}
