//! Stage 1 of the pipeline: load. Finds input files (files, directories, `-` for stdin), reads
//! them with size and content checks, and streams their YAML documents one at a time as
//! position-carrying trees ([`Node`]).
//!
//! This is the only stage that reads user files. It never interprets Kubernetes semantics.

pub mod node;
pub mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use node::{Key, Node, NodeValue, Pos};

/// Extensions read when walking a directory.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Default largest file read; larger files are reported, not read. Kubernetes caps one object
/// at about 1.5 MiB, so even large multi-document GitOps files stay far below this.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Failures that make an input unreadable (exit code 2), as opposed to content findings.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist, or cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// Bytes held in memory (library callers, fuzzing), under a name for diagnostics.
    Memory {
        /// The name findings give.
        name: String,
        /// The content.
        bytes: std::sync::Arc<[u8]>,
    },
}

impl Input {
    /// The name used in diagnostics: the path as found, `<stdin>`, or the given name.
    pub fn display_name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_owned(),
            Input::Memory { name, .. } => name.clone(),
        }
    }
}

/// Expands the command-line paths into input files: files as given, directories walked
/// recursively (sorted, hidden entries and symlinked directories skipped) for `*.yaml`, `*.yml`
/// and `*.json`, `-` for stdin.
///
/// # Errors
/// [`LoadError::Io`] for a path that does not exist or a directory that cannot be listed; the
/// caller reports it and goes on with the other inputs.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<LoadError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::File(path.clone())),
            Err(source) => errors.push(LoadError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }
    (inputs, errors)
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<LoadError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(LoadError::Io {
                path: dir.display().to_string(),
                source,
            });
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else { continue };
        if file_type.is_dir() {
            walk(&path, inputs, errors);
        } else if (file_type.is_file() || file_type.is_symlink() && path.is_file())
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            inputs.push(Input::File(path));
        }
    }
}

/// A content problem that makes a file unusable as YAML before parsing starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentProblem {
    /// Line of the problem (1 when it concerns the whole file).
    pub line: u64,
    /// Column of the problem.
    pub column: u64,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Whether it is a limit (too large) rather than a malformed file.
    pub limit: bool,
}

/// The outcome of reading one input: its text, or why its content cannot be parsed.
#[derive(Debug)]
pub enum Source {
    /// UTF-8 text, ready to parse.
    Text(String),
    /// Binary, not UTF-8, or over the size limit.
    Unusable(ContentProblem),
}

/// Reads an input with the checks a YAML file needs: at most `max_bytes`, no NUL bytes (binary),
/// valid UTF-8 (a UTF-8 byte-order mark is dropped).
///
/// # Errors
/// [`LoadError::Io`] when the input cannot be opened or read.
pub fn read(input: &Input, max_bytes: u64) -> Result<Source, LoadError> {
    let io_err = |source| LoadError::Io {
        path: input.display_name(),
        source,
    };
    let mut bytes = Vec::new();
    match input {
        Input::File(path) => {
            let file = std::fs::File::open(path).map_err(io_err)?;
            let size = file.metadata().map_err(io_err)?.len();
            if size > max_bytes {
                return Ok(Source::Unusable(too_large(size, max_bytes)));
            }
            file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(io_err)?;
        }
        Input::Stdin => {
            std::io::stdin()
                .lock()
                .take(max_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(io_err)?;
        }
        Input::Memory { bytes: held, .. } => bytes.extend_from_slice(held),
    }
    if bytes.len() as u64 > max_bytes {
        return Ok(Source::Unusable(too_large(bytes.len() as u64, max_bytes)));
    }
    Ok(check_text(bytes))
}

fn too_large(size: u64, max: u64) -> ContentProblem {
    ContentProblem {
        line: 1,
        column: 1,
        message: format!(
            "file is {} large, over the limit of {}; split it or raise --max-file-size",
            human_bytes(size),
            human_bytes(max)
        ),
        limit: true,
    }
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// Classifies raw bytes as text or an unusable file.
pub fn check_text(mut bytes: Vec<u8>) -> Source {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let (line, column) = line_col(&bytes, at);
        return Source::Unusable(ContentProblem {
            line,
            column,
            message: "binary file (NUL byte): not YAML or JSON text".to_owned(),
            limit: false,
        });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Source::Text(text),
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let (line, column) = line_col(&bytes, at);
            Source::Unusable(ContentProblem {
                line,
                column,
                message: format!(
                    "not UTF-8 text: invalid byte 0x{:02X}; save the file as UTF-8",
                    bytes[at]
                ),
                limit: false,
            })
        }
    }
}

/// 1-based line and column (in characters, counting valid UTF-8 before `at`) of byte `at`.
fn line_col(bytes: &[u8], at: usize) -> (u64, u64) {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() as u64 + 1;
    (line, column)
}

/// The text of the 1-based `line` (without its newline), found from a byte offset when known.
pub fn line_text(text: &str, pos: Pos) -> Option<String> {
    let start_hint = pos
        .offset
        .and_then(|o| usize::try_from(o).ok())
        .filter(|&o| o <= text.len());
    // Lines end as YAML ends them: at `\n`, `\r\n` or a lone `\r` (the parser counts lines so).
    let line = match start_hint {
        Some(offset) if text.is_char_boundary(offset) => {
            let start = text[..offset].rfind(['\n', '\r']).map_or(0, |p| p + 1);
            let end = text[offset..].find(['\n', '\r']).map_or(text.len(), |p| offset + p);
            &text[start..end]
        }
        _ => yaml_lines(text).nth(usize::try_from(pos.line.checked_sub(1)?).ok()?)?,
    };
    Some(line.to_owned())
}

/// The lines of `text` as YAML counts them: ended by `\n`, `\r\n` or a lone `\r`.
pub fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(i) => {
                let skip = if current[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&current[i + skip..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A YAML parse failure, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// Where the parser stopped.
    pub pos: Pos,
    /// The parser's message, without snippet.
    pub message: String,
    /// Whether a safety limit (aliases, depth, size) was hit rather than a syntax error.
    pub limit: bool,
}

/// Streams the documents of `text`: calls `each` with each document's tree, one at a time, so that memory stays proportional to one document. Empty documents
/// are skipped. Stops at the first syntax error or limit breach, which is returned.
pub fn for_each_document(text: &str, each: impl FnMut(Node)) -> Option<ParseFailure> {
    yaml::documents(text, each)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_as_yaml_ends_them() {
        assert_eq!(yaml_lines("a\nb\r\nc\rd").collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert_eq!(yaml_lines("a\n").collect::<Vec<_>>(), ["a", ""]);
        let text = "kind: x\r\r\rname: y\r\n";
        let pos = Pos {
            line: 4,
            column: 1,
            offset: Some(10),
        };
        assert_eq!(line_text(text, pos).as_deref(), Some("name: y"));
        let by_line = Pos {
            line: 4,
            column: 1,
            offset: None,
        };
        assert_eq!(line_text(text, by_line).as_deref(), Some("name: y"));
    }
}
