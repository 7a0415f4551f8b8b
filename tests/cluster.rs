//! `plan` against the project's own API test server (real HTTP on 127.0.0.1, started here):
//! creates, no-op plans, updates, prunes, errors, retries, and that plan only ever dry-runs.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

#[path = "support/apiserver.rs"]
mod apiserver;

use std::process::Output;

use apiserver::{ApiServer, Fault};
use assert_cmd::Command;
use serde_json::Value;

const HBASE: &str = "testdata/hbase/hbase.yaml";

fn plan(server: &ApiServer, dir: &std::path::Path, args: &[&str]) -> Output {
    let kubeconfig = server.kubeconfig(dir);
    Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .arg("plan")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .output()
        .expect("runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The rendered objects of `input`, as a server would store them after an apply.
fn rendered(input: &str) -> Vec<Value> {
    let out = Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .args(["render", input, "-o", "json"])
        .output()
        .expect("runs");
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    list["items"].as_array().cloned().expect("items")
}

#[test]
fn plan_on_an_empty_cluster_creates_everything_and_writes_nothing() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = plan(&server, dir.path(), &[HBASE, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.ends_with("Plan: 10 to create, 0 to update, 0 to delete, 0 unchanged.\n"),
        "{text}"
    );
    assert!(text.contains("create StatefulSet/default/hbase-master"));
    assert_eq!(server.len(), 0, "plan stored nothing");
    let log = server.log();
    let writes: Vec<&String> = log.iter().filter(|l| !l.starts_with("GET ")).collect();
    assert_eq!(writes.len(), 10, "{log:#?}");
    assert!(
        writes
            .iter()
            .all(|l| l.starts_with("PATCH ") && l.contains("dryRun=All") && l.contains("fieldManager=kubectl-goosefs")),
        "{writes:#?}"
    );
}

#[test]
fn an_applied_runtime_plans_no_changes_then_exactly_the_quota_change() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    for object in rendered(HBASE) {
        server.apply(&object, "kubectl-goosefs");
    }
    let out = plan(&server, dir.path(), &[HBASE, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out),
        "Plan: 0 to create, 0 to update, 0 to delete, 10 unchanged.\n"
    );

    let changed = dir.path().join("hbase.yaml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(HBASE)
            .expect("input")
            .replace("quota: 2G", "quota: 4G"),
    )
    .expect("write");
    let out = plan(
        &server,
        dir.path(),
        &[changed.to_str().expect("utf-8"), "--detailed-exitcode", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let updates: Vec<String> = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["op"] == "update")
        .map(|c| {
            format!(
                "{}/{}",
                c["key"]["kind"].as_str().unwrap(),
                c["key"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(updates, ["ConfigMap/hbase-config", "StatefulSet/hbase-worker"]);
    let worker = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"]["name"] == "hbase-worker")
        .unwrap();
    assert!(worker["live_resource_version"].is_string());
}

#[test]
fn objects_of_ours_that_are_no_longer_rendered_are_planned_for_deletion_and_others_never() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    for object in rendered(HBASE) {
        server.apply(&object, "kubectl-goosefs");
    }
    let labels =
        serde_json::json!({"app.kubernetes.io/managed-by": "kubectl-goosefs", "app.kubernetes.io/instance": "hbase"});
    server.apply(
        &serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "hbase-mount-0000000000", "namespace": "default", "labels": labels}}),
        "kubectl-goosefs",
    );
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "someone-elses", "namespace": "default", "labels": {"app": "goosefs"}}}),
        "kubectl",
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("delete Job/default/hbase-mount-0000000000"), "{text}");
    assert!(!text.contains("someone-elses"));
    assert!(
        text.ends_with("Plan: 0 to create, 0 to update, 1 to delete, 10 unchanged.\n"),
        "{text}"
    );
}

#[test]
fn quorum_drops_are_refused() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    for object in rendered(HBASE) {
        server.apply(&object, "kubectl-goosefs");
    }
    let one = dir.path().join("one.yaml");
    std::fs::write(
        &one,
        std::fs::read_to_string(HBASE)
            .expect("input")
            .replace("  master:\n    replicas: 3\n", "  master:\n    replicas: 1\n"),
    )
    .expect("write");
    let out = plan(&server, dir.path(), &[one.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("master replicas 3 -> 1 lowers the failures the Raft quorum tolerates from 1 to 0"),
        "{}",
        stderr(&out)
    );
    let allowed = plan(&server, dir.path(), &[one.to_str().unwrap(), "--allow-quorum-loss"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert!(stdout(&allowed).contains("note: masters 3 -> 1: Raft quorum 2 of 3 -> 1 of 1"));
}

#[test]
fn server_errors_fail_with_one_clear_line_and_transient_ones_are_retried() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    server.inject(&[Fault::Status(403)]);
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap/default/hbase-config: the API server answered 403") && err.contains("RBAC"),
        "{err}"
    );

    server.inject(&[Fault::Status(422)]);
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("answered 422"), "{}", stderr(&out));

    // A dropped connection is reported (not yet retried: kube-rs retries only 429/503/504).
    server.inject(&[Fault::Drop]);
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach the API server") && err.lines().count() == 1,
        "{err}"
    );

    // 503 and 429 are retried by the client (Retry-After: 0), then the plan succeeds.
    let before = server.log().len();
    server.inject(&[Fault::Status(503), Fault::Status(429)]);
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("Plan: 10 to create, 0 to update, 0 to delete, 0 unchanged.\n"));
    let log = server.log();
    assert_eq!(log[before], log[before + 2], "the first request was sent three times");
}

#[test]
fn an_unreachable_cluster_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: t\n  user: {{}}\ncontexts:\n- name: t\n  context: {{cluster: t, user: t}}\ncurrent-context: t\n"
    )).expect("write");
    let out = Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .env_remove("KUBECONFIG")
        .args(["plan", HBASE, "--request-timeout", "2s", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach the API server") && err.lines().count() == 1,
        "{err}"
    );
    let bad = dir.path().join("broken");
    std::fs::write(&bad, "not: [a kubeconfig").expect("write");
    let out = Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .env_remove("KUBECONFIG")
        .args(["plan", HBASE, "--kubeconfig"])
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot use the kubeconfig"), "{}", stderr(&out));
}
