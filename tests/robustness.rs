//! Bad input never panics: every golden input, mutated thousands of ways (bytes flipped,
//! inserted, deleted, lines cut or duplicated), is validated and rendered; each run must end with
//! a report whose findings point inside the input. A fixed-seed generator keeps runs repeatable.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use kubectl_goosefs::validate::{ValidateOptions, validate};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Port ranges compiled with: wide, narrow, and at both ends of 1-65535.
const PORT_RANGES: [std::ops::RangeInclusive<u16>; 6] = [
    20000..=65000,
    1..=65535,
    1..=9,
    65526..=65535,
    65535..=65535,
    26000..=26010,
];

const SPECIAL: &[u8] = b"-:?[]{},&*!|>'\"%@` \t\n#\\0\xff\x00";

fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = SPECIAL[rng.below(SPECIAL.len())];
            }
            1 => out.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
            2 if at < out.len() => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 => out.truncate(at),
            4 => {
                // Duplicate a slice (repeated keys, nested blocks).
                let end = (at + rng.below(64)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => {
                // Re-indent a line.
                let line_start = out[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                out.insert(line_start, b' ');
            }
        }
    }
    out
}

#[test]
fn mutated_inputs_never_panic_and_findings_stay_in_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for case in common::case_dirs("testdata/validate")
        .into_iter()
        .chain(common::case_dirs("testdata/render"))
    {
        let original = std::fs::read(case.join("input.yaml")).expect("input");
        // Batches of mutants per validate call keep the test fast (files are checked in parallel).
        for batch in 0..8 {
            let mut paths = Vec::new();
            let mut texts = Vec::new();
            for i in 0..12 {
                let mutant = mutate(&original, &mut rng);
                let path = dir.path().join(format!("m-{batch}-{i}.yaml"));
                std::fs::write(&path, &mutant).expect("write");
                texts.push(mutant);
                paths.push(path);
            }
            let options = ValidateOptions {
                paths: paths.clone(),
                keep_objects: true,
                ..ValidateOptions::default()
            };
            let outcome = validate(&options);
            runs += paths.len();
            for d in &outcome.report.diagnostics {
                let i = paths
                    .iter()
                    .position(|p| p.display().to_string() == *d.file)
                    .expect("finding names an input");
                // Lines as YAML counts them (`\n`, `\r\n` or a lone `\r`).
                let lines = kubectl_goosefs::load::yaml_lines(&String::from_utf8_lossy(&texts[i])).count() as u64;
                assert!(
                    d.line >= 1 && d.line <= lines.max(1),
                    "{}:{} beyond {lines} lines",
                    d.file,
                    d.line
                );
                assert!(d.column >= 1);
            }
            // Whatever validated cleanly must also compile without panicking.
            if !outcome.report.has_errors() {
                let compile_options = kubectl_goosefs::compile::CompileOptions {
                    namespace: "default".into(),
                    // Both ends of 1-65535 too: a used-up range must fail at once, never spin.
                    port_range: PORT_RANGES[rng.below(PORT_RANGES.len())].clone(),
                    csi: kubectl_goosefs::compile::CsiMode::Standalone,
                    monitoring: rng.below(2) == 0,
                    catalog: kubectl_goosefs::compile::Catalog::embedded().expect("catalog"),
                    templates: kubectl_goosefs::compile::Templates::embedded(),
                };
                let _ = kubectl_goosefs::compile::compile(
                    &outcome.runtimes,
                    &outcome.datasets,
                    &outcome.dataloads,
                    &outcome.databackups,
                    &compile_options,
                );
            }
        }
    }
    assert!(runs >= 4000, "only {runs} mutants");
}
