//! Stage 5 of the pipeline: the cluster. [`plan`] is pure: given the objects a server-side-apply
//! dry run returns and the live objects, it computes what would change, with GooseFS-aware notes,
//! after normalising away what the server owns. [`client`] is the only code that talks to an API
//! server, and only reads and dry-runs (apply, wait and prune are not written yet).

pub mod client;
pub mod plan;

pub use plan::{Change, ChangeOp, Plan, PlanError, ResourceKey};

/// The field manager of every write, so ownership and conflicts are attributed to this tool.
pub const FIELD_MANAGER: &str = "kubectl-goosefs";
