//! `Dataset` (Fluid's `dataset_types.go`): what data the cache serves (mounts) and where its
//! pods may run.

use k8s_openapi::api::core::v1::{NodeSelector, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EncryptOption, StringMap, User};
use super::status::DatasetStatus;

/// A `Dataset` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "Dataset",
    description = "Dataset (data.fluid.io/v1alpha1): the data a runtime of the same name and namespace caches."
)]
pub struct Dataset {
    /// Always `data.fluid.io/v1alpha1`.
    #[schemars(extend("const" = "data.fluid.io/v1alpha1"))]
    pub api_version: String,
    /// Always `Dataset`.
    #[schemars(extend("const" = "Dataset"))]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired dataset.
    #[serde(default)]
    pub spec: DatasetSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<DatasetStatus>>,
}

/// `spec` of a `Dataset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSpec {
    /// Under file systems to mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub mounts: Option<Vec<Mount>>,
    /// Owner of the mounted files (FUSE `uid=`/`gid=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    /// Nodes the cache may run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<CacheableNodeAffinity>,
    /// Tolerations for every pod of the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// PV/PVC access modes; `ReadOnlyMany` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_modes: Option<Vec<String>>,
    /// Runtimes bound to this dataset (written by Fluid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<Runtime>>,
    /// `Exclusive` (default, also for `""`) or `Shared` worker placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Where to restore metadata from (`pvc://<pvc>/<subpath>` or `local://<subpath>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_restore_location: Option<DataRestoreLocation>,
    /// Options applied to every mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_options: Option<StringMap>,
    /// Secret-backed options applied to every mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_encrypt_options: Option<Vec<EncryptOption>>,
}

/// Worker placement mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Placement {
    /// One dataset's worker per node.
    Exclusive,
    /// Empty string: treated as `Exclusive`.
    #[serde(rename = "")]
    Unset,
    /// Workers of several datasets may share a node.
    Shared,
}

/// A mounted under file system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    /// The UFS URI, e.g. `https://host/path/`, `cosn://bucket/`, `local:///mnt/data`, `pvc://claim/sub`.
    #[schemars(length(min = 5))]
    pub mount_point: String,
    /// Mount options (plain text; use `encryptOptions` for credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<StringMap>,
    /// Mount name; the default mount path is `/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 0))]
    pub name: Option<String>,
    /// Path in the GooseFS namespace (default `/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Shared mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    /// Secret-backed mount options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_options: Option<Vec<EncryptOption>>,
}

impl Mount {
    /// The mount's path in the GooseFS namespace: `path` when absolute, else `/<name>` (so a
    /// mount with neither is at `/`, the root UFS when it is the Dataset's only mount).
    pub fn effective_path(&self) -> String {
        match self.path.as_deref() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => format!("/{}", self.name.as_deref().unwrap_or_default().trim_start_matches('/')),
        }
    }
}

/// Node affinity of the cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CacheableNodeAffinity {
    /// Nodes the cache must run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<NodeSelector>,
}

/// A runtime bound to the dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    /// Runtime name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Runtime namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Category, e.g. `Accelerate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Runtime type, e.g. `goosefs`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Master replicas of the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_replicas: Option<i32>,
}

/// Where metadata is restored from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataRestoreLocation {
    /// `pvc://<pvc>/<subpath>` or `local://<subpath>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Node holding a `local://` backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}
