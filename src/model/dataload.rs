//! `DataLoad` (Fluid's `dataload_types.go`): warm the cache of a Dataset, once, on a cron
//! schedule, or on an event. Its status is Fluid's shared `OperationStatus`.

use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::StringMap;

/// A `DataLoad` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "DataLoad",
    description = "DataLoad (data.fluid.io/v1alpha1): loads paths of a Dataset into its runtime's cache."
)]
pub struct DataLoad {
    /// Always `data.fluid.io/v1alpha1`.
    #[schemars(extend("const" = "data.fluid.io/v1alpha1"))]
    pub api_version: String,
    /// Always `DataLoad`.
    #[schemars(extend("const" = "DataLoad"))]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to load and how.
    #[serde(default)]
    pub spec: DataLoadSpec,
    /// Observed state (written by the loader's pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<OperationStatus>>,
}

/// `spec` of a `DataLoad`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataLoadSpec {
    /// The Dataset whose cache is loaded (same namespace).
    #[serde(default)]
    pub dataset: TargetDataset,
    /// Sync the paths' metadata from the UFS before loading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_metadata: Option<bool>,
    /// Paths to load; none loads the whole Dataset (`/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Vec<TargetPath>>,
    /// Extra loader properties of the runtime (GooseFS: `atomicCache`, `expireTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<StringMap>,
    /// Labels and annotations of the loader pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<PodMetadata>,
    /// Affinity of the loader pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations of the loader pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Node selector of the loader pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<StringMap>,
    /// Scheduler of the loader pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// `Once` (default), `Cron` or `OnEvent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Cron schedule (`Cron` only), as a Kubernetes CronJob takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The operation this one runs after, in a workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_after: Option<OperationRef>,
    /// Seconds after which a finished `Once` load's Job is cleaned up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// Resources of the loader container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// The Dataset a data operation acts on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetDataset {
    /// Dataset name.
    pub name: String,
    /// Its namespace: the DataLoad's own (Fluid refuses any other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A path to load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetPath {
    /// Absolute path in the Dataset's namespace (`/hbase/...`).
    pub path: String,
    /// Cached copies wanted (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// When a data operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Policy {
    /// Once, when created.
    Once,
    /// On `schedule`.
    Cron,
    /// On an event (Fluid accepts it and runs nothing).
    OnEvent,
}

/// Labels and annotations for a data operation's pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PodMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<StringMap>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<StringMap>,
}

/// The preceding operation of a workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationRef {
    /// Its API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `DataLoad`, `DataBackup`, `DataMigrate` or `DataProcess`.
    pub kind: OperationKind,
    /// Its name.
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How this operation's pods are placed relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_strategy: Option<AffinityStrategy>,
}

/// A data operation, by kind and name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Its API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `DataLoad`, `DataBackup`, `DataMigrate` or `DataProcess`.
    pub kind: OperationKind,
    /// Its name.
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The kinds of data operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OperationKind {
    /// A cache load.
    #[default]
    DataLoad,
    /// A metadata backup.
    DataBackup,
    /// A data migration.
    DataMigrate,
    /// A data processing job.
    DataProcess,
}

/// Pod affinity to a preceding operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AffinityStrategy {
    /// The operation depended on, when not `runAfter`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depend_on: Option<ObjectRef>,
    /// `""`, `Require` or `Prefer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Preferred label keys and weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefers: Option<Vec<Prefer>>,
    /// Required label keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Vec<Require>>,
}

/// A preferred node label of a preceding operation's pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prefer {
    /// Label key.
    pub name: String,
    /// Weight.
    pub weight: i32,
}

/// A required node label of a preceding operation's pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Require {
    /// Label key.
    pub name: String,
}

/// `status` of a data operation (Fluid's `OperationStatus`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// `Pending`, `Executing`, `Complete` or `Failed`.
    #[serde(default)]
    pub phase: String,
    /// Time spent, as Go prints a duration (`1m23s`).
    #[serde(default)]
    pub duration: String,
    /// Transitions (`Complete` or `Failed`).
    #[serde(default)]
    pub conditions: Vec<OperationCondition>,
    /// Operation-specific name-value pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infos: Option<StringMap>,
    /// The last time a cron operation was scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// The last time a cron operation completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<Time>,
    /// Whether the preceding operation is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<WaitingStatus>,
    /// Where the operation's pods ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
}

/// A condition of a data operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationCondition {
    /// `Complete` or `Failed`.
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

/// Whether the preceding operation is complete.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingStatus {
    /// It is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_complete: Option<bool>,
}

impl DataLoad {
    /// `policy`, `Once` when absent.
    pub fn policy(&self) -> Policy {
        self.spec.policy.unwrap_or(Policy::Once)
    }

    /// The paths to load with their replicas: `/` once when none is given (Fluid's loader then
    /// loads the whole namespace).
    pub fn targets(&self) -> Vec<(String, i32)> {
        match self.spec.target.as_deref() {
            None | Some([]) => vec![("/".to_owned(), 1)],
            Some(targets) => targets
                .iter()
                .map(|t| (t.path.clone(), t.replicas.filter(|r| *r > 0).unwrap_or(1)))
                .collect(),
        }
    }
}
