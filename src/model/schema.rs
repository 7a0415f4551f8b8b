//! JSON Schemas and CRDs generated from the model.
//!
//! `schemas/*.json` (checked in, embedded in the binary, enforced by `validate`) are produced
//! here, so editors using the files see exactly what the tool enforces. Generation is pure:
//! `kubectl goosefs schema --out DIR` writes the result.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{DataBackup, DataLoad, Dataset, GooseFsRuntime, Kind, quantity::quantity_schema};

/// Where definitions live (draft-07, the draft editors' YAML language servers support best, and
/// whose single meta-schema is cheap to check at start-up).
pub const DEFINITIONS: &str = "definitions";
/// The `$ref` prefix of a definition.
pub const DEF_REF: &str = "#/definitions/";

/// The name k8s-openapi gives its `Quantity` definition; replaced by our int-or-string schema.
const K8S_QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// File name of the JSON Schema of `kind` inside `schemas/`.
pub fn file_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Dataset => "dataset.json",
        Kind::GooseFsRuntime => "goosefsruntime.json",
        Kind::DataLoad => "dataload.json",
        Kind::DataBackup => "databackup.json",
    }
}

/// The strict JSON Schema (draft-07) of `kind`: unknown fields are rejected everywhere,
/// as kubectl's strict field validation does.
pub fn json_schema(kind: Kind) -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = match kind {
        Kind::Dataset => generator.into_root_schema_for::<Dataset>(),
        Kind::GooseFsRuntime => generator.into_root_schema_for::<GooseFsRuntime>(),
        Kind::DataLoad => generator.into_root_schema_for::<DataLoad>(),
        Kind::DataBackup => generator.into_root_schema_for::<DataBackup>(),
    };
    let mut value = schema.to_value();
    if let Some(defs) = value.get_mut(DEFINITIONS).and_then(Value::as_object_mut)
        && defs.contains_key(K8S_QUANTITY)
    {
        defs.insert(K8S_QUANTITY.to_owned(), quantity_schema().to_value());
    }
    tighten(&mut value);
    // Kubernetes' own descriptions make up half of the schema text, and every process that
    // validates parses and compiles the embedded schema: drop them (Fluid's own fields keep
    // theirs; editors show Kubernetes' docs from their own schemas).
    if let Some(defs) = value.get_mut(DEFINITIONS).and_then(Value::as_object_mut) {
        for (name, def) in defs.iter_mut() {
            if name.starts_with("io.k8s.") {
                strip_descriptions(def);
            }
        }
    }
    value
}

fn strip_descriptions(node: &mut Value) {
    match node {
        Value::Object(map) => {
            map.remove("description");
            map.values_mut().for_each(strip_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// The pretty-printed text of [`json_schema`], as checked into `schemas/` (with a final newline).
pub fn json_schema_text(kind: Kind) -> String {
    let mut text = serde_json::to_string_pretty(&json_schema(kind)).unwrap_or_default();
    text.push('\n');
    text
}

/// Rejects unknown fields in every object that lists its properties, turns schemars'
/// `oneOf` of documented string constants into a plain `enum` (better messages, and the form
/// Kubernetes' structural schemas accept), and makes optional fields plain optional: `null` is
/// removed from types and `anyOf [T, null]` becomes `T`. Kubernetes prunes `null` values of
/// non-nullable fields (and `load` drops them likewise), and `anyOf` would hide every error
/// inside an optional object behind one opaque "not valid under anyOf".
fn tighten(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if let [single] = types.as_slice() {
            let single = single.clone();
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        let non_null: Vec<&Value> = branches
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let ([Value::Object(only)], true) = (non_null.as_slice(), non_null.len() < branches.len()) {
            let only = only.clone();
            map.remove("anyOf");
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
    // Draft-07 ignores keywords beside `$ref`, so schemars wraps references that carry a
    // description or default in `allOf: [{$ref}]`; those siblings are annotations only, so a
    // plain `$ref` validates the same and keeps paths and messages simple.
    if let Some(Value::Array(all)) = map.get("allOf")
        && let [Value::Object(only)] = all.as_slice()
        && only.len() == 1
        && let Some(target) = only.get("$ref").cloned()
    {
        map.remove("allOf");
        map.insert("$ref".into(), target);
    }
    if map.contains_key("properties") && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Array(branches)) = map.get("oneOf") {
        let consts: Option<Vec<Value>> = branches
            .iter()
            .map(|b| b.get("const").filter(|c| c.is_string()).cloned())
            .collect();
        if let Some(consts) = consts {
            map.remove("oneOf");
            map.insert("type".into(), json!("string"));
            map.insert("enum".into(), Value::Array(consts));
        }
    }
    // Recurse into subschemas only: `properties`/`definitions` map names to schemas, and values such
    // as `default` or `enum` are data that must stay untouched.
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "definitions" | "$defs" | "patternProperties", Value::Object(children)) => {
                children.values_mut().for_each(tighten);
            }
            ("items" | "additionalProperties" | "not", child @ Value::Object(_)) => tighten(child),
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(children)) => {
                children.iter_mut().for_each(tighten)
            }
            _ => {}
        }
    }
}

/// An installable `CustomResourceDefinition` for `kind`, equivalent to Fluid's (names, short
/// names, printer columns, status and scale subresources), with a structural schema derived
/// from [`json_schema`].
pub fn crd(kind: Kind) -> Value {
    let schema = json_schema(kind);
    let defs = schema
        .get(DEFINITIONS)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut root = structural(&schema, &defs, 0);
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("metadata".into(), json!({"type": "object"}));
    }
    if let Some(obj) = root.as_object_mut() {
        obj.remove("required");
    }
    // A DataLoad's affinity is Kubernetes' whole Affinity type, nested 70 levels deep once
    // inlined (deeper than YAML tools read by default): the server keeps it as given, and
    // `validate` checks it against the full schema.
    if kind == Kind::DataLoad
        && let Some(affinity) = root.pointer_mut("/properties/spec/properties/affinity")
    {
        *affinity = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    }
    let (plural, singular, short, columns, subresources) = match kind {
        Kind::GooseFsRuntime => (
            "goosefsruntimes",
            "goosefsruntime",
            "goose",
            json!([
                {"jsonPath": ".status.masterNumberReady", "name": "Ready Masters", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.desiredMasterNumberScheduled", "name": "Desired Masters", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.masterPhase", "name": "Master Phase", "type": "string"},
                {"jsonPath": ".status.workerNumberReady", "name": "Ready Workers", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.desiredWorkerNumberScheduled", "name": "Desired Workers", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.workerPhase", "name": "Worker Phase", "type": "string"},
                {"jsonPath": ".status.fuseNumberReady", "name": "Ready Fuses", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.desiredFuseNumberScheduled", "name": "Desired Fuses", "priority": 10, "type": "integer"},
                {"jsonPath": ".status.fusePhase", "name": "Fuse Phase", "type": "string"},
                {"jsonPath": ".status.apiGateway.endpoint", "name": "API Gateway", "priority": 10, "type": "string"},
                {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
            ]),
            json!({"status": {}, "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.currentWorkerNumberScheduled",
                "labelSelectorPath": ".status.selector"}}),
        ),
        Kind::Dataset => (
            "datasets",
            "dataset",
            "dataset",
            json!([
                {"jsonPath": ".status.ufsTotal", "name": "Ufs Total Size", "type": "string"},
                {"jsonPath": ".status.cacheStates.cached", "name": "Cached", "type": "string"},
                {"jsonPath": ".status.cacheStates.cacheCapacity", "name": "Cache Capacity", "type": "string"},
                {"jsonPath": ".status.cacheStates.cachedPercentage", "name": "Cached Percentage", "type": "string"},
                {"jsonPath": ".status.phase", "name": "Phase", "type": "string"},
                {"jsonPath": ".status.hcfs.endpoint", "name": "HCFS URL", "priority": 10, "type": "string"},
                {"jsonPath": ".status.fileNum", "name": "TOTAL FILES", "priority": 11, "type": "string"},
                {"jsonPath": ".status.cacheStates.cacheHitRatio", "name": "CACHE HIT RATIO", "priority": 10, "type": "string"},
                {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
            ]),
            json!({"status": {}}),
        ),
        Kind::DataLoad => (
            "dataloads",
            "dataload",
            "load",
            json!([
                {"jsonPath": ".spec.dataset.name", "name": "Dataset", "type": "string"},
                {"jsonPath": ".status.phase", "name": "Phase", "type": "string"},
                {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"},
                {"jsonPath": ".status.duration", "name": "Duration", "type": "string"}
            ]),
            json!({"status": {}}),
        ),
        // Fluid's columns: where the file went and on which node, from status.infos.
        Kind::DataBackup => (
            "databackups",
            "databackup",
            "backup",
            json!([
                {"jsonPath": ".spec.dataset", "name": "Dataset", "type": "string"},
                {"jsonPath": ".status.phase", "name": "Phase", "type": "string"},
                {"jsonPath": ".status.infos.BackupLocationPath", "name": "Path", "type": "string"},
                {"jsonPath": ".status.infos.BackupLocationNodeName", "name": "NodeName", "type": "string"},
                {"jsonPath": ".status.duration", "name": "Duration", "type": "string"},
                {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
            ]),
            json!({"status": {}}),
        ),
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.{}", super::API_GROUP),
            "labels": {"app.kubernetes.io/managed-by": "kubectl-goosefs"}
        },
        "spec": {
            "group": super::API_GROUP,
            "names": {
                "kind": kind.as_str(),
                "listKind": format!("{}List", kind.as_str()),
                "plural": plural,
                "singular": singular,
                "shortNames": [short],
                "categories": ["fluid"]
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1",
                "served": true,
                "storage": true,
                "additionalPrinterColumns": columns,
                "subresources": subresources,
                "schema": {"openAPIV3Schema": root}
            }]
        }
    })
}

/// Rewrites a draft 2020-12 schema node into a Kubernetes structural schema: `$ref`s inlined,
/// `null` alternatives turned into `nullable`, keywords Kubernetes rejects dropped.
fn structural(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Some(map) = node.as_object() else {
        return node.clone();
    };
    // Guard against a recursive definition (none exists in the model today).
    if depth > 64 {
        return json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    }
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches(DEF_REF);
        let mut inlined = defs
            .get(name)
            .map(|d| structural(d, defs, depth + 1))
            .unwrap_or(json!({}));
        if let (Some(obj), Some(desc)) = (inlined.as_object_mut(), map.get("description")) {
            obj.insert("description".into(), desc.clone());
        }
        return inlined;
    }
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            // No `default`: the server would apply it to objects as stored (this tool's
            // compiler applies Fluid's defaults itself), and it must be valid for the type.
            "$schema" | "definitions" | "title" | "const" | "default" => {}
            "additionalProperties" if value.is_boolean() => {}
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
                    if let [single] = non_null.as_slice() {
                        out.insert("type".into(), (*single).clone());
                    }
                    if non_null.len() != types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "anyOf" => {
                let branches = value.as_array().cloned().unwrap_or_default();
                let non_null: Vec<&Value> = branches
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                if non_null.len() == 1 && branches.len() == 2 {
                    if let Value::Object(inner) = structural(non_null[0], defs, depth + 1) {
                        out.extend(inner);
                    }
                    out.insert("nullable".into(), Value::Bool(true));
                } else {
                    let rewritten: Vec<Value> = branches.iter().map(|b| structural(b, defs, depth + 1)).collect();
                    out.insert("anyOf".into(), Value::Array(rewritten));
                }
            }
            "properties" => {
                let props = value
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), structural(v, defs, depth + 1)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" => {
                out.insert(key.clone(), structural(value, defs, depth + 1));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}
