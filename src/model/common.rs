//! Types shared by both kinds (Fluid's `api/v1alpha1/common.go`): tiered store levels, users,
//! image versions, encrypted options.

use std::collections::BTreeMap;

use std::borrow::Cow;

use k8s_openapi::api::core::v1::Volume;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::quantity::Quantity;

/// Image, tag and pull policy of a component (`spec.goosefsVersion`, `spec.initUsers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionSpec {
    /// Image repository, e.g. `ccr.ccs.tencentyun.com/qcloud/goosefs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image tag, e.g. `v1.2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    /// One of `Always`, `IfNotPresent`, `Never` (Fluid default `IfNotPresent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
}

/// A user and group identity (`spec.runAs`, Dataset `spec.owner`); all four fields are required
/// by Fluid's CRD.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    /// Numeric user id.
    pub uid: i64,
    /// Numeric group id.
    pub gid: i64,
    /// User name.
    pub user: String,
    /// Group name.
    pub group: String,
}

/// The cache tiers of the workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TieredStore {
    /// Tier levels; Fluid orders them MEM < SSD < HDD whatever the order here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<Level>>,
}

/// Storage medium of a tier level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum MediumType {
    /// Memory (`/dev/shm`); counts towards the pod's memory limit.
    #[serde(rename = "MEM")]
    Mem,
    /// Solid-state disk.
    #[serde(rename = "SSD")]
    Ssd,
    /// Hard disk.
    #[serde(rename = "HDD")]
    Hdd,
}

impl MediumType {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MediumType::Mem => "MEM",
            MediumType::Ssd => "SSD",
            MediumType::Hdd => "HDD",
        }
    }
}

/// How a tier's directory is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VolumeType {
    /// A directory on the node (Fluid's default).
    #[serde(rename = "hostPath")]
    HostPath,
    /// A pod-local `emptyDir` (then `volumeSource` may describe it).
    #[serde(rename = "emptyDir")]
    EmptyDir,
}

/// One tier level of the worker cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Level {
    /// The medium: `MEM`, `SSD` or `HDD`.
    pub mediumtype: MediumType,
    /// `hostPath` (default) or `emptyDir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
    /// Volume source, used only when `volumeType` is `emptyDir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_source: Option<Box<VolumeSource>>,
    /// One or more comma-separated directories, e.g. `/mnt/cache1,/mnt/cache2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub path: Option<String>,
    /// Quota of the whole level, split equally across its paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quantity>,
    /// Per-path quotas (`10Gi,20Gi`), in the order of `path`; wins over `quota`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::quantity::QUOTA_LIST_PATTERN))]
    pub quota_list: Option<String>,
    /// High watermark ratio as a decimal string, e.g. `"0.95"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<String>,
    /// Low watermark ratio as a decimal string, e.g. `"0.7"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<String>,
}

/// A mount option whose value comes from a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptOption {
    /// The option name, e.g. `fs.cos.accessKeySecret`.
    pub name: String,
    /// Where the value is read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EncryptOptionSource>,
}

/// Source of an encrypted option's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptOptionSource {
    /// A key of a Secret in the Dataset's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
}

/// A key of a Secret (Fluid's own type, not core/v1's: only `name` and `key`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeySelector {
    /// Secret name.
    pub name: String,
    /// Key within the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A string map as Fluid's CRDs declare them (`additionalProperties: {type: string}`).
pub type StringMap = BTreeMap<String, String>;

/// A core/v1 `VolumeSource` (a `Volume` without its name), which k8s-openapi does not define on
/// its own. Stored as a `Volume` whose name is empty and never serialised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeSource(pub Volume);

impl Serialize for VolumeSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        if let Some(map) = value.as_object_mut() {
            map.remove("name");
        }
        value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for VolumeSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::deserialize(d)?;
        map.insert("name".into(), serde_json::Value::String(String::new()));
        serde_json::from_value(serde_json::Value::Object(map))
            .map(VolumeSource)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for VolumeSource {
    fn schema_name() -> Cow<'static, str> {
        "io.k8s.api.core.v1.VolumeSource".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = Volume::json_schema(generator);
        if let Some(props) = schema.get_mut("properties").and_then(serde_json::Value::as_object_mut) {
            props.remove("name");
        }
        schema.remove("required");
        schema.insert(
            "description".into(),
            "Represents the source of a volume to mount (core/v1 VolumeSource).".into(),
        );
        schema
    }
}
