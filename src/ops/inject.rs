//! `inject`: read the application's files and the runtime's definition, compile the runtime to
//! learn where its FUSE mount, workers and PVC are, and inject every workload ([`crate::inject`]).

use std::path::PathBuf;

use super::OpsError;
use super::render::{RenderOptions, prepare_inputs};
use crate::compile::CsiMode;
use crate::inject::{self, Injected, Target, TargetOptions};
use crate::load::{self, Input, Source};
use crate::validate::Report;

/// What to inject, where.
#[derive(Debug, Clone)]
pub struct InjectOptions {
    /// The application's files (`-`: standard input); their Fluid objects pass through as they are
    /// and also define the runtime.
    pub paths: Vec<PathBuf>,
    /// Files that only define the runtime (its Dataset and GooseFSRuntime); not written.
    pub definitions: Vec<PathBuf>,
    /// Namespace of Fluid objects that set none.
    pub namespace: String,
    /// `NAME` or `NAMESPACE/NAME` of the Dataset.
    pub dataset: String,
    /// The volume form: the FUSE host path (standalone) or Fluid's CSI PVC.
    pub csi: CsiMode,
    /// Where the containers see the Dataset.
    pub mount_path: String,
    /// Mount into these containers only (empty: all).
    pub containers: Vec<String>,
}

/// One application file, injected.
#[derive(Debug)]
pub struct InjectedFile {
    /// Where it came from.
    pub input: Input,
    /// The result.
    pub injected: Injected,
}

/// Injects the Dataset into every workload of `options.paths`.
///
/// # Errors
/// [`OpsError::NoInput`], unreadable or invalid inputs ([`OpsError::Unreadable`],
/// [`OpsError::Findings`]), [`OpsError::Usage`] when the Dataset is not defined (or ambiguous),
/// [`OpsError::Inject`] when a workload conflicts or a file does not parse.
pub fn inject(options: &InjectOptions, findings: &mut dyn FnMut(&Report)) -> Result<Vec<InjectedFile>, OpsError> {
    if options.paths.is_empty() {
        return Err(OpsError::NoInput("inject"));
    }
    // Standard input is read once and held: it is both validated and injected.
    let mut held = Vec::new();
    let mut unreadable = Vec::new();
    let (apps, missing) = load::discover(&options.paths);
    unreadable.extend(missing);
    for input in apps {
        match load::read(&input, load::DEFAULT_MAX_FILE_BYTES) {
            Ok(Source::Text(text)) => held.push((input, text)),
            Ok(Source::Unusable(problem)) => {
                return Err(OpsError::Invalid(format!(
                    "{}:{}:{}: {}",
                    input.display_name(),
                    problem.line,
                    problem.column,
                    problem.message
                )));
            }
            Err(e) => unreadable.push(e),
        }
    }
    let (definitions, missing) = load::discover(&options.definitions);
    unreadable.extend(missing);
    let memory = |name: String, text: &str| Input::Memory {
        name,
        bytes: text.as_bytes().into(),
    };
    let mut inputs: Vec<Input> = held.iter().map(|(i, t)| memory(i.display_name(), t)).collect();
    inputs.extend(definitions);
    let render = RenderOptions {
        paths: Vec::new(),
        namespace: options.namespace.clone(),
        templates: None,
        images: None,
        port_range: 26000..=32000,
        csi: options.csi,
        monitoring: false,
    };
    let prepared = prepare_inputs(&render, inputs, unreadable, "injected", findings)?;
    let (namespace, name) = match options.dataset.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, options.dataset.as_str()),
    };
    let mut found = Vec::new();
    prepared.compile_each(&mut |(values, _)| {
        if values.name == name && namespace.is_none_or(|ns| ns == values.namespace) {
            found.push(values);
        }
        Ok(())
    })?;
    let values = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(OpsError::Usage(format!(
                "no Dataset and GooseFSRuntime named {} in the input; pass the files that define them (-f or --runtime)",
                options.dataset
            )));
        }
        _ => {
            return Err(OpsError::Usage(format!(
                "Datasets named {name} in namespaces {}; say which with --dataset NAMESPACE/{name}",
                found
                    .iter()
                    .map(|v| v.namespace.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let target = Target::new(
        &values,
        TargetOptions {
            claim: options.csi == CsiMode::Fluid,
            mount_path: options.mount_path.clone(),
            containers: options.containers.clone(),
        },
    );
    held.into_iter()
        .map(|(input, text)| {
            let injected = inject::inject(&text, &input.display_name(), &target)?;
            Ok(InjectedFile { input, injected })
        })
        .collect()
}
