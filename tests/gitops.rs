//! The CI examples (`examples/ci/`, shown in docs/user-guide.md) and the pre-commit hooks
//! (`.pre-commit-hooks.yaml`): they parse, name what they promise, and every kubectl-goosefs
//! command in them runs as written.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("file")).expect("yaml")
}

/// A repository with a `deploy/` directory: the hbase runtime and other kinds, or a broken runtime
/// too. Returns the directory and a PATH with the plugin binary first.
fn repository(broken: bool) -> (tempfile::TempDir, String) {
    common::require("bash", "bash");
    let dir = tempfile::tempdir().expect("tmp");
    let deploy = dir.path().join("deploy");
    std::fs::create_dir_all(&deploy).expect("mkdir");
    for file in ["testdata/hbase/hbase.yaml", "testdata/gitops/infra/deployment.yaml"] {
        let name = Path::new(file).file_name().expect("name");
        std::fs::copy(file, deploy.join(name)).expect("copy");
    }
    if broken {
        std::fs::copy("testdata/gitops/apps/spark/runtime.yaml", deploy.join("spark.yaml")).expect("copy");
        std::fs::copy(
            "testdata/gitops/apps/spark/dataset.yaml",
            deploy.join("spark-dataset.yaml"),
        )
        .expect("copy");
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-goosefs"), bin.join("kubectl-goosefs")).expect("link");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    (dir, path)
}

/// Runs a CI command line as the CI's shell would (bash -e), in `dir`; returns the exit code.
fn sh(command: &str, dir: &Path, path: &str) -> i32 {
    let out = Command::new("bash")
        .args(["-e", "-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("bash");
    out.status.code().expect("exit code")
}

/// The kubectl-goosefs command lines of a list of shell snippets (install lines left out).
fn plugin_commands(snippets: &[&str]) -> Vec<String> {
    snippets
        .iter()
        .flat_map(|s| s.lines())
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl-goosefs "))
        .map(str::to_owned)
        .collect()
}

fn github_steps() -> Vec<Value> {
    let workflow = yaml("examples/ci/github-actions.yml");
    assert!(
        workflow["on"].get("pull_request").is_some(),
        "runs on every pull request"
    );
    assert_eq!(workflow["permissions"]["security-events"], "write");
    workflow["jobs"]["goosefs"]["steps"].as_array().expect("steps").clone()
}

#[test]
fn the_github_workflow_validates_uploads_sarif_and_keeps_the_render() {
    let steps = github_steps();
    let uses = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
            .cloned()
            .expect(prefix)
    };
    let upload = uses("github/codeql-action/upload-sarif@");
    assert_eq!(
        upload["if"], "always()",
        "findings are uploaded even when the job fails"
    );
    let artifact = uses("actions/upload-artifact@");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let commands = plugin_commands(&runs);
    assert!(commands.iter().any(|c| c.contains("--format github")));
    assert!(commands.iter().any(|c| c.contains(&format!(
        "--format sarif > {}",
        upload["with"]["sarif_file"].as_str().unwrap()
    ))));
    assert!(commands.iter().any(|c| c.contains(&format!(
        "--output-dir {} --kustomization",
        artifact["with"]["path"].as_str().unwrap().trim_end_matches('/')
    ))));

    // Every plugin command runs as written: on a clean repository all pass ...
    let (dir, path) = repository(false);
    for command in &commands {
        assert_eq!(sh(command, dir.path(), &path), 0, "{command}");
    }
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("goosefs.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(dir.path().join("rendered/kustomization.yaml").exists());
    // ... and with a broken runtime the SARIF step still succeeds (so it is uploaded) while the
    // annotation step fails the job.
    let (dir, path) = repository(true);
    let sarif_step = commands.iter().find(|c| c.contains("--format sarif")).unwrap();
    assert_eq!(sh(sarif_step, dir.path(), &path), 0);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("goosefs.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "GFS101");
    let annotate = commands.iter().find(|c| c.contains("--format github")).unwrap();
    assert_eq!(sh(annotate, dir.path(), &path), 1);
}

#[test]
fn the_gitlab_job_validates_reports_junit_and_keeps_sarif_and_the_render() {
    let ci = yaml("examples/ci/gitlab-ci.yml");
    let job = &ci["goosefs"];
    let rules = serde_json::to_string(&job["rules"]).unwrap();
    assert!(rules.contains("merge_request_event"), "runs on every merge request");
    assert_eq!(job["artifacts"]["when"], "always");
    let junit = job["artifacts"]["reports"]["junit"].as_str().expect("junit report");
    let paths: Vec<&str> = job["artifacts"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let commands = plugin_commands(&script);
    assert_eq!(commands.len(), 3);
    let (dir, path) = repository(false);
    for command in &commands {
        assert_eq!(sh(command, dir.path(), &path), 0, "{command}");
    }
    let report = std::fs::read_to_string(dir.path().join(junit)).expect("junit written");
    assert!(report.contains("<testsuites"), "{report}");
    for artifact in paths {
        assert!(dir.path().join(artifact).exists(), "{artifact} is produced");
    }
}

#[test]
fn the_user_guide_shows_the_ci_examples_as_they_are() {
    let guide = std::fs::read_to_string("docs/user-guide.md").expect("the user guide");
    for example in ["examples/ci/github-actions.yml", "examples/ci/gitlab-ci.yml"] {
        let text = std::fs::read_to_string(example).expect("example");
        assert!(guide.contains(&text), "docs/user-guide.md shows {example} verbatim");
    }
}

#[test]
fn pre_commit_hooks_are_well_formed_and_their_entry_validates() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().expect("a list of hooks");
    assert!(hooks.len() >= 2);
    let mut ids = std::collections::BTreeSet::new();
    let (dir, path) = repository(true);
    let good: PathBuf = dir.path().join("deploy/hbase.yaml");
    let bad: PathBuf = dir.path().join("deploy/spark.yaml");
    for hook in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(hook[key].is_string(), "{key} in {hook}");
        }
        assert!(ids.insert(hook["id"].as_str().unwrap().to_owned()), "unique ids");
        assert!(["rust", "system"].contains(&hook["language"].as_str().unwrap()));
        let types: Vec<&str> = hook["types_or"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(types, ["yaml", "json"]);
        // pre-commit runs `entry` followed by the staged files' names.
        let entry = hook["entry"].as_str().unwrap();
        assert!(entry.starts_with("kubectl-goosefs "));
        let run = |files: &[&Path]| {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            sh(&format!("{entry} {}", names.join(" ")), dir.path(), &path)
        };
        assert_eq!(run(&[&good, &dir.path().join("deploy/deployment.yaml")]), 0);
        assert_eq!(run(&[&good, &bad]), 1);
    }
}
