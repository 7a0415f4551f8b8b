//! Any bytes as a YAML input, compiled with a port range taken from the first four bytes (both
//! ends of 1-65535 included): whatever validates cleanly compiles without panicking or hanging,
//! and a used-up range is an error.
#![no_main]

use kubectl_goosefs::compile::{self, Catalog, CompileOptions, CsiMode, Templates};
use kubectl_goosefs::load::Input;
use kubectl_goosefs::validate::{ValidateOptions, validate_inputs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (range, text) = match data {
        [a, b, c, d, rest @ ..] => {
            let (start, end) = (u16::from_le_bytes([*a, *b]).max(1), u16::from_le_bytes([*c, *d]));
            (start.min(end)..=start.max(end), rest)
        }
        _ => return,
    };
    let options = ValidateOptions {
        keep_objects: true,
        ..ValidateOptions::default()
    };
    let input = Input::Memory {
        name: "fuzz.yaml".into(),
        bytes: text.into(),
    };
    let outcome = validate_inputs(vec![input], &options);
    if outcome.report.has_errors() {
        return;
    }
    let Ok(catalog) = Catalog::embedded() else {
        panic!("the embedded catalog parses");
    };
    let compile_options = CompileOptions {
        namespace: "default".into(),
        port_range: range,
        csi: if text.len() % 2 == 0 { CsiMode::Standalone } else { CsiMode::Fluid },
        monitoring: text.len() % 3 == 0,
        catalog,
        templates: Templates::embedded(),
    };
    if let Ok(compiled) = compile::compile(&outcome.runtimes, &outcome.datasets, &outcome.dataloads, &outcome.databackups, &compile_options) {
        for manifest in &compiled.manifests {
            assert!(manifest.object().is_ok(), "the embedded templates render valid YAML: {manifest:?}");
        }
    }
});
