//! The minijinja templates: embedded in the binary (an explicit table, so a test can check that
//! every file in `templates/` is listed and rendered), or read from `--templates DIR`, whose
//! files replace the embedded ones of the same name. Undefined variables are errors.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value};

/// Every template file, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("configmap.yaml.j2", include_str!("../../templates/configmap.yaml.j2")),
    (
        "master-services.yaml.j2",
        include_str!("../../templates/master-services.yaml.j2"),
    ),
    (
        "dataset-volume.yaml.j2",
        include_str!("../../templates/dataset-volume.yaml.j2"),
    ),
    (
        "master-statefulset.yaml.j2",
        include_str!("../../templates/master-statefulset.yaml.j2"),
    ),
    ("mount-job.yaml.j2", include_str!("../../templates/mount-job.yaml.j2")),
    (
        "worker-statefulset.yaml.j2",
        include_str!("../../templates/worker-statefulset.yaml.j2"),
    ),
    (
        "fuse-daemonset.yaml.j2",
        include_str!("../../templates/fuse-daemonset.yaml.j2"),
    ),
    ("_ufs-mounts.j2", include_str!("../../templates/_ufs-mounts.j2")),
    ("_ufs-volumes.j2", include_str!("../../templates/_ufs-volumes.j2")),
    ("_tier-mounts.j2", include_str!("../../templates/_tier-mounts.j2")),
    ("_tier-volumes.j2", include_str!("../../templates/_tier-volumes.j2")),
];

/// The object templates rendered per runtime, in apply order (partials start with `_`).
pub const OBJECT_TEMPLATES: [&str; 7] = [
    "configmap.yaml.j2",
    "master-services.yaml.j2",
    "dataset-volume.yaml.j2",
    "master-statefulset.yaml.j2",
    "mount-job.yaml.j2",
    "worker-statefulset.yaml.j2",
    "fuse-daemonset.yaml.j2",
];

/// Template sources, by name.
#[derive(Debug, Clone)]
pub struct Templates {
    sources: BTreeMap<String, String>,
    /// `embedded` or the override directory.
    pub origin: String,
}

/// Why templates cannot be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The override directory cannot be read.
    #[error("cannot read templates from {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A template does not parse or render.
    #[error("template {name}: {message}")]
    Render {
        /// Template name.
        name: String,
        /// minijinja's message with its location.
        message: String,
    },
}

impl Templates {
    /// The embedded templates.
    pub fn embedded() -> Templates {
        Templates {
            sources: EMBEDDED
                .iter()
                .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
                .collect(),
            origin: "embedded".to_owned(),
        }
    }

    /// The embedded templates with the `*.j2` files of `dir` replacing (or adding to) them.
    ///
    /// # Errors
    /// [`TemplateError::Io`] when the directory or a file cannot be read.
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let io = |source| TemplateError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut templates = Templates::embedded();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).filter(|n| n.ends_with(".j2")) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io)?;
            templates.sources.insert(name.to_owned(), text);
        }
        templates.origin = dir.display().to_string();
        Ok(templates)
    }

    /// A minijinja environment over these sources.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when a template does not parse.
    pub fn environment(&self) -> Result<Environment<'_>, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("merge_map", merge_map);
        for (name, source) in &self.sources {
            env.add_template(name, source).map_err(|e| TemplateError::Render {
                name: name.clone(),
                message: format!("{e:#}"),
            })?;
        }
        Ok(env)
    }
}

/// `a | merge_map(b)`: the entries of both maps, `b` winning.
fn merge_map(a: Value, b: Value) -> Result<Value, minijinja::Error> {
    let mut out = BTreeMap::new();
    for map in [a, b] {
        for key in map.try_iter()? {
            let value = map.get_item(&key)?;
            out.insert(key.to_string(), value);
        }
    }
    Ok(Value::from(out))
}
