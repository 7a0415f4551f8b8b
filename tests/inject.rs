//! `kubectl goosefs inject` golden cases, one per workload kind and layout
//! (`testdata/inject/<case>/app.yaml` → `expected.yaml` and `expected.stderr`; optional `args`, one
//! argument per line, and `runtime.yaml`, else the reference runtime). Every case also proves that
//! the input's lines all survive in order (nothing but additions), that the workloads still read
//! as their Kubernetes types, and that injecting the output again changes nothing.
//! `BLESS=1 cargo test --test inject` rewrites the expected files.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn inject(app: &Path, case: &Path) -> Output {
    let runtime = case.join("runtime.yaml");
    let runtime = if runtime.exists() {
        runtime
    } else {
        Path::new("testdata/hbase/hbase.yaml").to_path_buf()
    };
    let args: Vec<String> = std::fs::read_to_string(case.join("args"))
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .arg("inject")
        .arg("-f")
        .arg(app)
        .args(["--dataset", "hbase", "--runtime"])
        .arg(runtime)
        .args(args)
        .output()
        .expect("runs")
}

fn golden(path: &Path, actual: &str, bless: bool) {
    if bless {
        std::fs::write(path, actual).expect("write");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == actual,
        "{}: differs (BLESS=1 to accept):\n{actual}",
        path.display()
    );
}

/// Whether `output` is `input` with things added: every byte of the input in it, in order.
fn only_adds(input: &str, output: &str) -> bool {
    let mut out = output.bytes();
    input.bytes().all(|b| out.any(|o| o == b))
}

/// Deserializes a workload into its k8s-openapi type, which refuses a wrong shape.
fn typed(object: &Value) {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    let v = object.clone();
    let ok = match object["kind"].as_str().unwrap_or_default() {
        "Pod" => serde_json::from_value::<core::Pod>(v).map(drop),
        "Deployment" => serde_json::from_value::<apps::Deployment>(v).map(drop),
        "StatefulSet" => serde_json::from_value::<apps::StatefulSet>(v).map(drop),
        "DaemonSet" => serde_json::from_value::<apps::DaemonSet>(v).map(drop),
        "Job" => serde_json::from_value::<batch::Job>(v).map(drop),
        "CronJob" => serde_json::from_value::<batch::CronJob>(v).map(drop),
        _ => Ok(()),
    };
    ok.unwrap_or_else(|e| panic!("{}: {e}", object["kind"]));
}

#[test]
fn inject_golden_cases() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = common::case_dirs("testdata/inject");
    assert!(cases.len() >= 7, "{cases:?}");
    for case in cases {
        let app = case.join("app.yaml");
        let out = inject(&app, &case);
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", case.display());
        golden(&case.join("expected.yaml"), &stdout, bless);
        golden(&case.join("expected.stderr"), &stderr, bless);

        let input = std::fs::read_to_string(&app).expect("read");
        if !stderr.contains("written anew") {
            assert!(
                only_adds(&input, &stdout),
                "{}: a byte of the input changed",
                case.display()
            );
            // Block layouts keep every line whole.
            if !input.trim_start().starts_with('{') {
                let mut out = stdout.split_inclusive('\n');
                let whole = input
                    .split_inclusive('\n')
                    .all(|line| line.contains('{') || out.any(|o| o == line));
                assert!(whole, "{}: a line of the input changed", case.display());
            }
        }
        let json = Command::cargo_bin("kubectl-goosefs")
            .expect("binary")
            .args(["inject", "-o", "json", "--dataset", "hbase", "--runtime"])
            .arg(if case.join("runtime.yaml").exists() {
                case.join("runtime.yaml")
            } else {
                "testdata/hbase/hbase.yaml".into()
            })
            .arg(&app)
            .args(
                std::fs::read_to_string(case.join("args"))
                    .map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
                    .unwrap_or_default(),
            )
            .output()
            .expect("runs");
        let list: Value = serde_json::from_slice(&json.stdout).expect("a JSON List");
        let items = list["items"].as_array().expect("items");
        assert!(!items.is_empty());
        items.iter().for_each(typed);

        let dir = tempfile::tempdir().expect("tmp");
        let again = dir.path().join("app.yaml");
        std::fs::write(&again, &stdout).expect("write");
        let twice = inject(&again, &case);
        assert_eq!(twice.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&twice.stdout),
            stdout,
            "{}: a second inject changed it",
            case.display()
        );
        assert!(
            String::from_utf8_lossy(&twice.stderr).contains("already injected"),
            "{}",
            String::from_utf8_lossy(&twice.stderr)
        );
    }
}

#[test]
fn in_place_writes_the_file_and_conflicts_exit_1_naming_the_workload() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("app.yaml");
    let text = std::fs::read_to_string("testdata/inject/pod-pvc/app.yaml").expect("read");
    std::fs::write(&app, &text).expect("write");
    let run = |extra: &[&str]| {
        Command::cargo_bin("kubectl-goosefs")
            .expect("binary")
            .args([
                "inject",
                "--dataset",
                "hbase",
                "--runtime",
                "testdata/hbase/hbase.yaml",
                "-f",
            ])
            .arg(&app)
            .args(extra)
            .output()
            .expect("runs")
    };
    let out = run(&["--in-place"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&app).expect("read");
    assert!(
        written.starts_with(&text) && written.contains("HostToContainer"),
        "{written}"
    );

    // Another volume mounted at /data: refused, nothing written.
    let taken = text.replace(
        "    command: [\"sleep\", \"infinity\"]\n",
        "    command: [\"sleep\", \"infinity\"]\n    volumeMounts: [{name: other, mountPath: /data}]\n",
    );
    std::fs::write(&app, &taken).expect("write");
    let out = run(&["--in-place"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Pod/shell: container shell already mounts \"other\" at \"/data\""),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&app).expect("read"), taken);

    // No such Dataset: a usage error naming it.
    let out = Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .args(["inject", "--dataset", "nope", "--runtime", "testdata/hbase/hbase.yaml"])
        .arg(&app)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Dataset and GooseFSRuntime named nope"));
}
