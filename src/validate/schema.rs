//! Schema pass: validates each document against the checked-in JSON Schema of its kind and
//! turns every error into a located, readable finding.
//!
//! The validators are generated at build time from `schemas/*.json` (jsonschema's `validator`
//! macro): a process compiles no schema and checks none against the draft-07 meta-schema, which
//! was most of a short run's time. A schema that is not valid draft-07 fails the build.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ErrorIterator, JsonType};
use serde_json::Value;

use super::codes::Code;
use super::document::DocCtx;
use super::path::{FieldPath, Segment};
use crate::load::NodeValue;
use crate::model::Kind;
use crate::model::schema::{DEF_REF, DEFINITIONS};

#[jsonschema::validator(path = "schemas/goosefsruntime.json", draft = Draft7)]
struct RuntimeValidator;

#[jsonschema::validator(path = "schemas/dataset.json", draft = Draft7)]
struct DatasetValidator;

#[jsonschema::validator(path = "schemas/dataload.json", draft = Draft7)]
struct DataLoadValidator;

#[jsonschema::validator(path = "schemas/databackup.json", draft = Draft7)]
struct DataBackupValidator;

/// The schema texts the validators were generated from. Besides giving messages their field
/// names, `include_str!` makes the compiler rebuild this module when a schema changes (the
/// macro reads the file without telling the compiler).
const RUNTIME_SCHEMA: &str = include_str!("../../schemas/goosefsruntime.json");
const DATASET_SCHEMA: &str = include_str!("../../schemas/dataset.json");
const DATALOAD_SCHEMA: &str = include_str!("../../schemas/dataload.json");
const DATABACKUP_SCHEMA: &str = include_str!("../../schemas/databackup.json");

/// The validator of one kind and the schema it was generated from (to look up field names and
/// types for messages).
pub struct CompiledSchema {
    iter_errors: fn(&Value) -> ErrorIterator<'_>,
    /// The schema text, parsed (once) only when a finding needs field names: most runs need none.
    text: &'static str,
    raw: OnceLock<Value>,
}

/// The schema of `kind`, shared by all threads.
pub fn compiled(kind: Kind) -> &'static CompiledSchema {
    static RUNTIME: CompiledSchema = CompiledSchema {
        iter_errors: RuntimeValidator::iter_errors,
        text: RUNTIME_SCHEMA,
        raw: OnceLock::new(),
    };
    static DATASET: CompiledSchema = CompiledSchema {
        iter_errors: DatasetValidator::iter_errors,
        text: DATASET_SCHEMA,
        raw: OnceLock::new(),
    };
    static DATALOAD: CompiledSchema = CompiledSchema {
        iter_errors: DataLoadValidator::iter_errors,
        text: DATALOAD_SCHEMA,
        raw: OnceLock::new(),
    };
    static DATABACKUP: CompiledSchema = CompiledSchema {
        iter_errors: DataBackupValidator::iter_errors,
        text: DATABACKUP_SCHEMA,
        raw: OnceLock::new(),
    };
    match kind {
        Kind::GooseFsRuntime => &RUNTIME,
        Kind::Dataset => &DATASET,
        Kind::DataLoad => &DATALOAD,
        Kind::DataBackup => &DATABACKUP,
    }
}

impl CompiledSchema {
    /// Reports every schema error of `value` (not just the first). Returns whether any error
    /// other than an unknown field was found (then the typed model cannot be built).
    pub(crate) fn check(&self, value: &Value, ctx: &mut DocCtx<'_>) -> bool {
        let mut structural = false;
        for error in (self.iter_errors)(value) {
            let path = FieldPath::from_pointer(error.instance_path().as_str(), ctx.root);
            if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind() {
                for field in unexpected {
                    self.unknown_field(&path, field, ctx);
                }
                continue;
            }
            structural = true;
            self.schema_error(&path, error.kind(), &error.to_string(), ctx);
        }
        structural
    }

    /// The full schema.
    fn raw(&self) -> &Value {
        self.raw
            .get_or_init(|| serde_json::from_str(self.text).unwrap_or(Value::Null))
    }

    fn unknown_field(&self, parent: &FieldPath, field: &str, ctx: &mut DocCtx<'_>) {
        let known: Vec<String> = self
            .at(parent)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let help = closest(field, &known).map(|k| format!("did you mean \"{k}\"?"));
        let path = parent.key(field);
        let where_ = if parent.0.is_empty() {
            "the object".to_owned()
        } else {
            parent.to_string()
        };
        ctx.report(
            Code::GFS003,
            &path,
            true,
            format!("unknown field \"{field}\" in {where_}"),
            help,
        );
    }

    fn schema_error(&self, path: &FieldPath, kind: &ValidationErrorKind, fallback: &str, ctx: &mut DocCtx<'_>) {
        let node = locate_node(ctx, path);
        let secret = matches!(path.0.last(), Some(Segment::Key(k)) if super::rules::looks_like_credential(k));
        let found = match node {
            Some(n) if secret => format!("a {} (value not shown)", n.type_name()),
            Some(n) => describe(n),
            None => "nothing".to_owned(),
        };
        let (message, help, target) = match kind {
            ValidationErrorKind::Type { kind } => {
                let expected = expected_types(kind);
                let wants_string = expected.contains(&"string");
                let help = match node.map(|n| &n.value) {
                    Some(NodeValue::Int(_) | NodeValue::UInt(_) | NodeValue::Float(_) | NodeValue::Bool(_))
                        if wants_string =>
                    {
                        let raw = if secret {
                            "<value>".to_owned()
                        } else {
                            raw_scalar(ctx, path).unwrap_or_else(|| found.clone())
                        };
                        Some(format!(
                            "YAML reads the unquoted value {raw} as a {}; quote it: \"{raw}\"",
                            node.map_or("scalar", |n| n.type_name())
                        ))
                    }
                    Some(NodeValue::Str(s)) if expected.contains(&"integer") && s.trim().parse::<i64>().is_ok() => {
                        Some(format!("remove the quotes: {}", s.trim()))
                    }
                    _ => None,
                };
                (
                    format!("expected {}, found {found}", expected.join(" or ")),
                    help,
                    path.clone(),
                )
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let owner = if path.0.is_empty() {
                    "the object".to_owned()
                } else {
                    path.to_string()
                };
                (
                    format!("missing required field \"{name}\" in {owner}"),
                    None,
                    path.key(name),
                )
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(Value::to_string).collect())
                    .unwrap_or_default();
                let help = node.and_then(|n| n.as_str()).and_then(|s| {
                    options
                        .as_array()?
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|o| o.eq_ignore_ascii_case(s))
                        .map(|o| format!("did you mean \"{o}\"?"))
                });
                (
                    format!("{found} is not one of {}", allowed.join(", ")),
                    help,
                    path.clone(),
                )
            }
            ValidationErrorKind::Pattern { .. } => {
                let schema = self.at(path);
                let is_quantity = schema.is_some_and(|s| s.get("x-kubernetes-int-or-string").is_some());
                let is_list = path.0.last() == Some(&Segment::Key("quotaList".into()));
                let message = if is_quantity {
                    format!("{found} is not a Kubernetes quantity")
                } else if is_list {
                    format!("{found} is not a comma-separated list of at least two quantities")
                } else {
                    format!("{found} does not have the required format")
                };
                let help = Some(if is_list {
                    "write quantities separated by commas without spaces, e.g. 100Gi,50Gi".to_owned()
                } else if is_quantity {
                    "use a number with an optional suffix: Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000), e.g. 2Gi".to_owned()
                } else {
                    fallback.to_owned()
                });
                (message, help, path.clone())
            }
            ValidationErrorKind::AnyOf { .. }
                if self
                    .at(path)
                    .is_some_and(|s| s.get("x-kubernetes-int-or-string").is_some()) =>
            {
                (
                    format!("expected a quantity (an integer or a string such as 2Gi), found {found}"),
                    None,
                    path.clone(),
                )
            }
            ValidationErrorKind::Minimum { limit } => {
                (format!("must be at least {limit}, found {found}"), None, path.clone())
            }
            ValidationErrorKind::MinLength { limit } => (
                format!("must be at least {limit} characters long, found {found}"),
                None,
                path.clone(),
            ),
            ValidationErrorKind::MinItems { limit } => (
                format!("must have at least {limit} item(s), found an empty list"),
                None,
                path.clone(),
            ),
            ValidationErrorKind::Constant { expected_value } => {
                (format!("must be {expected_value}, found {found}"), None, path.clone())
            }
            _ => (fallback.to_owned(), None, path.clone()),
        };
        ctx.report(Code::GFS002, &target, false, message, help);
    }

    /// The schema node describing the value at `path` (following `$ref`s and nullable `anyOf`).
    fn at(&self, path: &FieldPath) -> Option<&Value> {
        let mut node = self.resolve(self.raw())?;
        for segment in &path.0 {
            let next = match segment {
                Segment::Key(k) => node
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
                Segment::Index(_) => node.get("items"),
            }?;
            node = self.resolve(next)?;
        }
        Some(node)
    }

    fn resolve<'a>(&'a self, mut node: &'a Value) -> Option<&'a Value> {
        for _ in 0..16 {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                node = self.raw().get(DEFINITIONS)?.get(r.trim_start_matches(DEF_REF))?;
            } else if let Some(branches) = node.get("anyOf").and_then(Value::as_array)
                && node.get("x-kubernetes-int-or-string").is_none()
            {
                node = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))?;
            } else {
                return Some(node);
            }
        }
        Some(node)
    }
}

fn locate_node<'a>(ctx: &DocCtx<'a>, path: &FieldPath) -> Option<&'a crate::load::Node> {
    let mut node = ctx.root;
    for segment in &path.0 {
        node = match segment {
            Segment::Key(k) => node.get(k)?,
            Segment::Index(i) => node.index(*i)?,
        };
    }
    Some(node)
}

/// The value as written on its line (`yes`, `0.8`, `0777`), for hints.
fn raw_scalar(ctx: &DocCtx<'_>, path: &FieldPath) -> Option<String> {
    let pos = path.locate(ctx.root, false);
    let line = crate::load::line_text(ctx.text, pos)?;
    let start = line
        .char_indices()
        .nth(usize::try_from(pos.column).ok()?.checked_sub(1)?)?
        .0;
    let rest = &line[start..];
    // Only numbers and booleans get here, and none contains a flow separator: the scalar ends at
    // the first `,`, `]` or `}` (flow style: `{high: 0.9}]}`), or at a comment.
    let end = rest
        .find([',', ']', '}'])
        .into_iter()
        .chain(rest.find(" #"))
        .min()
        .unwrap_or(rest.len());
    let raw = rest[..end].trim().to_owned();
    (!raw.is_empty()).then_some(raw)
}

fn describe(node: &crate::load::Node) -> String {
    match &node.value {
        NodeValue::Null => "null".to_owned(),
        NodeValue::Bool(b) => format!("boolean {b}"),
        NodeValue::Int(i) => format!("integer {i}"),
        NodeValue::UInt(u) => format!("integer {u}"),
        NodeValue::Float(f) => format!("number {f}"),
        NodeValue::Str(s) => {
            let shown: String = s.chars().take(60).collect();
            if shown.len() < s.len() {
                format!("string \"{shown}...\"")
            } else {
                format!("string \"{shown}\"")
            }
        }
        NodeValue::Seq(_) => "a list".to_owned(),
        NodeValue::Map(_) => "a mapping".to_owned(),
    }
}

fn type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Array => "a list",
        JsonType::Boolean => "boolean",
        JsonType::Integer => "integer",
        JsonType::Null => "null",
        JsonType::Number => "number",
        JsonType::Object => "a mapping",
        JsonType::String => "string",
    }
}

fn expected_types(kind: &TypeKind) -> Vec<&'static str> {
    match kind {
        TypeKind::Single(t) => vec![type_name(*t)],
        TypeKind::Multiple(set) => set.iter().filter(|t| *t != JsonType::Null).map(type_name).collect(),
    }
}

/// The known name closest to `field` (edit distance at most 2, or equal ignoring case).
pub(crate) fn closest<'a>(field: &str, known: &'a [String]) -> Option<&'a String> {
    known
        .iter()
        .map(|k| (edit_distance(&field.to_ascii_lowercase(), &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, k)| (*d, (*k).clone()))
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let known = vec!["replicas".to_owned(), "resources".to_owned(), "properties".to_owned()];
        assert_eq!(closest("replica", &known).map(String::as_str), Some("replicas"));
        assert_eq!(closest("Replicas", &known).map(String::as_str), Some("replicas"));
        assert_eq!(closest("zzz", &known), None);
    }

    /// The generated validators enforce the checked-in schemas: a document breaking one
    /// constraint of each common kind is caught, and the reference case passes.
    #[test]
    fn generated_validators_enforce_the_checked_in_schemas() {
        let runtime = compiled(Kind::GooseFsRuntime);
        let dataset = compiled(Kind::Dataset);
        let good = serde_json::json!({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "GooseFSRuntime",
            "metadata": {"name": "hbase"},
            "spec": {"replicas": 3, "master": {"replicas": 3}}
        });
        assert_eq!((runtime.iter_errors)(&good).count(), 0);
        let bad = serde_json::json!({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "GooseFSRuntime",
            "metadata": {"name": "hbase"},
            "spec": {"replicas": "3", "bogus": 1, "status": {}}
        });
        let kinds: Vec<String> = (runtime.iter_errors)(&bad)
            .map(|e| format!("{} {:?}", e.instance_path().as_str(), e.kind()))
            .collect();
        assert!(kinds.iter().any(|k| k.starts_with("/spec/replicas Type")), "{kinds:?}");
        assert!(
            kinds.iter().any(|k| k.starts_with("/spec AdditionalProperties")),
            "{kinds:?}"
        );
        // A lazily walked subtree in earlier versions: a tier level's volume source.
        let volume = serde_json::json!({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "GooseFSRuntime",
            "metadata": {"name": "hbase"},
            "spec": {"tieredstore": {"levels": [{"mediumtype": "MEM", "quota": "1Gi",
                "volumeSource": {"emptyDir": {"sizeLimit": []}}}]}}
        });
        assert!((runtime.iter_errors)(&volume).any(|e| e.instance_path().as_str().contains("volumeSource")));
        let no_mounts = serde_json::json!({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
            "metadata": {"name": "hbase"}, "spec": {"mounts": [{"name": "x"}]}
        });
        assert!((dataset.iter_errors)(&no_mounts).any(|e| matches!(e.kind(), ValidationErrorKind::Required { .. })));
    }

    /// The checked-in schemas are valid draft-07 (the build would fail otherwise; checked here
    /// too so the reason is named).
    #[test]
    fn checked_in_schemas_are_valid_draft_07() {
        for text in [RUNTIME_SCHEMA, DATASET_SCHEMA] {
            let schema: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            assert!(
                jsonschema::meta::is_valid(&schema),
                "a checked-in schema is not valid draft-07"
            );
        }
    }
}
