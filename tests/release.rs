//! The krew manifest (`plugins/goosefs.yaml`) and the release script that fills it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::collections::BTreeSet;
use std::process::Command;

use serde::Deserialize;

/// krew's `Plugin` (krew.googlecontainertools.github.com/v1alpha2), strictly: a misspelt field
/// fails here as it would fail krew's validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Plugin {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    version: String,
    homepage: String,
    short_description: String,
    description: String,
    caveats: Option<String>,
    platforms: Vec<Platform>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Platform {
    selector: Selector,
    uri: String,
    sha256: String,
    bin: String,
    files: Vec<FileOperation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    from: String,
    to: String,
}

fn parse(path: &std::path::Path) -> Plugin {
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("a krew Plugin")
}

/// The binary's file name, as cargo builds it.
fn binary_name() -> String {
    std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-goosefs"))
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned()
}

#[test]
fn the_krew_manifest_is_a_valid_plugin_for_four_platforms() {
    let plugin = parse(std::path::Path::new("plugins/goosefs.yaml"));
    assert_eq!(plugin.api_version, "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(plugin.kind, "Plugin");
    // krew runs it as `kubectl goosefs`: the plugin name is the binary's name without `kubectl-`.
    assert_eq!(
        Some(plugin.metadata.name.as_str()),
        binary_name().strip_prefix("kubectl-")
    );
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(plugin.spec.version, version, "the manifest follows Cargo.toml");
    assert!(plugin.spec.homepage.starts_with("https://"));
    assert!(!plugin.spec.short_description.is_empty() && plugin.spec.short_description.len() <= 64);
    assert!(plugin.spec.description.lines().count() >= 2);
    assert!(plugin.spec.caveats.is_some_and(|c| c.contains("completion")));
    let mut seen = BTreeSet::new();
    for platform in &plugin.spec.platforms {
        let labels = &platform.selector.match_labels;
        let (os, arch) = (labels["os"].as_str(), labels["arch"].as_str());
        assert_eq!(labels.len(), 2);
        assert!(seen.insert((os.to_owned(), arch.to_owned())), "{os}/{arch} once");
        assert_eq!(platform.bin, binary_name());
        assert_eq!(platform.uri, format!("kubectl-goosefs-{version}-{os}-{arch}.tar.gz"));
        assert_eq!(platform.sha256, "filled by scripts/release");
        let from: BTreeSet<&str> = platform.files.iter().map(|f| f.from.as_str()).collect();
        assert_eq!(from, BTreeSet::from(["LICENSE", binary_name().as_str()]));
        assert!(platform.files.iter().all(|f| f.to == "."));
    }
    let expected: BTreeSet<(String, String)> = ["linux", "darwin"]
        .iter()
        .flat_map(|os| ["amd64", "arm64"].map(|arch| ((*os).to_owned(), arch.to_owned())))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn the_release_script_packs_the_binary_and_fills_the_manifest() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("dist");
    let release = |extra: &[&str]| {
        Command::new("scripts/release")
            .args([
                "--out",
                out.to_str().expect("utf-8"),
                "--binary",
                env!("CARGO_BIN_EXE_kubectl-goosefs"),
            ])
            .args(["--base-url", "https://example.org/releases/"])
            .args(extra)
            .output()
            .expect("bash")
    };
    // Only this machine's archive can be built here: the others are named as missing.
    let strict = release(&[]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("no archive in"));
    let partial = release(&["--allow-missing"]);
    assert!(partial.status.success(), "{partial:?}");

    let plugin = parse(&out.join("goosefs.yaml"));
    assert_eq!(plugin.spec.platforms.len(), 1);
    let platform = &plugin.spec.platforms[0];
    let archive = platform
        .uri
        .strip_prefix("https://example.org/releases/")
        .expect("base URL");
    let path = out.join(archive);
    // An independent digest: coreutils' sha256sum.
    let sum = Command::new("sha256sum").arg(&path).output().expect("sha256sum");
    let digest = String::from_utf8_lossy(&sum.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(platform.sha256, digest);
    let listing = Command::new("tar").arg("tzf").arg(&path).output().expect("tar");
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout),
        format!("{}\nLICENSE\n", binary_name())
    );
    // Reproducible: the same binary gives the same archive.
    assert!(release(&["--allow-missing"]).status.success());
    let again = Command::new("sha256sum").arg(&path).output().expect("sha256sum");
    assert_eq!(sum.stdout, again.stdout);
}
