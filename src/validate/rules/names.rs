//! GFS105: object names are DNS-1035 labels (Fluid's controller checks this) and every name
//! the compiler derives from them fits Kubernetes' limits.

use crate::model::{Dataset, GooseFsRuntime};
use crate::validate::codes::Code;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Longest name of a StatefulSet or DaemonSet whose `controller-revision-hash` label
/// (`<name>-<hash>`) still fits in 63 characters.
const WORKLOAD_NAME_MAX: usize = 52;
/// Longest DNS label / label value.
const LABEL_MAX: usize = 63;

/// Why `name` is not a DNS-1035 label, if it is not.
pub fn dns1035_problem(name: &str) -> Option<String> {
    if name.len() > LABEL_MAX {
        return Some(format!("is {} characters long, more than {LABEL_MAX}", name.len()));
    }
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return Some("is empty".to_owned()),
        Some(b) if !b.is_ascii_lowercase() => return Some("must start with a lowercase letter".to_owned()),
        _ => {}
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Some("may contain only lowercase letters, digits and '-'".to_owned());
    }
    if bytes.last() == Some(&b'-') {
        return Some("must end with a letter or digit".to_owned());
    }
    None
}

/// Why `name` is not a DNS-1123 label (namespaces), if it is not.
fn dns1123_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if name.len() > LABEL_MAX {
        return Some(format!("is {} characters long, more than {LABEL_MAX}", name.len()));
    }
    let ok = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    (!ok).then(|| "must be lowercase letters, digits and '-', starting and ending with a letter or digit".to_owned())
}

/// Checks `metadata.name` and `metadata.namespace`; returns whether the name is usable.
fn base_names(name: Option<&str>, namespace: &str, ctx: &mut DocCtx<'_>) -> bool {
    let name_path = FieldPath::parse("metadata.name");
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        ctx.report(
            Code::GFS105,
            &name_path,
            false,
            "metadata.name is required".to_owned(),
            None,
        );
        return false;
    };
    if let Some(problem) = dns1123_problem(namespace) {
        ctx.report(
            Code::GFS105,
            &FieldPath::parse("metadata.namespace"),
            false,
            format!("namespace {namespace:?} {problem}"),
            None,
        );
    }
    if let Some(problem) = dns1035_problem(name) {
        ctx.report(
            Code::GFS105,
            &name_path,
            false,
            format!("name {name:?} is not a DNS-1035 label: it {problem}"),
            Some("Fluid requires lowercase letters, digits and '-', starting with a letter (e.g. hbase-20, not 20-hbase)".to_owned()),
        );
        return false;
    }
    true
}

/// Names derived from a runtime: each must fit its limit.
pub fn check_runtime(runtime: &GooseFsRuntime, namespace: &str, ctx: &mut DocCtx<'_>) {
    let name = runtime.metadata.name.as_deref();
    if !base_names(name, namespace, ctx) {
        return;
    }
    let name = name.unwrap_or_default();
    let last_master = runtime.master_replicas().max(1) - 1;
    let derived = [
        (format!("{name}-master-{last_master}"), LABEL_MAX, "master Service"),
        (format!("{name}-master"), WORKLOAD_NAME_MAX, "master StatefulSet"),
        (format!("{name}-worker"), WORKLOAD_NAME_MAX, "worker StatefulSet"),
        (format!("{name}-fuse"), WORKLOAD_NAME_MAX, "FUSE DaemonSet"),
        (format!("{namespace}-{name}"), LABEL_MAX, "dataset-id label value"),
        (format!("f-{namespace}-{name}"), LABEL_MAX, "FUSE node label key"),
    ];
    derived_names(&derived, ctx);
}

/// Names derived from a Dataset (PV `<ns>-<name>`, the dataset-id label).
pub fn check_dataset(dataset: &Dataset, namespace: &str, ctx: &mut DocCtx<'_>) {
    let name = dataset.metadata.name.as_deref();
    if !base_names(name, namespace, ctx) {
        return;
    }
    let name = name.unwrap_or_default();
    derived_names(
        &[(format!("{namespace}-{name}"), LABEL_MAX, "dataset-id label value")],
        ctx,
    );
}

fn derived_names(derived: &[(String, usize, &str)], ctx: &mut DocCtx<'_>) {
    if let Some((derived, max, what)) = derived.iter().find(|(n, max, _)| n.len() > *max) {
        ctx.report(
            Code::GFS105,
            &FieldPath::parse("metadata.name"),
            false,
            format!(
                "derived {what} name {derived:?} is {} characters long, more than Kubernetes allows ({max})",
                derived.len()
            ),
            Some(format!(
                "shorten the name (or namespace) by {} characters",
                derived.len() - max
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::dns1035_problem;

    #[test]
    fn dns1035() {
        assert_eq!(dns1035_problem("hbase"), None);
        assert_eq!(dns1035_problem("hbase-20"), None);
        assert!(dns1035_problem("20-hbase").is_some());
        assert!(dns1035_problem("HBase").is_some());
        assert!(dns1035_problem("hbase-").is_some());
        assert!(dns1035_problem("h.base").is_some());
        assert!(dns1035_problem(&"a".repeat(64)).is_some());
    }
}
