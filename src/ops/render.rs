//! `render` (and the first half of `plan` and `apply`): read the templates and the image catalog,
//! validate the inputs, and compile them, runtime by runtime.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use super::OpsError;
use crate::compile::{self, Catalog, CompileOptions, Compiled, CsiMode, Templates};
use crate::validate::{self, Report, ValidateOptions};

/// What to render, and how.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Files and directories (`-` is standard input).
    pub paths: Vec<PathBuf>,
    /// Namespace of objects that set none.
    pub namespace: String,
    /// Templates replacing the embedded ones of the same name.
    pub templates: Option<PathBuf>,
    /// An image catalog replacing the embedded one.
    pub images: Option<PathBuf>,
    /// Host ports to allocate from.
    pub port_range: RangeInclusive<u16>,
    /// PersistentVolume form.
    pub csi: CsiMode,
    /// Render a PodMonitor per runtime.
    pub monitoring: bool,
}

/// Validated inputs, ready to compile.
#[derive(Debug)]
pub struct Prepared {
    /// The validation outcome: its report, and the typed Datasets and GooseFSRuntimes.
    pub outcome: validate::Outcome,
    /// How to compile them.
    pub compile: CompileOptions,
}

impl Prepared {
    /// Compiles runtime by runtime (see [`compile::compile_each`]); memory stays bounded.
    ///
    /// # Errors
    /// [`OpsError::Compile`], including `sink`'s own failures.
    pub fn compile_each(&self, sink: &mut dyn FnMut(compile::Runtime) -> std::io::Result<()>) -> Result<(), OpsError> {
        compile::compile_each(
            &self.outcome.runtimes,
            &self.outcome.datasets,
            &self.outcome.dataloads,
            &self.outcome.databackups,
            &self.compile,
            sink,
        )?;
        Ok(())
    }

    /// Compiles everything, in apply order across runtimes (what `plan` and `apply` take).
    ///
    /// # Errors
    /// [`OpsError::Compile`].
    pub fn compile_all(&self) -> Result<Compiled, OpsError> {
        Ok(compile::compile(
            &self.outcome.runtimes,
            &self.outcome.datasets,
            &self.outcome.dataloads,
            &self.outcome.databackups,
            &self.compile,
        )?)
    }
}

/// Reads the templates and the catalog and validates the inputs. Findings (warnings included) go
/// to `findings` before anything is decided, so they are shown even when the command stops.
///
/// # Errors
/// [`OpsError::NoInput`], [`OpsError::Read`]/[`OpsError::Templates`]/[`OpsError::Catalog`] for
/// `--templates`/`--images`, [`OpsError::Unreadable`] inputs, [`OpsError::Findings`] when the
/// input has errors (`verb` says what was not done: `rendered`, `planned`, `applied`).
pub fn prepare(
    options: &RenderOptions,
    verb: &'static str,
    findings: &mut dyn FnMut(&Report),
) -> Result<Prepared, OpsError> {
    if options.paths.is_empty() {
        return Err(OpsError::NoInput(match verb {
            "planned" => "plan",
            "applied" => "apply",
            _ => "render",
        }));
    }
    let (inputs, unreadable) = crate::load::discover(&options.paths);
    prepare_inputs(options, inputs, unreadable, verb, findings)
}

/// [`prepare`] of inputs already found (`unreadable`: those that could not be), e.g. held in
/// memory; `options.paths` is not read.
///
/// # Errors
/// As [`prepare`], but for [`OpsError::NoInput`].
pub fn prepare_inputs(
    options: &RenderOptions,
    inputs: Vec<crate::load::Input>,
    unreadable: Vec<crate::load::LoadError>,
    verb: &'static str,
    findings: &mut dyn FnMut(&Report),
) -> Result<Prepared, OpsError> {
    let templates = match &options.templates {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::embedded(),
    };
    // A catalog name wins over a file of that name (`./fluid` reads the file).
    let named = options
        .images
        .as_deref()
        .and_then(|p| p.to_str())
        .and_then(Catalog::named);
    let catalog = match (named, &options.images) {
        (Some(catalog), _) => catalog?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|source| OpsError::Read {
                path: file.display().to_string(),
                source,
            })?;
            Catalog::parse(&text, &file.display().to_string())?
        }
        (None, None) => Catalog::embedded()?,
    };
    let validate_options = ValidateOptions {
        paths: options.paths.clone(),
        namespace: options.namespace.clone(),
        keep_objects: true,
        ..ValidateOptions::default()
    };
    // Compile the templates on a second thread while the inputs are read and validated.
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| templates.environment().is_ok());
        let mut outcome = validate::validate_inputs(inputs, &validate_options);
        outcome.unreadable.splice(0..0, unreadable);
        outcome
    });
    if !outcome.report.diagnostics.is_empty() {
        findings(&outcome.report);
    }
    if !outcome.unreadable.is_empty() {
        return Err(OpsError::Unreadable(outcome.unreadable));
    }
    if outcome.report.has_errors() {
        return Err(OpsError::Findings(verb));
    }
    Ok(Prepared {
        outcome,
        compile: CompileOptions {
            namespace: options.namespace.clone(),
            port_range: options.port_range.clone(),
            csi: options.csi,
            monitoring: options.monitoring,
            catalog,
            templates,
        },
    })
}
