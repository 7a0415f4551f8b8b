//! The status the runtime keeps itself, end to end against the project's API test server: the
//! plugin applies a one-master runtime whose Dataset mounts a Web UFS (Python's `http.server`),
//! then a real `goosefs` master runs as its pod would (the applied ConfigMap, the master
//! container's environment, the credential Secret's items, the rendered service account's
//! token), and the test server authorises that token with the rendered Role as RBAC does.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

#[allow(dead_code)] // the test server's other features serve tests/cluster.rs
#[path = "support/apiserver.rs"]
mod apiserver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiserver::ApiServer;
use base64::Engine as _;

const RUNTIME: &str = "/apis/data.fluid.io/v1alpha1/namespaces/default/goosefsruntimes/web";
const DATASET: &str = "/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/web";

/// The `goosefs` binary, built beside the plugin's (a no-op after `cargo test --workspace`).
fn goosefs_binary() -> PathBuf {
    let plugin = Path::new(env!("CARGO_BIN_EXE_kubectl-goosefs"));
    let target = plugin.parent().and_then(Path::parent).expect("target directory");
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "goosefs", "--bin", "goosefs"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(built.success(), "cargo build -p goosefs");
    plugin.with_file_name("goosefs")
}

fn plugin(server: &ApiServer, dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-goosefs"))
        .args(args)
        .arg("--kubeconfig")
        .arg(server.kubeconfig(dir))
        .env_remove("KUBECONFIG")
        .output()
        .expect("runs")
}

/// Kills a child process when dropped (a failed assertion must not leave it running).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request with `token` as its bearer; the status code and body.
fn request(addr: std::net::SocketAddr, method: &str, path: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let body = "{}";
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        code,
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    started.elapsed()
}

/// The master container's environment as the kubelet gives it: the ConfigMap (`envFrom`), the
/// literal variables and the namespace from the downward API.
fn master_env(server: &ApiServer) -> Vec<(String, String)> {
    let config = server
        .object("/api/v1/namespaces/default/configmaps/web-config")
        .expect("config");
    let mut env: Vec<(String, String)> = config["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let set = server
        .object("/apis/apps/v1/namespaces/default/statefulsets/web-master")
        .expect("masters");
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    for var in container["env"].as_array().expect("env") {
        let name = var["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = var["value"].as_str() {
            env.push((name, value.to_owned()));
        } else if var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace" {
            env.push((name, "default".to_owned()));
        }
    }
    assert_eq!(
        set["spec"]["template"]["spec"]["serviceAccountName"], "web-master",
        "the masters run as the rendered account"
    );
    env
}

/// The environment of a rendered Job's pod: the runtime's ConfigMap (not the master container's
/// own variables) and the container's literal variables.
fn job_pod_env(server: &ApiServer, pod: &serde_json::Value) -> Vec<(String, String)> {
    let mut env = master_env(server)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("GOOSEFS_MASTER"))
        .collect::<Vec<_>>();
    for var in pod["containers"][0]["env"].as_array().expect("env") {
        if let Some(value) = var["value"].as_str() {
            env.push((var["name"].as_str().unwrap_or_default().to_owned(), value.to_owned()));
        }
    }
    env
}

#[test]
fn the_leading_master_keeps_the_runtime_and_dataset_status_with_only_its_roles_rights() {
    common::require("python3", "Debian's python3");
    let goosefs = goosefs_binary();
    let dir = tempfile::tempdir().expect("tmp");
    // The UFS: two files in two directories behind Python's index (no sizes: one HEAD each).
    let ufs = dir.path().join("ufs");
    std::fs::create_dir_all(ufs.join("data/sub")).expect("mkdir");
    std::fs::write(ufs.join("data/a.bin"), vec![1u8; 1000]).expect("write");
    std::fs::write(ufs.join("data/sub/b.bin"), vec![2u8; 3000]).expect("write");
    let port = free_port();
    let _web = Killed(
        Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()])
            .current_dir(&ufs)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3"),
    );
    wait_for("the web UFS listens", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let input = dir.path().join("web.yaml");
    std::fs::write(
        &input,
        format!(
            "apiVersion: data.fluid.io/v1alpha1\nkind: Dataset\nmetadata: {{name: web}}\nspec:\n  mounts:\n    - mountPoint: http://127.0.0.1:{port}/data/\n      name: data\n---\napiVersion: data.fluid.io/v1alpha1\nkind: GooseFSRuntime\nmetadata: {{name: web}}\nspec:\n  replicas: 1\n  tieredstore:\n    levels:\n      - mediumtype: HDD\n        path: /mnt/disk1\n        quota: 2G\n"
        ),
    )
    .expect("input");
    let input = input.to_str().unwrap();

    // First without Fluid's CRDs: the runtime's own objects only.
    let server = ApiServer::start();
    server.workloads_become_ready(true);
    let out = plugin(&server, dir.path(), &["apply", input, "--yes", "--wait=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The master, as its pod runs it, with the rendered service account's token.
    let account = dir.path().join("serviceaccount");
    std::fs::create_dir_all(&account).expect("mkdir");
    let token = server.service_account_token("default", "web-master");
    std::fs::write(account.join("token"), &token).expect("token");
    let credential = dir.path().join("credential");
    std::fs::create_dir_all(&credential).expect("mkdir");
    let secret = server
        .object("/api/v1/namespaces/default/secrets/web-credential")
        .expect("the credential");
    for (key, value) in secret["data"].as_object().expect("data") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
            .expect("base64");
        std::fs::write(credential.join(key), bytes).expect("item");
    }
    let mut env = master_env(&server);
    let ip = "127.0.79.10";
    for (key, value) in &mut env {
        if key == "GOOSEFS_MASTER_JAVA_OPTS" {
            value.push_str(&format!(
                " -Dgoosefs.master.bind.host={ip} -Dgoosefs.master.journal.folder={}",
                dir.path().join("journal").display()
            ));
        }
    }
    let log = dir.path().join("master.log");
    let _master = Killed(
        Command::new(&goosefs)
            .args(["master-only", "--no-format"])
            .env_clear()
            .envs(env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GOOSEFS_MASTER_HOSTNAME", ip)
            .env("GOOSEFS_CREDENTIAL_DIR", &credential)
            .env("GOOSEFS_KUBE_API_URL", format!("http://{}", server.addr))
            .env("GOOSEFS_KUBE_SERVICE_ACCOUNT", &account)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("goosefs"),
    );
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the master says it cannot write", Duration::from_secs(20), || {
        logged().contains("is not served")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(logged().matches("is not served").count(), 1, "said once: {}", logged());
    let status_writes = |server: &ApiServer| {
        server
            .log()
            .iter()
            .filter(|l| l.starts_with("PATCH ") && l.contains("/status?"))
            .count()
    };
    assert_eq!(status_writes(&server), 0);

    // With the CRDs, the GooseFSRuntime and Dataset are applied; their status is the master's.
    let out = plugin(
        &server,
        dir.path(),
        &["apply", input, "--yes", "--install-crds", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("status written"),
        "apply leaves the status to the runtime"
    );
    let took = wait_for("the Dataset Bound with its size", Duration::from_secs(30), || {
        let status = server.object(DATASET).map(|d| d["status"].clone()).unwrap_or_default();
        status["phase"] == "Bound" && status["ufsTotal"] == "3.91KiB"
    });
    eprintln!("status written {took:?} after the CRDs were served");
    let runtime = server.object(RUNTIME).expect("runtime")["status"].clone();
    assert_eq!(
        [&runtime["masterPhase"], &runtime["workerPhase"], &runtime["fusePhase"]],
        ["Ready", "Ready", "Ready"]
    );
    assert_eq!(runtime["valueFile"], "web-config");
    assert_eq!(runtime["cacheStates"]["cacheCapacity"], "0.00B", "no worker registered");
    assert!(runtime["mountTime"].is_string(), "{runtime}");
    let dataset = server.object(DATASET).expect("dataset")["status"].clone();
    assert_eq!(dataset["fileNum"], "2");
    assert_eq!(dataset["cacheStates"]["cachedPercentage"], "0.0%");
    assert_eq!(dataset["conditions"][0]["reason"], "DatasetReady");
    assert_eq!(dataset["runtimes"][0]["masterReplicas"], 1);

    // `status` reads the live cache columns and the Dataset's phase.
    let out = plugin(&server, dir.path(), &["status", "web", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json[0]["cache"]["cacheCapacity"], "0.00B");
    assert_eq!(json[0]["datasetPhase"], "Bound");
    let out = plugin(&server, dir.path(), &["status", "web", "-o", "wide"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CACHED   CAPACITY   CACHED %   HIT RATIO"), "{text}");
    assert!(text.contains("0.00B    0.00B      0.0%"), "{text}");

    // Nothing changes: nothing is written (the master looks every 2 s).
    let writes = status_writes(&server);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(status_writes(&server), writes, "no write without a change");

    // A worker stops being ready: the runtime's status follows, and the Dataset is not Bound.
    server.set_status(
        "/apis/apps/v1/namespaces/default/statefulsets/web-worker",
        serde_json::json!({"replicas": 1, "readyReplicas": 0}),
    );
    let took = wait_for("the worker phase follows", Duration::from_secs(10), || {
        server.object(RUNTIME).map(|r| r["status"]["workerPhase"].clone()) == Some("NotReady".into())
    });
    eprintln!("worker phase followed in {took:?}");
    assert_eq!(server.object(DATASET).expect("dataset")["status"]["phase"], "NotBound");
    let ready = server.object(RUNTIME).expect("runtime")["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "WorkersReady").cloned())
        .expect("WorkersReady");
    assert_eq!(ready["status"], "False");
    let out = plugin(&server, dir.path(), &["status", "web", "--explain"]);
    assert_eq!(out.status.code(), Some(3), "not ready");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("web: no worker of 1 is ready"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.set_status(
        "/apis/apps/v1/namespaces/default/statefulsets/web-worker",
        serde_json::json!({"replicas": 1, "readyReplicas": 1}),
    );
    wait_for("and back", Duration::from_secs(10), || {
        server.object(DATASET).map(|d| d["status"]["phase"].clone()) == Some("Bound".into())
    });

    // The account may do nothing else. (kubectl sends no token over plain HTTP: raw requests.)
    let fluid = "/apis/data.fluid.io/v1alpha1/namespaces/default";
    for (method, path) in [
        ("PATCH", format!("{fluid}/goosefsruntimes/web")),
        ("PATCH", format!("{fluid}/goosefsruntimes/other/status")),
        ("PATCH", format!("{fluid}/datasets/web")),
        ("GET", "/api/v1/namespaces/default/pods".to_owned()),
        ("GET", "/api/v1/namespaces/default/secrets/web-credential".to_owned()),
        ("GET", "/apis/apps/v1/namespaces/default/statefulsets".to_owned()),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/default/statefulsets/web-worker".to_owned(),
        ),
    ] {
        let (code, body) = request(server.addr, method, &path, &token);
        assert_eq!(code, 403, "{method} {path}: {body}");
        assert!(body.contains("system:serviceaccount:default:web-master"), "{body}");
    }
    let (code, _) = request(
        server.addr,
        "GET",
        &format!("{fluid}/goosefsruntimes/web/status"),
        &token,
    );
    assert_eq!(code, 200, "what the Role grants");
    assert!(!logged().contains(&token), "the token is never logged");

    // A DataLoad: applied with the runtime, its loader Job's pod writes the DataLoad's status
    // with the loader Role's rights only. No job master runs here, so the load fails; on the
    // Job's last attempt the pod says Failed, with the reason, as Fluid's controller would.
    let with_load = dir.path().join("load.yaml");
    std::fs::write(
        &with_load,
        format!(
            "{}---\napiVersion: data.fluid.io/v1alpha1\nkind: DataLoad\nmetadata: {{name: warm}}\nspec:\n  dataset: {{name: web}}\n  target:\n    - path: /data\n",
            std::fs::read_to_string(input).expect("input")
        ),
    )
    .expect("input");
    let out = plugin(
        &server,
        dir.path(),
        &["apply", with_load.to_str().unwrap(), "--yes", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let load_path = "/apis/data.fluid.io/v1alpha1/namespaces/default/dataloads/warm";
    assert!(server.object(load_path).is_some(), "the DataLoad is applied");
    let job_path = server
        .paths()
        .into_iter()
        .find(|p| p.starts_with("/apis/batch/v1/namespaces/default/jobs/warm-loader-"))
        .expect("the loader Job");
    let job = server.object(&job_path).expect("job");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "web-loader");
    let mut env = job_pod_env(&server, pod);
    let job_name = job_path.rsplit('/').next().unwrap_or_default().to_owned();
    env.push(("DATALOAD_JOB".to_owned(), job_name));
    // The pod would find the master by its Service name; here, by its address.
    let rpc_port = env
        .iter()
        .find(|(k, _)| k == "GOOSEFS_JAVA_OPTS")
        .and_then(|(_, v)| {
            v.split_whitespace()
                .find_map(|o| o.strip_prefix("-Dgoosefs.master.rpc.port="))
        })
        .expect("the rendered RPC port")
        .to_owned();
    env.push((
        "GOOSEFS_USER_JAVA_OPTS".to_owned(),
        format!("-Dgoosefs.master.rpc.addresses={ip}:{rpc_port} -Dgoosefs.user.rpc.retry.max.duration=10s"),
    ));
    server.set_status(&job_path, serde_json::json!({"failed": 3}));
    let loader_account = dir.path().join("loader-account");
    std::fs::create_dir_all(&loader_account).expect("mkdir");
    let loader_token = server.service_account_token("default", "web-loader");
    std::fs::write(loader_account.join("token"), &loader_token).expect("token");
    let started = Instant::now();
    let out = Command::new(&goosefs)
        .arg("dataload")
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GOOSEFS_CREDENTIAL_DIR", &credential)
        .env("GOOSEFS_KUBE_API_URL", format!("http://{}", server.addr))
        .env("GOOSEFS_KUBE_SERVICE_ACCOUNT", &loader_account)
        .output()
        .expect("goosefs dataload");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("the loader failed after {:?}: {stderr}", started.elapsed());
    assert_ne!(out.status.code(), Some(0), "no job master: the load fails: {stderr}");
    assert!(stderr.contains("/data:") && stderr.contains("job master"), "{stderr}");
    let status = server.object(load_path).expect("load")["status"].clone();
    assert_eq!(status["phase"], "Failed", "{status}");
    assert_eq!(status["conditions"][0]["type"], "Failed");
    assert_eq!(status["conditions"][0]["reason"], "BackoffLimitExceeded");
    assert!(
        status["conditions"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/data:")
    );
    assert!(
        status["duration"].as_str().is_some_and(|d| d.ends_with('s')),
        "{status}"
    );
    let load_writes: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| l.starts_with("PATCH ") && l.contains("/dataloads/warm/status"))
        .collect();
    assert_eq!(load_writes.len(), 2, "Executing, then Failed: {load_writes:?}");
    assert!(!stderr.contains(&loader_token), "the token is never printed");
    for (method, path) in [
        ("PATCH", format!("{fluid}/dataloads/other/status")),
        ("PATCH", format!("{fluid}/dataloads/warm")),
        ("PATCH", format!("{fluid}/goosefsruntimes/web/status")),
        ("GET", "/api/v1/namespaces/default/secrets/web-credential".to_owned()),
        ("GET", "/apis/batch/v1/namespaces/default/jobs".to_owned()),
    ] {
        let (code, body) = request(server.addr, method, &path, &loader_token);
        assert_eq!(code, 403, "{method} {path}: {body}");
    }

    // A DataBackup, applied with them: its Job's pod, with only the credential items its volume
    // names and the loader's service account, takes the backup into the claim's directory as
    // Fluid names it and writes the DataBackup's status (Complete, with Fluid's infos).
    let with_backup = dir.path().join("backup.yaml");
    std::fs::write(
        &with_backup,
        format!(
            "{}---\napiVersion: data.fluid.io/v1alpha1\nkind: DataBackup\nmetadata: {{name: nightly}}\nspec:\n  dataset: web\n  backupPath: pvc://backups/web/\n",
            std::fs::read_to_string(&with_load).expect("input")
        ),
    )
    .expect("input");
    let out = plugin(
        &server,
        dir.path(),
        &["apply", with_backup.to_str().unwrap(), "--yes", "--wait=false"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let backup_path = "/apis/data.fluid.io/v1alpha1/namespaces/default/databackups/nightly";
    assert!(server.object(backup_path).is_some(), "the DataBackup is applied");
    let job_path = server
        .paths()
        .into_iter()
        .find(|p| p.starts_with("/apis/batch/v1/namespaces/default/jobs/nightly-backup-"))
        .expect("the backup Job");
    let job = server.object(&job_path).expect("job");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "web-loader");
    let items = dir.path().join("backup-credential");
    std::fs::create_dir_all(&items).expect("mkdir");
    for item in pod["volumes"][0]["secret"]["items"].as_array().expect("items") {
        let key = item["key"].as_str().unwrap_or_default();
        std::fs::copy(credential.join(key), items.join(key)).expect("item");
    }
    assert!(items.join("admin.key").exists() && !items.join("client.key").exists());
    let mut env = job_pod_env(&server, pod);
    let claim = dir.path().join("claim");
    env.retain(|(k, _)| k != "BACKUP_DIR");
    env.push(("BACKUP_DIR".to_owned(), claim.join("web").display().to_string()));
    env.push((
        "DATABACKUP_JOB".to_owned(),
        job_path.rsplit('/').next().unwrap_or_default().to_owned(),
    ));
    env.push(("NODE_NAME".to_owned(), "node-1".to_owned()));
    env.push((
        "GOOSEFS_USER_JAVA_OPTS".to_owned(),
        format!("-Dgoosefs.master.rpc.addresses={ip}:{rpc_port} -Dgoosefs.user.rpc.retry.max.duration=10s"),
    ));
    let out = Command::new(&goosefs)
        .arg("databackup")
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GOOSEFS_CREDENTIAL_DIR", &items)
        .env("GOOSEFS_KUBE_API_URL", format!("http://{}", server.addr))
        .env("GOOSEFS_KUBE_SERVICE_ACCOUNT", &loader_account)
        .output()
        .expect("goosefs databackup");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = claim.join("web").join("metadata-backup-web-default.gz");
    let bytes = std::fs::read(&file).expect("the backup file");
    assert_eq!(bytes[..2], [0x1f, 0x8b], "gzip");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("backup saved: {} on node node-1", file.display())),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let status = server.object(backup_path).expect("backup")["status"].clone();
    assert_eq!(status["phase"], "Complete", "{status}");
    assert_eq!(status["infos"]["BackupLocationPath"], "pvc://backups/web/");
    assert_eq!(status["infos"]["BackupLocationNodeName"], "node-1");
    assert_eq!(status["conditions"][0]["type"], "Complete");
    for (method, path) in [
        ("PATCH", format!("{fluid}/databackups/other/status")),
        ("PATCH", format!("{fluid}/databackups/nightly")),
    ] {
        let (code, body) = request(server.addr, method, &path, &loader_token);
        assert_eq!(code, 403, "{method} {path}: {body}");
    }
}
