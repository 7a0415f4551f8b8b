//! Schema pass: validates each document against the checked-in JSON Schema of its kind
//! (compiled once per process) and turns every error into a located, readable finding.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, Validator};
use serde_json::Value;

use super::codes::Code;
use super::document::DocCtx;
use super::path::{FieldPath, Segment};
use crate::load::NodeValue;
use crate::model::Kind;
use crate::model::schema::{DEF_REF, DEFINITIONS};

/// The schemas enforced, as checked into `schemas/` (a test keeps them equal to the model),
/// without their annotations (`description`, `title`: build.rs strips them), which constrain
/// nothing and would double the text every process parses; a test holds the two copies to the
/// same constraints.
const RUNTIME_SCHEMA: &str = include_str!(concat!(env!("OUT_DIR"), "/goosefsruntime.validation.json"));
const DATASET_SCHEMA: &str = include_str!(concat!(env!("OUT_DIR"), "/dataset.validation.json"));

/// A compiled schema and its JSON (kept to look up field names and types for messages).
///
/// Compiling is most of a short run's time, so subtrees that user input rarely has (`status`,
/// a tier level's `volumeSource`, together half of the schema) are compiled apart, on first
/// use: the core schema accepts any object there and the part validates it.
pub struct CompiledSchema {
    validator: Validator,
    /// The schema the validator was built from, kept: the process never pays for freeing it.
    _core: Value,
    /// The schema text, parsed again (once) only when a finding needs field names or a lazy
    /// part is first used: most runs need neither, and parsing is a fifth of a short run.
    text: &'static str,
    raw: OnceLock<Value>,
    parts: Vec<LazyPart>,
}

/// A subtree validated by its own, lazily compiled validator.
struct LazyPart {
    /// The instance paths it covers, as a JSON pointer where `*` stands for any list index.
    at: &'static str,
    /// Where its schema sits in the full schema.
    pointer: &'static str,
    validator: OnceLock<Result<Validator, String>>,
}

/// Subtrees compiled apart, on first use: each is absent from most documents, and with the
/// definitions only they reach (a status's conditions, every kind of volume source) they are
/// about half of the schema. (instance pattern, schema pointer); a pointer a kind's schema does
/// not have is skipped.
const LAZY_PARTS: [(&str, &str); 4] = [
    ("/status", "/properties/status"),
    (
        "/spec/tieredstore/levels/*/volumeSource",
        "/definitions/Level/properties/volumeSource",
    ),
    (
        "/metadata/managedFields",
        "/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta/properties/managedFields",
    ),
    (
        "/metadata/ownerReferences",
        "/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta/properties/ownerReferences",
    ),
];

/// The names of the definitions `schema` reaches through `definitions`, transitively. jsonschema
/// checks every schema it compiles against the meta-schema, definitions included, so a schema
/// carrying unused definitions would pay for checking them.
fn reached_definitions(schema: &Value, definitions: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut reached: Vec<String> = Vec::new();
    let mut pending = Vec::new();
    collect_refs(schema, &mut pending);
    while let Some(name) = pending.pop() {
        if reached.contains(&name) {
            continue;
        }
        if let Some(definition) = definitions.get(&name) {
            collect_refs(definition, &mut pending);
            reached.push(name);
        }
    }
    reached
}

/// The definition names `schema` refers to directly (`#/definitions/<name>`).
fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(DEF_REF) {
                            out.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

/// The instances matching `pattern` in `value`, with their JSON pointers.
fn instances<'v>(pattern: &str, value: &'v Value) -> Vec<(String, &'v Value)> {
    let mut found = vec![(String::new(), value)];
    for segment in pattern.split('/').skip(1) {
        found = found
            .into_iter()
            .flat_map(|(pointer, v)| match (segment, v) {
                ("*", Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{pointer}/{i}"), item))
                    .collect::<Vec<_>>(),
                (key, Value::Object(map)) => map
                    .get(key)
                    .map(|child| vec![(format!("{pointer}/{key}"), child)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect();
    }
    found
}

/// Why the embedded schemas cannot be used (a build defect, never user input).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The embedded text is not JSON or not a valid schema.
    #[error("embedded schema for {kind} is invalid: {message}")]
    Invalid {
        /// The kind whose schema failed.
        kind: Kind,
        /// Parser or compiler message.
        message: String,
    },
}

/// The compiled schema of `kind`, built on first use and shared by all threads.
///
/// # Errors
/// [`SchemaError::Invalid`] when the embedded schema does not compile.
pub fn compiled(kind: Kind) -> Result<&'static CompiledSchema, SchemaError> {
    static RUNTIME: OnceLock<Result<CompiledSchema, String>> = OnceLock::new();
    static DATASET: OnceLock<Result<CompiledSchema, String>> = OnceLock::new();
    let (cell, text) = match kind {
        Kind::GooseFsRuntime => (&RUNTIME, RUNTIME_SCHEMA),
        Kind::Dataset => (&DATASET, DATASET_SCHEMA),
    };
    cell.get_or_init(|| compile(text))
        .as_ref()
        .map_err(|message| SchemaError::Invalid {
            kind,
            message: message.clone(),
        })
}

fn compile(text: &'static str) -> Result<CompiledSchema, String> {
    let mut core: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    for (at, pointer) in LAZY_PARTS {
        if let Some(node) = core.pointer_mut(pointer) {
            *node = serde_json::json!({});
            parts.push(LazyPart {
                at,
                pointer,
                validator: OnceLock::new(),
            });
        }
    }
    // Only the definitions the core still reaches (moved, not copied): its own, blanked ones.
    if let Some(Value::Object(mut definitions)) = core.as_object_mut().and_then(|m| m.remove(DEFINITIONS)) {
        let kept: serde_json::Map<String, Value> = reached_definitions(&core, &definitions)
            .into_iter()
            .filter_map(|name| definitions.remove(&name).map(|d| (name, d)))
            .collect();
        core[DEFINITIONS] = Value::Object(kept);
    }
    let validator = jsonschema::draft7::new(&core).map_err(|e| e.to_string())?;
    Ok(CompiledSchema {
        validator,
        _core: core,
        text,
        raw: OnceLock::new(),
        parts,
    })
}

impl CompiledSchema {
    /// Reports every schema error of `value` (not just the first). Returns whether any error
    /// other than an unknown field was found (then the typed model cannot be built).
    pub(crate) fn check(&self, value: &Value, ctx: &mut DocCtx<'_>) -> bool {
        let mut structural = self.check_with(&self.validator, "", value, ctx);
        for part in &self.parts {
            for (prefix, instance) in instances(part.at, value) {
                let validator = part.validator.get_or_init(|| self.compile_part(part.pointer));
                match validator {
                    Ok(v) => structural |= self.check_with(v, &prefix, instance, ctx),
                    Err(message) => {
                        // A build defect: say so where it bites rather than accept silently.
                        ctx.report(
                            Code::GFS002,
                            &FieldPath::from_pointer(&prefix, ctx.root),
                            false,
                            format!("internal schema error, this subtree was not checked: {message}"),
                            None,
                        );
                        structural = true;
                    }
                }
            }
        }
        structural
    }

    /// The full schema.
    fn raw(&self) -> &Value {
        self.raw
            .get_or_init(|| serde_json::from_str(self.text).unwrap_or(Value::Null))
    }

    /// Compiles the subtree at `pointer` with the definitions it may refer to.
    fn compile_part(&self, pointer: &str) -> Result<Validator, String> {
        let raw = self.raw();
        let mut schema = raw
            .pointer(pointer)
            .cloned()
            .ok_or_else(|| format!("no schema at {pointer}"))?;
        if let (Some(Value::Object(definitions)), true) = (raw.get(DEFINITIONS), schema.is_object()) {
            let kept: serde_json::Map<String, Value> = reached_definitions(&schema, definitions)
                .into_iter()
                .filter_map(|name| definitions.get(&name).map(|d| (name, d.clone())))
                .collect();
            schema[DEFINITIONS] = Value::Object(kept);
        }
        jsonschema::draft7::new(&schema).map_err(|e| e.to_string())
    }

    fn check_with(&self, validator: &Validator, prefix: &str, value: &Value, ctx: &mut DocCtx<'_>) -> bool {
        let mut structural = false;
        for error in validator.iter_errors(value) {
            let pointer = format!("{prefix}{}", error.instance_path().as_str());
            let path = FieldPath::from_pointer(&pointer, ctx.root);
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

    #[test]
    fn embedded_schemas_compile() {
        assert!(compiled(Kind::GooseFsRuntime).is_ok());
        assert!(compiled(Kind::Dataset).is_ok());
    }

    /// Drops annotations the way build.rs does, written again here so the two can be compared.
    fn without_annotations(node: &Value, in_map_of_schemas: bool) -> Value {
        match node {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| in_map_of_schemas || !matches!(k.as_str(), "description" | "title"))
                    .map(|(k, v)| {
                        let child = match k.as_str() {
                            _ if in_map_of_schemas => without_annotations(v, false),
                            "properties" | "definitions" | "$defs" | "patternProperties" => {
                                without_annotations(v, true)
                            }
                            "enum" | "const" | "default" | "examples" | "required" => v.clone(),
                            _ => without_annotations(v, false),
                        };
                        (k.clone(), child)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| without_annotations(i, false)).collect()),
            other => other.clone(),
        }
    }

    /// The embedded copies are the checked-in schemas minus annotations, nothing more; and the
    /// checked-in schemas are valid draft-07 schemas (checked here once, not in every process).
    #[test]
    fn embedded_copies_keep_every_constraint_of_the_checked_in_schemas() {
        for (embedded, checked_in) in [
            (RUNTIME_SCHEMA, include_str!("../../schemas/goosefsruntime.json")),
            (DATASET_SCHEMA, include_str!("../../schemas/dataset.json")),
        ] {
            let embedded: Value = serde_json::from_str(embedded).unwrap_or(Value::Null);
            let checked_in: Value = serde_json::from_str(checked_in).unwrap_or(Value::Null);
            assert!(
                jsonschema::meta::is_valid(&checked_in),
                "a checked-in schema is not valid draft-07"
            );
            assert_eq!(embedded, without_annotations(&checked_in, false));
            assert!(
                embedded.to_string().len() < checked_in.to_string().len(),
                "annotations were stripped"
            );
            // A property called `description` (there is none today) would be kept.
            let tricky = serde_json::json!({"properties": {"description": {"type": "string", "description": "x"}}});
            assert_eq!(
                without_annotations(&tricky, false),
                serde_json::json!({"properties": {"description": {"type": "string"}}})
            );
        }
    }
}
