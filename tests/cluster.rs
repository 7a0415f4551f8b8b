//! `plan`, `apply`, `status` and `delete` against the project's own API test server (real HTTP
//! on 127.0.0.1, started here): creates, no-op plans, updates, prunes, errors, retries, that plan
//! only ever dry-runs, apply order and waits, confirmation, conflicts, phases, deletion.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

#[path = "support/apiserver.rs"]
mod apiserver;

use std::process::Output;

use apiserver::{ApiServer, Fault};
use assert_cmd::Command;
use serde_json::Value;

const HBASE: &str = "testdata/hbase/hbase.yaml";

fn plan(server: &ApiServer, dir: &std::path::Path, args: &[&str]) -> Output {
    run(server, dir, "plan", args)
}

fn run(server: &ApiServer, dir: &std::path::Path, verb: &str, args: &[&str]) -> Output {
    let kubeconfig = server.kubeconfig(dir);
    Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .arg(verb)
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
        text.ends_with("Plan: 15 to create, 0 to update, 0 to delete, 0 unchanged.\n"),
        "{text}"
    );
    assert!(text.contains("create StatefulSet/default/hbase-master"));
    assert_eq!(server.len(), 0, "plan stored nothing");
    let log = server.log();
    // Nothing exists, so nothing is dry-run: a create has nothing to conflict with. The requests
    // are lists: the inventory (one per kind) and the names of everything else (one per kind),
    // no read of any object.
    let writes: Vec<&String> = log.iter().filter(|l| !l.starts_with("GET ")).collect();
    assert!(writes.is_empty(), "{writes:#?}");
    let reads: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains("/hbase"))
        .collect();
    // By name, only the credential Secret (one a user provides carries no label to list by).
    assert_eq!(
        reads,
        ["GET /api/v1/namespaces/default/secrets/hbase-credential?"],
        "{reads:#?}"
    );
    let lists = log
        .iter()
        .filter(|l| l.starts_with("GET ") && !l.contains("customresourcedefinitions"));
    // (+2: the nodes and pods the capacity checks read.)
    assert!(lists.count() <= 2 * 11 + 4, "{log:#?}");
}

#[test]
fn an_object_that_exists_without_our_labels_is_read_and_updated_not_created() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hbase-config", "namespace": "default"}, "data": {"theirs": "1"}}),
        "kubectl",
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("update ConfigMap/default/hbase-config"), "{text}");
    assert!(
        text.ends_with("Plan: 14 to create, 1 to update, 0 to delete, 0 unchanged.\n"),
        "{text}"
    );
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.starts_with("GET /api/v1/namespaces/default/configmaps/hbase-config")),
        "the object outside the inventory was read"
    );
}

#[test]
fn an_applied_runtime_plans_no_changes_then_exactly_the_quota_change() {
    let (server, dir) = applied();
    let out = plan(&server, dir.path(), &[HBASE, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out),
        "Plan: 0 to create, 0 to update, 0 to delete, 14 unchanged.\n"
    );

    let changed = edited(dir.path(), "hbase.yaml", "quota: 2G", "quota: 4G");
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
    // For machines, the changed fields: the pod template's settings checksum, nothing else.
    let fields: Vec<&str> = worker["diff"]
        .as_array()
        .expect("diff")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["spec.template.metadata.annotations.kubectl-goosefs/config-checksum"]
    );
    let config = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"]["name"] == "hbase-config")
        .unwrap();
    let opts = &config["diff"][0];
    assert_eq!(opts["path"], "data.GOOSEFS_JAVA_OPTS");
    assert!(opts["before"].as_str().unwrap().contains("quota=1953125KB"));
    assert!(opts["after"].as_str().unwrap().contains("quota=3906250KB"));
}

#[test]
fn server_defaults_and_canonical_quantities_show_no_diff_after_apply() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string("testdata/render/tiers-mem-ssd-hdd/input.yaml").expect("input");
    let spelled = text
        .replace(
            "requests: {cpu: \"2\", memory: 4Gi}",
            "requests: {cpu: 2000m, memory: 4096Mi}",
        )
        .replace("limits: {memory: 2Gi}", "limits: {memory: \"2147483648\"}");
    assert_ne!(spelled, text);
    let input = dir.path().join("in.yaml");
    std::fs::write(&input, spelled).expect("write");
    let input = input.to_str().expect("utf-8");
    let out = run(&server, dir.path(), "apply", &[input, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = server
        .paths()
        .into_iter()
        .find(|p| p.ends_with("-worker") && p.contains("/statefulsets/"))
        .expect("workers");
    let worker = server.object(&path).expect("stored");
    let container = &worker["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["resources"]["requests"],
        serde_json::json!({"cpu": "2", "memory": "4Gi"})
    );
    assert_eq!(
        container["terminationMessagePolicy"], "File",
        "server defaults are stored"
    );
    let out = plan(&server, dir.path(), &[input, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn objects_of_ours_that_are_no_longer_rendered_are_planned_for_deletion_and_others_never() {
    let (server, dir) = applied();
    let labels = ours();
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
        text.ends_with("Plan: 0 to create, 0 to update, 1 to delete, 14 unchanged.\n"),
        "{text}"
    );
}

#[test]
fn quorum_drops_are_refused() {
    let (server, dir) = applied();
    let one = edited(
        dir.path(),
        "one.yaml",
        "  master:\n    replicas: 3\n",
        "  master:\n    replicas: 1\n",
    );
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
fn plan_refuses_host_ports_others_hold_and_warns_what_may_not_fit() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let node = |name: &str, memory: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                           "status": {"allocatable": {"memory": memory}}})
    };
    for (name, memory) in [("node-1", "8Gi"), ("node-2", "8Gi"), ("node-3", "3Gi")] {
        server.apply(&node(name, memory), "kubelet");
    }
    // A cost line per runtime; with room everywhere, no warning.
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "cost: default/hbase: cache capacity 5.59GiB (3 workers x 1.86GiB); no MEM tier; host ports per node: master 6, worker 5, FUSE 1\nPlan: 15 to create"
        ),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("warning:"), "{}", stdout(&out));
    // A MEM tier of 2Gi plus 1Gi requested by the worker does not fit node-3's 3Gi with the FUSE
    // pod's 512Mi; four workers need four nodes.
    let mem = edited(
        dir.path(),
        "mem.yaml",
        "  replicas: 3\n  tieredstore:\n    levels:\n      - mediumtype: HDD\n        path: /mnt/disk1\n        quota: 2G\n",
        "  replicas: 4\n  worker:\n    resources: {requests: {memory: 1Gi}}\n  fuse:\n    resources: {requests: {memory: 512Mi}}\n  tieredstore:\n    levels:\n      - mediumtype: MEM\n        path: /dev/shm\n        quota: 2Gi\n",
    );
    let out = plan(&server, dir.path(), &[mem.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("warning: StatefulSet/default/hbase-worker: 4 worker pods need 4 nodes (one per node: they hold the same host ports), and 3 nodes are selected\n"),
        "{text}"
    );
    assert!(
        text.contains("warning: StatefulSet/default/hbase-worker: node node-3 has 3.00GiB of allocatable memory, less than a worker there needs: 2.00GiB of MEM tier quota plus 1.50GiB of requests\n"),
        "{text}"
    );
    assert!(
        text.contains("MEM tiers take 2.00GiB of memory per worker node"),
        "{text}"
    );
    // A pod of another application holds the FUSE port on node-2: refused, naming both.
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}),
        "test",
    );
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "web"},
                            "spec": {"nodeName": "node-2", "hostNetwork": true, "containers": [{"name": "nginx", "ports": [{"containerPort": 26011}]}]},
                            "status": {"phase": "Running"}}),
        "test",
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: host ports are taken: DaemonSet/default/hbase-fuse: node node-2: host port 26011 (goosefs-fuse/metrics) held by pod web/nginx; the FUSE pod there could never start; free them (or change the runtime's ports) and plan again\n"
    );
    // Another holds the masters' RPC port on node-1: three masters cannot have three nodes.
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd", "namespace": "web"},
                            "spec": {"nodeName": "node-1", "hostNetwork": true, "containers": [{"name": "etcd", "ports": [{"containerPort": 26000}]}]},
                            "status": {"phase": "Running"}}),
        "test",
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("StatefulSet/default/hbase-master: 3 master pods need 3 nodes with their host ports free, and only 2 of the 3 selected are: node node-1: host port 26000 (goosefs-master/rpc) held by pod web/etcd"),
        "{}",
        stderr(&out)
    );
    // A user who may not list nodes is told the checks did not run.
    server.inject_matching(|path| path.starts_with("GET /api/v1/nodes"), Fault::Status(403));
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("warning: host port, memory and node checks skipped: cannot list nodes: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn dataloads_apply_with_their_runtime_and_their_loaders_are_pruned_with_it() {
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let dir = tempfile::tempdir().expect("tmp");
    let with_loads = dir.path().join("loads.yaml");
    let text = std::fs::read_to_string(HBASE).expect("input")
        + "---\napiVersion: data.fluid.io/v1alpha1\nkind: DataLoad\nmetadata: {name: warm}\nspec:\n  dataset: {name: hbase}\n  target: [{path: /hbase}]\n"
        + "---\napiVersion: data.fluid.io/v1alpha1\nkind: DataLoad\nmetadata: {name: nightly}\nspec:\n  dataset: {name: hbase}\n  policy: Cron\n  schedule: \"*/30 * * * *\"\n";
    std::fs::write(&with_loads, text).expect("write");
    let loads = with_loads.to_str().unwrap();
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[loads, "--yes", "--install-crds", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("CustomResourceDefinition/dataloads.data.fluid.io created"),
        "{text}"
    );
    assert!(text.contains("DataLoad/default/warm created"), "{text}");
    let crd = server
        .object("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/dataloads.data.fluid.io")
        .expect("crd");
    let columns: Vec<&str> = crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Dataset", "Phase", "Age", "Duration"], "Fluid's columns");
    let paths = server.paths();
    let job = paths
        .iter()
        .find(|p| p.starts_with("/apis/batch/v1/namespaces/default/jobs/warm-loader-"))
        .expect("the Once load's Job");
    let cron = "/apis/batch/v1/namespaces/default/cronjobs/nightly-loader-job";
    assert_eq!(
        server.object(cron).expect("the Cron load's CronJob")["spec"]["schedule"],
        "*/30 * * * *"
    );
    let role = server
        .object("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/hbase-loader")
        .expect("the loader Role");
    assert_eq!(
        role["rules"][0]["resourceNames"],
        serde_json::json!(["nightly", "warm"])
    );
    assert_eq!(
        role["rules"][1]["resourceNames"],
        serde_json::json!([job.rsplit('/').next().unwrap_or_default()])
    );
    // The apply waited for no load: only the mount Job is waited on.
    assert!(!text.contains("waiting for the mount Job warm"), "{text}");
    // The same input again: nothing to change (a Once load is not run again).
    let out = run(&server, dir.path(), "plan", &[loads, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // Without the loads, pruning removes their Jobs and Role with the runtime's other leftovers;
    // the DataLoad objects stay (like the Dataset, a user's description).
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "--yes", "--prune", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(server.object(job).is_none(), "the loader Job is pruned");
    assert!(server.object(cron).is_none(), "the CronJob is pruned");
    assert!(
        server
            .object("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/hbase-loader")
            .is_none()
    );
    assert!(
        server
            .object("/apis/data.fluid.io/v1alpha1/namespaces/default/dataloads/warm")
            .is_some()
    );
}

/// A kubelet stand-in: once a new Job whose path contains `job` appears, a pod of it (on node
/// kgfs-node-2, with `log` as its log) and the Job's `outcome`.
fn fake_kubelet(
    server: &ApiServer,
    job: &'static str,
    log: &'static str,
    outcome: serde_json::Value,
) -> std::thread::JoinHandle<()> {
    let known: Vec<String> = server.paths();
    let server = server.clone();
    std::thread::spawn(move || {
        for _ in 0..100 {
            if let Some(path) = server
                .paths()
                .into_iter()
                .find(|p| p.contains(job) && !known.contains(p))
            {
                let name = path.rsplit('/').next().unwrap_or_default().to_owned();
                server.apply(
                    &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": format!("{name}-x"), "namespace": "default",
                                     "labels": {"job-name": name}, "annotations": {"test/log": log}},
                        "spec": {"nodeName": "kgfs-node-2"},
                        "status": {"phase": "Succeeded"}}),
                    "kubelet",
                );
                server.set_status(&path, outcome);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}

#[test]
fn backup_runs_fsadmin_backup_with_the_admin_key_and_says_where_the_file_is() {
    let (server, dir) = applied();
    let done = fake_kubelet(
        &server,
        "/jobs/hbase-backup-",
        "Backup Host        : hbase-master-0\nBackup URI         : /pvc/hbase/goosefs-backup-2026-12-07-1.gz\nBackup Entry Count : 5\nbackup saved: /pvc/hbase/metadata-backup-hbase-default.gz on node kgfs-node-2",
        serde_json::json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    let out = run(
        &server,
        dir.path(),
        "backup",
        &["hbase", "--to", "pvc://backups/hbase/", "--timeout", "20s"],
    );
    done.join().expect("kubelet");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Backup Entry Count : 5\n"), "{text}");
    assert!(
        text.ends_with(
            "backed up: pvc://backups/hbase/metadata-backup-hbase-default.gz (node kgfs-node-2); \
             restore with the Dataset's dataRestoreLocation: {path: pvc://backups/hbase/}\n"
        ),
        "{text}"
    );
    let job_path = server
        .paths()
        .into_iter()
        .find(|p| p.starts_with("/apis/batch/v1/namespaces/default/jobs/hbase-backup-"))
        .expect("the backup's Job");
    let job = server.object(&job_path).expect("job");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][1]["persistentVolumeClaim"]["claimName"], "backups");
    assert_eq!(pod["containers"][0]["env"][0]["value"], "/pvc/hbase/");
    // A location that is no place: a usage error, no Job.
    let out = run(&server, dir.path(), "backup", &["hbase", "--to", "s3://b/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give pvc://<claim>/<path> or local:///<path>"),
        "{}",
        stderr(&out)
    );
    // It goes with the runtime.
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !server.paths().iter().any(|p| p.contains("/jobs/hbase-backup-")),
        "the backup Job is gone"
    );
}

#[test]
fn load_runs_the_runtimes_loader_as_a_job_and_follows_its_log() {
    let (server, dir) = applied();
    // Without --wait: the Job, and how to follow it.
    let out = run(
        &server,
        dir.path(),
        "load",
        &["hbase", "/hbase/stable", "--metadata", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let job_path = server
        .paths()
        .into_iter()
        .find(|p| p.starts_with("/apis/batch/v1/namespaces/default/jobs/hbase-load-"))
        .expect("the load's Job");
    let job_name = job_path.rsplit('/').next().unwrap_or_default().to_owned();
    assert!(stdout(&out).starts_with(&format!(
        "job/{job_name} created\nfollow it with: kubectl logs -f job/{job_name}"
    )));
    let job = server.object(&job_path).expect("job");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["goosefs", "dataload"]));
    assert_eq!(container["env"][0]["value"], "/hbase/stable");
    assert_eq!(container["env"][2]["value"], "true", "--metadata");
    assert!(
        job["metadata"]["labels"]
            .get("applyset.kubernetes.io/part-of")
            .is_none(),
        "not pruned by the next apply"
    );
    // With --wait: the pod's log, then the Job's outcome (a kubelet stand-in runs it here).
    let kubelet = |server: &ApiServer, log: &'static str, outcome: serde_json::Value| {
        fake_kubelet(server, "/jobs/hbase-load-", log, outcome)
    };
    let done = kubelet(
        &server,
        "distributedLoad on / starts\n/: 3 files, 305.00MB loaded in 4.1s (74.39MB/s)\ndistributedLoad on / ends",
        serde_json::json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    let out = run(&server, dir.path(), "load", &["hbase", "--timeout", "20s"]);
    done.join().expect("kubelet");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("/: 3 files, 305.00MB loaded in 4.1s (74.39MB/s)\n"),
        "{}",
        stdout(&out)
    );
    let done = kubelet(
        &server,
        "goosefs: /hbase: no job master took the load",
        serde_json::json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}),
    );
    let out = run(&server, dir.path(), "load", &["hbase", "/hbase", "--timeout", "20s"]);
    done.join().expect("kubelet");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("goosefs: /hbase: no job master took the load"));
    assert!(
        stderr(&out).contains("failed (BackoffLimitExceeded"),
        "{}",
        stderr(&out)
    );
    // No runtime: one line, exit 1.
    let out = run(&server, dir.path(), "load", &["nothing", "--wait=false"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("runtime nothing"), "{}", stderr(&out));
    // The runtime's one-off loads go with it.
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Job/default/{job_name} deleted")),
        "{}",
        stdout(&out)
    );
    assert!(
        !server.paths().iter().any(|p| p.contains("/jobs/hbase-load-")),
        "every load Job is gone"
    );
}

#[test]
fn server_errors_fail_with_one_clear_line_and_transient_ones_are_retried() {
    // Objects that exist are dry-run (the faults below hit those dry runs).
    let (server, dir) = applied();
    // Requests run concurrently: faults are aimed at one object's requests.
    let config_request: apiserver::Matcher =
        |l| l.starts_with("PATCH /api/v1/namespaces/default/configmaps/hbase-config?");
    server.inject_matching(config_request, Fault::Status(403));
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap/default/hbase-config: the API server answered 403") && err.contains("RBAC"),
        "{err}"
    );

    server.inject_matching(
        |l| l.starts_with("PATCH ") && l.contains("/services/"),
        Fault::Status(422),
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("answered 422"), "{}", stderr(&out));

    // An expired token, and a kind the server does not serve, each say what to do.
    server.inject_matching(config_request, Fault::Status(401));
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("answered 401") && stderr(&out).contains("log in again"),
        "{}",
        stderr(&out)
    );
    server.inject_matching(
        |l| l.starts_with("PATCH ") && l.contains("/statefulsets/"),
        Fault::Status(404),
    );
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("a CRD missing?"), "{}", stderr(&out));

    // A dropped connection is retried; three in a row are reported on one line.
    server.inject(&[Fault::Drop, Fault::Drop]);
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for _ in 0..3 {
        server.inject_matching(config_request, Fault::Drop);
    }
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap/default/hbase-config")
            && err.contains("cannot reach the API server")
            && err.lines().count() == 1,
        "{err}"
    );

    // 503 and 429 are retried by the client (Retry-After: 0), then the plan succeeds.
    let before = server.log().len();
    server.inject_matching(config_request, Fault::Status(503));
    server.inject_matching(config_request, Fault::Status(429));
    let out = plan(&server, dir.path(), &[HBASE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("Plan: 0 to create, 0 to update, 0 to delete, 14 unchanged.\n"));
    let sent = server.log()[before..].iter().filter(|l| config_request(l)).count();
    assert_eq!(sent, 3, "the request was sent three times");
}

#[test]
fn a_slow_answer_times_out_per_request_is_retried_then_reported() {
    let (server, dir) = applied();
    let config_request: apiserver::Matcher =
        |l| l.starts_with("PATCH /api/v1/namespaces/default/configmaps/hbase-config?");
    let slow = Fault::Delay(std::time::Duration::from_secs(3));
    server.inject_matching(config_request, slow.clone());
    let out = plan(&server, dir.path(), &[HBASE, "--request-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.log().iter().filter(|l| config_request(l)).count(), 2);

    for _ in 0..3 {
        server.inject_matching(config_request, slow.clone());
    }
    let started = std::time::Instant::now();
    let out = plan(&server, dir.path(), &[HBASE, "--request-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap/default/hbase-config") && err.contains("timed out") && err.lines().count() == 1,
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "bounded by the attempts"
    );
}

#[test]
fn kubectl_dispatches_plan_with_its_connection_flags() {
    common::require("kubectl", "kubectl 1.26 or later, e.g. Debian's kubernetes-client");
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("kubectl-goosefs"),
        bin.join("kubectl-goosefs"),
    )
    .expect("copy");
    let out = std::process::Command::new("kubectl")
        .args(["goosefs", "plan", HBASE, "--detailed-exitcode", "--kubeconfig"])
        .arg(&kubeconfig)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .env("KUBECONFIG", dir.path().join("none"))
        .output()
        .expect("kubectl is installed on every machine here");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("Plan: 15 to create, 0 to update, 0 to delete, 0 unchanged.\n"));
    // The plugin reached the server of --kubeconfig (not KUBECONFIG's, which does not exist).
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.starts_with("GET /api/v1/namespaces/default/configmaps"))
    );
}

#[test]
fn kubectl_completes_the_plugin_through_kubectl_complete_goosefs() {
    common::require("kubectl", "kubectl 1.26 or later, e.g. Debian's kubernetes-client");
    let (server, dir) = applied();
    let kubeconfig = server.kubeconfig(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("kubectl-goosefs"),
        bin.join("kubectl-goosefs"),
    )
    .expect("copy");
    let script = bin.join("kubectl_complete-goosefs");
    let out = Command::cargo_bin("kubectl-goosefs")
        .expect("binary")
        .args(["completion", "kubectl"])
        .output()
        .expect("runs");
    std::fs::write(&script, &out.stdout).expect("write");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let complete = |words: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .arg("__complete")
            .arg("goosefs")
            .args(words)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
            )
            .env("KUBECONFIG", dir.path().join("none"))
            .output()
            .expect("kubectl is installed on every machine here");
        stdout(&out)
    };
    let subcommands = complete(&["ap"]);
    assert!(subcommands.starts_with("apply\tApply the plan"), "{subcommands}");
    assert!(subcommands.ends_with(":4\n"), "{subcommands}");
    let names = |text: String| -> Vec<String> {
        text.lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(complete(&["validate", "--format", "j"])), ["json", "junit", ":4"]);
    assert_eq!(
        complete(&["render", ""]),
        ":0\n",
        "inputs are files: the shell completes them"
    );
    // Runtime names come from the cluster the words point at.
    let kc = kubeconfig.to_str().expect("utf-8");
    assert_eq!(complete(&["status", "--kubeconfig", kc, "h"]), "hbase\n:4\n");
    assert_eq!(complete(&["delete", "--kubeconfig", kc, "-n", "other", ""]), ":4\n");
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

/// A server holding the hbase case as an earlier apply left it, and a scratch directory.
fn applied() -> (ApiServer, tempfile::TempDir) {
    let server = ApiServer::start();
    for object in rendered(HBASE) {
        server.apply(&object, "kubectl-goosefs");
    }
    // The credential Secret apply generates (never rendered).
    let secret = kubectl_goosefs::cluster::credential::placeholder("default", "hbase");
    server.apply(&secret, "kubectl-goosefs");
    (server, tempfile::tempdir().expect("tmp"))
}

/// The hbase case with `from` replaced by `to`, written to `dir/name`.
fn edited(dir: &std::path::Path, name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(HBASE).expect("input");
    assert!(text.contains(from), "{from:?} is in the hbase case");
    let path = dir.join(name);
    std::fs::write(&path, text.replace(from, to)).expect("write");
    path
}

/// What the StatefulSet controller reports once the three masters run.
fn masters_become_ready(server: &ApiServer) {
    server.set_status(
        "/apis/apps/v1/namespaces/default/statefulsets/hbase-master",
        serde_json::json!({"replicas": 3, "readyReplicas": 3}),
    );
}

/// The cells of the table row that starts with `first`.
fn row<'a>(table: &'a str, first: &str) -> Vec<&'a str> {
    let line = table.lines().find(|l| l.starts_with(first)).expect("row");
    line.split_whitespace().collect()
}

/// The labels this tool puts on the objects of runtime default/hbase.
fn ours() -> Value {
    serde_json::json!({"app.kubernetes.io/managed-by": "kubectl-goosefs", "app.kubernetes.io/instance": "hbase",
        "applyset.kubernetes.io/part-of": kubectl_goosefs::compile::applyset::id("hbase", "default")})
}

/// Marks runtime default/hbase's mount Job complete, as the Job controller would; returns its path.
fn complete_mount_job(server: &ApiServer) -> String {
    let job = server
        .paths()
        .into_iter()
        .find(|p| p.contains("/jobs/hbase-mount-"))
        .expect("the mount Job");
    server.set_status(
        &job,
        serde_json::json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    job
}

/// Real (not dry-run) writes in the log: `METHOD path`.
fn real_writes(server: &ApiServer) -> Vec<String> {
    server
        .log()
        .iter()
        .filter(|l| !l.starts_with("GET ") && !l.contains("dryRun=All"))
        .map(|l| l.split('?').next().unwrap().to_owned())
        .collect()
}

#[test]
fn apply_writes_in_dependency_order_waits_for_ready_and_then_has_nothing_to_do() {
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Plan: 15 to create"), "{text}");
    assert!(text.contains("StatefulSet/default/hbase-master created"), "{text}");
    // Everything is applied before anything is waited for: the pods wait for a leader themselves.
    let waiting = text
        .find("waiting for runtime default/hbase to be ready")
        .expect("waits");
    assert!(
        text.find("DaemonSet/default/hbase-fuse created")
            .is_some_and(|at| at < waiting),
        "{text}"
    );
    assert!(!text.contains("waiting for the masters"), "{text}");
    assert!(
        text.contains("READY MASTERS   DESIRED MASTERS   MASTER PHASE"),
        "{text}"
    );
    assert_eq!(
        row(&text, "hbase")[..10],
        ["hbase", "3", "3", "Ready", "3", "3", "Ready", "2", "2", "Ready"]
    );
    let writes = real_writes(&server);
    // A create (POST) names the collection last; an apply (PATCH) names the object.
    let order: Vec<&str> = writes
        .iter()
        .map(|w| w.rsplit('/').nth(usize::from(!w.starts_with("POST "))).unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "secrets",
            "configmaps",
            "configmaps",
            "roles",
            "rolebindings",
            "serviceaccounts",
            "services",
            "services",
            "services",
            "persistentvolumes",
            "persistentvolumeclaims",
            "statefulsets",
            "jobs",
            "statefulsets",
            "daemonsets"
        ],
        "{writes:#?}"
    );
    assert_eq!(writes.len(), 15, "{writes:#?}");
    assert!(writes[1..].iter().all(|w| w.starts_with("PATCH ")));
    assert_eq!(
        writes[0], "POST /api/v1/namespaces/default/secrets",
        "the credential is created, never applied"
    );
    assert_eq!(server.len(), 15);
    // The Secret holds every role's keys, and no output of the apply shows one.
    let secret = server
        .get("/api/v1/namespaces/default/secrets/hbase-credential")
        .expect("the Secret");
    let data = secret["data"].as_object().expect("data");
    assert_eq!(data.len(), 8);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    for value in data.values() {
        let value = value.as_str().unwrap_or_default();
        assert!(!all.contains(value), "a key was printed");
    }
    // ApplySet inventory: the parent names the tooling and member kinds; every object is a
    // member, no pod template is.
    let id = kubectl_goosefs::compile::applyset::id("hbase", "default");
    let parent = server
        .object("/api/v1/namespaces/default/configmaps/hbase-applyset")
        .expect("parent");
    assert_eq!(parent["metadata"]["labels"]["applyset.kubernetes.io/id"], id.as_str());
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"],
        format!("kubectl-goosefs/v{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,CronJob.batch,DaemonSet.apps,Job.batch,PersistentVolume,PersistentVolumeClaim,PodMonitor.monitoring.coreos.com,Role.rbac.authorization.k8s.io,RoleBinding.rbac.authorization.k8s.io,Service,ServiceAccount,StatefulSet.apps"
    );
    // The credential Secret is no member: never pruned, removed by delete.
    for path in server
        .paths()
        .iter()
        .filter(|p| !p.ends_with("/hbase-applyset") && !p.ends_with("/hbase-credential"))
    {
        let object = server.object(path).expect("stored");
        assert_eq!(
            object["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
            id.as_str(),
            "{path}"
        );
        let pod_labels = &object["spec"]["template"]["metadata"]["labels"];
        assert!(pod_labels.get("applyset.kubernetes.io/part-of").is_none(), "{path}");
    }

    let before = real_writes(&server).len();
    let again = run(&server, dir.path(), "apply", &[HBASE, "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).ends_with("14 unchanged.\nNothing to apply.\n"),
        "{}",
        stdout(&again)
    );
    assert_eq!(real_writes(&server).len(), before, "a no-op apply writes nothing");

    let status = run(&server, dir.path(), "status", &["-o", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(json[0]["name"], "hbase");
    assert_eq!(json[0]["master"]["phase"], "Ready");
    assert_eq!(json[0]["master"]["ready"], 3);
    assert_eq!(json[0]["worker"]["phase"], "Ready");
    assert_eq!(json[0]["fuse"]["phase"], "Ready");
    assert_eq!(
        json[0]["journalAddresses"],
        "hbase-master-0:26009,hbase-master-1:26009,hbase-master-2:26009"
    );

    // The master pods the StatefulSet controller would have made (one shown as scheduled).
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "hbase-master-0", "namespace": "default",
                         "labels": {"release": "hbase", "role": "goosefs-master"}},
            "spec": {"nodeName": "node-a"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
        "kubelet",
    );
    let text = stdout(&run(&server, dir.path(), "status", &["hbase"]));
    assert!(
        text.ends_with(
            "hbase: Raft embedded journal hbase-master-0:26009,hbase-master-1:26009,hbase-master-2:26009\n  hbase-master-0 Running ready on node-a\n"
        ),
        "{text}"
    );
}

#[test]
fn apply_without_yes_or_a_terminal_changes_nothing() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&server, dir.path(), "apply", &[HBASE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert!(real_writes(&server).is_empty());
    assert_eq!(server.len(), 0);
}

#[test]
fn a_wait_that_times_out_says_which_phases_were_not_reached() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("timed out after 1s waiting for runtime default/hbase: masters NotReady 0/3"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("\n  masters 0/3 ready, workers 0/3, fuses 0/0 (0s)\n"),
        "{}",
        stdout(&out)
    );
    let writes = real_writes(&server);
    // Nothing waits for the masters before the rest is applied: the pods wait for a leader.
    assert!(writes.iter().any(|w| w.ends_with("/statefulsets/hbase-master")));
    assert!(writes.iter().any(|w| w.contains("/jobs")), "{writes:#?}");
    assert!(
        writes
            .iter()
            .any(|w| w.ends_with("/daemonsets/hbase-fuse") || w.ends_with("/daemonsets")),
        "{writes:#?}"
    );

    let status = run(&server, dir.path(), "status", &["hbase"]);
    assert_eq!(status.status.code(), Some(3));
    let text = stdout(&status);
    assert!(
        text.starts_with("NAME    MASTER PHASE   WORKER PHASE   FUSE PHASE   AGE\n"),
        "{text}"
    );
    assert_eq!(row(&text, "hbase")[1..4], ["NotReady", "NotReady", "Ready"]);
    let explained = stdout(&run(&server, dir.path(), "status", &["hbase", "--explain"]));
    assert!(
        explained.ends_with("hbase: 0/3 masters ready and no master pod found: the StatefulSet controller has not made them; see `kubectl describe statefulset hbase-master`\n"),
        "{explained}"
    );
    let yaml = stdout(&run(&server, dir.path(), "status", &["hbase", "-o", "yaml"]));
    assert!(yaml.contains("phase: NotReady"), "{yaml}");
}

#[test]
fn apply_keeps_stale_objects_unless_pruning_and_stops_on_conflicts_unless_forced() {
    let (server, dir) = applied();
    let labels = ours();
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "hbase-old", "namespace": "default", "labels": labels}}),
        "kubectl-goosefs",
    );
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("Nothing to apply.\n"));
    assert!(stderr(&out).contains("1 object(s) no longer rendered were kept; pass --prune"));
    assert_eq!(server.len(), 16);

    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "--yes", "--prune", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("ConfigMap/default/hbase-old pruned"));
    assert_eq!(
        real_writes(&server),
        ["DELETE /api/v1/namespaces/default/configmaps/hbase-old"]
    );
    assert_eq!(server.len(), 15);

    let changed = edited(dir.path(), "hbase.yaml", "quota: 2G", "quota: 4G");
    let changed = changed.to_str().unwrap();
    // Someone scales the workers with their own apply: they own .spec.replicas now.
    let mut worker = rendered(HBASE)
        .into_iter()
        .find(|o| o["metadata"]["name"] == "hbase-worker")
        .unwrap();
    worker["spec"] = serde_json::json!({"replicas": 5});
    server.apply(&worker, "kubectl-edit");
    let before = real_writes(&server).len();
    let out = run(&server, dir.path(), "apply", &[changed, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("StatefulSet/default/hbase-worker: the API server answered 409")
            && err.contains("conflict with \"kubectl-edit\" using apps/v1: .spec.replicas")
            && err.contains("--force-conflicts"),
        "{err}"
    );
    assert_eq!(
        real_writes(&server).len(),
        before,
        "a conflict found while planning writes nothing"
    );
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[changed, "--yes", "--force-conflicts", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("replicas: 5"),
        "the plan shows the field taken back"
    );
    assert!(stdout(&out).contains("StatefulSet/default/hbase-worker configured"));
    // The fields are ours again: a plain plan has no conflict and nothing to change.
    let out = plan(&server, dir.path(), &[changed, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn delete_removes_the_runtime_fuse_first_and_nothing_else() {
    let (server, dir) = applied();
    // The same runtime name in another namespace: its PV carries the same instance label.
    let other_pv = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "other-hbase", "labels": {"app.kubernetes.io/managed-by": "kubectl-goosefs",
        "app.kubernetes.io/instance": "hbase",
        "applyset.kubernetes.io/part-of": kubectl_goosefs::compile::applyset::id("hbase", "other")}},
        "spec": {"claimRef": {"namespace": "other", "name": "hbase"}}});
    server.apply(&other_pv, "kubectl-goosefs");
    let out = run(&server, dir.path(), "delete", &["hbase"]);
    assert_eq!(out.status.code(), Some(2), "no terminal, no --yes");
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert_eq!(server.len(), 16);
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("DaemonSet/default/hbase-fuse deleted\n"), "{text}");
    assert!(
        text.ends_with("ConfigMap/default/hbase-applyset deleted\nSecret/default/hbase-credential deleted\n"),
        "the credential apply generated goes last: {text}"
    );
    assert_eq!(server.paths(), ["/api/v1/persistentvolumes/other-hbase"]);

    let out = run(&server, dir.path(), "delete", &["hbase", "-y"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("runtime default/hbase: no objects made by kubectl-goosefs found"));
    let out = run(&server, dir.path(), "delete", &["hbase", "-y", "--ignore-not-found"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&server, dir.path(), "status", &[]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn delete_says_which_objects_finalizers_hold_and_plan_notes_them() {
    let (server, dir) = applied();
    // As the storage-object-in-use admission plugin marks a claim.
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "hbase", "namespace": "default", "finalizers": ["kubernetes.io/pvc-protection"]}}),
        "kube-apiserver",
    );
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "PersistentVolumeClaim/default/hbase deleting (waiting for finalizers: kubernetes.io/pvc-protection)\n"
        ),
        "{text}"
    );
    assert!(text.contains("PersistentVolume/default-hbase deleted\n"), "{text}");
    let claim = server
        .object("/api/v1/namespaces/default/persistentvolumeclaims/hbase")
        .expect("held by its finalizer");
    assert!(claim["metadata"]["deletionTimestamp"].is_string());
    let out = plan(&server, dir.path(), &[HBASE]);
    assert!(
        stdout(&out).contains(
            "unchanged PersistentVolumeClaim/default/hbase\n  note: is being deleted (Terminating, waiting for finalizers: kubernetes.io/pvc-protection)"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn changing_the_dataset_mounts_replaces_the_mount_job() {
    let (server, dir) = applied();
    let changed = edited(dir.path(), "hbase.yaml", "apache/hbase/stable/", "apache/hbase/2.5.10/");
    let out = plan(&server, dir.path(), &[changed.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let jobs: Vec<(String, String)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["key"]["kind"] == "Job")
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_owned(),
                c["key"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let old_job = rendered(HBASE)
        .into_iter()
        .find(|o| o["kind"] == "Job")
        .and_then(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .expect("a mount Job");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0].0, "create");
    assert_eq!(jobs[1], ("delete".to_owned(), old_job));
    assert_ne!(jobs[0].1, jobs[1].1);
}

#[test]
fn a_new_image_replaces_the_mount_job_whose_template_is_immutable() {
    let (server, dir) = applied();
    let changed = edited(
        dir.path(),
        "hbase.yaml",
        "kind: GooseFSRuntime\nmetadata:\n  name: hbase\nspec:\n",
        "kind: GooseFSRuntime\nmetadata:\n  name: hbase\nspec:\n  goosefsVersion: {image: registry.example/goosefs, imageTag: v1.2.1}\n",
    );
    let out = plan(&server, dir.path(), &[changed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("create Job/default/hbase-mount-"), "{text}");
    assert!(text.contains("delete Job/default/hbase-mount-"), "{text}");
    assert!(text.contains("update StatefulSet/default/hbase-master"), "{text}");
}

#[test]
fn a_saved_plan_applies_as_planned_and_is_refused_once_stale() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let out = plan(&server, dir.path(), &[HBASE, "--out", saved]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // `apply plan.json` (a saved plan as the input) is `apply --plan plan.json`.
    let out = run(&server, dir.path(), "apply", &[saved, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("DaemonSet/default/hbase-fuse created"));
    assert_eq!(server.len(), 15);

    // Applied once, the same plan is stale: every object it would create now exists.
    let out = run(&server, dir.path(), "apply", &["--plan", saved, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "the saved plan is stale: Secret/default/hbase-credential changed since it was made (resourceVersion none then,"
        ),
        "{}",
        stderr(&out)
    );

    // A fresh plan, then someone else changes an object: refused, nothing written.
    let out = plan(&server, dir.path(), &[HBASE, "--out", saved]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut worker = rendered(HBASE)
        .into_iter()
        .find(|o| o["metadata"]["name"] == "hbase-worker")
        .unwrap();
    worker["spec"]["replicas"] = 5.into();
    server.apply(&worker, "kubectl");
    let before = real_writes(&server).len();
    let out = run(&server, dir.path(), "apply", &["--plan", saved, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("StatefulSet/default/hbase-worker changed since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(real_writes(&server).len(), before);

    std::fs::write(dir.path().join("bad.json"), "{\"changes\": [}").unwrap();
    let out = run(
        &server,
        dir.path(),
        "apply",
        &["--plan", dir.path().join("bad.json").to_str().unwrap(), "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.json:1:14: not a plan saved by"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn with_fluids_crds_apply_keeps_the_fluid_objects_and_writes_their_status_as_fluid_would() {
    common::require("kubectl", "kubectl 1.26 or later, e.g. Debian's kubernetes-client");
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let dir = tempfile::tempdir().expect("tmp");
    // Fluid's own controller would deploy the runtime too: refused unless --force.
    server.apply(
        &serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "goosefsruntime-controller", "namespace": "fluid-system"}, "spec": {"replicas": 1}}),
        "helm",
    );
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "--images", "fluid", "--yes", "--install-crds"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Fluid's GooseFS controller"), "{}", stderr(&out));
    assert_eq!(server.len(), 1, "nothing applied");

    let out = run(
        &server,
        dir.path(),
        "apply",
        &[
            HBASE,
            "--images",
            "fluid",
            "--yes",
            "--install-crds",
            "--force",
            "--timeout",
            "20s",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Plan: 17 to create"), "{text}");
    assert!(
        text.contains("CustomResourceDefinition/goosefsruntimes.data.fluid.io created"),
        "{text}"
    );
    assert!(text.contains("GooseFSRuntime/default/hbase created"), "{text}");
    assert!(text.contains("status written on 2 Fluid object(s)"), "{text}");
    let runtime = server
        .object("/apis/data.fluid.io/v1alpha1/namespaces/default/goosefsruntimes/hbase")
        .expect("runtime stored");
    let status = &runtime["status"];
    assert_eq!(
        [&status["masterPhase"], &status["workerPhase"], &status["fusePhase"]],
        ["Ready", "Ready", "Ready"]
    );
    assert_eq!(status["masterNumberReady"], 3);
    assert_eq!(runtime["spec"]["master"]["replicas"], 3);
    let dataset = server
        .object("/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/hbase")
        .expect("dataset stored");
    assert_eq!(dataset["status"]["phase"], "Bound");
    assert_eq!(dataset["status"]["runtimes"][0]["masterReplicas"], 3);
    // The real kubectl reads them back, as users do (discovery finds the CRDs' kinds).
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(server.kubeconfig(dir.path()))
            .output()
            .expect("kubectl is installed on every machine here");
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    };
    assert_eq!(
        kubectl(&[
            "get",
            "goosefsruntime",
            "hbase",
            "-o",
            "jsonpath={.status.masterPhase} {.status.workerPhase} {.status.fusePhase}"
        ]),
        "Ready Ready Ready"
    );
    assert_eq!(
        kubectl(&["get", "dataset", "hbase", "-o", "jsonpath={.status.phase}"]),
        "Bound"
    );
    assert_eq!(
        kubectl(&[
            "get",
            "statefulsets",
            "-l",
            "app.kubernetes.io/instance=hbase",
            "-o",
            "name"
        ]),
        "statefulset.apps/hbase-master\nstatefulset.apps/hbase-worker\n"
    );

    // Now that the CRDs are served, plan includes the Fluid objects and sees nothing to change.
    let out = plan(
        &server,
        dir.path(),
        &[HBASE, "--images", "fluid", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out),
        "Plan: 0 to create, 0 to update, 0 to delete, 13 unchanged.\n"
    );
    // ... and so does apply, which finds the Fluid status current: no write at all.
    let before = real_writes(&server).len();
    let out = run(&server, dir.path(), "apply", &[HBASE, "--images", "fluid", "--yes"]);
    assert!(stdout(&out).ends_with("Nothing to apply.\n"), "{}", stdout(&out));
    assert_eq!(real_writes(&server).len(), before, "{:#?}", real_writes(&server));

    // Deleting the runtime removes its GooseFSRuntime and unbinds (keeps) its Dataset.
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("GooseFSRuntime/default/hbase deleted\nDataset/default/hbase unbound\n"),
        "{}",
        stdout(&out)
    );
    let dataset = server
        .object("/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/hbase")
        .expect("dataset kept");
    assert_eq!(dataset["status"]["phase"], "NotBound");
    assert!(
        server
            .object("/apis/data.fluid.io/v1alpha1/namespaces/default/goosefsruntimes/hbase")
            .is_none()
    );
}

#[test]
fn an_apply_with_nothing_to_change_brings_a_stale_fluid_status_up_to_date() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "--images", "fluid", "--yes", "--install-crds", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runtime_path = "/apis/data.fluid.io/v1alpha1/namespaces/default/goosefsruntimes/hbase";
    let dataset_path = "/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/hbase";
    let first = server.object(runtime_path).expect("runtime")["status"].clone();
    assert_eq!(first["masterPhase"], "NotReady");
    assert_eq!(
        server.object(dataset_path).expect("dataset")["status"]["phase"],
        "NotBound"
    );

    // The pods start later; no controller updates the GooseFSRuntime, the next apply does.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for (kind, name, status) in [
        (
            "statefulsets",
            "hbase-master",
            serde_json::json!({"replicas": 3, "readyReplicas": 3}),
        ),
        (
            "statefulsets",
            "hbase-worker",
            serde_json::json!({"replicas": 3, "readyReplicas": 3}),
        ),
        (
            "daemonsets",
            "hbase-fuse",
            serde_json::json!({"desiredNumberScheduled": 2, "numberReady": 2}),
        ),
    ] {
        server.set_status(&format!("/apis/apps/v1/namespaces/default/{kind}/{name}"), status);
    }
    // Every pod ready, the mount Job not done yet: the runtime is Ready, the Dataset not Bound
    // (Fluid's controller binds after mounting).
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "--images", "fluid", "--yes", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("status refreshed on 1 Fluid object(s)\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        server.object(dataset_path).expect("dataset")["status"]["phase"],
        "NotBound"
    );
    complete_mount_job(&server);
    let out = run(&server, dir.path(), "apply", &[HBASE, "--images", "fluid", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("Nothing to apply.\nstatus refreshed on 1 Fluid object(s)\n"),
        "{}",
        stdout(&out)
    );
    let status = server.object(runtime_path).expect("runtime")["status"].clone();
    assert_eq!(
        [&status["masterPhase"], &status["workerPhase"], &status["fusePhase"]],
        ["Ready", "Ready", "Ready"]
    );
    // An unchanged condition keeps its transition time; a changed one gets a new one.
    let condition = |status: &Value, kind: &str| {
        status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
            .expect("condition")
    };
    assert_eq!(
        condition(&status, "MasterInitialized")["lastTransitionTime"],
        condition(&first, "MasterInitialized")["lastTransitionTime"]
    );
    assert_ne!(
        condition(&status, "MasterReady")["lastTransitionTime"],
        condition(&first, "MasterReady")["lastTransitionTime"]
    );
    let dataset = server.object(dataset_path).expect("dataset");
    assert_eq!(dataset["status"]["phase"], "Bound");
    // Fluid's Dataset conditions have lastUpdateTime; the CRD's schema prunes anything else.
    let ready = condition(&dataset["status"], "Ready");
    assert!(
        ready["lastUpdateTime"].is_string() && ready.get("lastProbeTime").is_none(),
        "{ready}"
    );

    let before = real_writes(&server).len();
    let out = run(&server, dir.path(), "apply", &[HBASE, "--images", "fluid", "--yes"]);
    assert!(stdout(&out).ends_with("Nothing to apply.\n"), "{}", stdout(&out));
    assert_eq!(real_writes(&server).len(), before, "current now: nothing written");
}

#[test]
fn create_namespace_applies_the_namespace_first() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[HBASE, "-n", "cache", "--create-namespace", "--yes", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Plan: 16 to create"), "{}", stdout(&out));
    let writes = real_writes(&server);
    assert_eq!(writes[0], "PATCH /api/v1/namespaces/cache");
    // plan previews the same: the Namespace and the rest as rendered, nothing written.
    let before = real_writes(&server).len();
    let out = plan(
        &server,
        dir.path(),
        &[HBASE, "-n", "fresh", "--create-namespace", "--install-crds"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("create Namespace/fresh"), "{text}");
    assert!(
        text.contains("create CustomResourceDefinition/goosefsruntimes.data.fluid.io"),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 22 to create, 0 to update, 0 to delete, 0 unchanged.\n"),
        "{text}"
    );
    assert_eq!(real_writes(&server).len(), before, "plan never writes");
    // Without --create-namespace, a missing namespace is named with what to do.
    let out = run(&server, dir.path(), "plan", &[HBASE, "-n", "elsewhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "namespaces \"elsewhere\" not found; the namespace does not exist: create it, or pass --create-namespace"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(writes[1], "POST /api/v1/namespaces/cache/secrets");
    assert_eq!(writes[2], "PATCH /api/v1/namespaces/cache/configmaps/hbase-applyset");
    assert_eq!(writes[3], "PATCH /api/v1/namespaces/cache/configmaps/hbase-config");
}

#[test]
fn an_apply_interrupted_by_ctrl_c_converges_on_the_next_run() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(dir.path());
    // Interrupted anywhere between its first workload and its wait for Ready (masters never
    // become ready here), the next run creates exactly what is missing.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kubectl-goosefs"))
        .args(["apply", HBASE, "--yes", "--timeout", "60s", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !real_writes(&server)
        .iter()
        .any(|w| w.ends_with("/statefulsets/hbase-master"))
    {
        assert!(std::time::Instant::now() < deadline, "the masters were never applied");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let status = child.wait().expect("wait");
    assert!(!status.success(), "interrupted, not finished");
    let present = server.len();
    assert!(
        (12..=15).contains(&present),
        "at least the credential, ApplySet parent, config, the masters' account and Role, services, volume and masters were applied: {present}"
    );

    server.workloads_become_ready(true);
    masters_become_ready(&server);
    // The workers and the mount Job, if the interrupted run got to them, come up as their
    // controllers would make them.
    let workers = "/apis/apps/v1/namespaces/default/statefulsets/hbase-worker";
    if server.object(workers).is_some() {
        server.set_status(workers, serde_json::json!({"replicas": 3, "readyReplicas": 3}));
    }
    if server.paths().iter().any(|p| p.contains("/jobs/hbase-mount-")) {
        complete_mount_job(&server);
    }
    let before = real_writes(&server).len();
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let missing = 15 - present;
    assert!(
        stdout(&out).contains(&format!(
            "Plan: {missing} to create, 0 to update, 0 to delete, {} unchanged.",
            present - 1
        )) || (missing == 0 && stdout(&out).contains("No changes")),
        "{}",
        stdout(&out)
    );
    let writes = real_writes(&server);
    let kinds: Vec<&str> = writes[before..].iter().map(|w| w.rsplit('/').nth(1).unwrap()).collect();
    let all = ["jobs", "statefulsets", "daemonsets"];
    assert_eq!(kinds, all[all.len() - missing..], "only what was missing");
    let out = plan(&server, dir.path(), &[HBASE, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn apply_with_a_closed_stdout_still_applies_everything() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(dir.path());
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("kubectl-goosefs"))
        .args(["apply", HBASE, "--yes", "--wait=false", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(writer)
        .status()
        .expect("runs");
    assert!(status.success(), "{status:?}");
    assert_eq!(server.len(), 15);
}

#[test]
fn delete_waits_for_the_pods_to_go() {
    let (server, dir) = applied();
    server.apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "hbase-worker-0", "namespace": "default", "labels": {"release": "hbase"}}}),
        "kubelet",
    );
    // Nothing here removes pods (no garbage collector): the wait runs out and names them.
    let out = run(&server, dir.path(), "delete", &["hbase", "--yes", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("waiting for the pods of default/hbase to go: hbase-worker-0 remain"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.len(), 1, "the objects were deleted, the pod is what remains");
}

/// Runs `status hbase --watch` against `server`; returns the child and a reader of its table rows.
fn watch_status(server: &ApiServer, dir: &std::path::Path) -> (std::process::Child, impl Fn() -> String) {
    watch_lines(server, dir, &["hbase"], "hbase ")
}

/// Runs `status NAMES --watch`; returns the child and a reader of the lines starting with `prefix`.
fn watch_lines(
    server: &ApiServer,
    dir: &std::path::Path,
    names: &[&str],
    prefix: &'static str,
) -> (std::process::Child, impl Fn() -> String) {
    use std::io::BufRead;
    let kubeconfig = server.kubeconfig(dir);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kubectl-goosefs"))
        .arg("status")
        .args(names)
        .args(["--watch", "--request-timeout", "1s", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_row = move || loop {
        let line = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("a line");
        if line.starts_with(prefix) {
            return line;
        }
    };
    (child, next_row)
}

#[test]
fn status_watch_rows_line_up_with_the_table() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(HBASE).expect("input");
    let both = format!("{text}---\n{}", text.replace("name: hbase", "name: archive-of-logs"));
    let input = dir.path().join("both.yaml");
    std::fs::write(&input, both).expect("write");
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[input.to_str().unwrap(), "--yes", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (mut child, next_line) = watch_lines(&server, dir.path(), &[], "");
    let header = next_line();
    assert!(header.starts_with("NAME "), "{header}");
    let column = header.find("MASTER PHASE").expect("column");
    server.set_status(
        "/apis/apps/v1/namespaces/default/statefulsets/hbase-master",
        serde_json::json!({"replicas": 3, "readyReplicas": 3}),
    );
    // The table's rows (NotReady), then the watch's row for the change (Ready).
    let row = loop {
        let line = next_line();
        if line.split_whitespace().take(2).eq(["hbase", "Ready"]) {
            break line;
        }
    };
    assert_eq!(row.find("Ready"), Some(column), "{header}\n{row}");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn status_watch_prints_a_row_when_a_runtime_changes() {
    let (server, dir) = applied();
    let (mut child, next_row) = watch_status(&server, dir.path());
    assert_eq!(row(&next_row(), "hbase")[1..4], ["NotReady", "NotReady", "Ready"]);
    // Quiet for longer than the request timeout: the idle watches are re-established.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    masters_become_ready(&server);
    assert_eq!(row(&next_row(), "hbase")[1..4], ["Ready", "NotReady", "Ready"]);
    // It watches (as kubectl get -w) instead of reading everything every second.
    let watches: Vec<String> = server.log().into_iter().filter(|l| l.contains("watch=true")).collect();
    for kind in ["/statefulsets?", "/daemonsets?", "/pods?"] {
        assert!(
            watches
                .iter()
                .any(|w| w.contains(kind) && w.contains("labelSelector=app.kubernetes.io%2Fmanaged-by")),
            "{kind} {watches:#?}"
        );
    }
    let reads = || {
        server
            .log()
            .iter()
            .filter(|l| l.starts_with("GET /apis/apps/v1/namespaces/default/statefulsets/hbase-master"))
            .count()
    };
    let before = reads();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(reads(), before, "no reads while nothing changes");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn status_all_namespaces_lists_every_runtime_with_its_namespace() {
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let dir = tempfile::tempdir().expect("tmp");
    for namespace in ["default", "cache"] {
        let out = run(
            &server,
            dir.path(),
            "apply",
            &[HBASE, "-n", namespace, "--create-namespace", "--yes", "--wait=false"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = run(&server, dir.path(), "status", &["-A"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE   NAME    MASTER PHASE"), "{text}");
    assert_eq!(
        row(lines[1], "cache")[..5],
        ["cache", "hbase", "Ready", "Ready", "Ready"]
    );
    assert_eq!(
        row(lines[2], "default")[..5],
        ["default", "hbase", "Ready", "Ready", "Ready"]
    );
    assert!(
        text.contains("\ncache/hbase: Raft embedded journal hbase-master-0:26009"),
        "{text}"
    );
    // Only this namespace without -A; names and -A do not mix (as kubectl get).
    let one = stdout(&run(&server, dir.path(), "status", &["-n", "cache"]));
    assert!(
        one.starts_with("NAME    MASTER PHASE") && one.lines().filter(|l| l.starts_with("hbase ")).count() == 1,
        "{one}"
    );
    assert_eq!(
        run(&server, dir.path(), "status", &["-A", "hbase"]).status.code(),
        Some(2)
    );
}

#[test]
fn status_watch_polls_a_server_that_serves_no_watches() {
    let (server, dir) = applied();
    server.refuse_watches();
    let (mut child, next_row) = watch_status(&server, dir.path());
    assert_eq!(row(&next_row(), "hbase")[1..4], ["NotReady", "NotReady", "Ready"]);
    masters_become_ready(&server);
    assert_eq!(row(&next_row(), "hbase")[1..4], ["Ready", "NotReady", "Ready"]);
    child.kill().expect("kill");
    child.wait().expect("wait");
}

/// `AGE` counts from the test server's fixed creation time: masked in snapshots.
fn without_ages(text: &str) -> String {
    text.lines()
        .map(|line| match line.rsplit_once("   ") {
            Some((rest, age)) if age.chars().all(|c| c.is_ascii_alphanumeric()) && !line.starts_with("NAME") => {
                format!("{rest}   <age>")
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `plan` (text and JSON) and `status` (table, wide, JSON), as people and scripts read them.
#[test]
fn plan_and_status_snapshots() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    insta::assert_snapshot!("plan_create_text", stdout(&plan(&server, dir.path(), &[HBASE])));
    let (server, dir) = applied();
    let quota = edited(dir.path(), "quota.yaml", "quota: 2G", "quota: 4G");
    let quota = quota.to_str().unwrap();
    insta::assert_snapshot!("plan_quota_text", stdout(&plan(&server, dir.path(), &[quota])));
    insta::assert_snapshot!(
        "plan_quota_json",
        stdout(&plan(&server, dir.path(), &[quota, "-o", "json"]))
    );
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (format, name) in [
        ("table", "status_table"),
        ("wide", "status_wide"),
        ("json", "status_json"),
    ] {
        let out = run(&server, dir.path(), "status", &["hbase", "-o", format]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let text = if format == "json" { text } else { without_ages(&text) };
        insta::assert_snapshot!(name, text);
    }
}

/// Issue 23: `apply` waits for every pod (Fluid's PartialReady only with `--wait=partial`) and
/// for the mount Job, and a failed mount Job fails the apply, naming it.
#[test]
fn apply_waits_for_every_pod_and_the_mounts_and_fails_on_a_failed_mount_job() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(&server, dir.path(), "apply", &[HBASE, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let set = |kind: &str, name: &str, status: serde_json::Value| {
        server.set_status(&format!("/apis/apps/v1/namespaces/default/{kind}/{name}"), status);
    };
    set(
        "statefulsets",
        "hbase-master",
        serde_json::json!({"replicas": 3, "readyReplicas": 3}),
    );
    set(
        "statefulsets",
        "hbase-worker",
        serde_json::json!({"replicas": 3, "readyReplicas": 1}),
    );
    set(
        "daemonsets",
        "hbase-fuse",
        serde_json::json!({"desiredNumberScheduled": 2, "numberReady": 2}),
    );
    let job = complete_mount_job(&server);

    // Each apply below changes the tier quota, so it applies (and waits) again.
    let quota = |q: &str| {
        let path = dir.path().join(format!("hbase-{q}.yaml"));
        let text = std::fs::read_to_string(HBASE)
            .expect("hbase")
            .replace("quota: 2G", &format!("quota: {q}"));
        assert!(text.contains(&format!("quota: {q}")));
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    // One worker of three: Fluid's phases say Ready (PartialReady workers); every pod is not.
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[&quota("3G"), "--yes", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("workers PartialReady 1/3"), "{}", stderr(&out));
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[&quota("4G"), "--yes", "--timeout", "2s", "--wait=partial"],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    // Every pod ready, the mount Job failed: the apply fails and names it.
    set(
        "statefulsets",
        "hbase-worker",
        serde_json::json!({"replicas": 3, "readyReplicas": 3}),
    );
    server.set_status(
        &job,
        serde_json::json!({"failed": 21, "conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}),
    );
    let job_name = job.rsplit('/').next().unwrap_or_default().to_owned();
    // The Job's pods, as the Job controller made them; the newer one's log says why.
    for (pod, created, log) in [
        ("mount-a", "2026-01-01T00:00:00Z", "an older attempt\n"),
        (
            "mount-b",
            "2026-01-01T00:01:00Z",
            "waiting for the leader\ncannot mount http://u/ at /hbase: access denied to / (check the mount's keys): 403 Forbidden from http://u/\n\n",
        ),
    ] {
        server.apply(
            &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": "default", "creationTimestamp": created,
                             "labels": {"job-name": job_name}, "annotations": {"test/log": log}}}),
            "job-controller",
        );
    }
    let out = run(
        &server,
        dir.path(),
        "apply",
        &[&quota("5G"), "--yes", "--timeout", "10s"],
    );
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let name = job.rsplit('/').next().unwrap_or_default();
    assert!(
        stderr(&out).contains(&format!(
            "the mount Job default/{name} failed (BackoffLimitExceeded: Job has reached the specified backoff limit); last log line: cannot mount http://u/ at /hbase: access denied to / (check the mount's keys): 403 Forbidden from http://u/"
        )),
        "{}",
        stderr(&out)
    );
    let dataset = server
        .object("/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/hbase")
        .map(|d| d["status"]["phase"].clone());
    assert_ne!(
        dataset,
        Some(serde_json::json!("Bound")),
        "never Bound while its mounts failed"
    );
}
