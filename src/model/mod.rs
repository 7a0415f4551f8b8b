//! Stage 2 of the pipeline: the typed model of Fluid's `Dataset`, `GooseFSRuntime` and
//! `DataLoad` and `DataBackup` (`data.fluid.io/v1alpha1`).
//!
//! The structs mirror Fluid's Go API (`api/v1alpha1` at Fluid commit 1e0ffd8e) field for field,
//! spec and status, with serde names equal to the YAML names. They are the single source of the
//! JSON Schemas in `schemas/` (see [`schema`]). This module does no I/O and no validation beyond
//! what the types themselves express.

pub mod common;
pub mod databackup;
pub mod dataload;
pub mod dataset;
pub mod kinds;
pub mod quantity;
pub mod runtime;
pub mod schema;
pub mod status;

pub use databackup::DataBackup;
pub use dataload::DataLoad;
pub use dataset::Dataset;
pub use runtime::GooseFsRuntime;

/// API group and version of the kinds.
pub const API_VERSION: &str = "data.fluid.io/v1alpha1";
/// The API group alone, used to recognise other Fluid kinds (e.g. `AlluxioRuntime`).
pub const API_GROUP: &str = "data.fluid.io";

/// The kinds this tool understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Dataset`: what to cache (mounts) and where (placement, affinity).
    Dataset,
    /// `GooseFSRuntime`: how to run the GooseFS cache for the Dataset of the same name.
    GooseFsRuntime,
    /// `DataLoad`: warm a Dataset's cache (compiled into its runtime's loader Job).
    DataLoad,
    /// `DataBackup`: back up a Dataset's runtime's metadata (validated; `kubectl goosefs backup`
    /// runs it).
    DataBackup,
}

impl Kind {
    /// Every kind, in the order schemas and CRDs are written.
    pub const ALL: [Kind; 4] = [Kind::Dataset, Kind::GooseFsRuntime, Kind::DataLoad, Kind::DataBackup];
}

impl Kind {
    /// Recognises `apiVersion` + `kind`; `None` for every other object (those are skipped).
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        match (api_version, kind) {
            (API_VERSION, "Dataset") => Some(Kind::Dataset),
            (API_VERSION, "GooseFSRuntime") => Some(Kind::GooseFsRuntime),
            (API_VERSION, "DataLoad") => Some(Kind::DataLoad),
            (API_VERSION, "DataBackup") => Some(Kind::DataBackup),
            _ => None,
        }
    }

    /// The `kind` string as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dataset => "Dataset",
            Kind::GooseFsRuntime => "GooseFSRuntime",
            Kind::DataLoad => "DataLoad",
            Kind::DataBackup => "DataBackup",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
