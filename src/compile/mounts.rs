//! A Dataset's mounts as Fluid's transform places them (FACTS c.1, c.3, c.9): `local://` and
//! `pvc://` mounts become volumes under `/underFSStorage` (the root UFS); a Dataset whose only
//! mount sits at `/` makes that mount the root UFS itself (its options become properties);
//! every other mount is performed by the mount Job with `goosefs fs mount`. Pure.

use std::collections::BTreeMap;

use goosefs_conf::fluid::UNDER_FS_STORAGE;
use goosefs_conf::ufs;
use serde::Serialize;

use crate::model::Dataset;
use crate::model::dataset::Mount;

/// A UFS mount performed by the mount Job (`goosefs fs mount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UfsMount {
    /// Path in the GooseFS namespace.
    pub path: String,
    /// The UFS URI.
    pub mount_point: String,
    /// `--readonly`.
    pub read_only: bool,
    /// `--shared`.
    pub shared: bool,
    /// Plain options, `key=value`.
    pub options: Vec<(String, String)>,
    /// Options read from Secrets at run time.
    pub secret_options: Vec<SecretOption>,
}

/// A mount option whose value comes from a Secret at run time (never rendered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretOption {
    /// Option name.
    pub name: String,
    /// Environment variable carrying it into the Job.
    pub env: String,
    /// Secret name.
    pub secret: String,
    /// Key in the Secret.
    pub key: String,
}

/// A hostPath (local://) or PVC (pvc://) UFS volume mounted under `/underFSStorage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UfsVolume {
    /// Volume name (rendered as `ufs-<name>`).
    pub name: String,
    /// Host path (local://), or empty.
    pub host_path: String,
    /// Claim name (pvc://), or empty.
    pub claim: String,
    /// Sub path within the claim.
    pub sub_path: String,
    /// Mount path in the containers.
    pub container_path: String,
}

/// Where each mount of a Dataset goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountPlan {
    /// local:// and pvc:// volumes.
    pub volumes: Vec<UfsVolume>,
    /// Mounts the Job performs.
    pub job: Vec<UfsMount>,
    /// `goosefs.master.mount.table.root.ufs`.
    pub root_ufs: String,
    /// The root mount's options, written as properties (as Fluid does).
    pub root_options: BTreeMap<String, String>,
    /// Every mount is a web UFS: Fluid's HTTP tuning applies.
    pub all_web: bool,
    /// Some mount is local://: the master then follows the Dataset's node affinity.
    pub has_local: bool,
}

/// Why the mounts cannot be compiled (validate reports it first: GFS201).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Dataset's only mount is the root UFS (path /) and has encryptOptions; Fluid writes their secret values \
     into goosefs-site properties, which a client-side compiler must not do: give the mount a path (e.g. /data) \
     so the mount Job passes them from the Secret"
)]
pub struct RootMountSecrets;

/// Places the mounts of `dataset`.
///
/// # Errors
/// [`RootMountSecrets`] when the root UFS would carry encrypted options.
pub fn plan(dataset: &Dataset) -> Result<MountPlan, RootMountSecrets> {
    let mounts = dataset.spec.mounts.as_deref().unwrap_or_default();
    let shared_options = dataset.spec.shared_options.clone().unwrap_or_default();
    let shared_secret = dataset.spec.shared_encrypt_options.clone().unwrap_or_default();
    let mut out = MountPlan {
        root_ufs: UNDER_FS_STORAGE.to_owned(),
        all_web: !mounts.is_empty() && mounts.iter().all(|m| ufs::is_web(&m.mount_point)),
        has_local: mounts.iter().any(|m| m.mount_point.starts_with("local://")),
        ..MountPlan::default()
    };
    for mount in mounts {
        if let Some(volume) = volume(mount, out.volumes.len()) {
            out.volumes.push(volume);
        }
    }
    let remote: Vec<&Mount> = mounts.iter().filter(|m| !ufs::is_volume(&m.mount_point)).collect();
    let single_root = mounts.len() == 1 && remote.len() == 1 && remote[0].effective_path() == "/";
    for mount in remote {
        let mut secret_options = Vec::new();
        for (i, opt) in shared_secret
            .iter()
            .chain(mount.encrypt_options.iter().flatten())
            .enumerate()
        {
            let Some(selector) = opt.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()) else {
                continue;
            };
            secret_options.push(SecretOption {
                name: opt.name.clone(),
                env: format!("GOOSEFS_MOUNT_SECRET_{}_{i}", out.job.len()),
                secret: selector.name.clone(),
                key: selector.key.clone().unwrap_or_default(),
            });
        }
        let mut options: BTreeMap<String, String> = shared_options.clone();
        options.extend(mount.options.clone().unwrap_or_default());
        if single_root {
            if !secret_options.is_empty() {
                return Err(RootMountSecrets);
            }
            out.root_ufs.clone_from(&mount.mount_point);
            out.root_options = options;
            continue;
        }
        out.job.push(UfsMount {
            path: mount.effective_path(),
            mount_point: mount.mount_point.clone(),
            read_only: mount.read_only.unwrap_or(false),
            shared: mount.shared.unwrap_or(false),
            options: options.into_iter().collect(),
            secret_options,
        });
    }
    Ok(out)
}

/// The volume of a local:// or pvc:// mount (the `index`-th such volume), if it is one.
fn volume(mount: &Mount, index: usize) -> Option<UfsVolume> {
    let path = mount.effective_path();
    let container_path = if path == "/" {
        UNDER_FS_STORAGE.to_owned()
    } else {
        format!("{UNDER_FS_STORAGE}{path}")
    };
    let mount_name = mount.name.clone().unwrap_or_default();
    if let Some(host) = mount.mount_point.strip_prefix("local://") {
        return Some(UfsVolume {
            name: if mount_name.is_empty() {
                format!("ufs-{index}")
            } else {
                mount_name
            },
            host_path: host.to_owned(),
            claim: String::new(),
            sub_path: String::new(),
            container_path,
        });
    }
    let rest = mount.mount_point.strip_prefix("pvc://")?;
    let (claim, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    Some(UfsVolume {
        name: if mount_name.is_empty() {
            claim.to_owned()
        } else {
            mount_name
        },
        host_path: String::new(),
        claim: claim.to_owned(),
        sub_path: sub_path.trim_end_matches('/').to_owned(),
        container_path,
    })
}

/// The mounts the Job performs, as the masters read them ([`goosefs_conf::mounts::ENV`]): secret
/// options by the variable the Job uses, which the master container gets from the same Secret.
pub fn declared(mounts: &[UfsMount]) -> String {
    let declared: Vec<goosefs_conf::mounts::Declared> = mounts
        .iter()
        .map(|m| goosefs_conf::mounts::Declared {
            path: m.path.clone(),
            ufs: m.mount_point.clone(),
            read_only: m.read_only,
            shared: m.shared,
            options: m.options.iter().cloned().collect(),
            option_env: m
                .secret_options
                .iter()
                .map(|s| (s.name.clone(), s.env.clone()))
                .collect(),
        })
        .collect();
    goosefs_conf::mounts::encode(&declared)
}

/// Single-quotes a shell word.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The mount Job's script: wait until the masters answer, then mount what is missing; with
/// `declared` (our runtime, whose leader mounts the declared mounts itself), wait until each is
/// mounted instead, so the Job still marks the mounts' completion and never races the leader.
pub fn script(mounts: &[UfsMount], declared: bool) -> String {
    let mut script = String::from(
        "set -eu\n\
         echo 'waiting for the GooseFS masters'\n\
         until goosefs fsadmin report >/dev/null 2>&1; do sleep 5; done\n\
         mounted() { goosefs fs mount | awk '{print $3}' | grep -qx \"$1\"; }\n",
    );
    if declared {
        for m in mounts {
            let path = shell_quote(&m.path);
            script.push_str(&format!(
                "until mounted {path}; do echo 'waiting for the leading master to mount '{path}; sleep 3; done; echo {path}' is mounted'\n"
            ));
        }
        script.push_str("echo 'all mounts done'\n");
        return script;
    }
    for m in mounts {
        let mut cmd = String::from("goosefs fs mount");
        if m.read_only {
            cmd.push_str(" --readonly");
        }
        if m.shared {
            cmd.push_str(" --shared");
        }
        for (k, v) in &m.options {
            cmd.push_str(&format!(" --option {}", shell_quote(&format!("{k}={v}"))));
        }
        // By variable name: the values never become the process's arguments.
        for s in &m.secret_options {
            cmd.push_str(&format!(
                " --option-env {}",
                shell_quote(&format!("{}={}", s.name, s.env))
            ));
        }
        cmd.push_str(&format!(" {} {}", shell_quote(&m.path), shell_quote(&m.mount_point)));
        let path = shell_quote(&m.path);
        script.push_str(&format!(
            "if mounted {path}; then echo {path}' is mounted'; else {cmd}; fi\n"
        ));
    }
    script.push_str("echo 'all mounts done'\n");
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(mounts: &str) -> Dataset {
        let text = format!(
            "apiVersion: data.fluid.io/v1alpha1\nkind: Dataset\nmetadata: {{name: d}}\nspec:\n  mounts:\n{mounts}"
        );
        serde_saphyr::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn volumes_follow_fluid_s_container_paths() {
        // FACTS f.22-27.
        let plan = plan(&dataset(
            "    - {mountPoint: \"local:///mnt/test\", name: test}\n    - {mountPoint: \"pvc://test2/subpath\", name: test2}\n    - {mountPoint: \"pvc://test3/subpath\", name: test3, path: /x}\n",
        ))
        .unwrap_or_default();
        let paths: Vec<(&str, &str, &str)> = plan
            .volumes
            .iter()
            .map(|v| (v.name.as_str(), v.container_path.as_str(), v.sub_path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("test", "/underFSStorage/test", ""),
                ("test2", "/underFSStorage/test2", "subpath"),
                ("test3", "/underFSStorage/x", "subpath")
            ]
        );
        assert_eq!(plan.root_ufs, "/underFSStorage");
        assert!(plan.job.is_empty() && plan.has_local && !plan.all_web);
    }

    #[test]
    fn a_single_mount_at_the_root_is_the_root_ufs() {
        let root = plan(&dataset("    - {mountPoint: \"https://h/p/\", options: {a: b}}\n")).unwrap_or_default();
        assert_eq!(root.root_ufs, "https://h/p/");
        assert_eq!(root.root_options.get("a").map(String::as_str), Some("b"));
        assert!(root.job.is_empty() && root.all_web);
        let secret = plan(&dataset(
            "    - mountPoint: \"s3://b/\"\n      encryptOptions: [{name: k, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n",
        ));
        assert_eq!(secret, Err(RootMountSecrets));
        let named = plan(&dataset("    - {mountPoint: \"https://h/p/\", name: hbase}\n")).unwrap_or_default();
        assert_eq!(named.job[0].path, "/hbase");
    }

    #[test]
    fn the_job_mounts_for_fluid_s_images_and_waits_for_ours() {
        let mounts = [UfsMount {
            path: "/data".into(),
            mount_point: "s3://b/p".into(),
            read_only: true,
            shared: false,
            options: vec![("aws.region".into(), "us-east-1".into())],
            secret_options: vec![SecretOption {
                name: "aws.secretKey".into(),
                env: "GOOSEFS_MOUNT_SECRET_0_0".into(),
                secret: "s3".into(),
                key: "secret".into(),
            }],
        }];
        let fluid = script(&mounts, false);
        assert!(
            fluid.contains(
                "goosefs fs mount --readonly --option 'aws.region=us-east-1' --option-env 'aws.secretKey=GOOSEFS_MOUNT_SECRET_0_0' '/data' 's3://b/p'"
            ),
            "{fluid}"
        );
        assert!(!fluid.contains("${GOOSEFS_MOUNT_SECRET"), "values are never arguments");
        let ours = script(&mounts, true);
        assert!(ours.contains("until mounted '/data'; do"), "{ours}");
        assert!(
            !ours.contains("goosefs fs mount -") && !ours.contains("s3://"),
            "{ours}"
        );
        let text = declared(&mounts);
        let back = goosefs_conf::mounts::decode(Some(&text)).unwrap_or_default();
        assert_eq!(
            back[0].option_env.get("aws.secretKey").map(String::as_str),
            Some("GOOSEFS_MOUNT_SECRET_0_0")
        );
        assert!(
            !text.contains("secret\""),
            "the Secret's key is not in the declaration: {text}"
        );
    }
}
