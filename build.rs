//! Records the git commit the binary is built from, for `kubectl goosefs version` (outside a git
//! checkout, a source archive, the commit is `unknown`).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
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
