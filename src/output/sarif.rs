//! `--format sarif`: SARIF 2.1.0 with one rule per code (stable ids `GFS001`...), for code
//! scanning uploads. Written with serde_json directly: the format needs a dozen fields.

use std::io::{self, Write};

use serde_json::json;

use crate::validate::{Report, Severity, codes};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<_> = codes::ALL
        .iter()
        .map(|code| {
            let doc = code.doc();
            json!({
                "id": code.as_str(),
                "name": doc.title,
                "shortDescription": {"text": doc.title},
                "fullDescription": {"text": doc.what},
                "help": {"text": format!("{}\n\nWrong:\n{}\n\nRight:\n{}", doc.why, doc.wrong, doc.right)},
                "defaultConfiguration": {"level": level(doc.severity)}
            })
        })
        .collect();
    let results: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": codes::ALL.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": format!("{}{}", if d.object.is_empty() { String::new() } else { format!("{}: ", d.object) }, d.full_message())},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&d.file)},
                        "region": {"startLine": d.line, "startColumn": d.column}
                    },
                    "logicalLocations": if d.path.is_empty() { json!([]) } else { json!([{"fullyQualifiedName": d.path}]) }
                }]
            })
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-goosefs",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/fluid-cloudnative/fluid",
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A relative URI for a file path (SARIF wants `/` separators and no `./`).
fn uri(file: &str) -> String {
    file.trim_start_matches("./").replace('\\', "/").replace(' ', "%20")
}
