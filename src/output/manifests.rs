//! Rendered manifests as text: a multi-document YAML stream, a JSON `List`, or one file per
//! object in a directory (replaced as a whole, so a GitOps tool never sees a half-written set).

use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::compile::Manifest;

/// Manifest output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ManifestFormat {
    /// Multi-document YAML.
    Yaml,
    /// A JSON `v1/List`.
    Json,
}

/// All objects in `format`, as a string (see [`write`]).
///
/// # Errors
/// As [`write`].
pub fn render(manifests: &[Manifest], format: ManifestFormat) -> Result<String, io::Error> {
    let mut out = Vec::with_capacity(manifests.iter().map(|m| m.text.len() + 4).sum());
    write(manifests, format, &mut out)?;
    String::from_utf8(out).map_err(io::Error::other)
}

/// Writes all objects in `format` to `out`: YAML is the rendered text itself, streamed object by
/// object; JSON parses each object into a `v1/List`.
///
/// # Errors
/// I/O errors of `out`, or an object that does not parse (only possible with user templates).
pub fn write(manifests: &[Manifest], format: ManifestFormat, out: &mut dyn io::Write) -> Result<(), io::Error> {
    match format {
        ManifestFormat::Yaml => {
            for m in manifests {
                out.write_all(b"---\n")?;
                out.write_all(m.text.as_bytes())?;
                if !m.text.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            Ok(())
        }
        ManifestFormat::Json => {
            let items = manifests
                .iter()
                .map(|m| m.object().map_err(io::Error::other))
                .collect::<Result<Vec<_>, _>>()?;
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            serde_json::to_writer_pretty(&mut *out, &list).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
    }
}

/// The file name of an object: apply rank first, so that sorting the names gives apply order.
pub fn file_name(m: &Manifest, format: ManifestFormat) -> String {
    let ext = match format {
        ManifestFormat::Yaml => "yaml",
        ManifestFormat::Json => "json",
    };
    let kind = m.kind.to_ascii_lowercase();
    if m.namespace.is_empty() {
        format!("{:02}-{kind}-{}.{ext}", m.rank, m.name)
    } else {
        format!("{:02}-{kind}-{}-{}.{ext}", m.rank, m.namespace, m.name)
    }
}

/// The name of the kustomization `write_dir` writes when asked.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// A kustomization listing `files` in order, and keeping that order when built (`fifo`; kustomize
/// would otherwise sort by kind), so Argo CD and Flux apply the objects as `apply` does.
fn kustomization(files: &[String]) -> String {
    let mut text = String::from(
        "# Written by kubectl-goosefs render --kustomization: the rendered objects, in apply order.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         sortOptions:\n  order: fifo\n\
         resources:\n",
    );
    for file in files {
        text.push_str(&format!("  - {file}\n"));
    }
    text
}

/// Writes one file per object into `dir`, replacing its previous content as a whole: files are
/// written to a sibling staging directory which is then renamed over `dir`. Refuses to replace
/// a directory holding anything but manifest files, so user files are never deleted. With
/// `with_kustomization`, also a `kustomization.yaml` listing the files in apply order.
///
/// # Errors
/// I/O errors, or `InvalidInput` when `dir` holds other files.
pub fn write_dir(
    dir: &Path,
    manifests: &[Manifest],
    format: ManifestFormat,
    with_kustomization: bool,
) -> io::Result<Vec<PathBuf>> {
    if dir.exists() {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = entry.file_type()?.is_file() && (name.ends_with(".yaml") || name.ends_with(".json"));
            if !ours {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "refusing to replace {}: it contains {name:?}, which render did not write",
                        dir.display()
                    ),
                ));
            }
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "manifests".into());
    let staging = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{base}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let mut written = Vec::new();
    let result = (|| {
        for m in manifests {
            let name = file_name(m, format);
            let text = match format {
                ManifestFormat::Yaml => m.text.clone(),
                ManifestFormat::Json => {
                    let mut t = serde_json::to_string_pretty(&m.object().map_err(io::Error::other)?)
                        .map_err(io::Error::other)?;
                    t.push('\n');
                    t
                }
            };
            std::fs::write(staging.join(&name), text)?;
            written.push(dir.join(name));
        }
        if with_kustomization {
            let files: Vec<String> = manifests.iter().map(|m| file_name(m, format)).collect();
            std::fs::write(staging.join(KUSTOMIZATION), kustomization(&files))?;
        }
        if dir.exists() {
            std::fs::rename(dir, &old)?;
        }
        std::fs::rename(&staging, dir)?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(written)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if old.exists() && !dir.exists() {
            let _ = std::fs::rename(&old, dir);
        }
    }
    result
}
