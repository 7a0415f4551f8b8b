//! The action layer: one library function per command (`render`, `plan`, `apply`, `status`,
//! `delete`), each taking an options struct and returning what happened, built from the pipeline
//! stages (`load` → `validate` → `compile` → `cluster`). No argument parsing and no printing here:
//! findings and progress go to callbacks, results are returned, and [`OpsError`] says why a
//! command stopped (its [`OpsError::exit_status`] is the documented exit code). The CLI parses,
//! calls one function, and prints.

pub mod apply;
pub mod backup;
pub mod delete;
pub mod inject;
mod job;
pub mod load;
pub mod plan;
pub mod render;
pub mod session;
pub mod status;

use crate::cluster::apply::ApplyError;
use crate::cluster::client::ClusterError;
use crate::cluster::plan::PlanError;
use crate::compile::CompileError;
use crate::compile::images::CatalogError;
use crate::compile::templates::TemplateError;
use crate::exit::ExitStatus;
use crate::load::LoadError;

/// Why a command stopped. Each variant keeps its cause as `source`.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Nothing to read.
    #[error("no input: give files or directories to {0}, or - for standard input (see --help)")]
    NoInput(&'static str),
    /// Inputs that cannot be read at all (missing, permission denied); the others were checked.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Unreadable(Vec<LoadError>),
    /// The input has errors (reported as findings); nothing was done.
    #[error("the input has errors; nothing was {0}")]
    Findings(&'static str),
    /// `--templates` cannot be read or does not parse.
    #[error(transparent)]
    Templates(#[from] TemplateError),
    /// `--images` is not a catalog.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A file the command needs cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what the command expects (e.g. not a saved plan).
    #[error("{0}")]
    Invalid(String),
    /// Valid input that cannot be compiled (ports used up, user templates).
    #[error("{0}")]
    Compile(#[source] Box<CompileError>),
    /// The cluster refused or could not be reached.
    #[error("{0}")]
    Cluster(#[source] Box<ClusterError>),
    /// An apply or a wait stopped.
    #[error("{0}")]
    Apply(#[source] Box<ApplyError>),
    /// The plan itself is refused (e.g. a quorum loss).
    #[error("{0}")]
    Plan(#[source] Box<PlanError>),
    /// Fluid's own controller runs and would deploy the same runtimes.
    #[error(
        "Fluid's GooseFS controller (fluid-system/goosefsruntime-controller) runs in this cluster and would deploy \
         these runtimes too; uninstall it, or pass --force to apply anyway"
    )]
    FluidControllerRunning,
    /// A runtime to delete has none of our objects.
    #[error("runtime {0}: no objects made by kubectl-goosefs found")]
    NotFound(String),
    /// A workload cannot be injected, or an application file does not parse.
    #[error(transparent)]
    Inject(#[from] crate::inject::InjectError),
    /// A one-off Job (load, backup) failed, or did not finish within the wait.
    #[error("{0}")]
    JobFailed(String),
    /// No confirmation could be asked for, or it was declined.
    #[error("{0}")]
    NotConfirmed(String),
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Output could not be written.
    #[error("cannot write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

// The large errors are boxed (they would make every `Result` of this layer as large); `?`
// still converts them.
impl From<CompileError> for OpsError {
    fn from(e: CompileError) -> Self {
        OpsError::Compile(Box::new(e))
    }
}

impl From<ClusterError> for OpsError {
    fn from(e: ClusterError) -> Self {
        OpsError::Cluster(Box::new(e))
    }
}

impl From<ApplyError> for OpsError {
    fn from(e: ApplyError) -> Self {
        OpsError::Apply(Box::new(e))
    }
}

impl From<PlanError> for OpsError {
    fn from(e: PlanError) -> Self {
        OpsError::Plan(Box::new(e))
    }
}

impl OpsError {
    /// The exit status docs/reference.md documents for this failure.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            OpsError::Findings(_) | OpsError::Compile(_) => ExitStatus::Findings,
            OpsError::Inject(e) => match e {
                crate::inject::InjectError::Conflict { .. } => ExitStatus::Findings,
                crate::inject::InjectError::Parse { .. } | crate::inject::InjectError::Unwritable { .. } => {
                    ExitStatus::Failure
                }
            },
            OpsError::Cluster(_)
            | OpsError::Apply(_)
            | OpsError::Plan(_)
            | OpsError::FluidControllerRunning
            | OpsError::NotFound(_)
            | OpsError::JobFailed(_) => ExitStatus::ClusterError,
            OpsError::NoInput(_)
            | OpsError::Unreadable(_)
            | OpsError::Templates(_)
            | OpsError::Catalog(_)
            | OpsError::Read { .. }
            | OpsError::Invalid(_)
            | OpsError::NotConfirmed(_)
            | OpsError::Usage(_)
            | OpsError::Runtime(_)
            | OpsError::Write { .. } => ExitStatus::Failure,
        }
    }

    /// Whether the failure is only that standard output was closed (`| head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OpsError::Write { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(self, OpsError::Compile(e) if matches!(&**e, CompileError::Sink(s) if s.kind() == std::io::ErrorKind::BrokenPipe))
    }
}

/// Progress lines of a long command (applied objects, waits), for the CLI to print.
pub type Progress<'a> = &'a mut dyn FnMut(String);

/// Seconds since the epoch, for ages and status timestamps.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
