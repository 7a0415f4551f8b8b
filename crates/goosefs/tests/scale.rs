//! The namespace at the size issue 22 names, with real master processes started with the hbase
//! case's rendered args and ConfigMap environment. A test binary of its own: cargo runs test
//! binaries one after another, so its load (200,000 directories, a snapshot of tens of
//! megabytes) never slows the elections other tests time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Masters, eventually, ls_names, stderr};

const HBASE: &str = common::HBASE_CASE;

/// Issue 22 at the size it names: 200,000 directories (a snapshot of tens of megabytes, many
/// chunks) and a mounted UFS directory of 100,000 files. A follower whose journal is wiped
/// rejoins from the snapshot and votes (the leader is then killed: a leader is elected only with
/// its vote), and the new leader holds everything. Sizes and times are printed.
#[test]
fn a_wiped_master_rejoins_a_namespace_of_200000_directories_and_a_mount_of_100000_files() {
    let storage = tempfile::tempdir().expect("storage");
    let files = 100_000;
    let many = storage.path().join("many");
    std::fs::create_dir(&many).expect("many");
    for i in 0..files {
        std::fs::File::create(many.join(format!("file-{i:06}"))).expect("file");
    }
    let mut m = Masters::new(HBASE, 27, 3);
    // A snapshot every 10 entries: the log behind it is purged, so a wiped master can only
    // catch up from the snapshot. Local mounts below the runtime's local storage only.
    m.extra = format!(
        "-Dgoosefs.master.journal.checkpoint.period.entries=10 -Dgoosefs.master.mount.table.root.ufs={}",
        storage.path().display()
    );
    m.start_all();
    let leader = m.leader(Duration::from_secs(10)).expect("a leader");
    assert!(eventually(Duration::from_secs(15), || (0..3)
        .all(|i| m.status(i).is_some_and(|s| s["votes_allowed"] == true))));
    // 20 clients at once, 10,000 directories each (`fs mkdir` sends them 1,000 per request).
    let (clients, each) = (20, 10_000);
    let pad = "n".repeat(40);
    let made = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..clients {
            let (m, pad) = (&m, &pad);
            scope.spawn(move || {
                let parent = format!("/big{c:02}");
                let paths: Vec<String> = (0..each).map(|i| format!("{parent}/{pad}-{i:05}")).collect();
                let mut args = vec!["fs", "mkdir"];
                args.extend(paths.iter().map(String::as_str));
                let out = m.goosefs(&args);
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            });
        }
    });
    let total = clients * (each + 1);
    eprintln!("{total} directories made in {:?}", made.elapsed());
    let uri = format!("local://{}", many.display());
    let out = m.goosefs(&["fs", "mount", "/many", &uri]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = Instant::now();
    assert_eq!(ls_names(&m, "/many").len(), files);
    eprintln!(
        "fs ls of the {files}-file UFS directory (cold) in {:?}",
        listed.elapsed()
    );

    let wiped = (leader + 1) % 3;
    m.kill(wiped);
    std::fs::remove_dir_all(m.journal(wiped)).expect("wipe");
    assert!(
        eventually(Duration::from_secs(60), || m
            .status(leader)
            .is_some_and(|s| s["snapshot_bytes"].as_u64().unwrap_or(0) > 10 << 20)),
        "a snapshot of tens of megabytes: {}",
        m.report()
    );
    let bytes = m
        .status(leader)
        .map(|s| s["snapshot_bytes"].clone())
        .unwrap_or_default();
    let started = Instant::now();
    m.start(wiped);
    assert!(
        eventually(Duration::from_secs(120), || m.status(wiped).is_some_and(
            |s| s["votes_allowed"] == true && s["snapshot_bytes"].as_u64().unwrap_or(0) > 0
        )),
        "the wiped master rejoins from the snapshot: {}",
        m.report()
    );
    eprintln!(
        "snapshot of {bytes} bytes installed and rejoined in {:?}",
        started.elapsed()
    );
    m.kill(leader);
    let next = m
        .leader(Duration::from_secs(30))
        .expect("a leader with the wiped master's vote");
    assert_ne!(next, leader);
    let roots = ls_names(&m, "/");
    assert_eq!(roots.len(), clients + 1, "{roots:?}");
    for c in [0, clients - 1] {
        assert_eq!(ls_names(&m, &format!("/big{c:02}")).len(), each);
    }
    assert_eq!(
        ls_names(&m, "/many").len(),
        files,
        "the mount, listed by the new leader"
    );
    m.assert_one_leader_per_term();
}
