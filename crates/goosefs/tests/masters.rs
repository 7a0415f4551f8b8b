//! Masters as real processes, started with the hbase case's rendered args and ConfigMap
//! environment: election, `fs masterInfo`, failover after SIGKILL, rejoin after restart and after
//! losing the journal, full restart, and the single-master (UFS journal) case.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{
    HBASE_UFS, Masters, UfsServer, eventually, http_get, http_status, ls_names, rendered_declared_mounts,
    rendered_mount_script, stderr, stdout,
};

const HBASE: &str = common::HBASE_CASE;

fn master_info_leader(masters: &Masters) -> String {
    let out = masters.goosefs(&["fs", "masterInfo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let leader = lines
        .next()
        .and_then(|l| l.strip_prefix("current leader master: "))
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    assert_eq!(
        lines.next(),
        Some("All masters: [hbase-master-0:26000, hbase-master-1:26000, hbase-master-2:26000]"),
        "{text}"
    );
    leader
}

#[test]
fn three_masters_elect_a_leader_fail_over_and_recover_everything_after_a_full_restart() {
    // The Dataset's Web UFS is on the internet; a local one stands in for it in the rendered
    // declaration (a mount is checked against its UFS first).
    let ufs = UfsServer::start();
    let mut m = Masters::new(HBASE, 21, 3);
    let declared = rendered_declared_mounts(HBASE);
    assert!(declared.contains(HBASE_UFS), "{declared}");
    m.master_env.insert(
        "GOOSEFS_DECLARED_MOUNTS".into(),
        declared.replace(HBASE_UFS, &ufs.url()),
    );
    assert_eq!(m.args, ["master-only", "--no-format"], "the rendered args");
    let started = Instant::now();
    m.start_all();
    let first = m.leader(Duration::from_secs(10)).expect("a leader within 10 s");
    eprintln!("first leader after {:?}", started.elapsed());
    assert_eq!(master_info_leader(&m), format!("hbase-master-{first}:26000"));

    // The web port: probes and metrics.
    let web = m.port("goosefs.master.web.port");
    for i in 0..3 {
        assert_eq!(
            http_get(&m.ip(i), web, "/health").as_deref(),
            Some("ok\n"),
            "master {i}"
        );
    }
    let metrics = http_get(&m.ip(first), web, "/metrics").expect("metrics");
    assert_eq!(
        common::metric_value(&metrics, "goosefs_master_is_leader"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        common::metric_value(&metrics, "goosefs_master_raft_state{state=\"leader\"}"),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        common::metric_value(&metrics, "goosefs_master_raft_term").is_some_and(|t| t > 0.0),
        "{metrics}"
    );
    common::assert_exported(&metrics);
    // Every sample says whose it is (the rendered ConfigMap names the runtime).
    assert!(
        metrics.contains("goosefs_master_is_leader{runtime=\"hbase\",namespace=\"default\",role=\"master\"} 1\n"),
        "{metrics}"
    );

    // The rendered mount Job's script, unchanged, against our masters: it waits on `fsadmin
    // report`, then until the leader has mounted the declaration (`fs mount`'s third field).
    let report = m.goosefs(&["fsadmin", "report"]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    assert!(stdout(&report).contains("Raft-based Journal: true"));
    let script = rendered_mount_script(HBASE);
    assert!(script.contains("until mounted '/hbase'"), "{script}");
    let job = m.shell(&script);
    assert_eq!(job.status.code(), Some(0), "{}{}", stdout(&job), stderr(&job));
    assert!(
        stdout(&job).contains("/hbase is mounted\nall mounts done"),
        "{}",
        stdout(&job)
    );
    assert!(m.goosefs(&["fs", "mkdir", "/hbase/a"]).status.success());
    let stat = stdout(&m.goosefs(&["fs", "stat", "/hbase/a"]));
    assert!(stat.starts_with("/hbase/a is a directory path.\n"), "{stat}");
    assert!(stat.contains(&format!("ufsPath={}a,", ufs.url())), "{stat}");

    // SIGKILL the leader: another one within 15 s, and the mount is still there.
    m.kill(first);
    let killed = Instant::now();
    let second = m.leader(Duration::from_secs(15)).expect("a new leader within 15 s");
    eprintln!("failover after {:?}", killed.elapsed());
    assert_ne!(second, first);
    assert_eq!(master_info_leader(&m), format!("hbase-master-{second}:26000"));
    let table = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(
        table.lines().any(|l| l.split_whitespace().nth(2) == Some("/hbase")),
        "{table}"
    );

    // The killed master comes back as a follower with the log.
    m.start(first);
    assert!(
        eventually(Duration::from_secs(10), || m.status(first).is_some_and(|s| s["role"]
            == "follower"
            && s["applied_index"]
                == m.status(second)
                    .map(|t| t["applied_index"].clone())
                    .unwrap_or_default())),
        "master {first} rejoins as a follower: {:?}",
        m.status(first)
    );
    assert!(m.goosefs(&["fs", "mkdir", "/hbase/b"]).status.success());

    // Killing the second leader still leaves a quorum, which elects a third.
    m.kill(second);
    let third = m.leader(Duration::from_secs(15)).expect("a third leader");
    assert!(third != second);
    assert_eq!(ls_names(&m, "/hbase"), ["/hbase/a", "/hbase/b"]);
    m.start(second);

    // All stopped (SIGTERM: exit 0) and started again: the journal brings everything back.
    for i in 0..3 {
        assert!(eventually(Duration::from_secs(10), || m.status(i).is_some()));
    }
    for i in 0..3 {
        assert_eq!(m.stop(i), Some(0), "master {i} stops cleanly on SIGTERM");
    }
    m.start_all();
    m.leader(Duration::from_secs(15))
        .expect("a leader after the full restart");
    assert_eq!(ls_names(&m, "/hbase"), ["/hbase/a", "/hbase/b"]);
    let table = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(table.contains(&format!("{}  on  /hbase  (web,", ufs.url())), "{table}");
    m.assert_one_leader_per_term();
}

#[test]
fn a_master_that_lost_its_journal_rejoins_before_it_votes_and_nothing_acknowledged_is_lost() {
    let mut m = Masters::new(HBASE, 22, 3);
    m.start_all();
    let leader = m.leader(Duration::from_secs(10)).expect("a leader");
    for i in 0..10 {
        let out = m.goosefs(&["fs", "mkdir", &format!("/d{i}")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    // A follower's pod is recreated: its emptyDir journal is gone.
    let wiped = (leader + 1) % 3;
    m.kill(wiped);
    std::fs::remove_dir_all(m.journal(wiped)).expect("wipe");
    m.start(wiped);
    assert!(
        eventually(Duration::from_secs(30), || m
            .status(wiped)
            .is_some_and(|s| s["votes_allowed"] == true && s["role"] == "follower")),
        "the wiped master rejoins: {:?}",
        m.status(wiped)
    );
    let log = std::fs::read_to_string(m.log(wiped)).unwrap_or_default();
    assert!(log.contains("rejoining as a learner before voting"), "{log}");
    assert!(log.contains("rejoined: voting again"), "{log}");
    for i in 10..20 {
        assert!(m.goosefs(&["fs", "mkdir", &format!("/d{i}")]).status.success());
    }

    // Now the leader dies: the rejoined master and the third one elect a leader that has every
    // acknowledged write.
    m.kill(leader);
    let next = m.leader(Duration::from_secs(15)).expect("a leader without the old one");
    assert_ne!(next, leader);
    let mut names = ls_names(&m, "/");
    names.sort_by_key(|n| n.trim_start_matches("/d").parse::<u32>().unwrap_or(u32::MAX));
    let expected: Vec<String> = (0..20).map(|i| format!("/d{i}")).collect();
    assert_eq!(names, expected);
    m.assert_one_leader_per_term();
}

#[test]
fn a_wiped_master_refuses_votes_until_it_has_rejoined() {
    let mut m = Masters::new(HBASE, 23, 3);
    m.start_all();
    let leader = m.leader(Duration::from_secs(10)).expect("a leader");
    let wiped = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    // With the leader and the third master down, the wiped one cannot rejoin: it must not vote,
    // so the third master, once back, cannot be elected on its vote.
    m.kill(wiped);
    m.kill(other);
    m.kill(leader);
    std::fs::remove_dir_all(m.journal(wiped)).expect("wipe");
    m.start(wiped);
    m.start(other);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        m.leader(Duration::from_millis(100)),
        None,
        "no leader from one full log and one empty one"
    );
    let s = m.status(wiped).expect("status");
    assert_eq!(s["votes_allowed"], false, "{s}");
    // The old leader returns: a quorum of full logs elects, and the wiped master rejoins.
    m.start(leader);
    m.leader(Duration::from_secs(15))
        .expect("a leader once two full logs are up");
    assert!(eventually(Duration::from_secs(30), || m
        .status(wiped)
        .is_some_and(|s| s["votes_allowed"] == true)));
    m.assert_one_leader_per_term();
}

#[test]
fn one_master_with_the_ufs_journal_serves_mounts_across_a_restart() {
    let mut m = Masters::new("one-master", 24, 1);
    assert!(m.env["GOOSEFS_JAVA_OPTS"].contains("-Dgoosefs.master.journal.type=UFS"));
    m.start(0);
    assert!(eventually(Duration::from_secs(10), || m
        .goosefs(&["fsadmin", "report"])
        .status
        .success()));
    let report = stdout(&m.goosefs(&["fsadmin", "report"]));
    assert!(report.contains("Raft-based Journal: false"), "{report}");
    let ufs = UfsServer::start();
    std::fs::create_dir(ufs.root.path().join("tmp")).expect("tmp");
    let out = m.goosefs(&[
        "fs",
        "mount",
        "--option",
        "aws.secretKey=do-not-print",
        "--option",
        "fs.region=ap-beijing",
        "/data",
        &ufs.url(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(
        table.contains("properties={aws.secretKey=******, fs.region=ap-beijing}"),
        "{table}"
    );
    assert!(!table.contains("do-not-print"), "{table}");
    let out = m.goosefs(&["fs", "mount", "/tmp-mount", &format!("{}tmp/", ufs.url())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = m.goosefs(&["fs", "unmount", "/tmp-mount"]);
    assert_eq!(stdout(&out), "Unmounted /tmp-mount\n", "{}", stderr(&out));
    let out = m.goosefs(&["fs", "unmount", "/tmp-mount"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "unmounting twice is refused: {}",
        stderr(&out)
    );
    assert_eq!(m.stop(0), Some(0));
    m.start(0);
    assert!(eventually(Duration::from_secs(10), || ls_names(&m, "/") == ["/data"]));
    let info = stdout(&m.goosefs(&["fs", "masterInfo"]));
    assert!(info.starts_with("current leader master: hbase-master-0:"), "{info}");
}

#[test]
fn snapshots_bound_the_journal_and_bring_a_lagging_master_up_to_date() {
    let mut m = Masters::new(HBASE, 25, 3);
    // A snapshot every 20 entries (the rendered default is GooseFS's 2,000,000).
    m.extra = "-Dgoosefs.master.journal.checkpoint.period.entries=20".to_owned();
    m.start_all();
    let leader = m.leader(Duration::from_secs(10)).expect("a leader");
    assert!(eventually(Duration::from_secs(15), || (0..3)
        .all(|i| m.status(i).is_some_and(|s| s["votes_allowed"] == true))));
    let lagging = (leader + 1) % 3;
    m.kill(lagging);
    for i in 0..60 {
        let out = m.goosefs(&["fs", "mkdir", &format!("/s{i}")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let status = m.status(leader).expect("leader status");
    let kept = status["journal_entries"].as_u64().unwrap_or(u64::MAX);
    assert!(kept < 60, "the log was purged behind a snapshot: {status}");
    // The lagging master's log ends before what the leader kept: it gets the snapshot.
    m.start(lagging);
    assert!(
        eventually(Duration::from_secs(20), || m.status(lagging).is_some_and(
            |s| s["applied_index"] == m.status(leader).map(|l| l["applied_index"].clone()).unwrap_or_default()
        )),
        "caught up: {}",
        m.report()
    );
    // Everyone restarted: snapshot plus the log after it.
    for i in 0..3 {
        assert_eq!(m.stop(i), Some(0));
    }
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader after the restart");
    assert_eq!(ls_names(&m, "/").len(), 60);
    m.assert_one_leader_per_term();
}

/// Issue 22: every master pod deleted at once (emptyDir journals): the new leader mounts the
/// Dataset's declared mounts again by itself; a changed declaration is mounted again, one no
/// longer declared unmounted, and mounts made by hand are left alone.
#[test]
fn declared_mounts_survive_every_journal_lost_and_follow_the_declaration() {
    let ufs = UfsServer::start();
    std::fs::write(ufs.root.path().join("data.bin"), b"declared data").expect("data");
    let other = UfsServer::start();
    std::fs::write(other.root.path().join("other.bin"), b"other").expect("other");
    let hand = UfsServer::start();
    let mut m = Masters::new(HBASE, 26, 3);
    let declare = |m: &mut Masters, ufs: &str| {
        let text = format!(
            r#"[{{"path":"/hbase","ufs":"{ufs}","options":{{"x.plain":"1"}},"optionEnv":{{"aws.secretKey":"GOOSEFS_MOUNT_SECRET_0_0"}}}}]"#
        );
        m.master_env.insert("GOOSEFS_DECLARED_MOUNTS".into(), text);
    };
    declare(&mut m, &ufs.url());
    m.master_env
        .insert("GOOSEFS_MOUNT_SECRET_0_0".into(), "TOPSECRET".into());
    m.start_all();
    m.leader(Duration::from_secs(10)).expect("a leader");
    let listed = |m: &Masters, path: &str, name: &str| {
        let out = m.goosefs(&["fs", "ls", path]);
        out.status.success() && stdout(&out).contains(name)
    };
    assert!(
        eventually(Duration::from_secs(15), || listed(&m, "/hbase", "data.bin")),
        "the leader mounts the declaration: {}",
        stdout(&m.goosefs(&["fs", "mount"]))
    );
    // Secret options from the environment, shown masked.
    let table = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(
        table.contains("aws.secretKey=******") && !table.contains("TOPSECRET"),
        "{table}"
    );
    assert!(m.goosefs(&["fs", "mount", "/byhand", &hand.url()]).status.success());
    assert!(m.goosefs(&["fs", "mkdir", "/made"]).status.success());
    let no_secret_logged = |m: &Masters| {
        for i in 0..3 {
            let log = std::fs::read_to_string(m.log(i)).unwrap_or_default();
            assert!(!log.contains("TOPSECRET"), "master {i} logged a secret");
        }
    };
    no_secret_logged(&m);
    m.assert_one_leader_per_term();

    // Every master killed and its journal gone, as when all three pods are deleted at once (a
    // new journal counts its terms from the start again: so do the logs).
    for i in 0..3 {
        m.kill(i);
        std::fs::remove_dir_all(m.journal(i)).expect("wipe");
        std::fs::remove_file(m.log(i)).expect("log");
    }
    let restarted = Instant::now();
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader of the new journal");
    assert!(
        eventually(Duration::from_secs(30), || listed(&m, "/hbase", "data.bin")),
        "mounted again with no Job and no human"
    );
    eprintln!(
        "declared mount served again {:?} after the restart",
        restarted.elapsed()
    );
    let root = stdout(&m.goosefs(&["fs", "ls", "/"]));
    assert!(
        !root.contains("/made") && !root.contains("/byhand"),
        "the journal alone held those: {root}"
    );

    // A hand mount, then a changed declaration (a new rollout): the declared one is mounted
    // again from the new UFS, the hand mount stays.
    assert!(m.goosefs(&["fs", "mount", "/byhand", &hand.url()]).status.success());
    for i in 0..3 {
        assert_eq!(m.stop(i), Some(0));
    }
    declare(&mut m, &other.url());
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader");
    assert!(
        eventually(Duration::from_secs(30), || listed(&m, "/hbase", "other.bin")),
        "the changed declaration: {}",
        stdout(&m.goosefs(&["fs", "mount"]))
    );
    assert!(listed(&m, "/", "/byhand"));

    // Nothing declared any more: the declared mount goes, the hand mount stays.
    for i in 0..3 {
        assert_eq!(m.stop(i), Some(0));
    }
    m.master_env.insert("GOOSEFS_DECLARED_MOUNTS".into(), "[]".into());
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader");
    assert!(
        eventually(Duration::from_secs(30), || !listed(&m, "/", "/hbase")),
        "unmounted once no longer declared"
    );
    assert!(listed(&m, "/", "/byhand"));
    no_secret_logged(&m);
    m.assert_one_leader_per_term();
}

/// Issue 23: readiness means serving. A master started alone is not ready (no leader), nor a
/// worker the leader has not registered; both are once the quorum is up; a worker whose tier
/// directory takes no write is not ready until it does again; after the leader dies the others
/// are ready again under the new one.
#[test]
fn readiness_means_serving() {
    let mut m = Masters::new(HBASE, 28, 3);
    let web = m.port("goosefs.master.web.port");
    let worker_web = m.port("goosefs.worker.web.port");
    let ready = |ip: &str, port: u16| http_status(ip, port, "/ready");
    m.start(0);
    assert!(eventually(Duration::from_secs(10), || ready(&m.ip(0), web).is_some()));
    for _ in 0..6 {
        let (status, why) = ready(&m.ip(0), web).expect("answers");
        assert_eq!(status, 503, "{why}");
        assert!(why.starts_with("not ready: "), "{why}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let tier = m.dir.path().join("tier");
    m.start_worker("hbase-worker-0", "127.0.28.20", &tier, "");
    assert!(eventually(Duration::from_secs(10), || ready("127.0.28.20", worker_web)
        .is_some_and(|(s, why)| s == 503 && why.contains("not registered"))));
    m.start(1);
    m.start(2);
    let leader = m.leader(Duration::from_secs(15)).expect("a leader");
    assert!(
        eventually(Duration::from_secs(15), || (0..3)
            .all(|i| ready(&m.ip(i), web).is_some_and(|(s, _)| s == 200))),
        "every master ready: {:?}",
        (0..3).map(|i| ready(&m.ip(i), web)).collect::<Vec<_>>()
    );
    assert!(eventually(Duration::from_secs(15), || ready("127.0.28.20", worker_web)
        .is_some_and(|(s, _)| s == 200)));
    // A tier directory that takes no write (here: its block folder replaced by a file).
    let blocks = tier.join("goosefsworker");
    std::fs::rename(&blocks, tier.join("moved")).expect("move");
    std::fs::write(&blocks, b"not a folder").expect("file");
    assert!(eventually(Duration::from_secs(10), || ready("127.0.28.20", worker_web)
        .is_some_and(|(s, why)| s == 503 && why.contains("takes no write"))));
    std::fs::remove_file(&blocks).expect("rm");
    std::fs::rename(tier.join("moved"), &blocks).expect("back");
    assert!(eventually(Duration::from_secs(10), || ready("127.0.28.20", worker_web)
        .is_some_and(|(s, _)| s == 200)));
    // The leader dies: the two others are ready again under a new one.
    m.kill(leader);
    let next = m.leader(Duration::from_secs(15)).expect("a new leader");
    assert!(eventually(Duration::from_secs(15), || (0..3)
        .filter(|i| *i != leader)
        .all(|i| ready(&m.ip(i), web).is_some_and(|(s, _)| s == 200))));
    assert_ne!(next, leader);
    m.assert_one_leader_per_term();
}

/// Issue 24: `fsadmin backup` writes the namespace and mount table where it is told; masters
/// whose journals are all gone, started with the backup as `JOURNAL_BACKUP` (Fluid's restore),
/// take it back (every master: the new leader after a failover has it too), once: on an existing
/// journal the variable is ignored.
#[test]
fn a_metadata_backup_is_restored_into_empty_journals_once() {
    let ufs = UfsServer::start();
    std::fs::write(ufs.root.path().join("second.bin"), b"second").expect("data");
    let mut m = Masters::new(HBASE, 29, 3);
    m.start_all();
    m.leader(Duration::from_secs(10)).expect("a leader");
    assert!(m.goosefs(&["fs", "mount", "/second", &ufs.url()]).status.success());
    for dir in ["/kept", "/kept/a", "/kept/a/b"] {
        assert!(m.goosefs(&["fs", "mkdir", dir]).status.success(), "{dir}");
    }
    let backups = m.dir.path().join("backups");
    let out = m.goosefs(&["fsadmin", "backup", backups.to_str().expect("utf-8"), "--local"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("Backup Host        : hbase-master-"), "{text}");
    // Fluid's DataBackup script takes the second line, after "Backup URI         : ".
    let uri = lines[1].strip_prefix("Backup URI         : ").expect("the URI line");
    assert!(std::path::Path::new(uri).is_file(), "{uri}");
    let entries: usize = lines[2]
        .strip_prefix("Backup Entry Count : ")
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(entries >= 4, "a mount and three directories: {text}");
    // `kubectl goosefs backup`'s pod: the same backup under Fluid's name, with no DataBackup.
    let out = m.shell(&format!(
        "BACKUP_DIR={} BACKUP_FILE=metadata-backup-hbase-default.gz GOOSEFS_RUNTIME_NAMESPACE=default goosefs databackup",
        backups.display()
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let named = backups.join("metadata-backup-hbase-default.gz");
    let read = |p: &std::path::Path| {
        goosefs::master::backup::Backup::decode(&std::fs::read(p).expect("file")).expect("a backup")
    };
    let (a, b) = (read(&named), read(std::path::Path::new(uri)));
    assert_eq!((a.mounts, a.inodes), (b.mounts, b.inodes), "the same namespace");

    // Every journal lost at once; the backup is the masters' JOURNAL_BACKUP. (A new journal counts
    // its terms from the start again: so do the logs.)
    for i in 0..3 {
        m.kill(i);
        std::fs::remove_dir_all(m.journal(i)).expect("wipe");
        std::fs::remove_file(m.log(i)).expect("log");
    }
    m.master_env.insert("JOURNAL_BACKUP".into(), uri.to_owned());
    m.start_all();
    let leader = m.leader(Duration::from_secs(15)).expect("a leader of the new journal");
    let restored = |m: &Masters| {
        let (root, deep) = (m.goosefs(&["fs", "ls", "/"]), m.goosefs(&["fs", "ls", "/kept/a"]));
        root.status.success()
            && deep.status.success()
            && stdout(&root).contains(" /kept\n")
            && stdout(&root).contains(" /second\n")
            && stdout(&deep).contains(" /kept/a/b\n")
    };
    assert!(
        eventually(Duration::from_secs(30), || restored(&m)),
        "restored: {:?}",
        ls_names(&m, "/")
    );
    let mounts = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(mounts.contains("/second"), "{mounts}");
    assert!(
        stdout(&m.goosefs(&["fs", "ls", "/second"])).contains("second.bin"),
        "the restored mount lists its UFS"
    );
    // Journaled through Raft: the next leader has it too.
    m.kill(leader);
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    m.leader_among(&others, Duration::from_secs(15)).expect("a new leader");
    assert!(eventually(Duration::from_secs(15), || restored(&m)));
    m.start(leader);

    // Once: a write, then a full restart with the same variable: the journal wins.
    assert!(m.goosefs(&["fs", "mkdir", "/after"]).status.success());
    for i in 0..3 {
        assert_eq!(m.stop(i), Some(0));
    }
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader");
    assert!(eventually(Duration::from_secs(15), || ls_names(&m, "/")
        .contains(&"/after".to_owned())));
    assert!(restored(&m));
    let logs: String = (0..3)
        .map(|i| std::fs::read_to_string(m.log(i)).unwrap_or_default())
        .collect();
    assert!(logs.contains("metadata backup restored"), "restored once");
    assert!(
        logs.contains("JOURNAL_BACKUP ignored"),
        "ignored on the existing journal"
    );
    m.assert_one_leader_per_term();
}
