//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The case directories under `root` (e.g. `testdata/render`), sorted.
#[allow(dead_code)] // each test binary uses a part of this module
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

/// Fails the test at once, naming the tool and where it comes from, when `tool` is not on PATH
/// (README, "What the tests need"), instead of failing later with a bare "No such file".
#[allow(dead_code)] // each test binary uses a part of this module
pub fn require(tool: &str, from: &str) {
    let found =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "this test needs `{tool}` on PATH ({from}); see README, \"What the tests need\""
    );
}
