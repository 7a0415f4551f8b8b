//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The case directories under `root` (e.g. `testdata/render`), sorted.
pub fn case_dirs(root: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{root}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}
