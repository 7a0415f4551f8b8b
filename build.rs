//! Records the git commit the binary is built from, for `kubectl goosefs version`. Outside a git
//! checkout (a source archive) the commit is `unknown`.

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
    // Rebuild when HEAD moves (a commit, a checkout), not on every file change.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
