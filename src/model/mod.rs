//! Stage 2 of the pipeline: the typed model of Fluid's `Dataset` and `GooseFSRuntime`
//! (`data.fluid.io/v1alpha1`).
//!
//! The structs mirror Fluid's Go API (`api/v1alpha1` at Fluid commit 1e0ffd8e) field for field,
//! spec and status, with serde names equal to the YAML names. They are the single source of the
//! JSON Schemas in `schemas/` (see [`schema`]). This module does no I/O and no validation beyond
//! what the types themselves express.

pub mod common;
pub mod dataset;
pub mod kinds;
pub mod quantity;
pub mod runtime;
pub mod schema;
pub mod status;

pub use dataset::Dataset;
pub use runtime::GooseFsRuntime;

/// API group and version of both kinds.
pub const API_VERSION: &str = "data.fluid.io/v1alpha1";
/// The API group alone, used to recognise other Fluid kinds (e.g. `AlluxioRuntime`).
pub const API_GROUP: &str = "data.fluid.io";

/// The two kinds this tool understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Dataset`: what to cache (mounts) and where (placement, affinity).
    Dataset,
    /// `GooseFSRuntime`: how to run the GooseFS cache for the Dataset of the same name.
    GooseFsRuntime,
}

impl Kind {
    /// Recognises `apiVersion` + `kind`; `None` for every other object (those are skipped).
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        match (api_version, kind) {
            (API_VERSION, "Dataset") => Some(Kind::Dataset),
            (API_VERSION, "GooseFSRuntime") => Some(Kind::GooseFsRuntime),
            _ => None,
        }
    }

    /// The `kind` string as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dataset => "Dataset",
            Kind::GooseFsRuntime => "GooseFSRuntime",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
