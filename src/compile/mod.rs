//! Stage 4 of the pipeline: compile. Turns validated Dataset + GooseFSRuntime pairs into the
//! concrete Kubernetes objects Fluid's controller and goosefs chart would create, with no
//! operator ("standalone"). Pure: values are computed from the model ([`values`]), rendered by
//! minijinja templates ([`templates`]), parsed back and put in apply order. No I/O here; the CLI
//! reads templates and catalogs and writes output.

pub mod applyset;
pub mod databackup;
pub mod dataload;
pub mod fuse;
pub mod images;
pub mod labels;
pub mod mounts;
pub mod placement;
pub mod ports;
pub mod properties;
pub mod resources;
pub mod templates;
pub mod tiered;
pub mod values;
pub mod volumes;

use std::ops::RangeInclusive;

use serde_json::Value;

use crate::model::{DataBackup, DataLoad, Dataset, GooseFsRuntime};
pub use images::Catalog;
pub use templates::Templates;
pub use values::Values;

/// How the dataset's PV is provided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CsiMode {
    /// A hostPath PV of the FUSE mount path: needs nothing but the rendered objects.
    #[default]
    Standalone,
    /// Fluid's CSI driver (`fuse.csi.fluid.io`), for clusters that still run Fluid's CSI plugin.
    Fluid,
}

/// Inputs of [`compile`] besides the objects.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Namespace of objects without one.
    pub namespace: String,
    /// Host port range.
    pub port_range: RangeInclusive<u16>,
    /// PV form.
    pub csi: CsiMode,
    /// A PodMonitor per runtime (`--monitoring`).
    pub monitoring: bool,
    /// Images.
    pub catalog: Catalog,
    /// Templates.
    pub templates: Templates,
}

/// Why input that passed validation cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A runtime has no Dataset in the input.
    #[error(
        "GooseFSRuntime {namespace}/{name} has no Dataset of the same name and namespace in the input; render needs both"
    )]
    NoDataset {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// Something about one runtime.
    #[error("{object}: {message}")]
    Runtime {
        /// `Kind/ns/name`.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// Port allocation failed.
    #[error(transparent)]
    Ports(#[from] ports::PortError),
    /// A template failed.
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    /// Writing a compiled runtime out failed.
    #[error("cannot write the manifests: {0}")]
    Sink(#[source] std::io::Error),
    /// A template produced something that is not one Kubernetes object per document.
    #[error("template {template} rendered invalid YAML for {object}: {message}")]
    Output {
        /// Template name.
        template: String,
        /// `ns/name` of the runtime.
        object: String,
        /// Parser message.
        message: String,
    },
}

/// A rendered object: the template's text for it, plus what ordering and file names need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Position in apply order: the ApplySet parent (0), configuration, Services, PV, PVC, masters, mount Job, workers,
    /// FUSE. Masters come before the Job (it waits for them) and workers (they register).
    pub rank: u8,
    /// `kind`.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object as YAML, exactly as rendered (no leading `---`).
    pub text: String,
}

impl Manifest {
    /// The object as JSON (parsed on demand: rendering itself never re-parses its output).
    ///
    /// # Errors
    /// [`CompileError::Output`] when the text is not one YAML document.
    pub fn object(&self) -> Result<Value, CompileError> {
        let mut objects = Vec::new();
        let failure = crate::load::for_each_document(&self.text, |node| objects.push(node.to_json()));
        match (failure, objects.len()) {
            (None, 1) => Ok(objects.pop().unwrap_or(Value::Null)),
            (Some(f), _) => Err(self.output_error(format!("line {}: {}", f.pos.line, f.message))),
            (None, n) => Err(self.output_error(format!("{n} documents where one was expected"))),
        }
    }

    fn output_error(&self, message: String) -> CompileError {
        CompileError::Output {
            template: self.kind.clone(),
            object: format!("{}/{}", self.namespace, self.name),
            message,
        }
    }
}

/// The output of [`compile`].
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Objects in apply order.
    pub manifests: Vec<Manifest>,
    /// Values per runtime (for tests and `--explain-images`).
    pub values: Vec<Values>,
}

/// One runtime's compile result: its values and objects (the ApplySet parent first, then in
/// apply order).
pub type Runtime = (Values, Vec<Manifest>);

/// Compiles every runtime of the input with its Dataset, in `(namespace, name)` order, handing
/// each to `sink` as soon as it and every runtime before it are done. Runtimes are rendered in
/// parallel a batch at a time, so memory stays bounded by the batch, not the input; the output
/// does not depend on input order or thread count.
///
/// # Errors
/// [`CompileError`] when a runtime lacks its Dataset, ports run out, or a template fails;
/// [`CompileError::Sink`] when `sink` fails (the runtimes after it are not compiled).
pub fn compile_each(
    runtimes: &[GooseFsRuntime],
    datasets: &[Dataset],
    dataloads: &[DataLoad],
    databackups: &[DataBackup],
    options: &CompileOptions,
    sink: &mut dyn FnMut(Runtime) -> std::io::Result<()>,
) -> Result<(), CompileError> {
    let ns_of = |ns: &Option<String>| {
        ns.clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| options.namespace.clone())
    };
    let mut ordered: Vec<&GooseFsRuntime> = runtimes.iter().collect();
    ordered.sort_by_key(|r| (ns_of(&r.metadata.namespace), r.metadata.name.clone()));
    // The FUSE metrics port only for images that serve it (our runtime's).
    let ports = ports::allocate(&ordered, &options.port_range, options.catalog.probes)?;
    let env = options.templates.environment()?;
    // Our own templates are tested to produce valid YAML; user templates are checked.
    let check = options.templates.origin != "embedded";
    let jobs: Vec<(&GooseFsRuntime, ports::Ports)> = ordered.into_iter().zip(ports).collect();
    let by_name: std::collections::HashMap<(String, &str), &Dataset> = datasets
        .iter()
        .filter_map(|d| Some(((ns_of(&d.metadata.namespace), d.metadata.name.as_deref()?), d)))
        .collect();
    // A DataLoad compiles into its Dataset's runtime; one whose runtime is not here cannot.
    let load_target = |load: &DataLoad| {
        let own = ns_of(&load.metadata.namespace);
        let namespace = (load.spec.dataset.namespace.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or(own);
        (namespace, load.spec.dataset.name.clone())
    };
    for load in dataloads {
        let (namespace, name) = load_target(load);
        if !jobs.iter().any(|(r, _)| {
            ns_of(&r.metadata.namespace) == namespace && r.metadata.name.as_deref() == Some(name.as_str())
        }) {
            return Err(CompileError::Runtime {
                object: format!(
                    "DataLoad/{}/{}",
                    ns_of(&load.metadata.namespace),
                    load.metadata.name.as_deref().unwrap_or_default()
                ),
                message: format!(
                    "its Dataset {namespace}/{name} and GooseFSRuntime are not in the input; render needs them"
                ),
            });
        }
    }
    // A DataBackup likewise, in its own namespace; Fluid's images back up on the leader's node
    // only (their CLI writes on the master), which a Job cannot know at render time.
    for backup in databackups {
        let namespace = ns_of(&backup.metadata.namespace);
        let object = format!(
            "DataBackup/{namespace}/{}",
            backup.metadata.name.as_deref().unwrap_or_default()
        );
        let name = backup.spec.dataset.as_str();
        if !jobs
            .iter()
            .any(|(r, _)| ns_of(&r.metadata.namespace) == namespace && r.metadata.name.as_deref() == Some(name))
        {
            return Err(CompileError::Runtime {
                object,
                message: format!(
                    "its Dataset {namespace}/{name} and GooseFSRuntime are not in the input; render needs them"
                ),
            });
        }
        if !options.catalog.keeps_status {
            return Err(CompileError::Runtime {
                object,
                message: "Fluid's images take a backup on the leading master's node only; render it with this tool's images (the default catalog)".to_owned(),
            });
        }
    }
    let render_one = |(runtime, ports): &(&GooseFsRuntime, ports::Ports)| -> Result<Runtime, CompileError> {
        let namespace = ns_of(&runtime.metadata.namespace);
        let name = runtime.metadata.name.clone().unwrap_or_default();
        let dataset = by_name
            .get(&(namespace.clone(), name.as_str()))
            .copied()
            .ok_or_else(|| CompileError::NoDataset {
                namespace: namespace.clone(),
                name: name.clone(),
            })?;
        let mut values = values::build(runtime, dataset, &namespace, ports.clone(), &options.catalog, options)?;
        let loads: Vec<&DataLoad> = dataloads
            .iter()
            .filter(|l| load_target(l) == (namespace.clone(), name.clone()))
            .collect();
        values.loaders = dataload::loaders(&values, &loads, options.templates.source("dataload.yaml.j2"));
        let backups: Vec<&DataBackup> = databackups
            .iter()
            .filter(|b| (ns_of(&b.metadata.namespace), b.spec.dataset.clone()) == (namespace.clone(), name.clone()))
            .collect();
        values.backups = databackup::jobs(&values, &backups, options.templates.source("databackup.yaml.j2"));
        let context = minijinja::context! { v => minijinja::value::Serde(&values) };
        let mut manifests = Vec::new();
        for (rank_in_runtime, template) in templates::OBJECT_TEMPLATES.iter().enumerate() {
            let text = env
                .get_template(template)
                .and_then(|t| t.render(&context))
                .map_err(|e| templates::TemplateError::Render {
                    name: (*template).to_owned(),
                    message: format!("{e:#}"),
                })?;
            for doc in split_documents(&text) {
                let manifest = header(
                    doc,
                    template,
                    &namespace,
                    &name,
                    apply_rank_of_template(rank_in_runtime),
                )?;
                if check {
                    manifest.object()?;
                }
                manifests.push(manifest);
            }
        }
        let members: Vec<(String, String)> = manifests
            .iter()
            .map(|m| (api_version(&m.text), m.kind.clone()))
            .collect();
        manifests.push(Manifest {
            rank: 0,
            kind: "ConfigMap".to_owned(),
            namespace: namespace.clone(),
            name: applyset::parent_name(&name),
            text: applyset::parent(&name, &namespace, &values.labels, &members),
        });
        // Within a rank by kind, then name: the order of the `--output-dir` file names.
        manifests.sort_by(|a, b| (a.rank, &a.kind, &a.name).cmp(&(b.rank, &b.kind, &b.name)));
        Ok((values, manifests))
    };
    // One runtime needs no pool, nor asking for the cores (which reads cgroup files).
    let threads = match jobs.len() {
        0 | 1 => 1,
        n => std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(n),
    };
    if threads == 1 {
        for job in &jobs {
            sink(render_one(job)?).map_err(CompileError::Sink)?;
        }
        return Ok(());
    }
    // One pool of workers for the whole input (threads made per batch would each leave their
    // allocator arena behind), never more than `window` runtimes ahead of the writer, so memory
    // stays bounded by the window whatever the input size.
    let window = threads * 16;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let written = std::sync::Mutex::new(0usize);
    let progress = std::sync::Condvar::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (results, received) = std::sync::mpsc::channel::<(usize, Result<Runtime, CompileError>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let results = results.clone();
            let (next, written, progress, stop, jobs) = (&next, &written, &progress, &stop, &jobs);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= jobs.len() || stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let mut done = written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    while i >= *done + window && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        done = progress.wait(done).unwrap_or_else(std::sync::PoisonError::into_inner);
                    }
                    drop(done);
                    if results.send((i, render_one(&jobs[i]))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(results);
        let mut pending = std::collections::BTreeMap::new();
        let mut emitted = 0;
        let outcome = (|| {
            while emitted < jobs.len() {
                let Ok((i, result)) = received.recv() else {
                    return Err(CompileError::Runtime {
                        object: "render".into(),
                        message: "a render thread failed".into(),
                    });
                };
                pending.insert(i, result);
                while let Some(result) = pending.remove(&emitted) {
                    sink(result?).map_err(CompileError::Sink)?;
                    emitted += 1;
                    *written.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = emitted;
                    progress.notify_all();
                }
            }
            Ok(())
        })();
        // On a failure, let the workers see it and end instead of waiting for the writer.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        progress.notify_all();
        outcome
    })
}

/// Compiles every runtime of the input with its Dataset ([`compile_each`]) and returns all
/// objects in apply order across runtimes: every runtime's configuration, then every runtime's
/// Services, and so on, as `plan` and `apply` take them.
///
/// # Errors
/// As [`compile_each`].
pub fn compile(
    runtimes: &[GooseFsRuntime],
    datasets: &[Dataset],
    dataloads: &[DataLoad],
    databackups: &[DataBackup],
    options: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let mut compiled = Compiled::default();
    compile_each(runtimes, datasets, dataloads, databackups, options, &mut |(
        values,
        manifests,
    )| {
        compiled.values.push(values);
        compiled.manifests.extend(manifests);
        Ok(())
    })?;
    compiled
        .manifests
        .sort_by(|a, b| (a.rank, &a.kind, &a.namespace, &a.name).cmp(&(b.rank, &b.kind, &b.namespace, &b.name)));
    Ok(compiled)
}

/// The apply rank of the objects of the `i`-th of [`templates::OBJECT_TEMPLATES`]: config and
/// the masters' and loaders' service accounts and Roles 1, Services 2, PV 3 (PVC 4), masters 5,
/// mount Job 6, workers 7, FUSE and the PodMonitor 8, the DataLoads' loaders and DataBackups'
/// Jobs 9 (they load through the workers, back up through the masters).
fn apply_rank_of_template(i: usize) -> u8 {
    [1, 1, 1, 2, 3, 5, 6, 7, 8, 8, 9, 9].get(i).copied().unwrap_or(9)
}

/// The top-level `apiVersion` of a rendered document (empty when it has none).
fn api_version(doc: &str) -> String {
    doc.lines()
        .find_map(|l| l.strip_prefix("apiVersion:"))
        .map(unquote)
        .unwrap_or_default()
}

/// A scalar as our templates write it: plain, or JSON-quoted by the `y` filter.
fn unquote(value: &str) -> String {
    let value = value.trim();
    serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned())
}

/// Splits a rendered stream at `---` lines, dropping empty documents.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut rest = text;
    loop {
        // A separator is a line that is exactly `---` (most templates render one document).
        let at = if rest.starts_with("---\n") || rest == "---" {
            Some(0)
        } else {
            rest.find("\n---\n")
                .or_else(|| rest.ends_with("\n---").then(|| rest.len() - 4))
                .map(|i| i + 1)
        };
        match at {
            Some(i) => {
                docs.push(&rest[..i]);
                rest = rest.get(i + 4..).unwrap_or("");
            }
            None => {
                docs.push(rest);
                break;
            }
        }
    }
    docs.into_iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

/// Reads `kind`, `metadata.name` and `metadata.namespace` from the top of a rendered document
/// (the templates write them as the first keys, as block YAML).
fn header(doc: &str, template: &str, namespace: &str, runtime: &str, rank: u8) -> Result<Manifest, CompileError> {
    let (mut kind, mut name, mut ns, mut in_metadata) = (String::new(), String::new(), String::new(), false);
    for line in doc.lines() {
        if let Some(v) = line.strip_prefix("kind:") {
            kind = unquote(v);
        } else if line.starts_with("metadata:") {
            in_metadata = true;
        } else if in_metadata && let Some(v) = line.strip_prefix("  name:") {
            name = unquote(v);
        } else if in_metadata && let Some(v) = line.strip_prefix("  namespace:") {
            ns = unquote(v);
        } else if !line.starts_with(' ') && !line.is_empty() {
            in_metadata = false;
        }
        // Our templates write kind and metadata first: stop at the first later top-level key.
        if !kind.is_empty() && !name.is_empty() && !in_metadata && !line.starts_with("kind:") {
            break;
        }
    }
    // PersistentVolumes come before their claims within the volume template.
    let rank = if kind == "PersistentVolumeClaim" {
        rank + 1
    } else {
        rank
    };
    if kind.is_empty() || name.is_empty() {
        return Err(CompileError::Output {
            template: template.to_owned(),
            object: format!("{namespace}/{runtime}"),
            message: "a document lacks kind or metadata.name at the top level".to_owned(),
        });
    }
    Ok(Manifest {
        rank,
        kind,
        namespace: ns,
        name,
        text: doc.trim_start_matches('\n').to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_separator_lines_only() {
        assert_eq!(split_documents("a: 1\n"), vec!["a: 1\n"]);
        assert_eq!(split_documents("---\na: 1\n---\nb: 2\n"), vec!["a: 1\n", "b: 2\n"]);
        assert_eq!(
            split_documents("a: \"x---\"\n---\n\n# only a comment\n---\nb: 2\n---"),
            vec!["a: \"x---\"\n", "b: 2\n"]
        );
        assert_eq!(split_documents("a: |\n  ---x\n"), vec!["a: |\n  ---x\n"]);
    }

    #[test]
    fn header_reads_kind_name_and_namespace() {
        let doc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"x-0\"\n  namespace: ns\n  labels:\n    name: other\nspec:\n  name: no\n";
        let m = header(doc, "t", "ns", "x", 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.kind.as_str(), m.name.as_str(), m.namespace.as_str(), m.rank),
            ("Service", "x-0", "ns", 2)
        );
        assert!(header("apiVersion: v1\n", "t", "ns", "x", 2).is_err());
    }
}
