//! The Kubernetes kinds this tool renders and manages, in one table: the inventory lists them
//! (one list per kind), the ApplySet parent names them (`contains-group-kinds`), and the client
//! addresses them by scope.

/// A kind this tool writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedKind {
    /// `apiVersion`.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// Cluster-scoped (no namespace).
    pub cluster_scoped: bool,
}

const fn managed(api_version: &'static str, kind: &'static str, cluster_scoped: bool) -> ManagedKind {
    ManagedKind {
        api_version,
        kind,
        cluster_scoped,
    }
}

/// The kinds the embedded templates render for a runtime, in apply order. A runtime may lack
/// one (no mounts: no Job), but the inventory lists and the ApplySet names them all, so that
/// objects a render no longer has are found and pruned.
pub const RENDERED: [ManagedKind; 7] = [
    managed("v1", "ConfigMap", false),
    managed("v1", "Service", false),
    managed("v1", "PersistentVolume", true),
    managed("v1", "PersistentVolumeClaim", false),
    managed("apps/v1", "StatefulSet", false),
    managed("batch/v1", "Job", false),
    managed("apps/v1", "DaemonSet", false),
];

/// Kinds `apply` writes besides the rendered ones, never members of a runtime's inventory.
pub const EXTRA: [ManagedKind; 2] = [
    managed("v1", "Namespace", true),
    managed("apiextensions.k8s.io/v1", "CustomResourceDefinition", true),
];

/// Whether objects of `kind` are cluster-scoped (among the kinds this tool writes).
pub fn is_cluster_scoped(kind: &str) -> bool {
    RENDERED
        .iter()
        .chain(&EXTRA)
        .any(|k| k.kind == kind && k.cluster_scoped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(is_cluster_scoped("PersistentVolume") && is_cluster_scoped("Namespace"));
        assert!(!is_cluster_scoped("ConfigMap") && !is_cluster_scoped("GooseFSRuntime"));
    }
}
