//! The `goosefs` binary's contract beyond the masters: the job services and the gateway start
//! from the rendered args and environment, answer health checks and stop on SIGTERM; usage,
//! configuration and connection failures give one clear line and the documented exit code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Masters, eventually, http_get, rendered_args, rendered_env, stderr};

/// Runs `goosefs` with `env` and the runtime's credential (as every pod mounts it).
fn goosefs(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env(goosefs_conf::credential::DIR_ENV, common::whole_credential())
        .envs(env.iter().copied())
        .output()
        .expect("run goosefs")
}

#[test]
fn with_no_master_up_client_commands_fail_with_exit_3_naming_the_masters_tried() {
    let m = Masters::new("hbase-3-masters", 31, 3);
    let started = std::time::Instant::now();
    let out = m.goosefs_with(&["fs", "masterInfo"], "-Dgoosefs.user.rpc.retry.max.duration=1s");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("hbase-master-0:26000, hbase-master-1:26000, hbase-master-2:26000"),
        "{err}"
    );
    let out = m.goosefs_with(&["fsadmin", "report"], "-Dgoosefs.user.rpc.retry.max.duration=1s");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2_and_roles_missing_their_settings_exit_4() {
    let out = goosefs(&["fs", "mount", "/only-a-path"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs both <path> and <ufs uri>"),
        "{}",
        stderr(&out)
    );
    let out = goosefs(&["fs", "mount", "--option", "novalue", "/p", "s3://b/"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = goosefs(&["no-such-command"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = goosefs(&["worker-only", "--no-format"], &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("goosefs.worker.hostname is not set"),
        "{}",
        stderr(&out)
    );
    let out = goosefs(&["fuse", "--fuse-opts=ro"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MOUNT_POINT is not set"), "{}", stderr(&out));
}

#[test]
fn a_master_that_cannot_run_says_why_and_exits_4() {
    // Not in the journal addresses.
    let env = rendered_env("hbase-3-masters");
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.push(("GOOSEFS_MASTER_HOSTNAME", "stranger"));
    let out = goosefs(&["master-only", "--no-format"], &vars);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("goosefs.master.hostname=stranger with journal port 26009 is not in"),
        "{}",
        stderr(&out)
    );
    // A journal folder that is a file.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("journal");
    std::fs::write(&file, "not a folder").expect("write");
    let opts = format!(
        "-Dgoosefs.master.hostname=solo -Dgoosefs.master.journal.folder={}",
        file.display()
    );
    let out = goosefs(&["master-only"], &[("GOOSEFS_MASTER_JAVA_OPTS", &opts)]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("journal folder {}", file.display())),
        "{}",
        stderr(&out)
    );
    // A port that is taken.
    let taken = std::net::TcpListener::bind("127.0.32.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let opts = format!(
        "-Dgoosefs.master.hostname=solo -Dgoosefs.master.bind.host=127.0.32.1 -Dgoosefs.master.rpc.port={port} -Dgoosefs.master.journal.folder={}",
        dir.path().join("j").display()
    );
    let out = goosefs(&["master-only"], &[("GOOSEFS_MASTER_JAVA_OPTS", &opts)]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot listen on 127.0.32.1:{port} (goosefs.master.rpc.port)")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn job_services_and_the_gateway_listen_on_their_rendered_ports_and_stop_on_sigterm() {
    let env = rendered_env("api-gateway");
    let opts = |var: &str| env.get(var).cloned().unwrap_or_default();
    let port = |key: &str| -> u16 {
        let all = opts("GOOSEFS_JAVA_OPTS") + " " + &opts("GOOSEFS_JOB_WORKER_JAVA_OPTS");
        all.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("-D{key}=")))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{key} rendered"))
    };
    let cases = [
        (
            "job-master",
            "GOOSEFS_JOB_MASTER_JAVA_OPTS",
            "goosefs.job.master.bind.host",
            vec!["goosefs.job.master.rpc.port", "goosefs.job.master.web.port"],
        ),
        (
            "job-worker",
            "GOOSEFS_JOB_WORKER_JAVA_OPTS",
            "goosefs.job.worker.bind.host",
            vec![
                "goosefs.job.worker.rpc.port",
                "goosefs.job.worker.data.port",
                "goosefs.job.worker.web.port",
            ],
        ),
        (
            "proxy",
            "GOOSEFS_PROXY_JAVA_OPTS",
            "goosefs.proxy.bind.host",
            vec!["goosefs.proxy.web.port"],
        ),
    ];
    for (n, (first, var, bind_key, ports)) in cases.into_iter().enumerate() {
        let args = rendered_args("api-gateway", first);
        let ip = format!("127.0.33.{}", n + 1);
        let mut vars: Vec<(String, String)> = env.clone().into_iter().collect();
        vars.retain(|(k, _)| k != var);
        vars.push((var.to_owned(), format!("{} -D{bind_key}={ip}", opts(var))));
        vars.push(("GOOSEFS_MASTER_HOSTNAME".into(), "hbase-master-0".into()));
        vars.push(("GOOSEFS_WORKER_HOSTNAME".into(), ip.clone()));
        let mut child = Command::new(BIN)
            .args(&args)
            .env_clear()
            .envs(vars)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        for key in &ports {
            let p = port(key);
            assert!(
                eventually(Duration::from_secs(10), || http_get(&ip, p, "/health").as_deref()
                    == Some("ok\n")),
                "{first} answers /health on {key}={p}"
            );
        }
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "{first} stops cleanly on SIGTERM");
    }
}
