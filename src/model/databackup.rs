//! `DataBackup` (Fluid's `databackup_types.go`): back up the metadata of a Dataset's runtime to a
//! `pvc://` or `local://` path. Its status is Fluid's shared `OperationStatus`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::User;
use super::dataload::{OperationRef, OperationStatus};

/// A `DataBackup` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "DataBackup",
    description = "DataBackup (data.fluid.io/v1alpha1): backs up the metadata of a Dataset's runtime."
)]
pub struct DataBackup {
    /// Always `data.fluid.io/v1alpha1`.
    #[schemars(extend("const" = "data.fluid.io/v1alpha1"))]
    pub api_version: String,
    /// Always `DataBackup`.
    #[schemars(extend("const" = "DataBackup"))]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to back up, where.
    #[serde(default)]
    pub spec: DataBackupSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<OperationStatus>>,
}

/// `spec` of a `DataBackup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataBackupSpec {
    /// The Dataset whose runtime is backed up (same namespace).
    #[serde(default)]
    pub dataset: String,
    /// Where the file goes: `pvc://<claim>/<path>` or `local://<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_path: Option<String>,
    /// The user the backup runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<User>,
    /// The operation this one runs after, in a workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_after: Option<OperationRef>,
    /// Seconds after which a finished backup's Job is cleaned up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}
