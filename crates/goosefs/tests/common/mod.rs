//! Starting `goosefs` processes as the rendered manifests start them: the ConfigMap's
//! environment and the container args are read from a golden render case
//! (`testdata/render/<case>/expected.yaml`, which the plugin's golden tests hold equal to what
//! `kubectl-goosefs render` prints). Each master gets a loopback address of its own (names mapped
//! by a hosts file, `GOOSEFS_HOSTS_FILE`), its own journal folder and its bind host: the only
//! settings added to the rendered ones.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The value of metric `name` (`family` or `family{label="value",...}`) in a `/metrics` body,
/// whatever other labels its samples carry (every sample carries runtime, namespace and role).
pub fn metric_value(body: &str, name: &str) -> Option<f64> {
    let (family, wanted) = name.split_once('{').unwrap_or((name, "}"));
    let wanted: Vec<&str> = wanted
        .trim_end_matches('}')
        .split(',')
        .filter(|l| !l.is_empty())
        .collect();
    body.lines().find_map(|line| {
        let (sample, value) = line.rsplit_once(' ')?;
        let (n, labels) = sample.split_once('{').unwrap_or((sample, ""));
        (n == family
            && wanted
                .iter()
                .all(|w| labels.split(',').any(|l| l.trim_end_matches('}') == *w)))
        .then(|| value.parse().ok())
        .flatten()
    })
}

/// Every family a process serves is one `metrics::EXPORTED` lists (what dashboards may use).
pub fn assert_exported(body: &str) {
    let unlisted: Vec<String> = goosefs::metrics::families(body)
        .into_iter()
        .filter(|f| !goosefs::metrics::EXPORTED.contains(&f.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "families missing from metrics::EXPORTED: {unlisted:?}"
    );
}

/// The goosefs binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_goosefs");

/// The rendered manifests of a golden case.
pub fn golden(case: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/render")
        .join(case)
        .join("expected.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The items of the one credential generated for this test process (one runtime).
fn items() -> &'static BTreeMap<String, String> {
    static ITEMS: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    ITEMS.get_or_init(|| goosefs_conf::credential::generate().expect("random"))
}

/// A folder holding `names` of this process's credential.
fn credential_folder(label: &str, names: &[String]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("credential-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("credential folder");
    for item in names {
        std::fs::write(dir.join(item), &items()[item]).expect("credential item");
    }
    dir
}

/// The Secret's items as `pod` mounts them (every public key, its roles' private keys).
pub fn credential(pod: goosefs_conf::credential::Pod) -> PathBuf {
    credential_folder(&format!("{pod:?}"), &pod.items())
}

/// Every item of the credential: each process started with it picks its own role's key.
pub fn whole_credential() -> PathBuf {
    credential_folder("all", &items().keys().cloned().collect::<Vec<_>>())
}

/// A folder with a credential of another runtime (every item): its keys are nobody's here.
pub fn foreign_credential() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("credential-{}-foreign", std::process::id()));
    std::fs::create_dir_all(&dir).expect("credential folder");
    for (item, text) in goosefs_conf::credential::generate().expect("random") {
        std::fs::write(dir.join(item), text).expect("credential item");
    }
    dir
}

/// The ConfigMap data of a golden render case: `GOOSEFS_*` -> value, plus the runtime's Secret
/// with every item (`GOOSEFS_CREDENTIAL_DIR`; see [`whole_credential`]).
pub fn rendered_env(case: &str) -> BTreeMap<String, String> {
    let mut env = configmap_env(case);
    env.insert(
        goosefs_conf::credential::DIR_ENV.to_owned(),
        whole_credential().display().to_string(),
    );
    env
}

/// The ConfigMap data of a golden render case alone: `GOOSEFS_*` -> value.
pub fn configmap_env(case: &str) -> BTreeMap<String, String> {
    let text = golden(case);
    let config_map = text
        .split("\n---\n")
        .find(|doc| doc.contains("kind: ConfigMap") && doc.contains("GOOSEFS_JAVA_OPTS"))
        .expect("a ConfigMap with GOOSEFS_JAVA_OPTS");
    config_map
        .lines()
        .filter_map(|line| {
            let (key, value) = line.trim_start().split_once(": ")?;
            key.starts_with("GOOSEFS_").then(|| {
                (
                    key.to_owned(),
                    // JSON-quoted by the render's `y` filter, or a plain scalar (a name).
                    serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned()),
                )
            })
        })
        .collect()
}

/// The args of the container running `first` in a golden case (`[master-only, --no-format]`).
pub fn rendered_args(case: &str, first: &str) -> Vec<String> {
    let text = golden(case);
    let line = text
        .lines()
        .find(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("args: [{first}")) || l.starts_with(&format!("args: [\"{first}\""))
        })
        .unwrap_or_else(|| panic!("no container with args [{first}, ...]"));
    let list = line.trim().trim_start_matches("args: ");
    // Plain (`[a, b]`) or quoted (`["a","b"]`, which is JSON) flow sequences.
    serde_json::from_str(list).unwrap_or_else(|_| {
        list.trim_start_matches('[')
            .trim_end_matches(']')
            .split(", ")
            .map(str::to_owned)
            .collect()
    })
}

/// The reference Dataset's UFS (on the internet: tests replace it with a local one).
pub const HBASE_UFS: &str = "https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/";

/// The declared mounts a golden case gives its masters (`GOOSEFS_DECLARED_MOUNTS`), as rendered.
pub fn rendered_declared_mounts(case: &str) -> String {
    let text = golden(case);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("- {name: GOOSEFS_DECLARED_MOUNTS, value: "))
        .expect("declared mounts");
    let value = line
        .trim()
        .trim_start_matches("- {name: GOOSEFS_DECLARED_MOUNTS, value: ")
        .trim_end_matches('}');
    serde_json::from_str::<String>(value).expect("a quoted value")
}

/// The shell script of the mount Job of a golden case, as its container runs it.
pub fn rendered_mount_script(case: &str) -> String {
    let text = golden(case);
    let job = text
        .split("\n---\n")
        .find(|d| d.contains("kind: Job"))
        .expect("a mount Job");
    let mut lines = job.lines().skip_while(|l| l.trim() != "- |").skip(1);
    let first = lines.next().expect("a script");
    let indent = first.len() - first.trim_start().len();
    std::iter::once(first)
        .chain(lines.take_while(|l| l.len() > indent && l[..indent].trim().is_empty()))
        .map(|l| format!("{}\n", &l[indent..]))
        .collect()
}

/// A set of masters of one case, each on an address of its own.
pub struct Masters {
    /// Scratch folder: journals, logs, the hosts file.
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
    pub args: Vec<String>,
    pub ips: Vec<String>,
    /// Per master, the network namespace it runs in (none: this one).
    pub namespaces: Vec<Option<String>>,
    pub count: usize,
    pub children: Vec<Option<Child>>,
    /// `-D` options added to every master's `GOOSEFS_MASTER_JAVA_OPTS`.
    pub extra: String,
    /// The masters' `GOOSEFS_DECLARED_MOUNTS` (none when empty) and other variables of the
    /// master container only (a declared mount's secret options).
    pub master_env: BTreeMap<String, String>,
    /// Workers and FUSE processes: name -> process.
    pub others: BTreeMap<String, Child>,
}

impl Masters {
    /// Masters on loopback addresses `127.0.<net>.10+i`; writes the hosts file, starts nothing.
    pub fn new(case: &str, net: u8, count: usize) -> Masters {
        let ips = (0..count).map(|i| format!("127.0.{net}.{}", 10 + i)).collect();
        Masters::at(case, ips, vec![None; count])
    }

    /// Masters at these addresses, each in its network namespace (if any).
    pub fn at(case: &str, ips: Vec<String>, namespaces: Vec<Option<String>>) -> Masters {
        let dir = tempfile::tempdir().expect("tmp");
        let hosts: String = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("{ip} hbase-master-{i}\n"))
            .collect();
        std::fs::write(dir.path().join("hosts"), hosts).expect("hosts");
        let count = ips.len();
        Masters {
            env: rendered_env(case),
            args: rendered_args(case, "master-only"),
            dir,
            ips,
            namespaces,
            count,
            children: (0..count).map(|_| None).collect(),
            extra: String::new(),
            master_env: BTreeMap::new(),
            others: BTreeMap::new(),
        }
    }

    pub fn ip(&self, i: usize) -> String {
        self.ips[i].clone()
    }

    pub fn journal(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("journal-{i}"))
    }

    pub fn log(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("master-{i}.log"))
    }

    /// The environment of a client (the rendered one plus the hosts file and `extra` -D options).
    pub fn client_env(&self, extra: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self.env.clone().into_iter().collect();
        env.push((
            "GOOSEFS_HOSTS_FILE".into(),
            self.dir.path().join("hosts").display().to_string(),
        ));
        env.push(("GOOSEFS_USER_JAVA_OPTS".into(), extra.to_owned()));
        env
    }

    /// Starts master `i` (its pod name is its host name, as the StatefulSet's fieldRef gives it).
    pub fn start(&mut self, i: usize) {
        let mut env = self.client_env("");
        let own = format!(
            "{} -Dgoosefs.master.bind.host={} -Dgoosefs.master.journal.folder={} {}",
            self.env.get("GOOSEFS_MASTER_JAVA_OPTS").cloned().unwrap_or_default(),
            self.ip(i),
            self.journal(i).display(),
            self.extra
        );
        env.retain(|(k, _)| k != "GOOSEFS_MASTER_JAVA_OPTS");
        env.push(("GOOSEFS_MASTER_JAVA_OPTS".into(), own));
        env.push(("GOOSEFS_MASTER_HOSTNAME".into(), format!("hbase-master-{i}")));
        env.extend(self.master_env.clone());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(i))
            .expect("log");
        // A daemon in a network namespace is started through nsenter (not `ip netns exec`, which
        // would also remount /sys for it).
        let mut command = match &self.namespaces[i] {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/var/run/netns/{ns}")).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let child = command
            .args(&self.args)
            .env_clear()
            .envs(env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn goosefs");
        self.children[i] = Some(child);
    }

    pub fn other_log(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// Starts a worker or FUSE process `name` (`goosefs <args>` with the rendered environment),
    /// at `ip` (added to the hosts file as `name`), with `role_env` (`GOOSEFS_WORKER_JAVA_OPTS`
    /// gets `extra` appended: later options win) and `vars`.
    pub fn start_other(
        &mut self,
        name: &str,
        ip: &str,
        args: &[String],
        role_env: &str,
        extra: &str,
        vars: &[(&str, String)],
    ) {
        let hosts = self.dir.path().join("hosts");
        let mut text = std::fs::read_to_string(&hosts).unwrap_or_default();
        if !text.contains(&format!(" {name}\n")) {
            text.push_str(&format!("{ip} {name}\n"));
            std::fs::write(&hosts, text).expect("hosts");
        }
        let mut env = self.client_env("");
        let mut own = format!("{} {extra}", self.env.get(role_env).cloned().unwrap_or_default());
        if role_env == "GOOSEFS_FUSE_JAVA_OPTS" {
            // The FUSE metrics port on this process's own address (tests run several at once).
            own.push_str(&format!(" -D{}={ip}", goosefs_conf::keys::FUSE_WEB_BIND_HOST));
        }
        env.retain(|(k, _)| k != role_env);
        env.push((role_env.to_owned(), own));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.other_log(name))
            .expect("log");
        let child = Command::new(BIN)
            .args(args)
            .env_clear()
            .envs(env)
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn goosefs");
        self.others.insert(name.to_owned(), child);
    }

    /// Starts worker `name` at `ip` with its tier directory `tier` and extra `-D` options.
    pub fn start_worker(&mut self, name: &str, ip: &str, tier: &Path, extra: &str) {
        let args = rendered_args(HBASE_CASE, "worker-only");
        let extra = format!(
            "-Dgoosefs.worker.bind.host={ip} -Dgoosefs.worker.tieredstore.level0.dirs.path={} {extra}",
            tier.display()
        );
        self.start_other(
            name,
            ip,
            &args,
            "GOOSEFS_WORKER_JAVA_OPTS",
            &extra,
            &[("GOOSEFS_WORKER_HOSTNAME", name.to_owned())],
        );
    }

    /// SIGKILL of a worker or FUSE process.
    pub fn kill_other(&mut self, name: &str) {
        if let Some(mut child) = self.others.remove(name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM of a worker or FUSE process, then its exit code.
    pub fn stop_other(&mut self, name: &str) -> Option<i32> {
        terminate(self.others.remove(name)?)
    }

    pub fn start_all(&mut self) {
        for i in 0..self.count {
            self.start(i);
        }
    }

    /// Master `i`'s process id, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(Child::id)
    }

    /// SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self, i: usize) -> Option<i32> {
        terminate(self.children[i].take()?)
    }

    /// Runs `goosefs <args>` as a client.
    /// Whether the leader's capacity report lists worker `name` (registered, not yet timed out).
    pub fn lists_worker(&self, name: &str) -> bool {
        stdout(&self.goosefs(&["fsadmin", "report", "capacity"])).contains(name)
    }

    pub fn goosefs(&self, args: &[&str]) -> Output {
        self.goosefs_with(args, "-Dgoosefs.user.rpc.retry.max.duration=20s")
    }

    pub fn goosefs_with(&self, args: &[&str], extra: &str) -> Output {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .envs(self.client_env(extra))
            .output()
            .expect("run goosefs")
    }

    /// Runs a shell script as a client container would: the client environment, with this
    /// `goosefs` first on PATH.
    pub fn shell(&self, script: &str) -> Output {
        let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        Command::new("sh")
            .args(["-c", script])
            .env_clear()
            .envs(self.client_env(""))
            .env("PATH", path)
            .output()
            .expect("run sh")
    }

    /// Master `i`'s `/api/v1/status` (None when it does not answer).
    pub fn status(&self, i: usize) -> Option<serde_json::Value> {
        let port = self.port("goosefs.master.web.port");
        let body = http_get(&self.ip(i), port, "/api/v1/status")?;
        serde_json::from_str(&body).ok()
    }

    /// A port from the rendered properties.
    pub fn port(&self, key: &str) -> u16 {
        let opts = self.env.get("GOOSEFS_JAVA_OPTS").cloned().unwrap_or_default();
        let prefix = format!("-D{key}=");
        opts.split_whitespace()
            .find_map(|w| w.strip_prefix(&prefix))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{key} is rendered"))
    }

    /// The index of the master that reports itself leader, waiting up to `within`.
    pub fn leader(&self, within: Duration) -> Option<usize> {
        let all: Vec<usize> = (0..self.count).collect();
        self.leader_among(&all, within)
    }

    /// The index of one of `candidates` that reports itself leader, waiting up to `within`.
    pub fn leader_among(&self, candidates: &[usize], within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            for &i in candidates {
                if self.children[i].is_some()
                    && let Some(s) = self.status(i)
                    && s["role"] == "leader"
                    && s["leader"] == i as u64
                {
                    return Some(i);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// What each master says and its last log lines, for failure messages.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for i in 0..self.count {
            let log = std::fs::read_to_string(self.log(i)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            out.push_str(&format!(
                "\n--- master {i}: {:?}\n{}",
                self.status(i),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        out
    }

    /// Every `(term, master)` a master logged as "elected leader (term N)".
    pub fn elections(&self) -> Vec<(u64, usize)> {
        let mut out = Vec::new();
        for i in 0..self.count {
            let text = std::fs::read_to_string(self.log(i)).unwrap_or_default();
            for line in text.lines() {
                if let Some(rest) = line.split("elected leader (term ").nth(1)
                    && let Some(term) = rest.split(')').next().and_then(|t| t.parse().ok())
                {
                    out.push((term, i));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Asserts that no term had two leaders. (A restarted leader whose vote was committed resumes
    /// leading in its own term: the same master twice in a term is one leader.)
    pub fn assert_one_leader_per_term(&self) {
        let mut elections = self.elections();
        elections.dedup();
        assert!(!elections.is_empty(), "some master was elected");
        for pair in elections.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "two leaders in term {}: {elections:?}",
                pair[0].0
            );
        }
    }
}

impl Drop for Masters {
    fn drop(&mut self) {
        for i in 0..self.count {
            self.kill(i);
        }
        let names: Vec<String> = self.others.keys().cloned().collect();
        for name in &names {
            self.kill_other(name);
        }
        // A failed test keeps the masters' logs for a look.
        if std::thread::panicking() {
            let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("masters-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&keep);
            for i in 0..self.count {
                let _ = std::fs::copy(self.log(i), keep.join(format!("{}-master-{i}.log", self.ips[i])));
            }
            for name in &names {
                let _ = std::fs::copy(self.other_log(name), keep.join(format!("{name}.log")));
            }
            eprintln!("master logs kept in {}", keep.display());
        }
    }
}

/// SIGTERM, then the exit code (`None`, and SIGKILL, when it did not stop within 15 s).
fn terminate(mut child: Child) -> Option<i32> {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The golden case the data tests run (the seed scenario's runtime).
pub const HBASE_CASE: &str = "hbase-3-masters";

/// A Web UFS (`tests/ufs_server.py`) serving a scratch folder on 127.0.0.1.
pub struct UfsServer {
    pub root: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl UfsServer {
    /// Starts one serving `root` (fill it before or after).
    pub fn start() -> UfsServer {
        let root = tempfile::tempdir().expect("tmp");
        let port_file = root.path().with_extension("port");
        let _ = std::fs::remove_file(&port_file);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ufs_server.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(root.path())
            .arg(&port_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the test UFS server (tests need python3)");
        let mut port = None;
        assert!(
            eventually(Duration::from_secs(10), || {
                port = std::fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                port.is_some()
            }),
            "the UFS server starts"
        );
        let _ = std::fs::remove_file(&port_file);
        UfsServer {
            root,
            port: port.unwrap_or_default(),
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// GETs of `path` so far.
    pub fn gets(&self, path: &str) -> u64 {
        let body = http_get("127.0.0.1", self.port, "/__stats").expect("stats");
        let stats: serde_json::Value = serde_json::from_str(&body).expect("json");
        stats[path]["GET"].as_u64().unwrap_or(0)
    }

    /// The next `count` file requests answer `status` (0: normally) after `delay_ms`.
    pub fn fault(&self, status: u16, delay_ms: u64, count: u32) {
        http_get(
            "127.0.0.1",
            self.port,
            &format!("/__fault?status={status}&delay_ms={delay_ms}&count={count}"),
        )
        .expect("fault set");
    }
}

impl Drop for UfsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET with a 2 s limit; the body of a 200 answer.
pub fn http_get(ip: &str, port: u16, path: &str) -> Option<String> {
    http_status(ip, port, path).and_then(|(status, body)| (status == 200).then_some(body))
}

/// The status code and body of a GET (any status).
pub fn http_status(ip: &str, port: u16, path: &str) -> Option<(u16, String)> {
    let address = format!("{ip}:{port}").parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The paths `goosefs fs ls path` prints (the last field of each line); the command must succeed.
pub fn ls_names(masters: &Masters, path: &str) -> Vec<String> {
    let out = masters.goosefs(&["fs", "ls", path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .collect()
}

/// Retries `check` until it holds or `within` passes.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
