//! GooseFS rules: checks Fluid itself does not make (FACTS b.4) plus Fluid's own transform
//! errors, each with a stable code. Rules read the typed model and report through
//! [`DocCtx`]; they never stop at the first finding.

mod databackup;
mod dataload;
mod mounts;
mod names;
mod ports;
mod raft;
mod secrets;
mod tieredstore;
mod values;
mod volumes;

pub use dataload::cron_schedule;
pub use ports::pin_path;
pub use secrets::looks_like_credential;

use super::document::DocCtx;
use crate::model::{DataLoad, Dataset, GooseFsRuntime};

/// All rules for a `GooseFSRuntime`.
pub fn check_runtime(runtime: &GooseFsRuntime, namespace: &str, ctx: &mut DocCtx<'_>) {
    names::check_runtime(runtime, namespace, ctx);
    raft::check(runtime, ctx);
    tieredstore::check(runtime, ctx);
    ports::check(runtime, ctx);
    values::check_runtime(runtime, ctx);
    volumes::check(runtime, ctx);
}

/// Dataset rules that hold whichever runtime serves the Dataset.
pub fn check_dataset_common(dataset: &Dataset, namespace: &str, ctx: &mut DocCtx<'_>) {
    names::check_dataset(dataset, namespace, ctx);
    secrets::check(dataset, ctx);
    values::check_dataset(dataset, ctx);
}

/// All rules for a `DataLoad` (its Dataset is checked when pairing).
pub fn check_dataload(load: &DataLoad, ctx: &mut DocCtx<'_>) {
    dataload::check(load, ctx);
}

/// DataBackup rules (GFS302).
pub fn check_databackup(backup: &crate::model::DataBackup, ctx: &mut DocCtx<'_>) {
    databackup::check(backup, ctx);
}

/// Dataset rules that hold only when GooseFS serves the Dataset.
pub fn check_dataset_goosefs(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    mounts::check(dataset, ctx);
}
