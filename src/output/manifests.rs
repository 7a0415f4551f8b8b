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

/// Writes runtimes' objects to a stream as they are compiled, so a render of thousands of
/// runtimes never holds more than a batch: YAML documents as rendered, or the items of one JSON
/// `v1/List` (the list is opened on the first item and closed by [`StreamWriter::finish`]).
pub struct StreamWriter<W: io::Write> {
    out: W,
    format: ManifestFormat,
    items: usize,
}

impl<W: io::Write> StreamWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(out: W, format: ManifestFormat) -> StreamWriter<W> {
        StreamWriter { out, format, items: 0 }
    }

    /// Writes `manifests`.
    ///
    /// # Errors
    /// I/O errors of the stream, or an object that does not parse (only with user templates).
    pub fn add(&mut self, manifests: &[Manifest]) -> io::Result<()> {
        if self.format == ManifestFormat::Yaml {
            return write(manifests, ManifestFormat::Yaml, &mut self.out);
        }
        for m in manifests {
            let item =
                serde_json::to_string_pretty(&m.object().map_err(io::Error::other)?).map_err(io::Error::other)?;
            let lead = if self.items == 0 {
                "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n"
            } else {
                ",\n"
            };
            self.out.write_all(lead.as_bytes())?;
            // The item, indented as the list's pretty printer would indent it.
            for (i, line) in item.lines().enumerate() {
                if i > 0 {
                    self.out.write_all(b"\n")?;
                }
                self.out.write_all(b"    ")?;
                self.out.write_all(line.as_bytes())?;
            }
            self.items += 1;
        }
        Ok(())
    }

    /// Ends the stream (closes the JSON list) and flushes it.
    ///
    /// # Errors
    /// I/O errors of the stream.
    pub fn finish(mut self) -> io::Result<()> {
        match (self.format, self.items) {
            (ManifestFormat::Yaml, _) => {}
            (ManifestFormat::Json, 0) => self
                .out
                .write_all(b"{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": []\n}\n")?,
            (ManifestFormat::Json, _) => self.out.write_all(b"\n  ]\n}\n")?,
        }
        self.out.flush()
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

/// Writes one file per object into a directory, replacing its previous content as a whole:
/// files go to a sibling staging directory, which [`DirWriter::finish`] renames over the target.
/// Refuses to replace a directory holding anything but manifest files, so user files are never
/// deleted; on any failure (or when dropped unfinished) the staging directory is removed and the
/// old content stays.
pub struct DirWriter {
    dir: PathBuf,
    staging: PathBuf,
    old: PathBuf,
    format: ManifestFormat,
    files: Vec<String>,
    finished: bool,
}

impl DirWriter {
    /// Prepares to replace `dir`.
    ///
    /// # Errors
    /// I/O errors, or `InvalidInput` when `dir` holds other files.
    pub fn create(dir: &Path, format: ManifestFormat) -> io::Result<DirWriter> {
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
        Ok(DirWriter {
            dir: dir.to_path_buf(),
            staging,
            old,
            format,
            files: Vec::new(),
            finished: false,
        })
    }

    /// Writes one object's file into the staging directory.
    ///
    /// # Errors
    /// I/O errors, or an object that does not parse (only with user templates).
    pub fn add(&mut self, m: &Manifest) -> io::Result<()> {
        let name = file_name(m, self.format);
        let text = match self.format {
            ManifestFormat::Yaml => std::borrow::Cow::Borrowed(m.text.as_str()),
            ManifestFormat::Json => {
                let mut t =
                    serde_json::to_string_pretty(&m.object().map_err(io::Error::other)?).map_err(io::Error::other)?;
                t.push('\n');
                std::borrow::Cow::Owned(t)
            }
        };
        std::fs::write(self.staging.join(&name), text.as_bytes())?;
        self.files.push(name);
        Ok(())
    }

    /// Puts the staged files in place (with a `kustomization.yaml` listing them in apply order
    /// when asked); returns how many objects were written.
    ///
    /// # Errors
    /// I/O errors; the old content is then kept.
    pub fn finish(mut self, with_kustomization: bool) -> io::Result<usize> {
        // File names start with the apply rank: sorted, they are in apply order.
        self.files.sort();
        if with_kustomization {
            std::fs::write(self.staging.join(KUSTOMIZATION), kustomization(&self.files))?;
        }
        if self.dir.exists() {
            std::fs::rename(&self.dir, &self.old)?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.dir) {
            if self.old.exists() && !self.dir.exists() {
                let _ = std::fs::rename(&self.old, &self.dir);
            }
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&self.old);
        self.finished = true;
        Ok(self.files.len())
    }
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
