//! The user's volumes (`spec.volumes`, AlluxioRuntime's field, which Fluid's GooseFSRuntime lacks)
//! and the components' `volumeMounts`: which pod carries which volume, and whether the masters'
//! journal (`goosefs.master.journal.folder`) lies on one of them, in which case the default
//! emptyDir journal is not rendered (a master then finds its journal again after its pod goes).

use serde::Serialize;
use serde_json::Value;

use crate::model::GooseFsRuntime;
use crate::model::runtime::GooseFsCompTemplateSpec;

/// Where Fluid's chart (and so our render) keeps the masters' journal: an emptyDir.
pub const DEFAULT_JOURNAL_FOLDER: &str = "/journal";

/// Volume names the rendered pods use themselves; a user volume may not take one.
const RENDERED: [&str; 9] = [
    "goosefs-journal",
    "backup",
    "pvc",
    "host",
    "dir",
    "user",
    "group",
    "hdfs-confs",
    "goosefs-credential",
];

/// Container paths the rendered containers mount; a user mount may not take one (the journal's
/// `/journal` may: a volume there replaces the emptyDir).
pub const RENDERED_PATHS: [&str; 5] = [
    "/goosefs_backups",
    "/pvc",
    "/host",
    "/hdfs-config",
    goosefs_conf::credential::MOUNT_PATH,
];

/// Whether `name` is a volume name the render uses (fixed names, tier and UFS volumes).
pub fn is_rendered_name(name: &str) -> bool {
    if RENDERED.contains(&name) || name.starts_with("ufs-") {
        return true;
    }
    let (medium, index) = name.split_once('-').unwrap_or((name, "0"));
    matches!(medium, "mem" | "ssd" | "hdd") && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())
}

/// Whether container path `path` is `mount` or below it.
pub fn is_under(path: &str, mount: &str) -> bool {
    let mount = mount.trim_end_matches('/');
    mount.is_empty() || path == mount || path.strip_prefix(mount).is_some_and(|rest| rest.starts_with('/'))
}

/// The user volumes and mounts of the master and worker pods, as the templates render them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserVolumes {
    /// `spec.volumes` the master pod's containers mount.
    pub master_pod: Vec<Value>,
    /// `spec.volumes` the worker pod's containers mount.
    pub worker_pod: Vec<Value>,
    /// `spec.master.volumeMounts`.
    pub master: Vec<Value>,
    /// `spec.jobMaster.volumeMounts`.
    pub job_master: Vec<Value>,
    /// `spec.worker.volumeMounts`.
    pub worker: Vec<Value>,
    /// `spec.jobWorker.volumeMounts`.
    pub job_worker: Vec<Value>,
    /// The masters' journal folder is on one of the master's user mounts.
    pub journal_on_volume: bool,
}

fn mounts(component: Option<&GooseFsCompTemplateSpec>) -> Vec<Value> {
    component
        .and_then(|c| c.volume_mounts.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|m| serde_json::to_value(m).ok())
        .collect()
}

/// The volumes `spec.volumes` holds that `mounts` name, in `spec.volumes`' order.
fn used(runtime: &GooseFsRuntime, mounts: &[&[Value]]) -> Vec<Value> {
    let named = |name: &str| mounts.iter().flat_map(|m| m.iter()).any(|m| m["name"] == name);
    runtime
        .spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| named(&v.name))
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect()
}

/// The user volumes of `runtime`'s pods.
pub fn of(runtime: &GooseFsRuntime) -> UserVolumes {
    let spec = &runtime.spec;
    let master = mounts(spec.master.as_ref());
    let job_master = mounts(spec.job_master.as_ref());
    let worker = mounts(spec.worker.as_ref());
    let job_worker = mounts(spec.job_worker.as_ref());
    let folder = runtime.journal_folder();
    let journal_on_volume = master
        .iter()
        .any(|m| m["mountPath"].as_str().is_some_and(|p| is_under(folder, p)));
    UserVolumes {
        master_pod: used(runtime, &[&master, &job_master]),
        worker_pod: used(runtime, &[&worker, &job_worker]),
        master,
        job_master,
        worker,
        job_worker,
        journal_on_volume,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_names_and_paths_are_recognised() {
        for name in ["backup", "hdd", "ssd-1", "mem", "ufs-data", "goosefs-journal"] {
            assert!(is_rendered_name(name), "{name}");
        }
        for name in ["journal", "hdd-x", "hdds", "data"] {
            assert!(!is_rendered_name(name), "{name}");
        }
        assert!(is_under("/journal", "/journal"));
        assert!(is_under("/data/journal", "/data/"));
        assert!(!is_under("/journals", "/journal"));
        assert!(is_under("/anything", "/"));
    }
}
