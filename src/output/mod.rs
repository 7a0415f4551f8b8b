//! Last stage: output. Renders a validation [`Report`] in one of the formats CI systems and
//! people read, and compiled manifests as YAML, JSON or a directory. Report renderers are pure
//! (they write to any `io::Write`), one format per file.

pub mod diff;
mod github;
mod human;
mod json;
mod junit;
pub mod manifests;
mod sarif;
pub mod status;

use std::io::{self, Write};

use crate::validate::Report;

pub use human::Style;

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style findings with the offending line and a caret (default).
    Human,
    /// `{"diagnostics": [...], "summary": {...}}`.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
    /// JUnit XML, one test case per file.
    Junit,
    /// SARIF 2.1.0, for code-scanning uploads.
    Sarif,
}

/// Writes `report` in `format`.
///
/// # Errors
/// Only I/O errors of `out` (a closed pipe is the caller's to treat as success).
pub fn write_report(report: &Report, format: Format, style: Style, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, style, out),
        Format::Json => json::write(report, out),
        Format::Github => github::write(report, out),
        Format::Junit => junit::write(report, out),
        Format::Sarif => sarif::write(report, out),
    }
}

/// Escapes text for XML attribute and element content.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over the target, so readers never see a half-written file.
///
/// # Errors
/// I/O errors creating, writing or renaming the file.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
