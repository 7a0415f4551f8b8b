//! The binary as users run it: formats, exit codes, stdin, directories, limits, help texts.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("kubectl-goosefs").expect("binary built");
    cmd.env_remove("NO_COLOR").env("COLUMNS", "100");
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HBASE: &str = "testdata/hbase/hbase.yaml";
const BROKEN: &str = "testdata/validate/gfs101-even-masters/input.yaml";
const WARN_ONLY: &str = "testdata/validate/gfs202-unpaired/input.yaml";
const SECRET: &str = "testdata/validate/gfs203-credential-option/input.yaml";

#[test]
fn exit_codes() {
    assert_eq!(run(&["validate", HBASE]).status.code(), Some(0));
    assert_eq!(run(&["validate", BROKEN]).status.code(), Some(1));
    assert_eq!(run(&["validate", WARN_ONLY]).status.code(), Some(0));
    assert_eq!(run(&["validate", "--strict", WARN_ONLY]).status.code(), Some(1));
    assert_eq!(
        run(&["validate", "--strict", "--ignore", "GFS202", WARN_ONLY])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["validate", "--ignore", "GFS999", WARN_ONLY]).status.code(),
        Some(2)
    );
    let missing = run(&["validate", "does/not/exist.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read does/not/exist.yaml"));
    // A missing file next to a valid one: the valid one is still checked, the exit code is 2.
    let mixed = run(&["validate", "--format", "json", HBASE, "nope.yaml"]);
    assert_eq!(mixed.status.code(), Some(2));
    let json: Value = serde_json::from_slice(&mixed.stdout).expect("json");
    assert_eq!(json["summary"]["files"], 1);
    let usage = run(&["validate"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("no input"));
    assert_eq!(run(&["validate", "--format", "yaml", HBASE]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn json_format_is_exactly_the_documented_shape() {
    let out = run(&["validate", "--format", "json", BROKEN]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    // Keys in the documented order (serde_json keeps insertion order here).
    let keys = |v: &Value| {
        v.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&json), ["diagnostics", "summary"]);
    let d = &json["diagnostics"][0];
    assert_eq!(
        keys(d),
        [
            "file", "line", "column", "severity", "code", "path", "object", "message"
        ]
    );
    assert_eq!(d["code"], "GFS101");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["path"], "spec.master.replicas");
    assert_eq!(d["object"], "GooseFSRuntime/default/hbase");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(24), Some(15)));
    assert_eq!(
        keys(&json["summary"]),
        ["files", "documents", "skipped", "errors", "warnings"]
    );
}

#[test]
fn github_format_annotates_each_finding() {
    let out = stdout(&run(&[
        "validate",
        "--format",
        "github",
        "testdata/validate/gfs202-unpaired/input.yaml",
        BROKEN,
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with(
        "::error file=testdata/validate/gfs101-even-masters/input.yaml,line=24,col=15,title=GFS101 Master replicas must be a positive odd number::"
    )));
    // Pairing spans files: the unpaired case's runtime `hbase` finds the other file's Dataset,
    // so only its Dataset `hbase-data` stays unpaired.
    let warnings: Vec<&&str> = lines.iter().filter(|l| l.starts_with("::warning file=")).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Dataset/default/hbase-data"));
}

#[test]
fn junit_format_has_a_failure_per_error() {
    let out = stdout(&run(&["validate", "--format", "junit", HBASE, BROKEN]));
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(out.contains(r#"<testsuites name="kubectl-goosefs validate" tests="2" failures="1" errors="0">"#));
    assert_eq!(out.matches("<failure type=\"GFS101\"").count(), 1);
    assert!(out.contains("1 file(s) without findings"));
    assert_eq!(out.matches("<testcase").count(), out.matches("</testcase>").count() + 1);
}

#[test]
fn sarif_format_is_sarif_2_1_0_with_stable_rule_ids() {
    let out = run(&["validate", "--format", "sarif", BROKEN, WARN_ONLY]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids.first(), Some(&"GFS001"));
    assert!(ids.contains(&"GFS101") && ids.contains(&"GFS203"));
    let results = run["results"].as_array().expect("results");
    let result = results.iter().find(|r| r["ruleId"] == "GFS101").expect("GFS101 result");
    assert_eq!(result["level"], "error");
    assert_eq!(ids[result["ruleIndex"].as_u64().expect("index") as usize], "GFS101");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(24), Some(15))
    );
    assert!(results.iter().any(|r| r["level"] == "warning"));
}

#[test]
fn human_format_snapshot_and_colour_choice() {
    let plain = stdout(&run(&["validate", "--color", "never", BROKEN]));
    insta::assert_snapshot!("human_even_masters", plain);
    assert!(!plain.contains('\x1b'));
    let coloured = stdout(&run(&["validate", "--color", "always", BROKEN]));
    assert!(coloured.contains("\x1b[1;31m"));
    // auto: not a terminal here, so no colour.
    assert!(!stdout(&run(&["validate", BROKEN])).contains('\x1b'));
}

#[test]
fn secrets_are_never_printed() {
    for format in ["human", "json", "github", "junit", "sarif"] {
        let out = stdout(&run(&["validate", "--format", format, SECRET]));
        assert!(out.contains("GFS203"), "{format}");
        assert!(
            !out.contains("SUPERSECRETVALUE") && !out.contains("ANOTHERSECRET"),
            "{format} leaked a secret"
        );
    }
}

#[test]
fn stdin_is_read_with_dash() {
    let text = std::fs::read_to_string(BROKEN).expect("case");
    let out = bin()
        .args(["validate", "--format", "json", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["diagnostics"][0]["file"], "<stdin>");
    assert_eq!(json["diagnostics"][0]["code"], "GFS101");
}

#[test]
fn directories_are_walked_recursively_and_other_kinds_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("apps/cache")).expect("dirs");
    std::fs::create_dir_all(root.join(".git")).expect("dirs");
    std::fs::copy(HBASE, root.join("apps/cache/hbase.yml")).expect("copy");
    std::fs::copy(BROKEN, root.join("apps/broken.yaml")).expect("copy");
    std::fs::write(
        root.join("apps/deploy.json"),
        r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}"#,
    )
    .expect("write");
    std::fs::write(root.join("README.md"), "not yaml: [").expect("write");
    std::fs::copy(BROKEN, root.join(".git/ignored.yaml")).expect("copy");
    let out = run(&["validate", "--format", "json", &root.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["summary"]["files"], 3);
    assert_eq!(json["summary"]["documents"], 5);
    assert_eq!(json["summary"]["skipped"], 1);
    let files: Vec<&str> = json["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["file"].as_str())
        .collect();
    assert!(files.iter().all(|f| f.ends_with("apps/broken.yaml")), "{files:?}");
}

#[test]
fn a_100_mb_file_is_refused_quickly_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(100 * 1024 * 1024).expect("sparse file");
    let out = run(&["validate", "--format", "json", &path.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "GFS005");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(1), Some(1)));
    assert!(d["message"].as_str().unwrap_or_default().contains("100.0 MiB"));
    // The limit is configurable.
    let small = run(&["validate", "--max-file-size", "1k", "--format", "json", HBASE]);
    let json: Value = serde_json::from_slice(&small.stdout).expect("json");
    assert_eq!(json["summary"]["errors"], 0, "hbase.yaml is under 1k");
    let tiny = run(&["validate", "--max-file-size", "100", "--format", "json", HBASE]);
    let json: Value = serde_json::from_slice(&tiny.stdout).expect("json");
    assert_eq!(json["diagnostics"][0]["code"], "GFS005");
}

#[test]
#[ignore = "needs ../shared/reference/fluid/samples (run by .ci/run with --ignored)"]
fn fluid_samples_all_validate() {
    let samples = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/fluid/samples"
    ));
    assert!(samples.is_dir(), "the shared Fluid samples are missing");
    let out = run(&["validate", "--format", "json", &samples.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["summary"]["files"], 14);
    assert_eq!(json["summary"]["errors"], 0);
}

#[test]
fn explain_prints_what_why_and_examples() {
    let out = run(&["explain", "GFS101"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("explain_gfs101", stdout(&out));
    let list = stdout(&run(&["explain"]));
    assert_eq!(list.lines().count(), 19);
    assert_eq!(run(&["explain", "gfs203"]).status.code(), Some(0));
    let unknown = run(&["explain", "GFS999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown rule code"));
}

#[test]
fn schema_command_writes_the_checked_in_files_and_prints_crds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["schema", "--out", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    for file in [
        "dataset.json",
        "goosefsruntime.json",
        "dataload.json",
        "databackup.json",
    ] {
        let written = std::fs::read_to_string(dir.path().join(file)).expect("written");
        let checked_in = std::fs::read_to_string(Path::new("schemas").join(file)).expect("checked in");
        assert_eq!(written, checked_in, "{file}");
    }
    let printed: Value = serde_json::from_slice(&run(&["schema", "--kind", "dataset"]).stdout).expect("json");
    assert_eq!(printed["title"], "Dataset");
    let crds = stdout(&run(&["schema", "--crd"]));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&crds).expect("CRDs are YAML");
    let names: Vec<&str> = docs.iter().filter_map(|d| d["metadata"]["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "datasets.data.fluid.io",
            "goosefsruntimes.data.fluid.io",
            "dataloads.data.fluid.io",
            "databackups.data.fluid.io"
        ]
    );
    assert!(docs.iter().all(|d| d["kind"] == "CustomResourceDefinition"));
}

#[test]
fn help_texts() {
    for command in [
        "validate",
        "render",
        "plan",
        "apply",
        "status",
        "delete",
        "load",
        "inject",
        "backup",
        "schema",
        "explain",
        "version",
        "completion",
        "man",
    ] {
        let out = run(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains("Example"), "{command} --help has examples");
        insta::assert_snapshot!(format!("help_{command}"), text);
    }
    let version = stdout(&run(&["--version"]));
    assert_eq!(version, format!("kubectl-goosefs {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // `validate ... | head -1`: the reader goes away; we must exit quietly, not panic.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} validate --format json {BROKEN} | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]:-ok}}\"",
            env!("CARGO_BIN_EXE_kubectl-goosefs")
        ))
        .output()
        .expect("sh");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn render_refuses_invalid_input_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("rendered");
    let out = run(&["render", BROKEN, "--output-dir", &out_dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[GFS101]") && stderr.contains("nothing was rendered"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "no partial output directory");
    let missing = run(&["render", "testdata/validate/gfs202-unpaired/input.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("has no Dataset"));
    assert_eq!(run(&["render"]).status.code(), Some(2));
    assert_eq!(
        run(&["render", HBASE, "--port-range", "30000-20000"]).status.code(),
        Some(2)
    );
}

/// Regression (issue 9): a range ending at 65535 that the runtime uses up spun at 100% CPU.
#[test]
fn render_fails_at_once_when_a_range_ending_at_65535_is_used_up() {
    // A hang is killed by the timeout and has no exit code.
    let out = bin()
        .args(["render", HBASE, "--port-range", "65525-65535"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("65525-65535 has no free port left"), "{stderr}");
    let fits = run(&["render", HBASE, "--port-range", "65524-65535"]);
    assert_eq!(fits.status.code(), Some(0), "{}", String::from_utf8_lossy(&fits.stderr));
    assert!(stdout(&fits).contains("containerPort: 65535"));
}

/// Every render golden is exactly what the binary prints for its case (runtime after runtime).
#[test]
fn render_prints_every_golden_case() {
    for dir in common::case_dirs("testdata/render") {
        let options: Value = std::fs::read_to_string(dir.join("options.json"))
            .map(|t| serde_json::from_str(&t).expect("options.json"))
            .unwrap_or(Value::Null);
        let csi = options["csi"].as_str().unwrap_or("standalone");
        let images = options["images"].as_str().unwrap_or("kubectl-goosefs");
        let input = dir.join("input.yaml").display().to_string();
        let mut args = vec!["render", &input, "--csi", csi, "--images", images];
        if options["monitoring"] == true {
            args.push("--monitoring");
        }
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let expected = std::fs::read_to_string(dir.join("expected.yaml")).expect("golden");
        assert_eq!(stdout(&out), expected, "{}", dir.display());
    }
    // The JSON list is streamed too, and reads exactly as a pretty printer would write it.
    let json = stdout(&run(&[
        "render",
        "testdata/render/two-runtimes/input.yaml",
        "-o",
        "json",
    ]));
    let list: Value = serde_json::from_str(&json).expect("one JSON document");
    assert_eq!(json, serde_json::to_string_pretty(&list).expect("json") + "\n");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(26));
    let empty = bin()
        .args(["render", "-", "-o", "json"])
        .write_stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        .output()
        .expect("runs");
    assert_eq!(
        stdout(&empty),
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": []\n}\n"
    );
}

#[test]
fn render_to_stdout_as_yaml_and_json() {
    let yaml = run(&["render", HBASE]);
    assert_eq!(yaml.status.code(), Some(0));
    let expected = std::fs::read_to_string("testdata/render/hbase-3-masters/expected.yaml").expect("golden");
    assert_eq!(stdout(&yaml), expected, "the CLI prints exactly the golden rendering");
    let json: Value = serde_json::from_slice(&run(&["render", HBASE, "-o", "json"]).stdout).expect("json");
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(14));
}

#[test]
fn render_output_dir_is_one_sorted_file_per_object_and_replaced_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("rendered");
    let arg = out_dir.display().to_string();
    assert_eq!(run(&["render", HBASE, "--output-dir", &arg]).status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 14);
    assert_eq!(names[0], "00-configmap-default-hbase-applyset.yaml");
    assert_eq!(names[1], "01-configmap-default-hbase-config.yaml");
    assert_eq!(names[2], "01-role-default-hbase-status.yaml");
    assert_eq!(names[13], "08-daemonset-default-hbase-fuse.yaml");
    // Re-rendering a smaller input replaces the set: no stale files stay behind.
    assert_eq!(
        run(&["render", "testdata/render/one-master/input.yaml", "--output-dir", &arg])
            .status
            .code(),
        Some(0)
    );
    let count = std::fs::read_dir(&out_dir).expect("dir").count();
    assert_eq!(count, 12);
    // A directory holding anything else is not replaced.
    std::fs::write(out_dir.join("notes.txt"), "mine").expect("write");
    let refused = run(&["render", HBASE, "--output-dir", &arg]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(out_dir.join("notes.txt").exists());
}

#[test]
fn render_templates_images_and_explain_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).expect("mkdir");
    let original = std::fs::read_to_string("templates/configmap.yaml.j2").expect("template");
    std::fs::write(
        templates.join("configmap.yaml.j2"),
        original.replace("data:\n", "data:\n  SITE: custom\n"),
    )
    .expect("write");
    let out = stdout(&run(&[
        "render",
        HBASE,
        "--templates",
        &templates.display().to_string(),
    ]));
    assert!(out.contains("SITE: custom"));
    std::fs::write(templates.join("configmap.yaml.j2"), "{{ v.no_such_value }}").expect("write");
    let strict = run(&["render", HBASE, "--templates", &templates.display().to_string()]);
    assert_ne!(strict.status.code(), Some(0), "undefined template values are errors");
    let catalog = dir.path().join("images.yaml");
    std::fs::write(
        &catalog,
        "goosefs: {image: mirror.local/goosefs, tag: v1.2.0, digest: 'sha256:0123'}\n\
         fuse: {image: mirror.local/goosefs-fuse, tag: v1.2.0}\n\
         initUsers: {image: mirror.local/init-users, tag: v0.9.0}\n",
    )
    .expect("write");
    let out = run(&[
        "render",
        HBASE,
        "--images",
        &catalog.display().to_string(),
        "--explain-images",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("image: \"mirror.local/goosefs@sha256:0123\""));
    let explained = String::from_utf8_lossy(&out.stderr);
    assert!(
        explained.contains("fuse: mirror.local/goosefs-fuse:v1.2.0 (pull IfNotPresent; from"),
        "{explained}"
    );
    assert!(
        explained.contains("DaemonSet/default/hbase-fuse container goosefs-fuse: mirror.local/goosefs-fuse:v1.2.0")
    );
    // Named catalogs: the default runs our image; `--images fluid` Fluid's, and says why.
    let ours = run(&["render", HBASE, "--explain-images"]);
    let version = env!("CARGO_PKG_VERSION");
    assert!(stdout(&ours).contains(&format!("image: \"kubectl-goosefs/goosefs:{version}\"")));
    assert!(String::from_utf8_lossy(&ours.stderr).contains("(the default: our goosefs runtime image)"));
    let fluid = run(&["render", HBASE, "--images", "fluid", "--explain-images"]);
    assert!(stdout(&fluid).contains("image: \"ccr.ccs.tencentyun.com/qcloud/goosefs-fuse:v1.2.0\""));
    assert!(String::from_utf8_lossy(&fluid.stderr).contains("chosen with --images fluid"));
}

/// kubectl finds the plugin on PATH and dispatches `kubectl goosefs ...` to it.
#[test]
fn kubectl_discovers_and_dispatches_the_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("kubectl-goosefs");
    std::fs::copy(env!("CARGO_BIN_EXE_kubectl-goosefs"), &plugin).expect("copy binary");
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", dir.path().join("none"))
            .output()
            .expect("kubectl is installed on every machine here")
    };
    let list = kubectl(&["plugin", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(&plugin.display().to_string()),
        "{list:?}"
    );
    let version = kubectl(&["goosefs", "version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).lines().next(),
        Some(format!("kubectl-goosefs {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let validate = kubectl(&["goosefs", "validate", "--format", "json", BROKEN]);
    assert_eq!(validate.status.code(), Some(1), "exit codes pass through kubectl");
    let json: Value = serde_json::from_slice(&validate.stdout).expect("json");
    assert_eq!(json["diagnostics"][0]["code"], "GFS101");
}

/// A large multi-document file is parsed and checked on two threads when a core is free; the
/// report must be the same as the single-threaded one, document for document.
#[test]
fn large_files_validate_the_same_on_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("many.yaml");
    let base = std::fs::read_to_string(BROKEN).expect("case");
    let mut text = String::new();
    for i in 0..800 {
        text.push_str("---\n");
        text.push_str(
            &base
                .replace("name: hbase", &format!("name: rt-{i}"))
                .replace("replicas: 4", if i % 7 == 0 { "replicas: 4" } else { "replicas: 3" }),
        );
    }
    assert!(text.len() > 256 * 1024, "large enough to take the two-thread path");
    std::fs::write(&path, text).expect("write");
    let arg = path.display().to_string();
    let one = run(&["validate", "--format", "json", "-j", "1", &arg]);
    let two = run(&["validate", "--format", "json", "-j", "2", &arg]);
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(stdout(&one), stdout(&two));
    let json: Value = serde_json::from_slice(&two.stdout).expect("json");
    assert_eq!(json["summary"]["documents"], 1600);
    assert_eq!(json["summary"]["errors"], 115);
}

/// On a terminal, human output is coloured unless NO_COLOR is set (`script` from util-linux,
/// part of every Debian system, gives the binary a pseudo-terminal).
#[test]
fn colour_on_a_terminal_unless_no_color() {
    common::require("script", "util-linux");
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} validate {BROKEN}", env!("CARGO_BIN_EXE_kubectl-goosefs")),
            "/dev/null",
        ]);
        cmd.env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&cmd.output().expect("script runs").stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\x1b[1;31merror[GFS101]"), "{coloured:?}");
    let plain = on_tty(true);
    assert!(plain.contains("error[GFS101]") && !plain.contains('\x1b'), "{plain:?}");
}

/// `version` names the build's commit and the images the embedded catalog pins.
#[test]
fn version_prints_the_commit_and_the_bundled_images() {
    let out = run(&["version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("kubectl-goosefs {}", env!("CARGO_PKG_VERSION")));
    let commit = lines[1].strip_prefix("commit: ").expect("a commit line");
    let hash = commit.split(' ').next().unwrap_or_default();
    assert!(
        hash == "unknown" || (hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let json: Value = serde_json::from_slice(&run(&["version", "-o", "json"]).stdout).expect("json");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["commit"], hash);
    assert_eq!(json["defaultCatalog"], "kubectl-goosefs");
    // Both catalogs are listed, each under its own heading; read them independently of the
    // binary's own parser.
    for (name, file, heading) in [
        (
            "kubectl-goosefs",
            "templates/images.yaml",
            "images (catalog kubectl-goosefs, the default):",
        ),
        (
            "fluid",
            "templates/images-fluid.yaml",
            "images (catalog fluid, --images fluid):",
        ),
    ] {
        let catalog: BTreeMap<String, serde_json::Value> =
            serde_saphyr::from_str(&std::fs::read_to_string(file).expect("catalog")).expect("yaml");
        let at = lines.iter().position(|l| *l == heading).expect(heading);
        // The images (not the `credential` flag).
        for (role, entry) in catalog.iter().filter(|(_, e)| e.is_object()) {
            let entry: BTreeMap<String, String> = serde_json::from_value(entry.clone()).expect("an image");
            let line = format!("  {role:<10} {}:{}", entry["image"], entry["tag"]);
            assert!(
                lines[at + 1..at + 4].contains(&line.as_str()),
                "{line:?} under {heading} in {text}"
            );
            assert_eq!(
                json["catalogs"][name][role],
                format!("{}:{}", entry["image"], entry["tag"])
            );
        }
    }
    assert_eq!(json["images"], json["catalogs"]["kubectl-goosefs"]);
}

/// The bash completion script, sourced in a real bash, completes subcommands and flags.
#[test]
fn bash_completion_completes_subcommands_and_flags() {
    common::require("bash", "bash");
    let script = stdout(&run(&["completion", "bash"]));
    assert!(
        !script.contains("__complete"),
        "kubectl's completion protocol stays out of the scripts"
    );
    let complete = |words: &str| {
        // As bash calls a completion function: the command, the current word, the previous one.
        let program = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _kubectl__goosefs kubectl-goosefs \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &program])
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let subcommands = complete("kubectl-goosefs ap");
    assert_eq!(subcommands.trim(), "apply", "{subcommands}");
    let flags = complete("kubectl-goosefs plan --detailed");
    assert!(flags.lines().any(|l| l == "--detailed-exitcode"), "{flags}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completion", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("detailed-exitcode"), "{shell}");
    }
    assert_eq!(run(&["completion", "tcsh"]).status.code(), Some(2));
}

/// The man page is valid roff that groff renders, with a page per command in --out-dir.
#[test]
fn man_pages_render_with_groff() {
    common::require("groff", "Debian's groff-base");
    let page = run(&["man"]);
    assert_eq!(page.status.code(), Some(0));
    let mut groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P", "-cbou"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("groff is installed here (Debian's groff-base)");
    std::io::Write::write_all(&mut groff.stdin.take().expect("stdin"), &page.stdout).expect("write");
    let shown = groff.wait_with_output().expect("groff runs");
    assert!(shown.status.success() && shown.stderr.is_empty(), "{shown:?}");
    let text = String::from_utf8_lossy(&shown.stdout);
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "SUBCOMMANDS"] {
        assert!(text.lines().any(|l| l.trim() == section), "{section} in {text}");
    }
    assert!(text.contains("kubectl-goosefs-plan(1)"), "{text}");

    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&["man", "--out-dir", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let expected: Vec<String> = std::iter::once("kubectl-goosefs.1".to_owned())
        .chain(
            [
                "apply",
                "backup",
                "completion",
                "delete",
                "explain",
                "inject",
                "load",
                "man",
                "plan",
                "render",
                "schema",
                "status",
                "validate",
                "version",
            ]
            .iter()
            .map(|c| format!("kubectl-goosefs-{c}.1")),
        )
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(pages, expected);
    let apply = std::fs::read_to_string(dir.path().join("kubectl-goosefs-apply.1")).expect("page");
    assert!(
        apply.contains("force\\-conflicts"),
        "the apply page documents its flags"
    );
}

/// `--kustomization` makes the output directory a kustomize base that keeps apply order: the real
/// kubectl builds it into exactly the objects `render` prints, in the same order.
#[test]
fn render_output_dir_with_a_kustomization_builds_with_kubectl_in_apply_order() {
    common::require("kubectl", "kubectl 1.26 or later, e.g. Debian's kubernetes-client");
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("base");
    let arg = out_dir.display().to_string();
    let out = run(&["render", HBASE, "--output-dir", &arg, "--kustomization"]);
    assert_eq!(out.status.code(), Some(0));
    let kustomization = std::fs::read_to_string(out_dir.join("kustomization.yaml")).expect("written");
    let listed: Vec<String> = kustomization
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .map(str::to_owned)
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "kustomization.yaml")
        .collect();
    files.sort();
    assert_eq!(listed, files, "every file, in apply order");

    let built = std::process::Command::new("kubectl")
        .args(["kustomize", &arg])
        .output()
        .expect("kubectl is installed on every machine here");
    assert!(built.status.success(), "{built:?}");
    let names = |objects: Vec<Value>| -> Vec<String> {
        objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let from_kubectl: Vec<Value> = String::from_utf8_lossy(&built.stdout)
        .split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<Value>(doc).expect("yaml"))
        .collect();
    let rendered: Value = serde_json::from_slice(&run(&["render", HBASE, "-o", "json"]).stdout).expect("json");
    let rendered = rendered["items"].as_array().cloned().expect("items");
    assert_eq!(names(from_kubectl.clone()), names(rendered.clone()));
    assert_eq!(from_kubectl, rendered, "kustomize changes nothing");
    // Without --output-dir the flag is a usage error.
    assert_eq!(run(&["render", HBASE, "--kustomization"]).status.code(), Some(2));
}

/// The 1-based line of the first line of `file` containing `needle`.
fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("file");
    text.lines().position(|l| l.contains(needle)).expect("needle") + 1
}

/// A repository laid out as GitOps repositories are (runtimes split across files, other kinds,
/// a broken file): GitHub annotations and SARIF results name each finding's file and line.
#[test]
fn github_and_sarif_on_a_gitops_tree() {
    const TREE: &str = "testdata/gitops";
    let spark = "testdata/gitops/apps/spark/runtime.yaml";
    let logs = "testdata/gitops/apps/logs/runtime.yaml";
    let broken = "testdata/gitops/broken/values.yaml";
    let expected = [
        ("warning", logs, line_of(logs, "name: logs"), "GFS202"),
        ("error", spark, line_of(spark, "    replicas: 2"), "GFS101"),
        ("error", broken, 4, "GFS001"),
    ];

    let out = run(&["validate", TREE, "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let annotations: Vec<(String, String, usize, String)> = text
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(|l| {
            let (level, rest) = l[2..].split_once(' ').expect("level");
            let props = rest.split("::").next().expect("properties");
            let get = |key: &str| {
                props
                    .split(',')
                    .find_map(|p| p.strip_prefix(&format!("{key}=")))
                    .expect("property")
                    .to_owned()
            };
            let code = get("title").split(' ').next().expect("code").to_owned();
            (level.to_owned(), get("file"), get("line").parse().expect("line"), code)
        })
        .collect();
    let want: Vec<(String, String, usize, String)> = expected
        .iter()
        .map(|(l, f, n, c)| ((*l).to_owned(), (*f).to_owned(), *n, (*c).to_owned()))
        .collect();
    assert_eq!(annotations, want, "{text}");
    // The summary counts the other kinds as skipped, not as errors.
    let human = stdout(&run(&["validate", TREE]));
    assert!(
        human.ends_with("(7 document(s), 2 of other kinds skipped)\n"),
        "{human}"
    );

    let out = run(&["validate", TREE, "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    let results: Vec<(String, String, usize, String)> = run0["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            let rule = r["ruleId"].as_str().expect("ruleId").to_owned();
            let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[index]["id"], rule.as_str(), "ruleIndex points at its rule");
            (
                r["level"].as_str().expect("level").to_owned(),
                location["artifactLocation"]["uri"].as_str().expect("uri").to_owned(),
                location["region"]["startLine"].as_u64().expect("line") as usize,
                rule,
            )
        })
        .collect();
    assert_eq!(results, want);
}

/// The machine-readable report formats, as CI systems read them.
#[test]
fn report_formats_snapshots() {
    for format in ["github", "junit", "sarif", "json"] {
        let out = run(&["validate", "--format", format, BROKEN, WARN_ONLY, SECRET]);
        assert_eq!(out.status.code(), Some(1));
        insta::assert_snapshot!(format!("validate_{format}"), stdout(&out));
    }
}
