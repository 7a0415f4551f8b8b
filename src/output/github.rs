//! `--format github`: GitHub Actions workflow commands, which annotate the pull request diff.

use std::io::{self, Write};

use crate::validate::{Report, Severity};

/// Escapes a workflow-command property value.
fn property(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Escapes a workflow-command message.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = if d.path.is_empty() {
            String::new()
        } else {
            format!(" at {}", d.path)
        };
        writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}{location}: {}",
            property(&d.file),
            d.line,
            d.column,
            property(&format!("{} {}", d.code, d.code.doc().title)),
            data(&d.object),
            data(&d.full_message())
        )?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "{} error(s), {} warning(s) in {} file(s), {} document(s)",
        s.errors, s.warnings, s.files, s.documents
    )
}
