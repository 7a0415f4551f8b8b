//! Any bytes as a YAML input: loading and validating never panic, and every finding points
//! inside the input.
#![no_main]

use kubectl_goosefs::load::Input;
use kubectl_goosefs::validate::{ValidateOptions, validate_inputs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = ValidateOptions {
        keep_objects: true,
        ..ValidateOptions::default()
    };
    let input = Input::Memory {
        name: "fuzz.yaml".into(),
        bytes: data.into(),
    };
    let outcome = validate_inputs(vec![input], &options);
    // Lines as YAML counts them (`\n`, `\r\n` or a lone `\r`), as findings number them.
    let lines = kubectl_goosefs::load::yaml_lines(&String::from_utf8_lossy(data)).count() as u64;
    for d in &outcome.report.diagnostics {
        assert!(d.line >= 1 && d.line <= lines.max(1), "line {} of {lines}: {d:?}", d.line);
        assert!(d.column >= 1, "{d:?}");
    }
});
