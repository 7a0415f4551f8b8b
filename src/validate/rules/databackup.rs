//! GFS302: a DataBackup that Fluid would run and whose file a Dataset's `dataRestoreLocation` can
//! find: a Dataset named, a `backupPath` of `pvc://<claim>/<path>` or `local://<path>`. (Whether
//! its Dataset and runtime are in the input is checked when pairing.)

use crate::model::DataBackup;
use crate::validate::codes::Code;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Checks one DataBackup.
pub fn check(backup: &DataBackup, ctx: &mut DocCtx<'_>) {
    if backup.spec.dataset.trim().is_empty() {
        ctx.report(
            Code::GFS302,
            &FieldPath::parse("spec.dataset"),
            false,
            "the DataBackup names no Dataset".to_owned(),
            Some("spec.dataset: the name of the Dataset in this namespace".to_owned()),
        );
    }
    let location = backup.spec.backup_path.as_deref().unwrap_or_default();
    let parsed = crate::compile::values::backup_location(location)
        .filter(|_| !location.contains(char::is_whitespace) && !location.contains(".."));
    if parsed.is_none() {
        ctx.report(
            Code::GFS302,
            &FieldPath::parse("spec.backupPath"),
            false,
            format!("backupPath {location:?} is neither pvc://<claim>/<path> nor local://<path>"),
            Some(
                "backupPath: pvc://backups/hbase/ (a claim in this namespace) or local:///var/backups/goosefs"
                    .to_owned(),
            ),
        );
    }
}
