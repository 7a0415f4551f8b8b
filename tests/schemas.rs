//! The checked-in schemas are what the model generates, and they cover Fluid's CRDs: every
//! field path of Fluid's `openAPIV3Schema` exists in ours with the same type.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use kubectl_goosefs::model::{Kind, schema};
use serde_json::Value;

/// Fluid's CRDs, from the team's reference material beside the repository (not part of it): the
/// tests that read them are `#[ignore]`d and run by `.ci/run` with `--ignored`.
const FLUID_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/fluid/crds");

fn fluid_schema(file: &str) -> Option<Value> {
    let path = std::path::Path::new(FLUID_CRDS).join(file);
    let text = std::fs::read_to_string(&path).ok()?;
    let crd: Value = serde_saphyr::from_str(&text).expect("Fluid's CRD parses");
    Some(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone())
}

/// Resolves `$ref`s against `root`'s `definitions`; reports whether a Kubernetes definition was
/// entered (those come from k8s-openapi and may have fields newer than Fluid's CRD).
fn resolve<'a>(root: &'a Value, mut node: &'a Value, k8s: &mut bool) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches(schema::DEF_REF);
        *k8s |= name.starts_with("io.k8s.");
        node = &root[schema::DEFINITIONS][name];
    }
    node
}

fn type_of(node: &Value) -> String {
    if node.get("x-kubernetes-int-or-string").is_some() {
        return "int-or-string".into();
    }
    node.get("type").and_then(Value::as_str).unwrap_or("any").to_owned()
}

/// The fields we accept on purpose that Fluid's GooseFSRuntime lacks: AlluxioRuntime's volumes and
/// volume mounts, so the masters' journal can live on a volume (docs/reference.md, "Decisions").
/// The API gateway shares the components' type; validate refuses its volume mounts (GFS108).
const EXTENSIONS: [&str; 6] = [
    "spec.volumes",
    "spec.master.volumeMounts",
    "spec.jobMaster.volumeMounts",
    "spec.worker.volumeMounts",
    "spec.jobWorker.volumeMounts",
    "spec.apiGateway.volumeMounts",
];

/// Walks Fluid's schema node `theirs` beside ours, collecting missing paths and type mismatches
/// (and, outside Kubernetes definitions, fields we have that Fluid lacks, but for [`EXTENSIONS`]).
fn compare(root: &Value, ours: &Value, theirs: &Value, path: &str, in_k8s: bool, problems: &mut Vec<String>) {
    let mut k8s = in_k8s;
    let ours = resolve(root, ours, &mut k8s);
    let (ot, tt) = (type_of(ours), type_of(theirs));
    if ot != tt && !(tt == "any" || path.ends_with(".metadata")) {
        problems.push(format!("{path}: Fluid has type {tt}, ours {ot}"));
        return;
    }
    if let Some(props) = theirs.get("properties").and_then(Value::as_object) {
        for (key, child) in props {
            match ours.get("properties").and_then(|p| p.get(key)) {
                Some(mine) => compare(root, mine, child, &format!("{path}.{key}"), k8s, problems),
                None if path.ends_with(".metadata") || path.is_empty() && key == "metadata" => {}
                None => problems.push(format!("{path}.{key}: missing from our schema")),
            }
        }
        if !k8s && !path.ends_with("metadata") {
            for key in ours
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|p| p.keys())
            {
                let field = format!("{path}.{key}");
                if !props.contains_key(key) && !EXTENSIONS.contains(&field.as_str()) {
                    problems.push(format!("{field}: in our schema but not in Fluid's"));
                }
            }
        }
    }
    for keyword in ["items", "additionalProperties"] {
        if let (Some(t), Some(o)) = (theirs.get(keyword).filter(|v| v.is_object()), ours.get(keyword)) {
            compare(root, o, t, &format!("{path}[]"), k8s, problems);
        }
    }
    for keyword in ["required"] {
        let theirs: Vec<&Value> = theirs
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let ours: Vec<&Value> = ours
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        for r in theirs {
            if !ours.contains(&r) && !path.is_empty() {
                problems.push(format!("{path}: Fluid requires {r}, ours does not"));
            }
        }
    }
}

#[test]
fn checked_in_schemas_match_the_model() {
    for kind in [Kind::Dataset, Kind::GooseFsRuntime] {
        let path = std::path::Path::new("schemas").join(schema::file_name(kind));
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == schema::json_schema_text(kind),
            "{} is stale: run `cargo run -- schema --out schemas/` and commit the result",
            path.display()
        );
    }
}

#[test]
#[ignore = "needs ../shared/reference/fluid/crds (run by .ci/run with --ignored)"]
fn our_schemas_cover_fluids_crds() {
    for (kind, file) in [
        (Kind::GooseFsRuntime, "data.fluid.io_goosefsruntimes.yaml"),
        (Kind::Dataset, "data.fluid.io_datasets.yaml"),
    ] {
        let Some(theirs) = fluid_schema(file) else {
            panic!("Fluid's CRD {file} is missing from {FLUID_CRDS}");
        };
        let ours = schema::json_schema(kind);
        let mut problems = Vec::new();
        for top in ["spec", "status"] {
            compare(
                &ours,
                &ours["properties"][top],
                &theirs["properties"][top],
                top,
                false,
                &mut problems,
            );
        }
        assert!(
            problems.is_empty(),
            "{kind}: schema differs from Fluid's CRD:\n{}",
            problems.join("\n")
        );
    }
}

/// The generated CRD is what Kubernetes accepts as a structural schema (no `$ref`, `const`,
/// `additionalProperties: false`, non-int-or-string `anyOf`).
#[test]
fn generated_crds_are_structural() {
    fn walk(node: &Value, path: &str, problems: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for forbidden in ["$ref", "$defs", "definitions", "$schema", "const", "oneOf"] {
                    if map.contains_key(forbidden) {
                        problems.push(format!("{path}: has {forbidden}"));
                    }
                }
                if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                    problems.push(format!("{path}: additionalProperties false"));
                }
                if map.contains_key("anyOf") && !map.contains_key("x-kubernetes-int-or-string") {
                    problems.push(format!("{path}: anyOf without int-or-string"));
                }
                if map.contains_key("properties") && map.get("type").and_then(Value::as_str) != Some("object") {
                    problems.push(format!("{path}: properties without type object"));
                }
                // Descend into subschemas only (`properties` maps names to schemas).
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("properties", Value::Object(children)) => {
                            for (name, child) in children {
                                walk(child, &format!("{path}.{name}"), problems);
                            }
                        }
                        ("items" | "additionalProperties", Value::Object(_)) => walk(v, &format!("{path}[]"), problems),
                        ("anyOf" | "allOf", Value::Array(items)) => items.iter().for_each(|i| walk(i, path, problems)),
                        _ => {}
                    }
                }
            }
            _ => problems.push(format!("{path}: not a schema object")),
        }
    }
    for kind in [Kind::GooseFsRuntime, Kind::Dataset] {
        let crd = schema::crd(kind);
        let mut problems = Vec::new();
        walk(
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            "",
            &mut problems,
        );
        assert!(
            problems.is_empty(),
            "{kind} CRD is not structural:\n{}",
            problems.join("\n")
        );
        assert_eq!(crd["spec"]["group"], "data.fluid.io");
    }
}

/// The generated CRD keeps Fluid's names, printer columns, subresources and field types.
#[test]
#[ignore = "needs ../shared/reference/fluid/crds (run by .ci/run with --ignored)"]
fn generated_crds_match_fluids_shape() {
    for (kind, file) in [
        (Kind::GooseFsRuntime, "data.fluid.io_goosefsruntimes.yaml"),
        (Kind::Dataset, "data.fluid.io_datasets.yaml"),
    ] {
        let crd = schema::crd(kind);
        let text = std::fs::read_to_string(std::path::Path::new(FLUID_CRDS).join(file)).expect("Fluid CRD");
        let fluid: Value = serde_saphyr::from_str(&text).expect("Fluid's CRD parses");
        assert_eq!(crd["metadata"]["name"], fluid["metadata"]["name"]);
        assert_eq!(crd["spec"]["names"], fluid["spec"]["names"]);
        assert_eq!(crd["spec"]["scope"], fluid["spec"]["scope"]);
        let (ours, theirs) = (&crd["spec"]["versions"][0], &fluid["spec"]["versions"][0]);
        assert_eq!(
            ours["additionalPrinterColumns"], theirs["additionalPrinterColumns"],
            "{kind} printer columns"
        );
        assert_eq!(ours["subresources"], theirs["subresources"], "{kind} subresources");
        let mut differences = Vec::new();
        let schema = &ours["schema"]["openAPIV3Schema"];
        for top in ["spec", "status"] {
            compare(
                schema,
                &schema["properties"][top],
                &theirs["schema"]["openAPIV3Schema"]["properties"][top],
                top,
                true,
                &mut differences,
            );
        }
        assert!(
            differences.is_empty(),
            "{kind} CRD differs from Fluid's:\n{}",
            differences.join("\n")
        );
    }
}
