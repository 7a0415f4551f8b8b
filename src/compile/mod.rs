//! Stage 4 of the pipeline: compile. Turns validated Dataset + GooseFSRuntime pairs into the
//! concrete Kubernetes objects Fluid's controller and goosefs chart would create, with no
//! operator ("standalone"). Pure: values are computed from the model ([`values`]), rendered by
//! minijinja templates ([`templates`]), parsed back and put in apply order. No I/O here; the CLI
//! reads templates and catalogs and writes output.

pub mod images;
pub mod ports;
pub mod properties;
pub mod templates;
pub mod tiered;
pub mod values;

use std::ops::RangeInclusive;

use serde_json::Value;

use crate::model::{Dataset, GooseFsRuntime};
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

/// A rendered object.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Position in apply order (see [`apply_rank`]).
    pub rank: u8,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object.
    pub object: Value,
}

/// Which image a container of an object uses, and why (for `--explain-images`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// `Kind/ns/name`.
    pub object: String,
    /// Container name.
    pub container: String,
    /// Image reference.
    pub image: String,
    /// Where the choice came from.
    pub source: String,
}

/// The output of [`compile`].
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Objects in apply order.
    pub manifests: Vec<Manifest>,
    /// Image choices.
    pub images: Vec<ImageUse>,
    /// Values per runtime (for tests and `--explain-images`).
    pub values: Vec<Values>,
}

/// Apply order: configuration, Services, storage, masters, mount Job, workers, FUSE. Masters
/// come before the Job (it waits for them) and workers (they register with them).
pub fn apply_rank(kind: &str, role: Option<&str>) -> u8 {
    match (kind, role) {
        ("Namespace", _) => 0,
        ("ConfigMap" | "Secret", _) => 1,
        ("Service", _) => 2,
        ("PersistentVolume", _) => 3,
        ("PersistentVolumeClaim", _) => 4,
        ("StatefulSet", Some("goosefs-master")) => 5,
        ("Job", _) => 6,
        ("StatefulSet", _) => 7,
        ("DaemonSet", _) => 8,
        _ => 9,
    }
}

/// Compiles every runtime of the input with its Dataset.
///
/// # Errors
/// [`CompileError`] when a runtime lacks its Dataset, ports run out, or a template fails.
pub fn compile(
    runtimes: &[GooseFsRuntime],
    datasets: &[Dataset],
    options: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let ns_of = |ns: &Option<String>| {
        ns.clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| options.namespace.clone())
    };
    let mut ordered: Vec<&GooseFsRuntime> = runtimes.iter().collect();
    ordered.sort_by_key(|r| (ns_of(&r.metadata.namespace), r.metadata.name.clone()));
    let ports = ports::allocate(&ordered, &options.port_range)?;
    let env = options.templates.environment()?;
    let mut compiled = Compiled::default();
    for (runtime, ports) in ordered.into_iter().zip(ports) {
        let namespace = ns_of(&runtime.metadata.namespace);
        let name = runtime.metadata.name.clone().unwrap_or_default();
        let dataset = datasets
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name.as_str()) && ns_of(&d.metadata.namespace) == namespace)
            .ok_or_else(|| CompileError::NoDataset {
                namespace: namespace.clone(),
                name: name.clone(),
            })?;
        let values = values::build(runtime, dataset, &namespace, ports, &options.catalog, options)?;
        let context = minijinja::context! { v => minijinja::value::Serde(&values) };
        for template in templates::OBJECT_TEMPLATES {
            let text = env
                .get_template(template)
                .and_then(|t| t.render(&context))
                .map_err(|e| templates::TemplateError::Render {
                    name: template.to_owned(),
                    message: format!("{e:#}"),
                })?;
            parse_objects(&text, template, &namespace, &name, &mut compiled)?;
        }
        compiled.values.push(values);
    }
    compiled
        .manifests
        .sort_by(|a, b| (a.rank, &a.namespace, &a.name, &a.kind).cmp(&(b.rank, &b.namespace, &b.name, &b.kind)));
    Ok(compiled)
}

fn parse_objects(
    text: &str,
    template: &str,
    namespace: &str,
    name: &str,
    compiled: &mut Compiled,
) -> Result<(), CompileError> {
    let output_error = |message: String| CompileError::Output {
        template: template.to_owned(),
        object: format!("{namespace}/{name}"),
        message,
    };
    let mut objects = Vec::new();
    if let Some(failure) = crate::load::for_each_document(text, |_, node| objects.push(node.to_json())) {
        return Err(output_error(format!("line {}: {}", failure.pos.line, failure.message)));
    }
    for object in objects {
        let field = |path: &[&str]| {
            let mut v = &object;
            for p in path {
                v = &v[*p];
            }
            v.as_str().unwrap_or_default().to_owned()
        };
        let (api_version, kind, obj_name) = (field(&["apiVersion"]), field(&["kind"]), field(&["metadata", "name"]));
        if api_version.is_empty() || kind.is_empty() || obj_name.is_empty() {
            return Err(output_error(
                "a document lacks apiVersion, kind or metadata.name".to_owned(),
            ));
        }
        let role = object["metadata"]["labels"]["role"].as_str();
        for container in ["initContainers", "containers"] {
            for c in object["spec"]["template"]["spec"][container]
                .as_array()
                .into_iter()
                .flatten()
            {
                compiled.images.push(ImageUse {
                    object: format!("{kind}/{}/{obj_name}", field(&["metadata", "namespace"])),
                    container: c["name"].as_str().unwrap_or_default().to_owned(),
                    image: c["image"].as_str().unwrap_or_default().to_owned(),
                    source: String::new(),
                });
            }
        }
        compiled.manifests.push(Manifest {
            rank: apply_rank(&kind, role),
            namespace: field(&["metadata", "namespace"]),
            name: obj_name,
            api_version,
            kind,
            object,
        });
    }
    Ok(())
}
