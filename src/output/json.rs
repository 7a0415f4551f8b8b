//! `--format json`: exactly `{"diagnostics":[{file,line,column,severity,code,path,object,message}],
//! "summary":{files,documents,skipped,errors,warnings}}`.

use std::io::{self, Write};

use serde::Serialize;

use crate::validate::{Report, Summary};

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: u64,
    column: u64,
    severity: &'static str,
    code: &'static str,
    path: &'a str,
    object: &'a str,
    message: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                file: &d.file,
                line: d.line,
                column: d.column,
                severity: d.severity.as_str(),
                code: d.code.as_str(),
                path: &d.path,
                object: &d.object,
                message: d.full_message(),
            })
            .collect(),
        summary: report.summary,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
