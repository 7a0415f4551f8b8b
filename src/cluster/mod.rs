//! Stage 5 of the pipeline: the cluster. [`plan`] is pure: given the objects a server-side-apply
//! dry run returns and the live objects, it computes what would change, with GooseFS-aware notes,
//! after normalising away what the server owns; [`status`] derives Fluid's phases from live
//! workloads; [`capacity`] checks the rendered workloads against the live nodes and pods (host
//! ports, memory, node counts). [`client`] is the only code that talks to an API server; [`apply`] carries out a
//! plan through it (ordered applies, waits, prunes) and deletes a runtime.

pub mod apply;
pub mod capacity;
pub mod client;
pub mod credential;
pub mod plan;
pub mod status;

pub use plan::{Change, ChangeOp, Plan, PlanError, ResourceKey};

/// The field manager of every write, so ownership and conflicts are attributed to this tool.
pub const FIELD_MANAGER: &str = "kubectl-goosefs";
