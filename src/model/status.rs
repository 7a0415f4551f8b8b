//! Status types (Fluid's `status.go`): written by a controller, here by `kubectl goosefs apply`.
//! They are part of the model so that objects read back from a cluster validate too.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::NodeAffinity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::StringMap;
use super::dataset::{Mount, Runtime};

/// `status` of a `GooseFSRuntime` (Fluid's shared `RuntimeStatus`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeStatus {
    /// Name of the ConfigMap holding the rendered values.
    pub value_file: String,
    /// `""`, `NotReady`, `PartialReady` or `Ready`.
    pub master_phase: String,
    /// Why the master is in its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_reason: Option<String>,
    /// Worker phase.
    pub worker_phase: String,
    /// Why the workers are in their phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_reason: Option<String>,
    /// Workers desired.
    pub desired_worker_number_scheduled: i32,
    /// Workers scheduled.
    pub current_worker_number_scheduled: i32,
    /// Workers ready.
    pub worker_number_ready: i32,
    /// Workers available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_number_available: Option<i32>,
    /// Workers unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_number_unavailable: Option<i32>,
    /// Masters desired.
    pub desired_master_number_scheduled: i32,
    /// Masters scheduled.
    pub current_master_number_scheduled: i32,
    /// Masters ready.
    pub master_number_ready: i32,
    /// FUSE phase.
    pub fuse_phase: String,
    /// Why the FUSE pods are in their phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse_reason: Option<String>,
    /// FUSE pods scheduled.
    pub current_fuse_number_scheduled: i32,
    /// FUSE pods desired.
    pub desired_fuse_number_scheduled: i32,
    /// FUSE pods ready.
    pub fuse_number_ready: i32,
    /// FUSE pods unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse_number_unavailable: Option<i32>,
    /// FUSE pods available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse_number_available: Option<i32>,
    /// How long set-up took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_duration: Option<String>,
    /// Conditions of the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<RuntimeCondition>>,
    /// Cache figures (cacheCapacity, cached, cachedPercentage, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_states: Option<StringMap>,
    /// Label selector of the workers (scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// API gateway endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_gateway: Option<ApiGatewayStatus>,
    /// When the mounts were last made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_time: Option<Time>,
    /// The mounts as last made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    /// Node affinity of cached data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_affinity: Option<NodeAffinity>,
}

/// A condition of a runtime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeCondition {
    /// e.g. `MasterReady`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// Last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// API gateway status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiGatewayStatus {
    /// `<name>-master-0.<ns>:<port>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// `status` of a `Dataset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasetStatus {
    /// The mounts as bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    /// Total size of the UFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ufs_total: Option<String>,
    /// `Pending`, `Bound`, `Failed`, `NotBound`, `Updating`, `DataMigrating` or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Bound runtimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<Runtime>>,
    /// Conditions (required by the CRD when status is present).
    pub conditions: Vec<DatasetCondition>,
    /// Cache figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_states: Option<StringMap>,
    /// HCFS endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcfs: Option<HcfsStatus>,
    /// Number of files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_num: Option<String>,
    /// The DataLoad holding the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_load_ref: Option<String>,
    /// The DataBackup holding the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_backup_ref: Option<String>,
    /// Operations holding locks, by operation type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_ref: Option<BTreeMap<String, String>>,
    /// Datasets referring to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_ref: Option<Vec<String>>,
}

/// A condition of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasetCondition {
    /// e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// Last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// HCFS access point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HcfsStatus {
    /// `goosefs://<name>-master-0.<ns>:<port>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// UFS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlayer_file_system_version: Option<String>,
}
