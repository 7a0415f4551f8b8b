//! Bundle → Values: every default resolved as Fluid's transform does (FACTS c.1-c.7), into the
//! structure the templates read. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::images::{Catalog, ResolvedImage, resolve};
use super::ports::Ports;
use super::properties::{ComponentOpts, JavaOpts, PropertyInputs, java_opts, properties};
use super::tiered::{TierLevel, binary_quantity, levels};
use super::{CompileError, CompileOptions, CsiMode};
use crate::model::common::MediumType;
use crate::model::dataset::{Mount, Placement};
use crate::model::quantity::parse_quantity;
use crate::model::{Dataset, GooseFsRuntime};

/// Where a runtime's FUSE mounts the dataset on each node (Fluid's default MOUNT_ROOT).
pub const MOUNT_ROOT: &str = "/runtime-mnt";
/// Capacity Fluid gives the dataset PV/PVC.
pub const PV_CAPACITY: &str = "100Pi";

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
    /// Options read from Secrets: (option name, env var, secret, key).
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
    /// Volume name.
    pub name: String,
    /// Host path (local://) — or empty.
    pub host_path: String,
    /// Claim name (pvc://) — or empty.
    pub claim: String,
    /// Sub path within the claim.
    pub sub_path: String,
    /// Mount path in the containers.
    pub container_path: String,
}

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
    /// `<name>-master-0:P,...` (HA only).
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
    /// The Job's idempotent mount script.
    pub mount_script: String,
    /// Labels per object role (`config`, `master`, `master_pod`, ...).
    pub role_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Run the pods as this uid/gid (spec.runAs), else root as Fluid.
    pub user: i64,
    /// Group.
    pub group: i64,
    /// init-users container settings, when runAs is set.
    pub init_users: Option<InitUsers>,
    /// hadoopConfig ConfigMap name.
    pub hadoop_config: Option<String>,
    /// Metrics label (`monitor: goosefs_runtime_metrics`) unless disabled.
    #[serde(skip)] // not read by the templates
    pub monitoring: Option<String>,
    /// PV/PVC.
    pub volume: DatasetVolume,
    /// Journal size limit.
    pub journal_size: String,
    /// Backup directory on the host.
    pub backup_path: String,
}

/// Images of one runtime.
#[derive(Debug, Clone, Serialize)]
pub struct Images {
    /// Master/worker/job/gateway/mount Job.
    pub goosefs: ResolvedImage,
    /// FUSE.
    pub fuse: ResolvedImage,
    /// init-users.
    pub init_users: ResolvedImage,
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
    /// `/tmp/fluid/<ns>/<name>`.
    pub dir: String,
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
    /// Node affinity of the PV (FUSE node selector), JSON or null.
    pub node_affinity: Value,
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
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

fn is_http(mount_point: &str) -> bool {
    mount_point.starts_with("http://") || mount_point.starts_with("https://")
}

/// A mount's path in the GooseFS namespace (`path` if absolute, else `/<name>`).
fn mount_path(mount: &Mount) -> String {
    crate::validate::rules::effective_path(mount)
}

/// Builds the values of one Dataset + GooseFSRuntime pair.
///
/// # Errors
/// [`CompileError`] for input validate does not catch offline (e.g. a root mount with secrets).
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
    let dataset_id = format!("{namespace}-{name}");
    let masters = runtime.master_replicas().max(1);
    let ha = masters > 1;
    let tiers = levels(runtime, namespace, &name).map_err(|e| CompileError::Runtime {
        object: object.clone(),
        message: e.to_string(),
    })?;
    let level0_path = tiers
        .iter()
        .find(|l| l.level == 0)
        .map_or_else(|| format!("/dev/shm/{namespace}/{name}"), |l| l.path.clone());

    // Mounts: local:// and pvc:// are volumes under /underFSStorage; a single other mount at
    // "/" is the root UFS; the rest are mounted by the Job.
    let mounts = dataset.spec.mounts.as_deref().unwrap_or_default();
    let shared_options = dataset.spec.shared_options.clone().unwrap_or_default();
    let shared_secret = dataset.spec.shared_encrypt_options.clone().unwrap_or_default();
    let mut ufs_volumes = Vec::new();
    let mut job_mounts = Vec::new();
    let mut root_ufs = "/underFSStorage".to_owned();
    let mut root_options = BTreeMap::new();
    let remote: Vec<&Mount> = mounts
        .iter()
        .filter(|m| !m.mount_point.starts_with("local://") && !m.mount_point.starts_with("pvc://"))
        .collect();
    for mount in mounts {
        let path = mount_path(mount);
        let container_path = if path == "/" {
            "/underFSStorage".to_owned()
        } else {
            format!("/underFSStorage{path}")
        };
        let mount_name = mount.name.clone().unwrap_or_default();
        if let Some(host) = mount.mount_point.strip_prefix("local://") {
            ufs_volumes.push(UfsVolume {
                name: if mount_name.is_empty() {
                    format!("ufs-{}", ufs_volumes.len())
                } else {
                    mount_name.clone()
                },
                host_path: host.to_owned(),
                claim: String::new(),
                sub_path: String::new(),
                container_path,
            });
        } else if let Some(rest) = mount.mount_point.strip_prefix("pvc://") {
            let (claim, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
            ufs_volumes.push(UfsVolume {
                name: if mount_name.is_empty() {
                    claim.to_owned()
                } else {
                    mount_name.clone()
                },
                host_path: String::new(),
                claim: claim.to_owned(),
                sub_path: sub_path.trim_end_matches('/').to_owned(),
                container_path,
            });
        }
    }
    let single_root = mounts.len() == 1 && remote.len() == 1 && mount_path(remote[0]) == "/";
    for mount in &remote {
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
                env: format!("GOOSEFS_MOUNT_SECRET_{}_{i}", job_mounts.len()),
                secret: selector.name.clone(),
                key: selector.key.clone().unwrap_or_default(),
            });
        }
        let mut options: BTreeMap<String, String> = shared_options.clone();
        options.extend(mount.options.clone().unwrap_or_default());
        if single_root {
            if !secret_options.is_empty() {
                return Err(CompileError::Runtime {
                    object,
                    message: "the Dataset's only mount is the root UFS (path /) and has encryptOptions; Fluid writes \
                              their secret values into goosefs-site properties, which a client-side compiler must not \
                              do: give the mount a path (e.g. /data) so the mount Job passes them from the Secret"
                        .to_owned(),
                });
            }
            root_ufs = mount.mount_point.clone();
            root_options = options;
            continue;
        }
        job_mounts.push(UfsMount {
            path: mount_path(mount),
            mount_point: mount.mount_point.clone(),
            read_only: mount.read_only.unwrap_or(false),
            shared: mount.shared.unwrap_or(false),
            options: options.into_iter().collect(),
            secret_options,
        });
    }

    let access_modes = dataset
        .spec
        .access_modes
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| vec!["ReadOnlyMany".to_owned()]);
    let read_only = access_modes.iter().any(|m| m == "ReadOnlyMany");
    let all_http = !mounts.is_empty() && mounts.iter().all(|m| is_http(&m.mount_point));
    let one_tier_one_path = tiers.len() == 1 && tiers[0].dirs.len() == 1;
    let user_props = spec.properties.clone().unwrap_or_default();
    let hadoop_config = spec.hadoop_config.clone().filter(|h| !h.is_empty());
    let props = properties(&PropertyInputs {
        name: &name,
        user: &user_props,
        masters,
        root_ufs,
        root_options,
        replication: spec.data.as_ref().and_then(|d| d.replicas).unwrap_or(0),
        has_owner: dataset.spec.owner.is_some(),
        all_http,
        direct_memory_io: read_only && one_tier_one_path,
        hdfs_configuration: hadoop_config
            .as_ref()
            .map(|_| "/hdfs-config/hdfs-site.xml:/hdfs-config/core-site.xml".to_owned()),
        ports: &ports,
    });
    let comp = |c: &Option<crate::model::runtime::GooseFsCompTemplateSpec>, default_jvm: &'static [&'static str]| {
        let jvm: Vec<String> = match c.as_ref().and_then(|c| c.jvm_options.clone()) {
            Some(j) if !j.is_empty() => j,
            _ => default_jvm.iter().map(|s| (*s).to_owned()).collect(),
        };
        (c.as_ref().and_then(|c| c.properties.clone()), jvm)
    };
    let (master_props, master_jvm) = comp(&spec.master, &["-Xmx16G", "-XX:+UnlockExperimentalVMOptions"]);
    let (job_master_props, job_master_jvm) = comp(&spec.job_master, &[]);
    let (worker_props, worker_jvm) = comp(
        &spec.worker,
        &[
            "-Xmx12G",
            "-XX:+UnlockExperimentalVMOptions",
            "-XX:MaxDirectMemorySize=32g",
        ],
    );
    let (job_worker_props, job_worker_jvm) = comp(&spec.job_worker, &[]);
    let fuse_spec = spec.fuse.clone().unwrap_or_default();
    let fuse_jvm: Vec<String> = match fuse_spec.jvm_options.clone() {
        Some(j) if !j.is_empty() => j,
        _ => [
            "-Xmx16G",
            "-Xms16G",
            "-XX:+UseG1GC",
            "-XX:MaxDirectMemorySize=32g",
            "-XX:+UnlockExperimentalVMOptions",
        ]
        .map(str::to_owned)
        .to_vec(),
    };
    let global_jvm = spec.jvm_options.clone().unwrap_or_default();
    let java = java_opts(
        &name,
        masters,
        &tiers,
        &props,
        &global_jvm,
        &ComponentOpts {
            properties: master_props.as_ref(),
            jvm_options: &master_jvm,
        },
        &ComponentOpts {
            properties: job_master_props.as_ref(),
            jvm_options: &job_master_jvm,
        },
        &ComponentOpts {
            properties: worker_props.as_ref(),
            jvm_options: &worker_jvm,
        },
        &ComponentOpts {
            properties: job_worker_props.as_ref(),
            jvm_options: &job_worker_jvm,
        },
        &ComponentOpts {
            properties: fuse_spec.properties.as_ref(),
            jvm_options: &fuse_jvm,
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

    // Images.
    let version = spec.goosefs_version.clone().unwrap_or_default();
    let init = spec.init_users.clone().unwrap_or_default();
    let images = Images {
        goosefs: resolve(
            &catalog.goosefs,
            &catalog.origin,
            version.image.as_deref(),
            version.image_tag.as_deref(),
            version.image_pull_policy.as_deref(),
            "spec.goosefsVersion",
        ),
        fuse: resolve(
            &catalog.fuse,
            &catalog.origin,
            fuse_spec.image.as_deref(),
            fuse_spec.image_tag.as_deref(),
            fuse_spec.image_pull_policy.as_deref(),
            "spec.fuse",
        ),
        init_users: resolve(
            &catalog.init_users,
            &catalog.origin,
            init.image.as_deref(),
            init.image_tag.as_deref(),
            init.image_pull_policy.as_deref(),
            "spec.initUsers",
        ),
    };

    // Memory: MEM tiers count towards worker and FUSE memory limits (Fluid's transformResources).
    let mem_bytes: i128 = tiers
        .iter()
        .filter(|l| l.alias == MediumType::Mem.as_str())
        .flat_map(|l| &l.dirs)
        .map(|d| d.bytes)
        .sum();
    let with_mem =
        |resources: Option<&k8s_openapi::api::core::v1::ResourceRequirements>, zero_default: &str| -> Value {
            let mut value = resources.map(to_json).unwrap_or_else(|| json!({}));
            let limit = resources
                .and_then(|r| r.limits.as_ref())
                .and_then(|l| l.get("memory"))
                .map(|q| q.0.clone());
            if let Some(limit) = limit {
                let base = parse_quantity(&limit).map(|q| q.value_ceil()).unwrap_or(0);
                let base = if base == 0 {
                    parse_quantity(zero_default).map(|q| q.value_ceil()).unwrap_or(0)
                } else {
                    base
                };
                value["limits"]["memory"] = Value::String(binary_quantity(base + mem_bytes));
            }
            value
        };
    let worker_spec = spec.worker.clone().unwrap_or_default();
    let master_spec = spec.master.clone().unwrap_or_default();
    let mut master_env = master_spec.env.clone().unwrap_or_default();
    master_env.insert(
        "GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH".to_owned(),
        level0_path.clone(),
    );
    let mut worker_env = worker_spec.env.clone().unwrap_or_default();
    worker_env.insert(
        "GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH".to_owned(),
        level0_path.clone(),
    );
    let fuse_mount = format!("{MOUNT_ROOT}/goosefs/{namespace}/{name}/goosefs-fuse");
    let mut fuse_env = fuse_spec.env.clone().unwrap_or_default();
    fuse_env.insert("MOUNT_POINT".to_owned(), fuse_mount.clone());

    // FUSE args as Fluid's transformFuse + optimizeDefaultFuse.
    let user_args = fuse_spec.args.clone().filter(|a| !a.is_empty());
    let mut args = user_args.clone().unwrap_or_else(|| {
        vec![
            "fuse".to_owned(),
            format!("--fuse-opts={},direct_io", if read_only { "ro" } else { "rw" }),
        ]
    });
    if let Some(last) = args.last_mut() {
        if let Some(owner) = &dataset.spec.owner {
            last.push_str(&format!(",uid={},gid={}", owner.uid, owner.gid));
        }
        if !last.contains("allow_") {
            last.push_str(",allow_other");
        }
    }
    if user_args.is_none() && all_http && args.len() > 1 {
        args[1].push_str(",max_readahead=0");
    }

    let placement = match dataset.spec.placement {
        Some(Placement::Shared) => "Shared",
        _ => "Exclusive",
    };
    let node_required = dataset
        .spec
        .node_affinity
        .as_ref()
        .and_then(|a| a.required.as_ref())
        .map(to_json);
    let anti_affinity = if placement == "Exclusive" {
        json!({"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchExpressions": [{"key": "fluid.io/dataset", "operator": "Exists"}]},
            "topologyKey": "kubernetes.io/hostname"}]})
    } else {
        json!({
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "fluid.io/dataset", "operator": "Exists"}]},
                "topologyKey": "kubernetes.io/hostname"}}],
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
    let has_local = mounts.iter().any(|m| m.mount_point.starts_with("local://"));
    let master_affinity = match (&node_required, has_local) {
        (Some(required), true) => json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}),
        _ => Value::Null,
    };

    let tolerations = dataset
        .spec
        .tolerations
        .as_ref()
        .map(to_json)
        .unwrap_or_else(|| json!([]));
    // A Job's pod template is immutable: its name carries a hash of everything the template
    // renders from (and of the template itself), so any change makes a new Job instead of a 422.
    let job_inputs = json!({
        "mounts": job_mounts,
        "image": images.goosefs.reference,
        "pullPolicy": images.goosefs.pull_policy,
        "tolerations": tolerations,
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
    let pv_affinity = if fuse_selector.is_empty() {
        Value::Null
    } else {
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions":
            fuse_selector.iter().map(|(k, v)| json!({"key": k, "operator": "In", "values": [v]})).collect::<Vec<_>>()}]}})
    };
    let monitoring = (!spec.disable_prometheus.unwrap_or(false)).then(|| "goosefs_runtime_metrics".to_owned());
    let mut labels = BTreeMap::new();
    labels.insert("app".to_owned(), "goosefs".to_owned());
    labels.insert("release".to_owned(), name.clone());
    labels.insert("app.kubernetes.io/name".to_owned(), "goosefs".to_owned());
    labels.insert("app.kubernetes.io/instance".to_owned(), name.clone());
    labels.insert("app.kubernetes.io/managed-by".to_owned(), "kubectl-goosefs".to_owned());
    labels.insert("fluid.io/dataset-id".to_owned(), dataset_id.clone());

    let role_labels = role_labels(&labels, &name, namespace, &dataset_id, placement, monitoring.as_deref());
    Ok(Values {
        mount_script: mount_script(&job_mounts),
        role_labels,
        journal_addresses: ports
            .master_embedded
            .map(|p| super::properties::journal_addresses(&name, masters, p))
            .unwrap_or_default(),
        volume: DatasetVolume {
            pv_name: dataset_id.clone(),
            access_modes,
            csi: options.csi == CsiMode::Fluid,
            node_affinity: pv_affinity,
        },
        backup_path: format!("/tmp/goosefs-backup/{namespace}/{name}"),
        name,
        namespace: namespace.to_owned(),
        dataset_id,
        labels,
        images,
        ports,
        masters,
        ha,
        workers: spec.replicas.unwrap_or(0).max(0),
        levels: tiers,
        properties: props,
        java_opts: java,
        checksums,
        master: Component {
            env: master_env,
            node_selector: master_spec.node_selector.clone().unwrap_or_default(),
            annotations: master_spec.annotations.clone().unwrap_or_default(),
            resources: master_spec.resources.as_ref().map(to_json).unwrap_or_else(|| json!({})),
        },
        worker: Component {
            env: worker_env,
            node_selector: BTreeMap::new(),
            annotations: worker_spec.annotations.clone().unwrap_or_default(),
            resources: with_mem(worker_spec.resources.as_ref(), "20Gi"),
        },
        fuse: Fuse {
            args,
            mount_dir: fuse_mount
                .rsplit_once('/')
                .map(|(d, _)| d.to_owned())
                .unwrap_or_default(),
            mount_path: fuse_mount,
            env: fuse_env,
            node_selector: fuse_selector,
            annotations: fuse_spec.annotations.clone().unwrap_or_default(),
            resources: with_mem(fuse_spec.resources.as_ref(), "50Gi"),
        },
        job_master_resources: spec
            .job_master
            .as_ref()
            .and_then(|c| c.resources.as_ref())
            .map(to_json)
            .unwrap_or_else(|| json!({})),
        job_worker_resources: spec
            .job_worker
            .as_ref()
            .and_then(|c| c.resources.as_ref())
            .map(to_json)
            .unwrap_or_else(|| json!({})),
        api_gateway: spec.api_gateway.as_ref().and_then(|g| g.enabled).unwrap_or(false),
        tolerations,
        worker_affinity,
        master_affinity,
        placement: placement.to_owned(),
        level0_path,
        ufs_volumes,
        mounts: job_mounts,
        mount_job,
        user: run_as.as_ref().map_or(0, |u| u.uid),
        group: run_as.as_ref().map_or(0, |u| u.gid),
        init_users,
        hadoop_config,
        monitoring,
        journal_size: "30Gi".to_owned(),
    })
}

/// Labels per object role: the common ones plus Fluid's `role`, and for workers the dataset
/// and placement labels the anti-affinity rules select on.
fn role_labels(
    common: &BTreeMap<String, String>,
    name: &str,
    namespace: &str,
    dataset_id: &str,
    placement: &str,
    monitoring: Option<&str>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let with = |pairs: &[(&str, &str)]| {
        let mut l = common.clone();
        for (k, v) in pairs {
            l.insert((*k).to_owned(), (*v).to_owned());
        }
        l
    };
    let master_name = format!("{name}-master");
    let worker = [
        ("role", "goosefs-worker"),
        ("fluid.io/dataset", dataset_id),
        ("fluid.io/dataset-placement", placement),
    ];
    let mut service = vec![("role", "goosefs-master")];
    if let Some(m) = monitoring {
        service.push(("monitor", m));
    }
    let mut out = BTreeMap::new();
    out.insert("config".to_owned(), with(&[("name", &format!("{name}-config"))]));
    out.insert(
        "master".to_owned(),
        with(&[("role", "goosefs-master"), ("name", &master_name)]),
    );
    let no_sidecar = ("sidecar.istio.io/inject", "false");
    out.insert(
        "master_pod".to_owned(),
        with(&[("role", "goosefs-master"), ("name", &master_name), no_sidecar]),
    );
    out.insert("master_service".to_owned(), with(&service));
    out.insert("worker".to_owned(), with(&worker));
    let mut worker_pod = worker.to_vec();
    worker_pod.push(no_sidecar);
    out.insert("worker_pod".to_owned(), with(&worker_pod));
    out.insert("fuse".to_owned(), with(&[("role", "goosefs-fuse")]));
    out.insert("fuse_pod".to_owned(), with(&[("role", "goosefs-fuse"), no_sidecar]));
    out.insert("mount_pod".to_owned(), with(&[("role", "goosefs-mount")]));
    out.insert("mount".to_owned(), with(&[("role", "goosefs-mount")]));
    out.insert(
        "volume".to_owned(),
        with(&[(&format!("fluid.io/s-{dataset_id}") as &str, "true")]),
    );
    // Objects (not their pods) are members of the runtime's ApplySet.
    for (group, labels) in &mut out {
        if !group.ends_with("_pod") {
            labels.insert(
                super::applyset::PART_OF.to_owned(),
                super::applyset::id(name, namespace),
            );
        }
    }
    out
}

/// Single-quotes a shell word.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The mount Job's script: wait until the masters answer, then mount what is missing.
fn mount_script(mounts: &[UfsMount]) -> String {
    let mut script = String::from(
        "set -eu\n\
         echo 'waiting for the GooseFS masters'\n\
         until goosefs fsadmin report >/dev/null 2>&1; do sleep 5; done\n\
         mounted() { goosefs fs mount | awk '{print $3}' | grep -qx \"$1\"; }\n",
    );
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
        for s in &m.secret_options {
            cmd.push_str(&format!(" --option \"{}=${{{}}}\"", s.name, s.env));
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
