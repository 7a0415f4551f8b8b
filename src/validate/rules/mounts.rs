//! GFS201 (mount points, names, paths) and GFS204 (option set both plainly and encrypted):
//! checks of a Dataset that GooseFS serves.

use std::collections::HashMap;

use crate::model::Dataset;
use crate::model::dataset::Mount;
use goosefs_conf::ufs;

use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// What is wrong with a mount point, and how badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error: the mount cannot work; warning: it may not.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

fn problem(severity: Severity, message: String, help: String) -> Option<Problem> {
    Some(Problem {
        severity,
        message,
        help: Some(help),
    })
}

/// Why a mount point is not usable, or may not be, by GooseFS and the bundled runtime.
pub fn mount_point_problem(mount_point: &str) -> Option<Problem> {
    let readable = ufs::readable_names().join(", ");
    if mount_point.chars().any(char::is_whitespace) {
        return problem(
            Severity::Error,
            "mountPoint contains white space".to_owned(),
            "percent-encode spaces as %20".to_owned(),
        );
    }
    let Some((scheme, rest)) = mount_point.split_once("://") else {
        return problem(
            Severity::Error,
            format!("mountPoint {mount_point:?} has no scheme"),
            format!("write it as <scheme>://..., with a scheme among {readable}"),
        );
    };
    let well_formed = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    match ufs::lookup(scheme) {
        None if ufs::lookup(&scheme.to_ascii_lowercase()).is_some() => {
            return problem(
                Severity::Error,
                format!("unsupported mountPoint scheme {scheme:?}"),
                format!("write the scheme in lower case: {}://", scheme.to_ascii_lowercase()),
            );
        }
        None if !well_formed => {
            return problem(
                Severity::Error,
                format!("mountPoint {mount_point:?} has no valid scheme"),
                format!("write it as <scheme>://..., with a scheme among {readable}"),
            );
        }
        // Fluid passes any scheme through to `goosefs fs mount`, but the bundled runtime cannot
        // read this one: the mount would fail at run time.
        None => {
            return problem(
                Severity::Error,
                format!("the bundled goosefs runtime cannot read {scheme}:// mounts"),
                format!("it reads {readable}"),
            );
        }
        Some(known) if !known.readable() => {
            return problem(
                Severity::Error,
                format!("the bundled goosefs runtime cannot read {scheme}:// mounts"),
                format!("it reads {readable}; Fluid's GooseFS images (render --images) may"),
            );
        }
        Some(known) if !known.documented => {
            return problem(
                Severity::Warning,
                format!(
                    "{scheme}:// is not a scheme GooseFS documents; the bundled runtime reads it ({}), other GooseFS images may not",
                    known.via()
                ),
                format!("prefer one of {readable}"),
            );
        }
        Some(_) => {}
    }
    match scheme {
        "local" if rest.starts_with('/') => None,
        "local" => problem(
            Severity::Error,
            format!("local:// takes an absolute host path, found {mount_point:?}"),
            format!("write local:///{}", rest.trim_start_matches('/')),
        ),
        "pvc" => {
            let claim = rest.split('/').next().unwrap_or_default();
            let valid = !claim.is_empty()
                && claim
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && claim.len() <= 253;
            if valid {
                return None;
            }
            problem(
                Severity::Error,
                format!("pvc:// needs a PersistentVolumeClaim name (lowercase DNS name), found {claim:?}"),
                "write pvc://<claim>[/<subpath>]".to_owned(),
            )
        }
        _ => {
            let authority = rest.split('/').next().unwrap_or_default();
            if !authority.is_empty() {
                return None;
            }
            problem(
                Severity::Error,
                format!("{scheme}:// needs a host or bucket, found {mount_point:?}"),
                format!("write {scheme}://<host-or-bucket>/<path>"),
            )
        }
    }
}

/// Checks the mounts of `dataset`.
pub fn check(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    let mounts = dataset.spec.mounts.as_deref().unwrap_or_default();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut paths: HashMap<String, usize> = HashMap::new();
    for (i, mount) in mounts.iter().enumerate() {
        let base = format!("spec.mounts[{i}]");
        if let Some(found) = mount_point_problem(&mount.mount_point) {
            ctx.report_as(
                Code::GFS201,
                found.severity,
                &FieldPath::parse(&format!("{base}.mountPoint")),
                false,
                found.message,
                found.help,
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
        let path = mount.effective_path();
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
    root_mount_with_secrets(dataset, ctx);
    restore_location(dataset, ctx);
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

/// A Dataset's only mount at `/` becomes the root UFS, whose options Fluid writes into the
/// goosefs-site properties: secret values would land in a ConfigMap, so render refuses them.
fn root_mount_with_secrets(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    let mounts = dataset.spec.mounts.as_deref().unwrap_or_default();
    let [mount] = mounts else { return };
    if ufs::is_volume(&mount.mount_point) || mount.effective_path() != "/" {
        return;
    }
    let secrets = mount.encrypt_options.as_ref().is_some_and(|o| !o.is_empty())
        || dataset
            .spec
            .shared_encrypt_options
            .as_ref()
            .is_some_and(|o| !o.is_empty());
    if secrets {
        let field = if mount.encrypt_options.as_ref().is_some_and(|o| !o.is_empty()) {
            "spec.mounts[0].encryptOptions"
        } else {
            "spec.sharedEncryptOptions"
        };
        ctx.report(
            Code::GFS201,
            &FieldPath::parse(field),
            true,
            "the Dataset's only mount is the root UFS (path /) and has encrypted options; Fluid writes root-UFS \
             options into goosefs-site properties, which would put the secret values in a ConfigMap"
                .to_owned(),
            Some(
                "give the mount a name or a path (e.g. /data), so the mount Job passes the secrets from the Secret"
                    .to_owned(),
            ),
        );
    }
}

/// `dataRestoreLocation` as Fluid reads it: `pvc://<claim>[/<path>]`, or `local://<path>` with a
/// `nodeName`. Anything else Fluid logs and ignores, so the master would start empty.
fn restore_location(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    let Some(location) = &dataset.spec.data_restore_location else {
        return;
    };
    let Some(path) = location.path.as_deref().filter(|p| !p.is_empty()) else {
        return;
    };
    let field = FieldPath::parse("spec.dataRestoreLocation.path");
    let problem = if let Some(rest) = path.strip_prefix("pvc://") {
        rest.split('/')
            .next()
            .is_none_or(str::is_empty)
            .then(|| "pvc:// needs a claim name: pvc://<claim>[/<path>]".to_owned())
    } else if path.starts_with("local://") {
        location.node_name.as_deref().is_none_or(str::is_empty).then(|| {
            "a local:// restore location needs spec.dataRestoreLocation.nodeName, the node holding the backup"
                .to_owned()
        })
    } else {
        Some(format!("{path:?} is neither pvc://<claim>/<path> nor local://<path>"))
    };
    if let Some(message) = problem {
        ctx.report(
            Code::GFS201,
            &field,
            false,
            format!("{message}; Fluid would ignore it and the masters would start without the backup"),
            Some("write pvc://<claim>/<path>, or local://<path> with nodeName".to_owned()),
        );
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

    fn severity(mount_point: &str) -> Option<Severity> {
        mount_point_problem(mount_point).map(|p| p.severity)
    }

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
            "ofs://fs-1/x",
            "local://mnt/data",
            "pvc://",
            "pvc://Claim",
            "s3://",
            "/mnt/data",
            "HTTPS://x/y",
            "https://a b",
            "1x://a/b",
        ] {
            assert_eq!(severity(bad), Some(Severity::Error), "{bad}");
        }
        // Fluid passes these through; the bundled runtime reads s3n as S3: a warning only.
        assert_eq!(severity("s3n://bucket/x"), Some(Severity::Warning));
    }

    #[test]
    fn effective_paths() {
        let m = |name: Option<&str>, path: Option<&str>| Mount {
            mount_point: "https://x/".into(),
            name: name.map(Into::into),
            path: path.map(Into::into),
            ..Mount::default()
        };
        assert_eq!(m(Some("hbase"), None).effective_path(), "/hbase");
        assert_eq!(m(Some("hbase"), Some("/data")).effective_path(), "/data");
        assert_eq!(m(None, None).effective_path(), "/");
    }
}
