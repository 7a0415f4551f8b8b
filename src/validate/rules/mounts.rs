//! GFS201 (mount points, names, paths) and GFS204 (option set both plainly and encrypted):
//! checks of a Dataset that GooseFS serves.

use std::collections::HashMap;

use crate::model::Dataset;
use crate::model::dataset::Mount;
use crate::validate::codes::Code;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// UFS schemes GooseFS mounts.
pub const SCHEMES: [&str; 11] = [
    "http", "https", "cos", "cosn", "s3", "s3a", "hdfs", "ofs", "oss", "local", "pvc",
];

/// Why a mount point is not usable by GooseFS, if it is not.
pub fn mount_point_problem(mount_point: &str) -> Option<(String, Option<String>)> {
    if mount_point.chars().any(char::is_whitespace) {
        return Some((
            "mountPoint contains white space".to_owned(),
            Some("percent-encode spaces as %20".to_owned()),
        ));
    }
    let Some((scheme, rest)) = mount_point.split_once("://") else {
        return Some((
            format!("mountPoint {mount_point:?} has no scheme"),
            Some(format!(
                "write it as <scheme>://..., with a scheme among {}",
                SCHEMES.join(", ")
            )),
        ));
    };
    if !SCHEMES.contains(&scheme) {
        let help = if SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
            format!("write the scheme in lower case: {}://", scheme.to_ascii_lowercase())
        } else {
            format!("GooseFS mounts {}", SCHEMES.join(", "))
        };
        return Some((format!("unsupported mountPoint scheme {scheme:?}"), Some(help)));
    }
    match scheme {
        "local" if rest.starts_with('/') => None,
        "local" => Some((
            format!("local:// takes an absolute host path, found {mount_point:?}"),
            Some(format!("write local:///{}", rest.trim_start_matches('/'))),
        )),
        "pvc" => {
            let claim = rest.split('/').next().unwrap_or_default();
            let valid = !claim.is_empty()
                && claim
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && claim.len() <= 253;
            (!valid).then(|| {
                (
                    format!("pvc:// needs a PersistentVolumeClaim name (lowercase DNS name), found {claim:?}"),
                    Some("write pvc://<claim>[/<subpath>]".to_owned()),
                )
            })
        }
        _ => {
            let authority = rest.split('/').next().unwrap_or_default();
            authority.is_empty().then(|| {
                (
                    format!("{scheme}:// needs a host or bucket, found {mount_point:?}"),
                    Some(format!("write {scheme}://<host-or-bucket>/<path>")),
                )
            })
        }
    }
}

/// The path a mount gets in the GooseFS namespace: `path` when absolute, else `/<name>`.
pub fn effective_path(mount: &Mount) -> String {
    match mount.path.as_deref() {
        Some(p) if p.starts_with('/') => p.to_owned(),
        _ => format!("/{}", mount.name.as_deref().unwrap_or_default().trim_start_matches('/')),
    }
}

/// Checks the mounts of `dataset`.
pub fn check(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    let mounts = dataset.spec.mounts.as_deref().unwrap_or_default();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut paths: HashMap<String, usize> = HashMap::new();
    for (i, mount) in mounts.iter().enumerate() {
        let base = format!("spec.mounts[{i}]");
        if let Some((message, help)) = mount_point_problem(&mount.mount_point) {
            ctx.report(
                Code::GFS201,
                &FieldPath::parse(&format!("{base}.mountPoint")),
                false,
                message,
                help,
            );
        }
        if let Some(name) = mount.name.as_deref().filter(|n| !n.is_empty())
            && let Some(first) = names.insert(name, i)
        {
            ctx.report(
                Code::GFS201,
                &FieldPath::parse(&format!("{base}.name")),
                false,
                format!("mount name {name:?} is already used by mounts[{first}]"),
                Some("give every mount its own name".to_owned()),
            );
        }
        let path = effective_path(mount);
        let field = if mount.path.is_some() { "path" } else { "name" };
        if path == "/" && mounts.len() > 1 {
            ctx.report(
                Code::GFS201,
                &FieldPath::parse(&format!("{base}.{field}")),
                false,
                "only a Dataset's single mount can be mounted at the root path /".to_owned(),
                Some("give the mount a name or a path such as /data".to_owned()),
            );
        } else if let Some(first) = paths.insert(path.clone(), i) {
            ctx.report(
                Code::GFS201,
                &FieldPath::parse(&format!("{base}.{field}")),
                false,
                format!("mount path {path:?} is already used by mounts[{first}]"),
                Some("each mount needs its own path in the GooseFS namespace".to_owned()),
            );
        }
        encrypted_twice(dataset, mount, &base, ctx);
    }
    if let Some(shared) = &dataset.spec.shared_encrypt_options {
        for (j, option) in shared.iter().enumerate() {
            let plain = dataset
                .spec
                .shared_options
                .as_ref()
                .is_some_and(|o| o.contains_key(&option.name))
                || mounts
                    .iter()
                    .any(|m| m.options.as_ref().is_some_and(|o| o.contains_key(&option.name)));
            if plain {
                report_twice(&option.name, &format!("spec.sharedEncryptOptions[{j}].name"), ctx);
            }
        }
    }
}

fn encrypted_twice(dataset: &Dataset, mount: &Mount, base: &str, ctx: &mut DocCtx<'_>) {
    for (j, option) in mount.encrypt_options.iter().flatten().enumerate() {
        let plain = mount.options.as_ref().is_some_and(|o| o.contains_key(&option.name))
            || dataset
                .spec
                .shared_options
                .as_ref()
                .is_some_and(|o| o.contains_key(&option.name));
        if plain {
            report_twice(&option.name, &format!("{base}.encryptOptions[{j}].name"), ctx);
        }
    }
}

fn report_twice(name: &str, path: &str, ctx: &mut DocCtx<'_>) {
    ctx.report(
        Code::GFS204,
        &FieldPath::parse(path),
        false,
        format!(
            "option {name:?} is set both in plain options and as an encrypted option (Fluid: \"the option {name} is set more than one times\")"
        ),
        Some("keep only the encrypted option".to_owned()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points() {
        for ok in [
            "https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/",
            "local:///mnt/data",
            "pvc://claim/sub",
            "cosn://bucket-1/data",
            "hdfs://namenode:8020/warehouse",
            "oss://<OSS_BUCKET>/<OSS_DIRECTORY>/",
        ] {
            assert_eq!(mount_point_problem(ok), None, "{ok}");
        }
        for bad in [
            "ftp://host/x",
            "local://mnt/data",
            "pvc://",
            "pvc://Claim",
            "s3://",
            "/mnt/data",
            "HTTPS://x/y",
            "https://a b",
        ] {
            assert!(mount_point_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn effective_paths() {
        let m = |name: Option<&str>, path: Option<&str>| Mount {
            mount_point: "https://x/".into(),
            name: name.map(Into::into),
            path: path.map(Into::into),
            ..Mount::default()
        };
        assert_eq!(effective_path(&m(Some("hbase"), None)), "/hbase");
        assert_eq!(effective_path(&m(Some("hbase"), Some("/data"))), "/data");
        assert_eq!(effective_path(&m(None, None)), "/");
    }
}
