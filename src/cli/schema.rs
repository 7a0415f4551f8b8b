//! `kubectl goosefs schema`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::print;
use crate::exit::ExitStatus;
use crate::model::{Kind, schema};
use crate::ops::OpsError;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which kind to print (ignored with --out, which writes both).
    #[arg(long, value_enum, default_value_t = SchemaKind::Goosefsruntime)]
    pub kind: SchemaKind,
    /// Write dataset.json and goosefsruntime.json into this directory (atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print installable CustomResourceDefinitions (YAML) for both kinds instead.
    #[arg(long, conflicts_with = "out")]
    pub crd: bool,
}

/// Kind selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// GooseFSRuntime.
    Goosefsruntime,
    /// Dataset.
    Dataset,
    /// DataLoad.
    Dataload,
    /// DataBackup.
    Databackup,
}

/// Prints or writes schemas.
///
/// # Errors
/// Failures writing files or standard output.
pub fn run(args: &SchemaArgs) -> Result<ExitStatus, OpsError> {
    if args.crd {
        let mut text = String::new();
        for kind in Kind::ALL {
            let yaml = serde_saphyr::to_string(&schema::crd(kind))
                .map_err(|e| OpsError::Usage(format!("cannot serialise the CRD: {e}")))?;
            text.push_str("---\n");
            text.push_str(&yaml);
        }
        return print(&text);
    }
    let Some(dir) = &args.out else {
        let kind = match args.kind {
            SchemaKind::Goosefsruntime => Kind::GooseFsRuntime,
            SchemaKind::Dataset => Kind::Dataset,
            SchemaKind::Dataload => Kind::DataLoad,
            SchemaKind::Databackup => Kind::DataBackup,
        };
        return print(&schema::json_schema_text(kind));
    };
    std::fs::create_dir_all(dir).map_err(|source| OpsError::Write {
        what: dir.display().to_string(),
        source,
    })?;
    for kind in Kind::ALL {
        let path = dir.join(schema::file_name(kind));
        crate::output::write_atomic(&path, schema::json_schema_text(kind).as_bytes()).map_err(|source| {
            OpsError::Write {
                what: path.display().to_string(),
                source,
            }
        })?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitStatus::Success)
}
