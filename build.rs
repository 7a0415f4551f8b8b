//! Records the git commit the binary is built from, for `kubectl goosefs version` (outside a git
//! checkout, a source archive, the commit is `unknown`), and writes the copies of `schemas/*.json`
//! the validator compiles: the same schemas minus their annotations (`description`, `title`),
//! which constrain nothing but are half of the text every process would parse.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Drops the annotation keywords of a schema (at schema positions only: a property named
/// `description` inside `properties` is a property, not an annotation).
fn strip_annotations(schema: &mut serde_json::Value) {
    let serde_json::Value::Object(map) = schema else {
        if let serde_json::Value::Array(items) = schema {
            items.iter_mut().for_each(strip_annotations);
        }
        return;
    };
    map.remove("description");
    map.remove("title");
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            // Maps from names to schemas.
            ("properties" | "definitions" | "$defs" | "patternProperties", serde_json::Value::Object(children)) => {
                children.values_mut().for_each(strip_annotations);
            }
            // Keywords whose values are not schemas.
            ("enum" | "const" | "default" | "examples" | "required", _) => {}
            (_, value) => strip_annotations(value),
        }
    }
}

fn write_validation_schemas() {
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_owned());
    for name in ["goosefsruntime", "dataset"] {
        let source = format!("schemas/{name}.json");
        println!("cargo:rerun-if-changed={source}");
        // A broken checked-in schema is embedded as is: the schema tests then name the problem.
        let text = std::fs::read_to_string(&source).unwrap_or_default();
        let stripped = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(mut schema) => {
                strip_annotations(&mut schema);
                serde_json::to_string(&schema).unwrap_or(text)
            }
            Err(_) => text,
        };
        if let Err(e) = std::fs::write(format!("{out}/{name}.validation.json"), stripped) {
            println!("cargo:warning=cannot write the validation schema {name}: {e}");
        }
    }
}

fn main() {
    write_validation_schemas();
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let date = git(&["show", "-s", "--format=%cs", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=KGFS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KGFS_GIT_DATE={date}");
    // Rebuild when HEAD moves (a commit, a checkout), not on every file change. Cargo reruns a
    // build script on every build when a watched path does not exist, so only existing paths
    // are watched (a fresh clone may have no packed-refs).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        // A directory is watched as a whole, so a branch ref that a commit creates counts too.
        let watched = [
            format!("{dir}/HEAD"),
            format!("{dir}/packed-refs"),
            format!("{dir}/refs/heads"),
        ];
        for path in watched.iter().filter(|p| std::path::Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
