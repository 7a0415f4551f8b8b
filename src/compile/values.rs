//! Bundle → Values: every default resolved as Fluid's transform does (FACTS c.1-c.8), into the
//! structure the templates read. The concerns live in their own modules ([`super::mounts`],
//! [`super::properties`], [`super::images`], [`super::placement`], [`super::tiered`],
//! [`super::resources`], [`super::fuse`], [`super::labels`]); this one puts them together. Pure.

use std::collections::BTreeMap;

use goosefs_conf::fluid::fuse_mount_path;
use goosefs_conf::journal;
use serde::Serialize;
use serde_json::Value;

use super::images::{Catalog, Images, images};
use super::mounts::{UfsMount, UfsVolume};
use super::placement::{placement, volume_affinity};
use super::ports::Ports;
use super::properties::{ComponentOpts, JavaOpts, PropertyInputs, java_opts, properties};
use super::resources::{as_json, memory_request, with_mem_tiers};
use super::tiered::{TierLevel, levels};
use super::{CompileError, CompileOptions, CsiMode};
use crate::model::common::MediumType;
use crate::model::{Dataset, GooseFsRuntime};

/// Capacity Fluid gives the dataset PV/PVC.
pub const PV_CAPACITY: &str = "100Pi";

/// Fluid's default JVM options per component, used when the spec gives none (FACTS f.11-13).
const MASTER_JVM: [&str; 2] = ["-Xmx16G", "-XX:+UnlockExperimentalVMOptions"];
const WORKER_JVM: [&str; 3] = [
    "-Xmx12G",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:MaxDirectMemorySize=32g",
];
const FUSE_JVM: [&str; 5] = [
    "-Xmx16G",
    "-Xms16G",
    "-XX:+UseG1GC",
    "-XX:MaxDirectMemorySize=32g",
    "-XX:+UnlockExperimentalVMOptions",
];

/// Everything the templates need for one runtime.
#[derive(Debug, Clone, Serialize)]
pub struct Values {
    /// Runtime (and Dataset) name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `<ns>-<name>`.
    #[serde(skip)] // not read by the templates
    pub dataset_id: String,
    /// Labels every object carries.
    #[serde(skip)] // not read by the templates
    pub labels: BTreeMap<String, String>,
    /// Images.
    pub images: Images,
    /// Ports.
    pub ports: Ports,
    /// Master replicas.
    pub masters: i32,
    /// More than one master: embedded Raft journal.
    pub ha: bool,
    /// The masters' embedded journal addresses (HA only), as the ConfigMap carries them.
    #[serde(skip)] // not read by the templates
    pub journal_addresses: String,
    /// Worker replicas.
    pub workers: i32,
    /// Tier levels.
    pub levels: Vec<TierLevel>,
    /// Properties (sorted).
    #[serde(skip)] // not read by the templates
    pub properties: super::properties::Properties,
    /// ConfigMap option strings.
    pub java_opts: JavaOpts,
    /// Checksums of what each component reads, stamped on pod templates so that a change
    /// restarts exactly the components that read it.
    pub checksums: Checksums,
    /// Master pod settings.
    pub master: Component,
    /// Worker pod settings.
    pub worker: Component,
    /// FUSE pod settings.
    pub fuse: Fuse,
    /// Job master resources.
    pub job_master_resources: Value,
    /// Job worker resources.
    pub job_worker_resources: Value,
    /// API gateway enabled.
    pub api_gateway: bool,
    /// Tolerations (from the Dataset) for master and worker pods.
    pub tolerations: Value,
    /// Worker affinity (placement and the Dataset's node affinity).
    pub worker_affinity: Value,
    /// Master affinity (the Dataset's node affinity, only with local:// mounts).
    pub master_affinity: Value,
    /// Placement: `Exclusive` or `Shared`.
    #[serde(skip)] // not read by the templates
    pub placement: String,
    /// Level-0 tier path(s), exported to master and worker.
    #[serde(skip)] // not read by the templates
    pub level0_path: String,
    /// local:// and pvc:// volumes.
    pub ufs_volumes: Vec<UfsVolume>,
    /// Mounts the Job performs.
    pub mounts: Vec<UfsMount>,
    /// Name of the mount Job (carries a hash of the mount set).
    pub mount_job: String,
    /// The DataLoads of its Dataset ([`super::dataload`]), set by the compiler.
    pub loaders: Vec<super::dataload::Loader>,
    /// The DataBackups' Jobs (set by `compile` after [`build`]).
    pub backups: Vec<super::databackup::BackupJob>,
    /// The Job's idempotent mount script.
    pub mount_script: String,
    /// Readiness and liveness probes (our images only).
    pub probes: bool,
    /// The masters keep the runtime's status: their service account, Role and binding are
    /// rendered (our images only).
    pub keeps_status: bool,
    /// Render the runtime's PodMonitor (`--monitoring`).
    pub pod_monitor: bool,
    /// The same mounts for the masters to reconcile ([`goosefs_conf::mounts`], JSON), with our
    /// images only.
    pub declared_mounts: Option<String>,
    /// Labels per object role (`config`, `master`, `master_pod`, ...).
    pub role_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// The containers' user (spec.runAs uid), else root as Fluid.
    pub user: i64,
    /// The containers' group (spec.runAs gid), else root.
    pub group: i64,
    /// init-users container settings, when runAs is set.
    pub init_users: Option<InitUsers>,
    /// The master's restore of a metadata backup (Dataset `dataRestoreLocation`).
    pub restore: Option<Restore>,
    /// hadoopConfig ConfigMap name.
    pub hadoop_config: Option<String>,
    /// Metrics label (`monitor: goosefs_runtime_metrics`) unless disabled.
    #[serde(skip)] // not read by the templates
    pub monitoring: Option<String>,
    /// PV/PVC.
    pub volume: DatasetVolume,
    /// Journal size limit.
    pub journal_size: String,
    /// `spec.volumes` and the components' `volumeMounts`.
    pub user_volumes: super::volumes::UserVolumes,
    /// Backup directory on the host.
    pub backup_path: String,
    /// The runtime's credential Secret and the items each pod mounts (our images only).
    pub credential: Option<Credential>,
}

/// The credential Secret as the templates mount it ([`goosefs_conf::credential`]).
#[derive(Debug, Clone, Serialize)]
pub struct Credential {
    /// `<name>-credential`.
    pub secret: String,
    /// Where the containers mount it.
    pub mount_path: &'static str,
    /// Items of the master pods.
    pub master: Vec<String>,
    /// Items of the worker pods.
    pub worker: Vec<String>,
    /// Items of the FUSE pods.
    pub fuse: Vec<String>,
    /// Items of the mount Job's pod.
    pub mount_job: Vec<String>,
    /// Items of a DataLoad loader's pod.
    pub loader: Vec<String>,
    /// Items a DataBackup's Job mounts (admin: the whole namespace).
    pub backup: Vec<String>,
}

impl Credential {
    fn of(runtime: &str) -> Credential {
        use goosefs_conf::credential::{MOUNT_PATH, Pod, secret_name};
        Credential {
            secret: secret_name(runtime),
            mount_path: MOUNT_PATH,
            master: Pod::Master.items(),
            worker: Pod::Worker.items(),
            fuse: Pod::Fuse.items(),
            mount_job: Pod::MountJob.items(),
            loader: Pod::Loader.items(),
            backup: Pod::Backup.items(),
        }
    }
}

/// Per-component checksums.
#[derive(Debug, Clone, Serialize)]
pub struct Checksums {
    /// Master and job master.
    pub master: String,
    /// Worker and job worker (includes the tiered store).
    pub worker: String,
    /// FUSE.
    pub fuse: String,
}

/// Pod-level settings of master or worker.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Environment (sorted).
    pub env: BTreeMap<String, String>,
    /// Node selector.
    pub node_selector: BTreeMap<String, String>,
    /// Pod annotations.
    pub annotations: BTreeMap<String, String>,
    /// Container resources (JSON).
    pub resources: Value,
}

/// FUSE settings.
#[derive(Debug, Clone, Serialize)]
pub struct Fuse {
    /// Container args.
    pub args: Vec<String>,
    /// `/runtime-mnt/goosefs/<ns>/<name>/goosefs-fuse`.
    pub mount_path: String,
    /// Its parent directory (the hostPath volume, mounted Bidirectional).
    pub mount_dir: String,
    /// Environment (sorted), incl. MOUNT_POINT.
    pub env: BTreeMap<String, String>,
    /// Node selector: spec.fuse.nodeSelector only (standalone: no lazy fuse label).
    pub node_selector: BTreeMap<String, String>,
    /// Pod annotations.
    pub annotations: BTreeMap<String, String>,
    /// Resources (JSON).
    pub resources: Value,
}

/// init-users settings.
#[derive(Debug, Clone, Serialize)]
pub struct InitUsers {
    /// `uid:user:gid,gid:group`.
    pub env_users: String,
    /// Tier paths joined with `:`.
    pub env_tiered_paths: String,
    /// `/tmp/fluid/<ns>/<name>`: holds the generated `passwd` and `group`.
    pub dir: String,
}

/// Where the master finds a metadata backup to restore (FACTS c.2 `restore`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restore {
    /// `pvc://<claim>/...`: the claim, mounted at `/pvc`.
    pub claim: Option<String>,
    /// `local://<path>` + node: the host directory, mounted at `/host`.
    pub host_path: Option<String>,
}

/// The dataset's PV and PVC.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetVolume {
    /// PV name `<ns>-<name>`.
    pub pv_name: String,
    /// Access modes.
    pub access_modes: Vec<String>,
    /// Fluid's CSI driver (`--csi fluid`) instead of a hostPath PV.
    pub csi: bool,
    /// The FUSE node label key Fluid's CSI plugin reads (`fluid.io/f-<ns>-<name>`).
    pub fuse_label: String,
    /// Node affinity of the PV (FUSE node selector), JSON or null.
    pub node_affinity: Value,
}

/// FNV-1a, 64 bit: a stable, dependency-free content hash for names and checksums.
pub fn fnv64(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Where a metadata backup is kept, as Fluid reads a DataBackup's `backupPath` and a Dataset's
/// `dataRestoreLocation.path`: `pvc://<claim>/<sub>` (the claim mounted at `/pvc`) or
/// `local://<path>` (the host directory mounted at `/host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupLocation {
    /// The claim and the volume's source.
    pub restore: Restore,
    /// The directory inside the pod that holds the file (ends in `/`).
    pub dir: String,
}

/// Parses a backup location (`None`: neither `pvc://` nor `local://`).
pub fn backup_location(path: &str) -> Option<BackupLocation> {
    // Fluid's ParseBackupRestorePath: the path gets a leading and a trailing `/`.
    let slashed = |p: &str| {
        let p = if p.starts_with('/') {
            p.to_owned()
        } else {
            format!("/{p}")
        };
        if p.ends_with('/') { p } else { format!("{p}/") }
    };
    if let Some(rest) = path.strip_prefix("pvc://") {
        let (claim, sub) = rest.split_once('/').unwrap_or((rest, ""));
        return (!claim.is_empty()).then(|| BackupLocation {
            restore: Restore {
                claim: Some(claim.to_owned()),
                host_path: None,
            },
            dir: format!("/pvc{}", slashed(sub)),
        });
    }
    let sub = path.strip_prefix("local://")?;
    Some(BackupLocation {
        restore: Restore {
            claim: None,
            host_path: Some(slashed(sub)),
        },
        dir: "/host/".to_owned(),
    })
}

/// The file name of runtime `namespace/name`'s metadata backup (Fluid's DataBackup names it so).
pub fn backup_file(namespace: &str, name: &str) -> String {
    format!("metadata-backup-{name}-{namespace}.gz")
}

/// The restore Fluid sets up for a Dataset's `dataRestoreLocation`, with the master's extra
/// environment (`JOURNAL_BACKUP`) and node selector. `None` when there is none or Fluid cannot
/// read it (it then logs and restores nothing).
fn restore(dataset: &Dataset, namespace: &str, name: &str) -> Option<(Restore, String, Option<String>)> {
    let location = dataset.spec.data_restore_location.as_ref()?;
    let path = location.path.as_deref().filter(|p| !p.is_empty())?;
    let found = backup_location(path)?;
    let file = format!("{}{}", found.dir, backup_file(namespace, name));
    if found.restore.claim.is_some() {
        return Some((found.restore, file, None));
    }
    let node = location.node_name.clone().filter(|n| !n.is_empty())?;
    Some((found.restore, file, Some(node)))
}

/// Builds the values of one Dataset + GooseFSRuntime pair.
///
/// # Errors
/// [`CompileError`] for input validate refuses (GFS102 tiers, GFS201 root-UFS secrets).
pub fn build(
    runtime: &GooseFsRuntime,
    dataset: &Dataset,
    namespace: &str,
    ports: Ports,
    catalog: &Catalog,
    options: &CompileOptions,
) -> Result<Values, CompileError> {
    let name = runtime.metadata.name.clone().unwrap_or_default();
    let spec = &runtime.spec;
    let object = format!("GooseFSRuntime/{namespace}/{name}");
    let runtime_error = |message: String| CompileError::Runtime {
        object: object.clone(),
        message,
    };
    let dataset_id = format!("{namespace}-{name}");
    let masters = runtime.master_replicas().max(1);
    let tiers = levels(runtime, namespace, &name).map_err(|e| runtime_error(e.to_string()))?;
    // Fluid reads the level-0 path of the runtime's own levels; without any, its default.
    let level0_path = match spec.tieredstore.as_ref().and_then(|t| t.levels.as_ref()) {
        Some(l) if !l.is_empty() => tiers.iter().find(|l| l.level == 0).map(|l| l.path.clone()),
        _ => None,
    }
    .unwrap_or_else(|| format!("/dev/shm/{namespace}/{name}"));
    let mounts = super::mounts::plan(dataset).map_err(|e| runtime_error(e.to_string()))?;

    let access_modes = dataset
        .spec
        .access_modes
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| vec!["ReadOnlyMany".to_owned()]);
    let read_only = access_modes.iter().any(|m| m == "ReadOnlyMany");
    let declared_tiers = spec
        .tieredstore
        .as_ref()
        .and_then(|t| t.levels.as_ref())
        .map_or(0, Vec::len);
    let one_tier_one_path = declared_tiers == 1 && tiers.len() == 1 && tiers[0].dirs.len() == 1;
    let user_props = spec.properties.clone().unwrap_or_default();
    let hadoop_config = spec.hadoop_config.clone().filter(|h| !h.is_empty());
    let props = properties(&PropertyInputs {
        name: &name,
        user: &user_props,
        masters,
        root_ufs: mounts.root_ufs.clone(),
        root_options: mounts.root_options.clone(),
        replication: spec.data.as_ref().and_then(|d| d.replicas).unwrap_or(0),
        has_owner: dataset.spec.owner.is_some(),
        all_http: mounts.all_web,
        direct_memory_io: read_only && one_tier_one_path,
        hdfs_configuration: hadoop_config
            .as_ref()
            .map(|_| "/hdfs-config/hdfs-site.xml:/hdfs-config/core-site.xml".to_owned()),
        ports: &ports,
    });
    let jvm = |c: Option<&Vec<String>>, default: &[&str]| -> Vec<String> {
        match c {
            Some(j) if !j.is_empty() => j.clone(),
            _ => default.iter().map(|s| (*s).to_owned()).collect(),
        }
    };
    let master_spec = spec.master.clone().unwrap_or_default();
    let worker_spec = spec.worker.clone().unwrap_or_default();
    let fuse_spec = spec.fuse.clone().unwrap_or_default();
    let master_jvm = jvm(master_spec.jvm_options.as_ref(), &MASTER_JVM);
    let worker_jvm = jvm(worker_spec.jvm_options.as_ref(), &WORKER_JVM);
    let fuse_jvm = jvm(fuse_spec.jvm_options.as_ref(), &FUSE_JVM);
    let global_jvm = spec.jvm_options.clone().unwrap_or_default();
    let worker_memory = memory_request(worker_spec.resources.as_ref());
    // Fluid copies neither properties nor JVM options of spec.jobMaster / spec.jobWorker.
    let java = java_opts(
        &name,
        masters,
        &tiers,
        &props,
        &global_jvm,
        &ComponentOpts {
            properties: master_spec.properties.as_ref(),
            jvm_options: &master_jvm,
            ..ComponentOpts::default()
        },
        &ComponentOpts {
            properties: worker_spec.properties.as_ref(),
            jvm_options: &worker_jvm,
            memory_size: worker_memory.as_deref(),
        },
        &ComponentOpts {
            properties: fuse_spec.properties.as_ref(),
            jvm_options: &fuse_jvm,
            ..ComponentOpts::default()
        },
        &ports,
    );
    // The tiered-store flags are read by workers only: hashing them into the master and FUSE
    // checksums would restart those on a quota change.
    let shared_without_tiers: String = java
        .goosefs
        .split(' ')
        .filter(|f| !f.starts_with("-Dgoosefs.worker.tieredstore."))
        .collect::<Vec<_>>()
        .join(" ");
    let checksums = Checksums {
        master: fnv64(&format!("{shared_without_tiers}\n{}\n{}", java.master, java.job_master)),
        worker: fnv64(&format!("{}\n{}\n{}", java.goosefs, java.worker, java.job_worker)),
        fuse: fnv64(&format!("{shared_without_tiers}\n{}", java.fuse)),
    };
    let images = images(spec, catalog);

    // MEM tiers count towards worker and FUSE memory limits (Fluid's transformResources).
    let mem_bytes: i128 = tiers
        .iter()
        .filter(|l| l.alias == MediumType::Mem.as_str())
        .flat_map(|l| &l.dirs)
        .map(|d| d.bytes)
        .sum();
    let mut master_env = master_spec.env.clone().unwrap_or_default();
    master_env.insert(
        "GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH".to_owned(),
        level0_path.clone(),
    );
    let mut master_selector = master_spec.node_selector.clone().unwrap_or_default();
    let restore = restore(dataset, namespace, &name).map(|(restore, backup, node)| {
        master_env.insert("JOURNAL_BACKUP".to_owned(), backup);
        if let Some(node) = node {
            master_selector.insert("kubernetes.io/hostname".to_owned(), node);
        }
        restore
    });
    let mut worker_env = worker_spec.env.clone().unwrap_or_default();
    worker_env.insert(
        "GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH".to_owned(),
        level0_path.clone(),
    );
    let fuse_mount = fuse_mount_path(namespace, &name);
    let mut fuse_env = fuse_spec.env.clone().unwrap_or_default();
    fuse_env.insert("MOUNT_POINT".to_owned(), fuse_mount.clone());
    let fuse_args = super::fuse::args(fuse_spec.args.as_deref(), dataset, read_only, mounts.all_web);

    let place = placement(dataset, mounts.has_local);
    // A Job's pod template is immutable: its name carries a hash of everything the template
    // renders from (and of the template itself), so any change makes a new Job instead of a 422.
    let job_inputs = serde_json::json!({
        "mounts": mounts.job,
        "image": images.goosefs.reference,
        "pullPolicy": images.goosefs.pull_policy,
        "tolerations": place.tolerations,
        "template": options.templates.source("mount-job.yaml.j2"),
    });
    let mount_job = format!("{name}-mount-{}", &fnv64(&job_inputs.to_string())[..10]);
    let run_as = spec.run_as.clone();
    let init_users = run_as.as_ref().map(|u| InitUsers {
        env_users: format!("{}:{}:{},{}:{}", u.uid, u.user, u.gid, u.gid, u.group),
        env_tiered_paths: tiers
            .iter()
            .flat_map(|l| &l.dirs)
            .map(|d| d.path.as_str())
            .collect::<Vec<_>>()
            .join(":"),
        dir: format!("/tmp/fluid/{namespace}/{name}"),
    });
    let fuse_selector = fuse_spec.node_selector.clone().unwrap_or_default();
    let monitoring = (!spec.disable_prometheus.unwrap_or(false)).then(|| "goosefs_runtime_metrics".to_owned());
    let labels = super::labels::common(&name, &dataset_id);
    let role_labels = super::labels::role_labels(
        &labels,
        &name,
        namespace,
        &dataset_id,
        place.mode,
        monitoring.as_deref(),
    );
    let journal_addresses = props
        .get(goosefs_conf::keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES)
        .map(ToString::to_string)
        .or_else(|| {
            let masters = u32::try_from(masters).unwrap_or(1);
            ports.master_embedded.map(|p| journal::masters(&name, masters, p))
        })
        .filter(|_| masters > 1)
        .unwrap_or_default();
    Ok(Values {
        mount_script: super::mounts::script(&mounts.job, catalog.declared_mounts),
        probes: catalog.probes,
        keeps_status: catalog.keeps_status,
        pod_monitor: options.monitoring,
        declared_mounts: catalog.declared_mounts.then(|| super::mounts::declared(&mounts.job)),
        role_labels,
        journal_addresses,
        volume: DatasetVolume {
            pv_name: dataset_id.clone(),
            access_modes,
            csi: options.csi == CsiMode::Fluid,
            fuse_label: format!("fluid.io/f-{dataset_id}"),
            node_affinity: volume_affinity(&fuse_selector),
        },
        backup_path: format!("/tmp/goosefs-backup/{namespace}/{name}"),
        credential: catalog.credential.then(|| Credential::of(&name)),
        namespace: namespace.to_owned(),
        dataset_id,
        labels,
        images,
        masters,
        ha: masters > 1,
        workers: spec.replicas.unwrap_or(0).max(0),
        levels: tiers,
        properties: props,
        java_opts: java,
        checksums,
        master: Component {
            env: master_env,
            node_selector: master_selector,
            annotations: master_spec.annotations.clone().unwrap_or_default(),
            resources: as_json(master_spec.resources.as_ref()),
        },
        worker: Component {
            env: worker_env,
            node_selector: BTreeMap::new(),
            annotations: worker_spec.annotations.clone().unwrap_or_default(),
            resources: with_mem_tiers(worker_spec.resources.as_ref(), mem_bytes, "20Gi"),
        },
        fuse: Fuse {
            args: fuse_args,
            mount_dir: fuse_mount
                .rsplit_once('/')
                .map(|(d, _)| d.to_owned())
                .unwrap_or_default(),
            mount_path: fuse_mount,
            env: fuse_env,
            node_selector: fuse_selector,
            annotations: fuse_spec.annotations.clone().unwrap_or_default(),
            resources: with_mem_tiers(fuse_spec.resources.as_ref(), mem_bytes, "50Gi"),
        },
        job_master_resources: as_json(spec.job_master.as_ref().and_then(|c| c.resources.as_ref())),
        job_worker_resources: as_json(spec.job_worker.as_ref().and_then(|c| c.resources.as_ref())),
        api_gateway: runtime.api_gateway_enabled(),
        tolerations: place.tolerations,
        worker_affinity: place.worker_affinity,
        master_affinity: place.master_affinity,
        placement: place.mode.to_owned(),
        level0_path,
        ufs_volumes: mounts.volumes,
        mounts: mounts.job,
        mount_job,
        loaders: Vec::new(),
        backups: Vec::new(),
        user: run_as.as_ref().map_or(0, |u| u.uid),
        group: run_as.as_ref().map_or(0, |u| u.gid),
        init_users,
        restore,
        hadoop_config,
        monitoring,
        journal_size: "30Gi".to_owned(),
        user_volumes: super::volumes::of(runtime),
        ports,
        name,
    })
}
