//! The runtime trusts no one: real masters and a worker started from the seed's rendered
//! configuration and credential refuse callers without the runtime's keys (the `goosefs` CLI,
//! raw HTTP, the raw block protocol, junk), refuse roles that may not (a client mounting, a
//! worker writing, a client speaking Raft or freeing blocks), count the refusals in `/metrics`,
//! and keep serving the right bytes to the callers that may.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use common::{BIN, HBASE_CASE, Masters, UfsServer, eventually, http_get, rendered_args, stderr, stdout};
use goosefs::auth::{Process, Role, Security};
use goosefs::net::{Http, NetError};
use goosefs_conf::credential::{DIR_ENV, Pod};

/// `goosefs <args>` as a client whose credential folder is `dir`.
fn goosefs_as(m: &Masters, dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(m.client_env("-Dgoosefs.user.rpc.retry.max.duration=5s"))
        .env(DIR_ENV, dir)
        .output()
        .expect("run goosefs")
}

/// Sends `bytes` on a new connection and returns what comes back before the server closes it
/// (or 3 s pass).
fn raw(ip: &str, port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect((ip, port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn metric(ip: &str, port: u16, name: &str) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a counter
    let value = common::metric_value(&http_get(ip, port, "/metrics").unwrap_or_default(), name).unwrap_or(0.0) as u64;
    value
}

#[test]
fn callers_without_the_credential_or_the_role_are_refused_and_the_cluster_keeps_serving() {
    let ufs = UfsServer::start();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(ufs.root.path().join("data.bin"), &data).expect("data");
    std::fs::write(ufs.root.path().join("other.bin"), b"not the data").expect("other");
    let mut m = Masters::new(HBASE_CASE, 40, 3);
    m.start_all();
    let leader = m.leader(Duration::from_secs(15)).expect("a leader");
    let out = m.goosefs(&["fs", "mount", "/hbase", &ufs.url()]);
    assert_eq!(out.status.code(), Some(0), "the admin mounts: {}", stderr(&out));
    let tier = m.dir.path().join("tier");
    m.start_worker("hbase-worker-0", "127.0.40.20", &tier, "");
    assert!(
        eventually(Duration::from_secs(15), || m.lists_worker("hbase-worker-0")),
        "the worker registers with its key"
    );
    let out = m.goosefs(&["fs", "cat", "/hbase/data.bin"]);
    assert_eq!(out.stdout, data, "{}", stderr(&out));

    // No credential at all: the CLI says so before asking anything.
    let empty = tempfile::tempdir().expect("tmp");
    let out = goosefs_as(&m, empty.path(), &["fs", "ls", "/hbase"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no public keys"), "{}", stderr(&out));

    // Another runtime's credential: every request is refused, with exit 5 and one line.
    let foreign = common::foreign_credential();
    for args in [
        &["fs", "ls", "/hbase"][..],
        &["fs", "mkdir", "/pwned"],
        &["fs", "mount", "/pwn", "local:///"],
        &["fs", "cat", "/hbase/data.bin"],
        &["fs", "masterInfo"],
    ] {
        let out = goosefs_as(&m, &foreign, args);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stderr(&out).contains("not a member of this runtime"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    }

    // The FUSE pod's credential (client): reads and writes the namespace, never mounts.
    let client = common::credential(Pod::Fuse);
    let out = goosefs_as(&m, &client, &["fs", "ls", "/hbase"]);
    assert!(stdout(&out).contains("data.bin"), "{}", stderr(&out));
    let out = goosefs_as(&m, &client, &["fs", "mkdir", "/by-client"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (args, what) in [
        (&["fs", "mount", "/pwn", "local:///"][..], "mount"),
        (&["fs", "unmount", "/hbase"], "unmount"),
    ] {
        let out = goosefs_as(&m, &client, args);
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            format!("goosefs: forbidden: the client role may not {what} (needs admin)")
        );
    }
    // The whole namespace and mount table (UFS URIs) go to administrators only.
    let backups = m.dir.path().join("client-backups");
    let out = goosefs_as(&m, &client, &["fsadmin", "backup", backups.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("forbidden"), "{}", stderr(&out));
    assert!(!backups.exists(), "nothing written");
    let out = goosefs_as(&m, &client, &["fs", "cat", "/hbase/data.bin"]);
    assert_eq!(out.stdout, data, "a client reads the bytes: {}", stderr(&out));

    // Even the admin mounts no host directory outside the declared local storage, and paths
    // have bounds (a recursive mkdir's cost grows with the square of the depth).
    let out = m.goosefs(&["fs", "mount", "/host", "local:///etc"]);
    assert_eq!(out.status.code(), Some(5), "not allowed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("forbidden: local:///etc is not below the runtime's local storage /underFSStorage"),
        "{}",
        stderr(&out)
    );
    let deep = "/d".repeat(300);
    let out = m.goosefs(&["fs", "mkdir", &deep]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid: a path 300 levels deep (at most 256)"),
        "{}",
        stderr(&out)
    );

    // Raw requests without a handshake: 401 on the RPC and journal ports, a refusal frame on
    // the block protocol; /health stays open.
    let ip = m.ip(leader);
    let rpc = m.port("goosefs.master.rpc.port");
    let answer = String::from_utf8_lossy(&raw(
        &ip,
        rpc,
        b"GET /api/v1/fs/list?path=/hbase HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ))
    .into_owned();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains("unauthenticated: /api/v1/fs/list needs the runtime's credential"),
        "{answer}"
    );
    assert!(!answer.contains("data.bin"));
    assert_eq!(
        http_get("127.0.40.20", m.port("goosefs.worker.rpc.port"), "/health").as_deref(),
        Some("ok\n"),
        "/health answers everyone"
    );
    let journal = m.port("goosefs.master.embedded.journal.port");
    let vote = b"POST /raft/vote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    let answer = String::from_utf8_lossy(&raw(&ip, journal, vote)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let worker_rpc = m.port("goosefs.worker.rpc.port");
    let query = "id=1&mount=/hbase&ufs=x&path=data.bin&block_offset=0&block_length=10&offset=0&len=10";
    let mut block = b"GFSD".to_vec();
    block.extend_from_slice(&(query.len() as u32).to_be_bytes());
    block.extend_from_slice(query.as_bytes());
    let answer = raw("127.0.40.20", worker_rpc, &block);
    assert_eq!(answer.first(), Some(&1), "a refusal frame: {answer:?}");
    assert!(
        String::from_utf8_lossy(&answer).contains("unauthenticated: block read"),
        "{answer:?}"
    );
    // Junk after the handshake's magic, and a handshake that stalls: closed, nothing served.
    assert!(raw(&ip, rpc, b"GFSA\x01\x09junkjunkjunkjunkjunkjunkjunkjunk").len() <= 64);
    assert!(raw(&ip, rpc, b"GFSA\x07").is_empty());

    // Roles: a client may not speak Raft nor free blocks; a worker may not write the namespace.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let as_role = |pod: Pod, role: Role| {
        let dir = common::credential(pod);
        Http::with_security(Arc::new(
            Security::from_dir(&dir, Process::Daemon(role)).expect("credential"),
        ))
    };
    let t = Duration::from_secs(5);
    let client_http = as_role(Pod::Fuse, Role::Client);
    let worker_http = as_role(Pod::Worker, Role::Worker);
    let forbidden = |r: Result<serde_json::Value, NetError>| match r {
        Err(NetError::Status { status: 403, body, .. }) => body,
        other => panic!("not refused: {other:?}"),
    };
    let vote = rt.block_on(client_http.call::<_, serde_json::Value>(
        &format!("{ip}:{journal}"),
        "/raft/vote",
        Some(&serde_json::json!({})),
        t,
    ));
    assert_eq!(
        forbidden(vote).trim_end(),
        "forbidden: the client role may not /raft/vote (needs master)"
    );
    let free = rt.block_on(client_http.call::<_, serde_json::Value>(
        &format!("127.0.40.20:{worker_rpc}"),
        goosefs::proto::paths::FREE,
        Some(&vec![1u64]),
        t,
    ));
    assert!(forbidden(free).contains("(needs master)"));
    let admin_http = as_role(Pod::MountJob, Role::Admin);
    let free = rt.block_on(admin_http.call::<_, serde_json::Value>(
        &format!("127.0.40.20:{worker_rpc}"),
        goosefs::proto::paths::FREE,
        Some(&vec![1u64]),
        t,
    ));
    assert!(
        forbidden(free).contains("the admin role may not"),
        "only a master frees on a worker"
    );

    // A batch of writes holds directories only (a mount goes alone, checked against its UFS
    // first), at most 1,000, applied in order with an answer each.
    let batch = |writes: serde_json::Value| {
        rt.block_on(client_http.call::<_, serde_json::Value>(
            &format!("{ip}:{rpc}"),
            goosefs::proto::paths::WRITES,
            Some(&writes),
            t,
        ))
    };
    let mkdir = |p: &str| serde_json::json!({"Mkdir": {"path": p, "recursive": true, "exist_ok": false}});
    let mount = serde_json::json!({"Mount": {"path": "/m", "ufs": "local:///", "read_only": false, "shared": false, "options": {}}});
    for refused in [
        serde_json::json!([mkdir("/b1"), mount]),
        serde_json::Value::Array((0..1001).map(|i| mkdir(&format!("/many/{i}"))).collect()),
    ] {
        match batch(refused) {
            Err(NetError::Status { status: 400, body, .. }) => {
                assert!(body.contains("a batch holds at most 1000"), "{body}")
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    let root = stdout(&m.goosefs(&["fs", "ls", "/"]));
    assert!(!root.contains("/b1"), "nothing of a refused batch is applied: {root}");
    let answers = batch(serde_json::json!([mkdir("/b2/x"), mkdir("/b2"), mkdir("/b3")])).expect("a batch");
    let kinds: Vec<String> = answers["Ok"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_object().and_then(|o| o.keys().next().cloned()))
        .collect();
    assert_eq!(
        kinds,
        ["Ok", "Refused", "Ok"],
        "in order: /b2 exists once /b2/x is made: {answers}"
    );

    // `fs free` goes through the leader. Then a client names data.bin's block id with another
    // file's path and range (to cache other bytes under it): refused, nothing cached.
    let out = m.goosefs(&["fs", "free", "/hbase/data.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let blocks = || match rt.block_on(
        client_http.call::<(), goosefs::proto::Answer<goosefs::proto::FileBlocks>>(
            &format!("{ip}:{rpc}"),
            &goosefs::proto::path::query(goosefs::proto::paths::BLOCKS, "/hbase/data.bin"),
            None,
            t,
        ),
    ) {
        Ok(goosefs::proto::Answer::Ok(fb)) => fb,
        other => panic!("blocks of data.bin: {other:?}"),
    };
    // The leader hears of the drop at the worker's next heartbeat.
    assert!(
        eventually(Duration::from_secs(10), || blocks().blocks[0].workers.is_empty()),
        "freed"
    );
    let fb = blocks();
    let poison = goosefs::proto::block::BlockRequest {
        id: fb.blocks[0].id,
        file: "/hbase/other.bin".to_owned(),
        mount: fb.mount.clone(),
        ufs: fb.ufs.clone(),
        path: "other.bin".to_owned(),
        block_offset: 0,
        block_length: 12,
        offset: 0,
        len: 12,
        load: false,
        local: false,
        grant: String::new(),
        until: 0,
    };
    // The leader grants data.bin's block its own binding; that grant, under the poisoned binding
    // or with its expiry moved, holds for nothing else: the worker asks the leader, which refuses.
    assert!(
        !fb.blocks[0].grant.is_empty() && fb.granted_until > 0,
        "the leader grants"
    );
    let grant = fb.blocks[0].grant.clone();
    for (grant, until) in [(String::new(), 0), (grant.clone(), fb.granted_until), (grant, u64::MAX)] {
        let forged = goosefs::proto::block::BlockRequest {
            grant,
            until,
            ..poison.clone()
        };
        let refused =
            rt.block_on(client_http.get_block(&format!("127.0.40.20:{worker_rpc}"), &forged.to_query(), 12, t));
        match refused {
            Err(NetError::Status { body, .. }) => assert!(body.contains("as the leader knows it"), "{body}"),
            other => panic!("cache poisoning not refused: {other:?}"),
        }
    }
    // The grant key is the workers' alone.
    let key = rt.block_on(client_http.call::<(), serde_json::Value>(
        &format!("{ip}:{rpc}"),
        goosefs::proto::paths::GRANT_KEY,
        None,
        t,
    ));
    assert!(forbidden(key).contains("the client role may not /api/v1/worker/grant-key"));
    let write = rt.block_on(worker_http.call::<_, serde_json::Value>(
        &format!("{ip}:{rpc}"),
        goosefs::proto::paths::WRITE,
        Some(&serde_json::json!({"Mkdir": {"path": "/by-worker"}})),
        t,
    ));
    assert!(forbidden(write).contains("the worker role may not /api/v1/master/write"));

    // A daemon without its own key does not start: a worker given the FUSE pod's items.
    let out = Command::new(BIN)
        .args(rendered_args(HBASE_CASE, "worker-only"))
        .env_clear()
        .envs(m.client_env(""))
        .env(DIR_ENV, &client)
        .env("GOOSEFS_WORKER_HOSTNAME", "intruder")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no worker.key"), "{}", stderr(&out));

    // Counted where refused; the cluster still elects, serves the right bytes and kept nothing
    // of the refused writes.
    // A refusal is counted by the master that refused it (before any pointer to the leader).
    let web = m.port("goosefs.master.web.port");
    let total = |reason: &str| -> u64 {
        let name = format!("goosefs_auth_refused_total{{reason=\"{reason}\"}}");
        (0..3).map(|i| metric(&m.ip(i), web, &name)).sum()
    };
    assert!(total("unauthenticated") >= 2, "raw list and vote");
    assert!(total("forbidden") >= 4, "mount, unmount, vote, write");
    assert!(total("handshake") >= 6, "five foreign CLI calls and the junk");
    let worker_web = m.port("goosefs.worker.web.port");
    assert!(
        metric(
            "127.0.40.20",
            worker_web,
            "goosefs_auth_refused_total{reason=\"unauthenticated\"}"
        ) >= 1
    );
    for i in 0..3 {
        assert!(m.status(i).is_some(), "master {i} still runs{}", m.report());
    }
    let listing = stdout(&m.goosefs(&["fs", "ls", "/"]));
    assert!(
        listing.contains("/by-client") && listing.contains("/hbase"),
        "{listing}"
    );
    assert!(!listing.contains("pwn") && !listing.contains("by-worker"), "{listing}");
    assert!(!listing.contains("/host") && !listing.contains("/d\n"), "{listing}");
    let out = m.goosefs(&["fs", "cat", "/hbase/data.bin"]);
    assert_eq!(out.stdout, data);
    m.kill(leader);
    let next = m
        .leader(Duration::from_secs(15))
        .expect("a new leader after the refusals");
    assert_ne!(next, leader);
    m.assert_one_leader_per_term();
}
