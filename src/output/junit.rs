//! `--format junit`: JUnit XML with one test case per file and one failure per finding, for CI
//! systems that only display test reports.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::xml_escape;
use crate::validate::{Diagnostic, Report, Severity};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut by_file: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    for d in &report.diagnostics {
        by_file.entry(&d.file).or_default().push(d);
    }
    let failing = by_file
        .values()
        .filter(|ds| ds.iter().any(|d| d.severity == Severity::Error))
        .count();
    let cases = report.summary.files.max(by_file.len());
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="kubectl-goosefs validate" tests="{cases}" failures="{failing}" errors="0">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="validate" tests="{cases}" failures="{failing}" errors="0" skipped="0">"#
    )?;
    for (file, diagnostics) in &by_file {
        writeln!(
            out,
            r#"    <testcase classname="kubectl-goosefs" name="{}">"#,
            xml_escape(file)
        )?;
        for d in diagnostics {
            let tag = if d.severity == Severity::Error {
                "failure"
            } else {
                "system-out"
            };
            let text = format!(
                "{}:{}:{}: {} [{}] {} {}",
                d.file,
                d.line,
                d.column,
                d.severity.as_str(),
                d.code,
                d.path,
                d.full_message()
            );
            if tag == "failure" {
                writeln!(
                    out,
                    r#"      <failure type="{}" message="{}">{}</failure>"#,
                    d.code,
                    xml_escape(&d.full_message()),
                    xml_escape(&text)
                )?;
            } else {
                writeln!(out, "      <system-out>{}</system-out>", xml_escape(&text))?;
            }
        }
        writeln!(out, "    </testcase>")?;
    }
    let clean = report.summary.files.saturating_sub(by_file.len());
    if clean > 0 {
        writeln!(
            out,
            r#"    <testcase classname="kubectl-goosefs" name="{clean} file(s) without findings"/>"#
        )?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
