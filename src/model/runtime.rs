//! `GooseFSRuntime` (Fluid's `goosefsruntime_types.go`): how the GooseFS cache for the Dataset of
//! the same name and namespace runs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use goosefs_conf::ports::PortRole;
use goosefs_conf::{journal, keys};

use super::common::{StringMap, TieredStore, User, VersionSpec};
use super::status::RuntimeStatus;

/// A `GooseFSRuntime` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "GooseFSRuntime",
    description = "GooseFSRuntime (data.fluid.io/v1alpha1): a GooseFS cache for the Dataset of the same name and namespace."
)]
pub struct GooseFsRuntime {
    /// Always `data.fluid.io/v1alpha1`.
    #[schemars(extend("const" = "data.fluid.io/v1alpha1"))]
    pub api_version: String,
    /// Always `GooseFSRuntime`.
    #[schemars(extend("const" = "GooseFSRuntime"))]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired runtime.
    #[serde(default)]
    pub spec: GooseFsRuntimeSpec,
    /// Observed state, written by the controller (or by `kubectl goosefs apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<RuntimeStatus>>,
}

/// `spec` of a `GooseFSRuntime`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GooseFsRuntimeSpec {
    /// Image of master and worker (and job master/worker, API gateway).
    #[serde(default, rename = "goosefsVersion", skip_serializing_if = "Option::is_none")]
    pub goosefs_version: Option<VersionSpec>,
    /// The GooseFS masters (Raft quorum when more than one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<GooseFsCompTemplateSpec>,
    /// The job master (same pod as the master); only `resources` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_master: Option<GooseFsCompTemplateSpec>,
    /// The workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<GooseFsCompTemplateSpec>,
    /// The job worker (same pod as the worker); only `resources` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_worker: Option<GooseFsCompTemplateSpec>,
    /// The REST API gateway in the master pod; only `enabled` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_gateway: Option<GooseFsCompTemplateSpec>,
    /// The init container that creates users (only when `runAs` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_users: Option<InitUsersSpec>,
    /// The FUSE DaemonSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse: Option<GooseFsFuseSpec>,
    /// goosefs-site properties for every component; these win over Fluid's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<StringMap>,
    /// JVM options for every component (`GOOSEFS_JAVA_OPTS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jvm_options: Option<Vec<String>>,
    /// Worker cache tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tieredstore: Option<TieredStore>,
    /// Data replication and pinning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Data>,
    /// Number of workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The user GooseFS runs as (all four fields required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<User>,
    /// Disable the Prometheus metrics annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_prometheus: Option<bool>,
    /// Name of a ConfigMap (same namespace) with `hdfs-site.xml` and/or `core-site.xml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hadoop_config: Option<String>,
    /// How cached data is cleaned when the runtime shuts down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_cache_policy: Option<CleanCachePolicy>,
    /// Volumes the components' `volumeMounts` name (AlluxioRuntime's field; Fluid's GooseFSRuntime
    /// lacks it): a volume for the masters' journal (`goosefs.master.journal.folder`), extra
    /// configuration. A pod gets only the volumes its containers mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
}

/// A GooseFS component (master, jobMaster, worker, jobWorker, apiGateway).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GooseFsCompTemplateSpec {
    /// Replicas; only `master.replicas` is used (1 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub replicas: Option<i32>,
    /// JVM options of this component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jvm_options: Option<Vec<String>>,
    /// goosefs-site properties of this component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<StringMap>,
    /// Ports by name (`rpc`, `web`, ...). Fluid ignores them and allocates ports itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<BTreeMap<String, i64>>,
    /// Compute resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<StringMap>,
    /// Only meaningful for `apiGateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Node selector of the component's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<StringMap>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<StringMap>,
    /// Mounts of `spec.volumes` into this component's container (AlluxioRuntime's field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// The FUSE client DaemonSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GooseFsFuseSpec {
    /// FUSE image repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// FUSE image tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    /// FUSE image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// FUSE JVM options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jvm_options: Option<Vec<String>>,
    /// FUSE goosefs-site properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<StringMap>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<StringMap>,
    /// Compute resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Replaces Fluid's default FUSE arguments when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Extra node selector for the FUSE pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<StringMap>,
    /// `OnDemand` or `OnRuntimeDeleted` (Fluid's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_policy: Option<String>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<StringMap>,
}

/// The init-users init container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitUsersSpec {
    /// Image repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<StringMap>,
    /// Compute resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// Data replication settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Data {
    /// `goosefs.user.file.replication.max` (1 when <= 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pin the dataset in the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<bool>,
}

/// Cache cleaning on shutdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanCachePolicy {
    /// Grace period in seconds (CRD default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 60))]
    pub grace_period_seconds: Option<i32>,
    /// Retry attempts (CRD default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 3))]
    pub max_retry_attempts: Option<i32>,
}

/// Where a port of a runtime is fixed by the user instead of allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `spec.<component>.ports.<name>` (Fluid ignores these maps; we honour them).
    Ports,
    /// The port's property in `spec.properties` (Fluid lets it win over the allocated port).
    Property(&'static str),
    /// The port of `goosefs.master.embedded.journal.addresses` in `spec.properties`.
    JournalAddresses,
}

/// A port the user fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPin {
    /// Which port.
    pub role: PortRole,
    /// The value as written (validate checks the range; see [`PortPin::port`]).
    pub value: i64,
    /// Where it was fixed.
    pub source: PinSource,
}

impl PortPin {
    /// The port, when `value` is one.
    pub fn port(&self) -> Option<u16> {
        u16::try_from(self.value).ok().filter(|p| *p > 0)
    }
}

impl GooseFsRuntime {
    /// Number of masters Fluid runs: `spec.master.replicas`, 1 when unset.
    pub fn master_replicas(&self) -> i32 {
        self.spec.master.as_ref().and_then(|m| m.replicas).unwrap_or(1)
    }

    /// Where the masters keep their journal: `goosefs.master.journal.folder` from
    /// `spec.master.properties`, else `spec.properties`, else Fluid's `/journal` (an emptyDir).
    pub fn journal_folder(&self) -> &str {
        let key = keys::MASTER_JOURNAL_FOLDER;
        let master = self.spec.master.as_ref().and_then(|m| m.properties.as_ref());
        master
            .and_then(|p| p.get(key))
            .or_else(|| self.spec.properties.as_ref().and_then(|p| p.get(key)))
            .map_or("/journal", String::as_str)
    }

    /// Whether the API gateway runs (and so needs its port).
    pub fn api_gateway_enabled(&self) -> bool {
        self.spec.api_gateway.as_ref().and_then(|g| g.enabled).unwrap_or(false)
    }

    /// The `spec.<component>.ports` entries, known or not, as (component, name, value).
    pub fn pinned_port_entries(&self) -> Vec<(&'static str, &str, i64)> {
        let spec = &self.spec;
        let components = [
            ("master", &spec.master),
            ("worker", &spec.worker),
            ("jobMaster", &spec.job_master),
            ("jobWorker", &spec.job_worker),
            ("apiGateway", &spec.api_gateway),
        ];
        let mut out = Vec::new();
        for (component, comp) in components {
            for (name, port) in comp.iter().flat_map(|c| c.ports.iter().flatten()) {
                out.push((component, name.as_str(), *port));
            }
        }
        out
    }

    /// Every port the user fixed: pinned in `spec.<component>.ports` (known names only), set by
    /// its property in `spec.properties`, or given by the embedded journal addresses there. A
    /// property value that is not a number is left out (validate reports it: GFS106).
    pub fn port_pins(&self) -> Vec<PortPin> {
        let mut pins: Vec<PortPin> = self
            .pinned_port_entries()
            .into_iter()
            .filter_map(|(component, name, value)| {
                PortRole::of_pin(component, name).map(|role| PortPin {
                    role,
                    value,
                    source: PinSource::Ports,
                })
            })
            .collect();
        let properties = self.spec.properties.as_ref();
        for role in PortRole::ALL {
            let key = role.property();
            if let Some(value) = properties
                .and_then(|p| p.get(key))
                .and_then(|v| v.trim().parse::<i64>().ok())
            {
                pins.push(PortPin {
                    role,
                    value,
                    source: PinSource::Property(key),
                });
            }
        }
        if let Some(port) = self.journal_addresses_port() {
            pins.push(PortPin {
                role: PortRole::MasterEmbedded,
                value: i64::from(port),
                source: PinSource::JournalAddresses,
            });
        }
        pins
    }

    /// The user's `goosefs.master.embedded.journal.addresses`, when set.
    pub fn user_journal_addresses(&self) -> Option<&str> {
        self.spec
            .properties
            .as_ref()
            .and_then(|p| p.get(keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES))
            .map(String::as_str)
    }

    /// The one port of the user's journal addresses, when they parse and share one port.
    pub fn journal_addresses_port(&self) -> Option<u16> {
        let addresses = journal::parse_list(self.user_journal_addresses()?).ok()?;
        let port = addresses.first()?.port;
        addresses.iter().all(|a| a.port == port).then_some(port)
    }
}
