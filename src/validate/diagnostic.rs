//! Findings: what `validate` produces. A [`Diagnostic`] is data (a finding in the input), never
//! an error of the tool; renderers in `output` turn them into text.

use std::sync::Arc;

use serde::Serialize;

use super::codes::Code;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The API server or GooseFS would reject or misbehave on this input (exit 1).
    Error,
    /// Probably a mistake, but deployable (exit 0 unless `--strict`).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding, located in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file as named on the command line (or `<stdin>`).
    pub file: Arc<str>,
    /// 1-based line of the offending value (for a missing field: of the mapping lacking it).
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Error or warning.
    pub severity: Severity,
    /// Stable rule code.
    pub code: Code,
    /// Field path, e.g. `spec.tieredstore.levels[0].quota`; empty for file-level findings.
    pub path: String,
    /// `Kind/namespace/name`, empty when the document is not (yet) an object.
    pub object: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is a clear fix.
    pub help: Option<String>,
    /// The text of the offending line, for snippets.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// The message with its help appended, for formats that have a single text field.
    pub fn full_message(&self) -> String {
        match &self.help {
            Some(help) => format!("{} (help: {help})", self.message),
            None => self.message.clone(),
        }
    }
}

/// Counts over one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// YAML documents seen (all kinds).
    pub documents: usize,
    /// Documents of other kinds, skipped.
    pub skipped: usize,
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
}

/// The result of validating a set of inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Findings, in input order (file, then position).
    pub diagnostics: Vec<Diagnostic>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }
}
