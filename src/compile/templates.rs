//! The minijinja templates: embedded in the binary (an explicit table, so a test can check that
//! every file in `templates/` is listed and rendered), or read from `--templates DIR`, whose
//! files replace the embedded ones of the same name. Undefined variables are errors.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// Every template file, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("configmap.yaml.j2", include_str!("../../templates/configmap.yaml.j2")),
    (
        "status-rbac.yaml.j2",
        include_str!("../../templates/status-rbac.yaml.j2"),
    ),
    ("podmonitor.yaml.j2", include_str!("../../templates/podmonitor.yaml.j2")),
    ("dataload.yaml.j2", include_str!("../../templates/dataload.yaml.j2")),
    ("databackup.yaml.j2", include_str!("../../templates/databackup.yaml.j2")),
    (
        "loader-rbac.yaml.j2",
        include_str!("../../templates/loader-rbac.yaml.j2"),
    ),
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
    (
        "_credential-mount.j2",
        include_str!("../../templates/_credential-mount.j2"),
    ),
    (
        "_credential-volume.j2",
        include_str!("../../templates/_credential-volume.j2"),
    ),
    ("_ufs-volumes.j2", include_str!("../../templates/_ufs-volumes.j2")),
    ("_tier-mounts.j2", include_str!("../../templates/_tier-mounts.j2")),
    ("_tier-volumes.j2", include_str!("../../templates/_tier-volumes.j2")),
    ("_user-mounts.j2", include_str!("../../templates/_user-mounts.j2")),
    ("_user-volumes.j2", include_str!("../../templates/_user-volumes.j2")),
];

/// The object templates rendered per runtime, in apply order (partials start with `_`).
pub const OBJECT_TEMPLATES: [&str; 12] = [
    "configmap.yaml.j2",
    "status-rbac.yaml.j2",
    "loader-rbac.yaml.j2",
    "master-services.yaml.j2",
    "dataset-volume.yaml.j2",
    "master-statefulset.yaml.j2",
    "mount-job.yaml.j2",
    "worker-statefulset.yaml.j2",
    "fuse-daemonset.yaml.j2",
    "podmonitor.yaml.j2",
    "dataload.yaml.j2",
    "databackup.yaml.j2",
];

/// Template sources, by name.
#[derive(Debug, Clone)]
pub struct Templates {
    sources: BTreeMap<String, String>,
    /// `embedded` or the override directory.
    pub origin: String,
    /// The compiled environment, built once (possibly ahead of time, see [`Templates::environment`]).
    env: std::sync::OnceLock<Result<Environment<'static>, (String, String)>>,
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
            env: std::sync::OnceLock::new(),
        }
    }

    /// The source of template `name`, if there is one.
    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(String::as_str)
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

    /// The minijinja environment over these sources, compiled on first use and kept. Compiling
    /// the templates is a sizeable part of a one-runtime render, so `render` warms this up on
    /// a second thread while validation runs.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when a template does not parse.
    pub fn environment(&self) -> Result<&Environment<'static>, TemplateError> {
        self.env
            .get_or_init(|| {
                let mut env = Environment::new();
                env.set_undefined_behavior(UndefinedBehavior::Strict);
                // minijinja would JSON-escape `*.yaml.j2` output; values are quoted by the `y` filter.
                env.set_auto_escape_callback(|_| AutoEscape::None);
                env.add_filter("merge_map", merge_map);
                env.add_filter("y", yaml_value);
                env.add_filter("literal", literal);
                env.add_filter("block_map", block_map);
                for (name, source) in &self.sources {
                    env.add_template_owned(name.clone(), source.clone())
                        .map_err(|e| (name.clone(), format!("{e:#}")))?;
                }
                Ok(env)
            })
            .as_ref()
            .map_err(|(name, message)| TemplateError::Render {
                name: name.clone(),
                message: message.clone(),
            })
    }
}

/// `x | y`: a value as YAML text on one line: strings plain when YAML (1.1, as kubectl reads it)
/// would read them back as the same string, else JSON-quoted; numbers and booleans as they are;
/// maps and lists as JSON flow collections. Everything a template interpolates goes through it,
/// so no value can break the document's structure.
fn yaml_value(value: Value) -> Result<String, minijinja::Error> {
    if let Some(text) = value.as_str() {
        // Quoting is always correct; long values (JVM options) skip the plain-scalar checks.
        if text.len() > 256 {
            return Ok(serde_json::to_string(text).unwrap_or_default());
        }
        return Ok(if plain_safe(text) {
            text.to_owned()
        } else {
            serde_json::to_string(text).unwrap_or_default()
        });
    }
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            "undefined value",
        ));
    }
    serde_json::to_string(&value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
}

/// `map | block_map(indent)`: a string map as block YAML on the lines after its key (each entry
/// indented by `indent`), or ` {}` when empty. A filter rather than a template macro: macro
/// calls were a third of the render time.
fn block_map(map: Value, indent: usize) -> Result<String, minijinja::Error> {
    let mut out = String::new();
    for key in map.try_iter()? {
        let value = map.get_item(&key)?;
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        out.push_str(&yaml_value(key)?);
        out.push_str(": ");
        out.push_str(&yaml_value(value)?);
    }
    if out.is_empty() {
        out.push_str(" {}");
    }
    Ok(out)
}

/// `text | literal(indent)`: a multi-line string as a YAML literal block (`|`), its lines indented
/// by `indent` spaces, so scripts stay readable in the output.
fn literal(text: String, indent: usize) -> String {
    let chomp = if text.ends_with('\n') { "" } else { "-" };
    let pad = " ".repeat(indent);
    let body: Vec<String> = text
        .trim_end_matches('\n')
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect();
    format!("|{chomp}\n{}", body.join("\n"))
}

/// Whether `text` can be written as a plain YAML scalar, in block and in flow context (the
/// templates use both), and read back as the same string.
fn plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    !"-?!|>'\"%@`~&* ".contains(first)
        && !text.ends_with(' ')
        && !text
            .bytes()
            .any(|b| matches!(b, b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#') || b.is_ascii_control())
        && (text.is_ascii() || !text.chars().any(char::is_control))
        && crate::load::yaml::resolve_non_string(text).is_none()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_when_yaml_would_misread_them() {
        let y = |s: &str| yaml_value(Value::from(s)).unwrap_or_default();
        assert_eq!(y("hbase-master-0"), "hbase-master-0");
        assert_eq!(y("/mnt/disk1/default/hbase"), "/mnt/disk1/default/hbase");
        for (input, quoted) in [
            ("1000:fluid:1000,1000:fluid", "\"1000:fluid:1000,1000:fluid\""),
            ("true", "\"true\""),
            ("yes", "\"yes\""),
            ("0777", "\"0777\""),
            ("1.5", "\"1.5\""),
            ("", "\"\""),
            ("- x", "\"- x\""),
            ("a #b", "\"a #b\""),
            ("{x}", "\"{x}\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("next\u{85}line", "\"next\u{85}line\""),
        ] {
            assert_eq!(y(input), quoted, "{input}");
        }
        assert_eq!(yaml_value(Value::from(3)).unwrap_or_default(), "3");
        assert_eq!(literal("a\nb\n".into(), 2), "|\n  a\n  b");
        assert_eq!(literal("a".into(), 2), "|-\n  a");
    }
}
