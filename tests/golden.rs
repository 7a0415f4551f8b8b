//! Golden cases: every `testdata/validate/<case>/input.yaml` is validated and its JSON and human
//! reports are compared with `expected.json` and `expected.txt` beside it.
//! `BLESS=1 cargo test --test golden` rewrites the expected files.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};

use kubectl_goosefs::output::{self, Format, Style};
use kubectl_goosefs::validate::{ValidateOptions, validate};

fn cases() -> Vec<PathBuf> {
    common::case_dirs("testdata/validate")
}

fn render(input: &Path, format: Format) -> String {
    let options = ValidateOptions {
        paths: vec![input.to_path_buf()],
        ..ValidateOptions::default()
    };
    let outcome = validate(&options);
    assert!(outcome.unreadable.is_empty(), "{input:?} must be readable");
    let mut out = Vec::new();
    output::write_report(&outcome.report, format, Style::Plain, &mut out).expect("write to memory");
    String::from_utf8(out).expect("reports are UTF-8")
}

#[test]
fn validate_golden_cases() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "expected the full set of golden cases, found {}",
        cases.len()
    );
    for dir in cases {
        let input = dir.join("input.yaml");
        for (format, file) in [(Format::Json, "expected.json"), (Format::Human, "expected.txt")] {
            let actual = render(&input, format);
            let expected_path = dir.join(file);
            if bless {
                std::fs::write(&expected_path, &actual).expect("write expected file");
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != actual {
                failures.push(format!(
                    "{}:\n--- expected\n{expected}\n+++ actual\n{actual}",
                    expected_path.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (BLESS=1 to accept):\n{}",
        failures.join("\n")
    );
}

/// Each case named after a code must report that code, so a blessed file cannot silently lose
/// the finding the case exists for.
#[test]
fn each_rule_case_reports_its_code() {
    for dir in cases() {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let Some(code) = name.split('-').next().filter(|c| c.starts_with("gfs")) else {
            continue;
        };
        let json: serde_json::Value =
            serde_json::from_str(&render(&dir.join("input.yaml"), Format::Json)).expect("valid JSON");
        let codes: Vec<&str> = json["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert!(
            codes.contains(&code.to_uppercase().as_str()),
            "{name}: expected {code}, got {codes:?}"
        );
    }
}

#[test]
fn clean_cases_have_no_findings() {
    for case in ["ok-hbase", "mixed-kinds", "other-runtime-dataset"] {
        let json: serde_json::Value = serde_json::from_str(&render(
            &Path::new("testdata/validate").join(case).join("input.yaml"),
            Format::Json,
        ))
        .expect("valid JSON");
        assert_eq!(json["diagnostics"], serde_json::json!([]), "{case}");
    }
}
