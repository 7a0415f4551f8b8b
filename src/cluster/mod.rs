//! Stage 5 of the pipeline: the cluster. This part is the pure core of `plan` (issue 4): given
//! the objects a server-side-apply dry run returns and the live objects, it computes what would
//! change, with GooseFS-aware notes, after normalising away what the server owns. The client
//! that talks to the API server (dry runs, apply, wait, prune) is not written yet; nothing here
//! does I/O.

pub mod plan;

pub use plan::{Change, ChangeOp, Plan, PlanError, ResourceKey};

/// The field manager of every write, so ownership and conflicts are attributed to this tool.
pub const FIELD_MANAGER: &str = "kubectl-goosefs";
