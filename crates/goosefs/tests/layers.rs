//! The runtime's layers, enforced: a module may import only modules below it, so the wire
//! ([`goosefs::proto`]) and the block-file format import nothing of the runtime, clients never
//! import master or worker internals, and no import arrow points back up.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom first: each module may import the ones before it.
const LAYERS: &[&str] = &[
    "proto",
    "blockfile",
    "grant",
    "exit",
    "metrics",
    "signal",
    "ufs",
    "config",
    "kubeapi",
    "auth",
    "net",
    "client",
    "reader",
    "master",
    "worker",
    "fsdata",
    "fs",
    "fuse",
    "jobs",
    "services",
    "dataload",
    "databackup",
    "cli",
];

/// The top-level module a source file belongs to (`master/rpc.rs` → `master`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    first.unwrap_or_default().trim_end_matches(".rs").to_owned()
}

/// The top-level modules a file names as `crate::<module>` outside comments.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let name: String = line[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "found {} source files", files.len());
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(mine) = rank(&module) else {
            wrong.push(format!("{}: module {module} is in no layer", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for used in imports(&text) {
            match rank(&used) {
                Some(theirs) if theirs > mine => {
                    wrong.push(format!("{}: {module} imports {used}, a layer above it", file.display()));
                }
                None => wrong.push(format!("{}: imports crate::{used}, in no layer", file.display())),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_imports_and_skips_comments() {
    let text = "use crate::proto::paths;\n// crate::cli in a comment\nlet x = crate::master::now();";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["master", "proto"]);
}
