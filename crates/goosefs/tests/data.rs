//! The data path end to end, from the rendered manifests of the seed runtime: three masters,
//! workers and FUSE started with the ConfigMap's environment and the containers' args, a Web
//! UFS (`tests/ufs_server.py`: index pages, ranges, request counts, injected faults). Every
//! read is compared with the UFS's bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read as _;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{
    HBASE_CASE, HBASE_UFS, Masters, UfsServer, eventually, http_get, http_status, rendered_args,
    rendered_declared_mounts, rendered_mount_script, stderr, stdout,
};

const MB: usize = 1 << 20;

/// Deterministic bytes.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = data.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let out = child.wait_with_output().expect("sha256sum");
    writer.join().expect("join").expect("write");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Masters of the seed runtime with 1 MiB blocks, a leader, and the UFS mounted at `/hbase` by
/// the rendered mount Job's script (its URL swapped for the local UFS).
fn cluster(net: u8, ufs: &UfsServer) -> Masters {
    cluster_with(net, ufs, "")
}

/// [`cluster`] with more `-D` options for the masters.
fn cluster_with(net: u8, ufs: &UfsServer, extra: &str) -> Masters {
    let mut m = Masters::new(HBASE_CASE, net, 3);
    m.extra = format!("-Dgoosefs.user.block.size.bytes.default=1MB -Dgoosefs.master.worker.timeout=3s {extra}");
    // The Dataset's Web UFS is on the internet; a local one stands in for it.
    let declared = rendered_declared_mounts(HBASE_CASE).replace(HBASE_UFS, &ufs.url());
    m.master_env.insert("GOOSEFS_DECLARED_MOUNTS".into(), declared);
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader");
    // The rendered mount Job's script: it waits until the leader has mounted the declaration.
    let out = m.shell(&rendered_mount_script(HBASE_CASE));
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    m
}

fn cat(m: &Masters, path: &str) -> std::process::Output {
    m.goosefs(&["fs", "cat", path])
}

/// The FUSE process's metrics port, as rendered.
fn fuse_web_port(m: &Masters) -> u16 {
    m.env["GOOSEFS_FUSE_JAVA_OPTS"]
        .split_whitespace()
        .find_map(|o| o.strip_prefix("-Dgoosefs.fuse.web.port="))
        .and_then(|p| p.parse().ok())
        .expect("the rendered FUSE metrics port")
}

/// FUSE with `args` at `<test dir>/fuse`, on hbase-worker-0's host (reading its tier directory
/// `tier` directly, as the rendered DaemonSet mounts it), more `-D` options in `extra`; returns
/// the mount point.
fn start_fuse(m: &mut Masters, ip: &str, args: &[String], tier: &Path, extra: &str) -> PathBuf {
    let mount_point = m.dir.path().join("fuse");
    m.start_other(
        "hbase-fuse-0",
        ip,
        args,
        "GOOSEFS_FUSE_JAVA_OPTS",
        &format!(
            "-Dgoosefs.user.hostname=hbase-worker-0 -Dgoosefs.worker.tieredstore.level0.dirs.path={} {extra}",
            tier.display()
        ),
        &[("MOUNT_POINT", mount_point.display().to_string())],
    );
    mount_point
}

fn metric(m: &Masters, ip: &str, name: &str) -> u64 {
    let body = http_get(ip, m.port("goosefs.worker.web.port"), "/metrics").unwrap_or_default();
    common::assert_exported(&body);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a counter
    let value = common::metric_value(&body, name).unwrap_or(0.0) as u64;
    value
}

/// The files in a tier directory's block folder: with `data` set, only blocks' bytes (named
/// by their id), else every file (with checksum files, if any).
fn tier_files(tier: &Path, data: bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tier.join("goosefsworker"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|f| {
        !data
            || f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.parse::<u64>().is_ok())
    });
    files.sort();
    files
}

fn block_files(tier: &Path) -> Vec<PathBuf> {
    tier_files(tier, true)
}

/// The bytes a tier directory's blocks take: their files' and their checksums' (an attribute of
/// each block file, or a file of their own).
fn du(dir: &Path) -> u64 {
    let sums = |f: &PathBuf| {
        xattr::get(f, goosefs::blockfile::SUMS_XATTR)
            .ok()
            .flatten()
            .map_or(0, |s| s.len() as u64)
    };
    tier_files(dir, false)
        .iter()
        .filter_map(|f| f.metadata().ok().map(|m| m.len() + sums(f)))
        .sum()
}

#[test]
fn web_ufs_files_read_through_the_cache_the_fuse_mount_and_survive_faults() {
    let ufs = UfsServer::start();
    let big = bytes(5 * MB + 12_345, 1);
    std::fs::write(ufs.root.path().join("big.bin"), &big).expect("big");
    std::fs::write(ufs.root.path().join("small.txt"), b"hello hbase\n").expect("small");
    let one = bytes(MB - 1000, 3);
    std::fs::write(ufs.root.path().join("one.bin"), &one).expect("one");
    std::fs::create_dir(ufs.root.path().join("docs")).expect("docs");
    std::fs::write(ufs.root.path().join("docs/readme"), b"docs\n").expect("readme");
    let mut m = cluster(30, &ufs);
    let tier = m.dir.path().join("tier-0");
    let quota = 8 * MB as u64;
    m.start_worker(
        "hbase-worker-0",
        "127.0.30.20",
        &tier,
        "-Dgoosefs.worker.tieredstore.level0.dirs.quota=8MB",
    );
    assert!(
        eventually(Duration::from_secs(10), || m.lists_worker("hbase-worker-0")),
        "the worker registers"
    );

    // Listing comes from the UFS's index pages, lengths from HEADs.
    let ls = stdout(&m.goosefs(&["fs", "ls", "/hbase"]));
    let names: Vec<&str> = ls.lines().filter_map(|l| l.split_whitespace().last()).collect();
    assert_eq!(
        names,
        ["/hbase/big.bin", "/hbase/docs", "/hbase/one.bin", "/hbase/small.txt"],
        "{ls}"
    );
    assert!(ls.contains(&big.len().to_string()), "{ls}");
    assert_eq!(stdout(&cat(&m, "/hbase/docs/readme")), "docs\n");

    // A cold read fetches each of the 6 blocks once; a warm one sends nothing to the UFS.
    let out = cat(&m, "/hbase/big.bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sha(&out.stdout), sha(&big));
    assert_eq!(ufs.gets("/big.bin"), 6);
    let out = cat(&m, "/hbase/big.bin");
    assert_eq!(sha(&out.stdout), sha(&big));
    assert_eq!(ufs.gets("/big.bin"), 6, "warm reads come from the cache");
    // Sent with sendfile(2): the worker never copied the warm bytes.
    let zero_copy = metric(&m, "127.0.30.20", "goosefs_worker_zero_copy_bytes_total");
    assert!(zero_copy >= big.len() as u64, "{zero_copy} bytes sent zero-copy");
    let head = m.goosefs(&["fs", "head", "-c", "100", "/hbase/big.bin"]).stdout;
    assert_eq!(head, &big[..100]);
    let tail = m.goosefs(&["fs", "tail", "-c", "3000000", "/hbase/big.bin"]).stdout;
    assert_eq!(tail, &big[big.len() - 3_000_000..]);
    let copy = m.dir.path().join("copy.bin");
    let out = m.goosefs(&["fs", "copyToLocal", "/hbase/big.bin", &copy.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&copy).expect("copy"), big);
    // The worker reports its new blocks at its next heartbeat.
    let cached = format!("{}       {} (100%)", big.len(), big.len());
    assert!(
        eventually(Duration::from_secs(5), || stdout(&m.goosefs(&["fs", "du", "/hbase"]))
            .contains(&cached)),
        "{}",
        stdout(&m.goosefs(&["fs", "du", "/hbase"]))
    );

    // FUSE at $MOUNT_POINT with the rendered args; it reads the worker's tier directory
    // directly (short-circuit), as the rendered DaemonSet mounts it.
    let fuse_args = rendered_args(HBASE_CASE, "fuse");
    let mount_point = start_fuse(&mut m, "127.0.30.20", &fuse_args, &tier, "");
    let in_fuse = mount_point.join("hbase/big.bin");
    assert!(eventually(Duration::from_secs(10), || in_fuse.exists()), "FUSE mounts");
    let listed: Vec<String> = std::fs::read_dir(mount_point.join("hbase"))
        .expect("readdir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed.len(), 4, "{listed:?}");
    let out = Command::new("cat").arg(&in_fuse).output().expect("cat");
    assert_eq!(sha(&out.stdout), sha(&big), "cat through FUSE");
    let copied = m.dir.path().join("cp.bin");
    assert!(
        Command::new("cp")
            .arg(&in_fuse)
            .arg(&copied)
            .status()
            .expect("cp")
            .success()
    );
    assert_eq!(std::fs::read(&copied).expect("cp"), big);
    let file = std::fs::File::open(&in_fuse).expect("open");
    let mut seed = 7u64;
    for _ in 0..200 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let offset = (seed >> 20) as usize % big.len();
        let len = ((seed >> 5) as usize % (300_000)).min(big.len() - offset);
        let mut buf = vec![0; len];
        file.read_exact_at(&mut buf, offset as u64).expect("pread");
        assert!(buf == big[offset..offset + len], "pread at {offset} of {len}");
    }
    drop(file);
    assert_eq!(ufs.gets("/big.bin"), 6, "FUSE reads came from the cache");
    assert!(
        std::fs::write(mount_point.join("hbase/new"), b"x").is_err(),
        "read-only mount"
    );
    let mut small = String::new();
    std::fs::File::open(mount_point.join("hbase/small.txt"))
        .expect("open small")
        .read_to_string(&mut small)
        .expect("read small");
    assert_eq!(small, "hello hbase\n");
    // The FUSE process's own metrics (its rendered port, on its address): the reads it served,
    // their bytes and latency, labelled with the runtime.
    let fuse_port = fuse_web_port(&m);
    let fuse_metrics = http_get("127.0.30.20", fuse_port, "/metrics").unwrap_or_default();
    common::assert_exported(&fuse_metrics);
    let value = |name: &str| common::metric_value(&fuse_metrics, name).unwrap_or(0.0);
    assert!(value("goosefs_fuse_reads_total") >= 1.0, "{fuse_metrics}");
    assert!(
        value("goosefs_fuse_read_bytes_total") >= big.len() as f64,
        "{fuse_metrics}"
    );
    assert!(value("goosefs_fuse_read_seconds_count") >= 1.0, "{fuse_metrics}");
    assert!(
        fuse_metrics.contains("goosefs_fuse_reads_total{runtime=\"hbase\",namespace=\"default\",role=\"fuse\"} "),
        "{fuse_metrics}"
    );

    // A file of one block is read by the kernel from the block file itself (FUSE passthrough):
    // the FUSE process never reads its bytes. Cold, this host's worker first fetches the block
    // whole (local-first) and vouches for the file.
    let fuse_pid = m.others["hbase-fuse-0"].id();
    let fuse_reads = || {
        std::fs::read_to_string(format!("/proc/{fuse_pid}/io"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("rchar:").and_then(|v| v.trim().parse::<u64>().ok()))
            .expect("rchar")
    };
    let (reads_before, opens_before, hits_before, misses_before) = (
        fuse_reads(),
        metric(&m, "127.0.30.20", "goosefs_worker_local_opens_total"),
        metric(&m, "127.0.30.20", "goosefs_worker_cache_hits_total"),
        metric(&m, "127.0.30.20", "goosefs_worker_cache_misses_total"),
    );
    let in_fuse_one = mount_point.join("hbase/one.bin");
    assert_eq!(sha(&std::fs::read(&in_fuse_one).expect("cold")), sha(&one));
    assert_eq!(sha(&std::fs::read(&in_fuse_one).expect("warm")), sha(&one));
    assert_eq!(ufs.gets("/one.bin"), 1, "fetched once, whole");
    let fuse_read = fuse_reads() - reads_before;
    assert!(
        fuse_read < one.len() as u64 / 2,
        "the FUSE process read {fuse_read} bytes"
    );
    // The warm open asks nobody: FUSE kept the block list and the block file the worker named
    // (the metadata cache of the rendered configuration), still the same file.
    assert_eq!(
        metric(&m, "127.0.30.20", "goosefs_worker_local_opens_total"),
        opens_before + 1,
        "the cold open asked the worker for the block file; the warm one reused it"
    );
    assert_eq!(
        (
            metric(&m, "127.0.30.20", "goosefs_worker_cache_misses_total") - misses_before,
            metric(&m, "127.0.30.20", "goosefs_worker_cache_hits_total") - hits_before,
        ),
        (1, 0),
        "the cold open is one miss; the warm one no request"
    );
    // An open file keeps its bytes when its block is freed under it.
    let open_one = std::fs::File::open(&in_fuse_one).expect("open");
    assert!(m.goosefs(&["fs", "free", "/hbase/one.bin"]).status.success());
    let mut again = vec![0; one.len()];
    open_one.read_exact_at(&mut again, 0).expect("read after free");
    assert!(again == one, "the freed block's bytes, whole");
    drop(open_one);
    // close(2) returns before FUSE hears the release; until then a new open shares the freed
    // file's passthrough registration (the same, right bytes) instead of fetching again.
    std::thread::sleep(Duration::from_millis(300));
    // A flipped byte in the block file is caught before the kernel is given the file.
    assert_eq!(sha(&std::fs::read(&in_fuse_one).expect("refetch")), sha(&one));
    assert_eq!(ufs.gets("/one.bin"), 2, "fetched again after the free");
    let victim = block_files(&tier)
        .into_iter()
        .find(|f| f.metadata().is_ok_and(|m| m.len() == one.len() as u64))
        .expect("one.bin's block file");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .and_then(|f| f.write_all_at(b"\xff\x00", 5000))
        .expect("corrupt");
    assert_eq!(
        sha(&std::fs::read(&in_fuse_one).expect("read")),
        sha(&one),
        "never the corrupt bytes"
    );
    assert_eq!(ufs.gets("/one.bin"), 3, "the corrupt block is fetched again");
    assert_eq!(metric(&m, "127.0.30.20", "goosefs_worker_corrupt_blocks_total"), 1);

    // FUSE is ready (its readiness probe) while it serves: mounted, a leader, a worker reporting.
    let fuse_ready = || http_status("127.0.30.20", fuse_port, "/ready").unwrap_or_default();
    assert_eq!(fuse_ready(), (200, "ready\n".to_owned()));
    // A worker restart keeps its blocks: still no UFS request.
    assert_eq!(m.stop_other("hbase-worker-0"), Some(0), "the worker stops on SIGTERM");
    // With its only worker gone FUSE serves no file, and says so within seconds (its own
    // check of the workers' heartbeats: by default the leader lists a silent worker for
    // goosefs.master.worker.timeout, 5 min; 3 s here).
    assert!(
        eventually(Duration::from_secs(10), || {
            let (status, why) = fuse_ready();
            status == 503 && why.ends_with(": no file can be read\n")
        }),
        "{:?}",
        fuse_ready()
    );
    m.start_worker(
        "hbase-worker-0",
        "127.0.30.20",
        &tier,
        "-Dgoosefs.worker.tieredstore.level0.dirs.quota=8MB",
    );
    assert!(
        eventually(Duration::from_secs(10), || fuse_ready().0 == 200),
        "{:?}",
        fuse_ready()
    );
    assert!(eventually(Duration::from_secs(10), || metric(
        &m,
        "127.0.30.20",
        "goosefs_worker_blocks"
    ) >= 6));
    assert_eq!(sha(&cat(&m, "/hbase/big.bin").stdout), sha(&big));
    assert_eq!(ufs.gets("/big.bin"), 6, "blocks found again after the restart");

    // A flipped byte in a cached block is caught by its checksum and read again from the UFS.
    let victim = block_files(&tier)
        .into_iter()
        .find(|f| f.metadata().is_ok_and(|m| m.len() == MB as u64))
        .expect("a full block file");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .expect("open block");
    f.write_all_at(b"\xff\x00\xff", 1000).expect("corrupt");
    drop(f);
    assert_eq!(
        sha(&cat(&m, "/hbase/big.bin").stdout),
        sha(&big),
        "never the corrupt bytes"
    );
    assert_eq!(ufs.gets("/big.bin"), 7, "the corrupt block alone is fetched again");
    // (The worker restarted since the passthrough check's corrupt block.)
    assert_eq!(metric(&m, "127.0.30.20", "goosefs_worker_corrupt_blocks_total"), 1);

    // 503s and slow answers are retried; a UFS that keeps failing gives a clean error.
    assert!(m.goosefs(&["fs", "free", "/hbase/big.bin"]).status.success());
    ufs.fault(503, 0, 3);
    assert_eq!(sha(&cat(&m, "/hbase/big.bin").stdout), sha(&big), "503s are retried");
    assert!(m.goosefs(&["fs", "free", "/hbase/big.bin"]).status.success());
    ufs.fault(0, 400, 3);
    assert_eq!(
        sha(&cat(&m, "/hbase/big.bin").stdout),
        sha(&big),
        "slow answers are waited for"
    );
    assert!(m.goosefs(&["fs", "free", "/hbase/big.bin"]).status.success());
    ufs.fault(503, 0, 10_000);
    let out = m.goosefs(&["fs", "cat", "/hbase/big.bin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.len() < MB, "nothing beyond what was read before the failure");
    assert!(
        stderr(&out).contains("could not be read") && stderr(&out).contains("503"),
        "{}",
        stderr(&out)
    );
    let mut partial = vec![0; 16];
    let fuse_read = std::fs::File::open(&in_fuse).and_then(|f| f.read_exact_at(&mut partial, 0));
    assert!(fuse_read.is_err(), "FUSE gives EIO, not bytes");
    ufs.fault(0, 0, 0);

    // Reading past the quota: the tier never holds more than the quota, eviction takes it down
    // to the low watermark (0.7), and reads stay correct.
    let huge = bytes(12 * MB, 2);
    std::fs::write(ufs.root.path().join("huge.bin"), &huge).expect("huge");
    let out = m.goosefs_with(&["fs", "ls", "/hbase"], "-Dgoosefs.user.rpc.retry.max.duration=20s");
    assert!(
        !stdout(&out).contains("huge.bin"),
        "listings are kept (sync interval -1)"
    );
    m.goosefs(&["fs", "unmount", "/hbase"]);
    let out = m.goosefs(&["fs", "mount", "/hbase", &ufs.url()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cat(&m, "/hbase/huge.bin");
    assert_eq!(
        sha(&out.stdout),
        sha(&huge),
        "{:?} {} {}",
        out.status,
        stderr(&out),
        stdout(&m.goosefs(&["fs", "ls", "/hbase"]))
    );
    let used = du(&tier);
    assert!(used <= quota, "the tier holds {used} bytes, quota {quota}");
    let evictions = metric(&m, "127.0.30.20", "goosefs_worker_evictions_total");
    assert!(evictions > 0);
    // The bytes evicted are counted with the blocks (of at most 1 MiB: some files' last blocks
    // and small files are shorter).
    let evicted = metric(&m, "127.0.30.20", "goosefs_worker_evicted_bytes_total");
    assert!(
        evicted > 0 && evicted <= evictions * MB as u64,
        "{evictions} blocks, {evicted} bytes"
    );
    assert!(
        used <= quota * 8 / 10,
        "after evicting, at most the high watermark: {used}"
    );

    // A leader failover during reads: the next read goes to the new leader.
    let leader = m.leader(Duration::from_secs(5)).expect("leader");
    m.kill(leader);
    assert_eq!(sha(&cat(&m, "/hbase/small.txt").stdout), sha(b"hello hbase\n"));
    let report = stdout(&m.goosefs(&["fsadmin", "report", "capacity"]));
    assert!(
        report.contains("Tier: HDD") && report.contains("hbase-worker-0"),
        "{report}"
    );

    assert_eq!(m.stop_other("hbase-fuse-0"), Some(0), "FUSE unmounts on SIGTERM");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    assert!(!mounts.contains(&mount_point.display().to_string()), "unmounted");
}

#[test]
fn two_workers_share_the_blocks_and_a_killed_one_is_routed_around() {
    let ufs = UfsServer::start();
    let big = bytes(8 * MB, 3);
    std::fs::write(ufs.root.path().join("big.bin"), &big).expect("big");
    // Written before the mount: listings are kept (sync interval -1).
    let shared = bytes(3 * MB, 9);
    std::fs::write(ufs.root.path().join("shared.bin"), &shared).expect("shared");
    let mid = bytes(8 * MB, 11);
    std::fs::write(ufs.root.path().join("mid.bin"), &mid).expect("mid");
    let mut m = cluster(31, &ufs);
    let tiers = [m.dir.path().join("tier-0"), m.dir.path().join("tier-1")];
    for (i, tier) in tiers.iter().enumerate() {
        m.start_worker(&format!("hbase-worker-{i}"), &format!("127.0.31.{}", 20 + i), tier, "");
    }
    assert!(eventually(Duration::from_secs(10), || {
        let r = stdout(&m.goosefs(&["fsadmin", "report", "capacity"]));
        r.contains("hbase-worker-0") && r.contains("hbase-worker-1")
    }));
    // Fluid's DataLoad: `distributedLoad` through the job master beside master 0.
    let job_master = rendered_args(HBASE_CASE, "job-master");
    m.start_other(
        "hbase-job-master-0",
        "127.0.31.10",
        &job_master,
        "GOOSEFS_JOB_MASTER_JAVA_OPTS",
        "-Dgoosefs.job.master.bind.host=127.0.31.10",
        &[("GOOSEFS_MASTER_HOSTNAME", "hbase-master-0".to_owned())],
    );
    let jm_port = m.port("goosefs.job.master.rpc.port");
    assert!(eventually(Duration::from_secs(10), || http_get(
        "127.0.31.10",
        jm_port,
        "/health"
    )
    .is_some()));
    // No job worker yet: the load fails, naming the job worker it could not reach.
    let out = m.goosefs(&["fs", "distributedLoad", "--replication", "1", "/hbase/big.bin"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Failed to load path /hbase/big.bin: job worker hbase-worker-"),
        "{}",
        stdout(&out)
    );
    assert_eq!(ufs.gets("/big.bin"), 0);
    // The job worker beside each worker, as the worker pods run them.
    let job_worker = rendered_args(HBASE_CASE, "job-worker");
    for i in 0..2 {
        let ip = format!("127.0.31.{}", 20 + i);
        m.start_other(
            &format!("hbase-job-worker-{i}"),
            &ip,
            &job_worker,
            "GOOSEFS_JOB_WORKER_JAVA_OPTS",
            &format!("-Dgoosefs.job.worker.bind.host={ip}"),
            &[("GOOSEFS_WORKER_HOSTNAME", format!("hbase-worker-{i}"))],
        );
    }
    let jw_rpc = m.port("goosefs.job.worker.rpc.port");
    assert!(eventually(Duration::from_secs(10), || (0..2).all(|i| http_get(
        &format!("127.0.31.{}", 20 + i),
        jw_rpc,
        "/health"
    )
    .is_some())));
    let out = m.goosefs(&["fs", "distributedLoad", "--replication", "1", "/hbase/big.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "Successfully loaded path /hbase/big.bin\nTotal completed file count is 1, failed file count is 0"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(ufs.gets("/big.bin"), 8);
    let (a, b) = (block_files(&tiers[0]).len(), block_files(&tiers[1]).len());
    assert!(
        a > 0 && b > 0 && a + b == 8,
        "blocks spread over both workers: {a} + {b}"
    );
    // Each job worker had its own worker cache its share.
    let jw_web = m.port("goosefs.job.worker.web.port");
    let loaded = |i: usize| {
        let body = http_get(&format!("127.0.31.{}", 20 + i), jw_web, "/metrics").unwrap_or_default();
        common::assert_exported(&body);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a counter
        common::metric_value(&body, "goosefs_job_worker_blocks_loaded_total").map(|v| v as usize)
    };
    assert_eq!(
        (loaded(0), loaded(1)),
        (Some(a), Some(b)),
        "job workers' loads match the tiers"
    );
    assert!(eventually(Duration::from_secs(5), || {
        let r = stdout(&m.goosefs(&["fsadmin", "report", "capacity"]));
        r.contains(&format!(
            "Used Capacity: {}",
            goosefs::fsdata::size(du(&tiers[0]) + du(&tiers[1]))
        ))
    }));

    // Fluid's DataLoad as its rendered Job's pod runs it (`goosefs dataload`; outside a cluster
    // there is no status to write): the metadata is synced first, so a file the leader never
    // listed is loaded too; each block is fetched from the UFS once, and a read after it sends
    // nothing more.
    let warm = bytes(3 * MB, 9);
    std::fs::write(ufs.root.path().join("warm.bin"), &warm).expect("warm");
    let out = Command::new(common::BIN)
        .arg("dataload")
        .env_clear()
        .envs(m.client_env("-Dgoosefs.user.rpc.retry.max.duration=20s"))
        .envs([
            ("DATALOAD_NAME", "warm"),
            ("GOOSEFS_RUNTIME_NAMESPACE", "default"),
            ("DATA_PATH", "/hbase/warm.bin"),
            ("PATH_REPLICAS", "2"),
            ("NEED_LOAD_METADATA", "true"),
        ])
        .output()
        .expect("goosefs dataload");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("distributedLoad on /hbase/warm.bin starts\n"), "{said}");
    assert!(
        said.contains("2 replicas asked; this runtime caches one copy of each block"),
        "{said}"
    );
    assert!(said.contains("Successfully loaded path /hbase/warm.bin"), "{said}");
    assert!(
        said.contains("/hbase/warm.bin: 1 files, 3072.00KB loaded in "),
        "{said}"
    );
    assert!(
        said.contains("distributedLoad on /hbase/warm.bin ends\nloaded in "),
        "{said}"
    );
    assert_eq!(ufs.gets("/warm.bin"), 3, "each block fetched once");
    assert_eq!(sha(&cat(&m, "/hbase/warm.bin").stdout), sha(&warm));
    assert_eq!(ufs.gets("/warm.bin"), 3, "the read after the load sends nothing");
    // Fluid's loader script sets the replication first: accepted, one copy being what is kept.
    let out = m.goosefs(&["fs", "setReplication", "--max", "2", "-R", "/hbase/warm.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Changed the replication level of /hbase/warm.bin\n"));
    let out = m.goosefs(&["fs", "setReplication", "--min", "2", "/hbase/warm.bin"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("one copy of each block"), "{}", stderr(&out));

    // Six readers of a file nobody read yet: each of its 3 blocks is fetched from the UFS once.
    let outputs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..6)
            .map(|_| s.spawn(|| cat(&m, "/hbase/shared.bin").stdout))
            .collect();
        readers.into_iter().map(|r| r.join().expect("reader")).collect()
    });
    assert!(outputs.iter().all(|o| *o == shared), "every reader gets the bytes");
    assert_eq!(ufs.gets("/shared.bin"), 3, "one UFS fetch per block for six readers");
    let summary = stdout(&m.goosefs(&["fsadmin", "report"]));
    assert!(summary.contains("Live Workers: 2\n"), "{summary}");
    // Worker 1 is killed in the middle of a read (the UFS answers slowly, so blocks are still
    // being fetched): the reader gets every byte from worker 0, or fails cleanly; never wrong bytes.
    ufs.fault(0, 300, 6);
    let pid = m.others["hbase-worker-1"].id().to_string();
    let out = std::thread::scope(|s| {
        let reader = s.spawn(|| cat(&m, "/hbase/mid.bin"));
        std::thread::sleep(Duration::from_millis(400));
        let killed = Command::new("kill").args(["-KILL", &pid]).status();
        assert!(killed.is_ok_and(|k| k.success()), "worker 1 killed mid-read");
        reader.join().expect("reader")
    });
    assert!(
        (out.status.success() && out.stdout == mid) || (!out.status.success() && mid.starts_with(&out.stdout)),
        "exit {:?}, {} bytes: {}",
        out.status,
        out.stdout.len(),
        stderr(&out)
    );
    eprintln!(
        "read across the kill: exit {:?}, {} of {} bytes",
        out.status.code(),
        out.stdout.len(),
        mid.len()
    );
    // Worker 1 dies: its blocks come from worker 0 (fetched from the UFS again), never wrong.
    m.kill_other("hbase-worker-1");
    let out = cat(&m, "/hbase/big.bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sha(&out.stdout), sha(&big));
    assert_eq!(
        ufs.gets("/big.bin"),
        8 + b as u64,
        "only the lost blocks are fetched again"
    );
    assert!(
        eventually(Duration::from_secs(10), || !m.lists_worker("hbase-worker-1")),
        "the dead worker is dropped after goosefs.master.worker.timeout"
    );
}

/// Writes `data` with one `write(2)` per `chunk` bytes, as many at once as `threads` (each on its
/// own part of the file, through its own descriptor), then fsyncs: the kernel's pieces reach
/// the FUSE threads in any order. The file is returned open.
fn write_in_parallel(path: &Path, data: &[u8], chunk: usize, threads: usize) -> std::io::Result<std::fs::File> {
    let file = std::fs::File::create(path)?;
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let file = file.try_clone();
                s.spawn(move || -> std::io::Result<()> {
                    let file = file?;
                    for (i, piece) in data.chunks(chunk).enumerate().skip(t).step_by(threads) {
                        file.write_all_at(piece, (i * chunk) as u64)?;
                    }
                    Ok(())
                })
            })
            .collect();
        parts.into_iter().try_for_each(|p| p.join().expect("writer"))
    })?;
    file.sync_all()?;
    Ok(file)
}

#[test]
fn an_rw_fuse_mount_writes_through_to_a_writable_ufs_and_refuses_what_it_cannot() {
    let ufs = UfsServer::start();
    std::fs::write(ufs.root.path().join("web.txt"), b"web\n").expect("web");
    // Local UFSes may only be mounted below the runtime's local storage (the root UFS, where
    // the manifests mount the Dataset's volumes): here a scratch folder.
    let storage = tempfile::tempdir().expect("local storage");
    let mut m = cluster_with(
        33,
        &ufs,
        &format!("-Dgoosefs.master.mount.table.root.ufs={}", storage.path().display()),
    );
    let tier = m.dir.path().join("tier-0");
    // A local UFS beside the Web one, and the same folder mounted --readonly elsewhere.
    let local = tempfile::tempdir_in(storage.path()).expect("local ufs");
    std::fs::write(local.path().join("old.txt"), b"old\n").expect("old");
    std::fs::create_dir(local.path().join("full")).expect("full");
    std::fs::write(local.path().join("full/x"), b"x").expect("x");
    let local_uri = local.path().display().to_string();
    assert!(m.goosefs(&["fs", "mount", "/local", &local_uri]).status.success());
    assert!(
        m.goosefs(&["fs", "mount", "--readonly", "/frozen", &local_uri])
            .status
            .success()
    );
    let rw = ["fuse".to_owned(), "--fuse-opts=rw,allow_other".to_owned()];
    let mount_point = start_fuse(&mut m, "127.0.33.20", &rw, &tier, "");
    let fuse = |p: &str| mount_point.join(p);
    assert!(eventually(Duration::from_secs(10), || fuse("local/old.txt").exists()));
    // The worker starts after FUSE (pods start in any order): its tier directory did not exist
    // when FUSE started, and passthrough must still be used once it does (checked below).
    m.start_worker("hbase-worker-0", "127.0.33.20", &tier, "");
    assert!(
        eventually(Duration::from_secs(10), || m.lists_worker("hbase-worker-0")),
        "the worker registers"
    );

    // One write(2) of 6 MiB and some: the kernel splits it into pieces.
    let data = bytes(6 * MB + 333, 5);
    std::fs::write(fuse("local/new.bin"), &data).expect("write through FUSE");
    assert!(std::fs::read(local.path().join("new.bin")).expect("in the UFS") == data);
    let ls = stdout(&m.goosefs(&["fs", "ls", "/local"]));
    assert!(
        ls.contains("/local/new.bin") && ls.contains(&data.len().to_string()),
        "{ls}"
    );
    assert!(
        !ls.contains(".goosefs-staging"),
        "uploads in progress are never listed: {ls}"
    );
    assert!(cat(&m, "/local/new.bin").stdout == data);
    assert!(std::fs::read(fuse("local/new.bin")).expect("read back") == data);

    // default_permissions: an application uid that owns nothing here reads, and can neither
    // write, replace nor delete (the entries are root's: 0644 files, 0755 directories).
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(m.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let as_nobody = |script: &str| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script])
            .output()
            .expect("setpriv")
    };
    let read = as_nobody(&format!("sha256sum < {}", fuse("local/new.bin").display()));
    assert!(read.status.success(), "{}", stderr(&read));
    assert_eq!(stdout(&read).split_whitespace().next(), Some(sha(&data).as_str()));
    for script in [
        format!("echo evil > {}", fuse("local/evil.txt").display()),
        format!("echo evil > {}", fuse("local/new.bin").display()),
        format!("rm -f {}", fuse("local/new.bin").display()),
        format!("mkdir {}", fuse("local/evil-dir").display()),
    ] {
        let out = as_nobody(&script);
        assert!(!out.status.success(), "{script} was allowed");
        assert!(stderr(&out).contains("Permission denied"), "{script}: {}", stderr(&out));
    }
    assert!(std::fs::read(local.path().join("new.bin")).expect("kept") == data);
    assert!(!local.path().join("evil.txt").exists() && !local.path().join("evil-dir").exists());

    // A write (or a truncate) far past the end, past what the spool's file system holds, is
    // refused with EFBIG: never a terabyte upload of zeros.
    {
        let sparse = std::fs::File::create(fuse("local/sparse.bin")).expect("create");
        let far = sparse.write_at(b"x", 1 << 50).err().and_then(|e| e.raw_os_error());
        assert_eq!(far, Some(libc::EFBIG));
        assert_eq!(
            sparse.set_len(1 << 50).err().and_then(|e| e.raw_os_error()),
            Some(libc::EFBIG)
        );
        sparse.write_at(b"near", 10).expect("a write near the end");
    }
    assert_eq!(
        std::fs::read(local.path().join("sparse.bin")).expect("stored"),
        b"\0\0\0\0\0\0\0\0\0\0near"
    );

    // Four threads writing 100,000-byte pieces out of order, into two files at once.
    let (a, b) = (bytes(5 * MB + 7, 6), bytes(3 * MB + 1, 7));
    std::thread::scope(|s| {
        let wa = s.spawn(|| write_in_parallel(&fuse("local/a.bin"), &a, 100_000, 4));
        let wb = s.spawn(|| write_in_parallel(&fuse("local/b.bin"), &b, 100_000, 4));
        let fa = wa.join().expect("a").expect("write a");
        let fb = wb.join().expect("b").expect("write b");
        // fsync stored them, before close.
        assert!(
            std::fs::read(local.path().join("a.bin")).expect("a") == a,
            "a stored whole"
        );
        assert!(
            std::fs::read(local.path().join("b.bin")).expect("b") == b,
            "b stored whole"
        );
        drop((fa, fb));
    });
    // cp, and an existing file replaced (O_TRUNC) with fewer bytes.
    let copied = Command::new("cp")
        .arg(local.path().join("a.bin"))
        .arg(fuse("local/copy.bin"))
        .status()
        .expect("cp");
    assert!(copied.success());
    assert!(std::fs::read(local.path().join("copy.bin")).expect("copy") == a);
    // A file the kernel reads in passthrough (one block, cached by this host's worker) cannot be
    // replaced while it is open: the kernel would refuse the writer's open, FUSE says EBUSY.
    let reading = std::fs::File::open(fuse("local/old.txt")).expect("open for reading");
    assert_eq!(
        metric(&m, "127.0.33.20", "goosefs_worker_local_opens_total"),
        1,
        "passthrough"
    );
    let busy = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(fuse("local/old.txt"));
    assert_eq!(busy.err().and_then(|e| e.raw_os_error()), Some(libc::EBUSY));
    let mut old = String::new();
    (&reading).read_to_string(&mut old).expect("read");
    assert_eq!(old, "old\n");
    drop(reading);
    std::fs::write(fuse("local/old.txt"), b"new\n").expect("replace");
    assert_eq!(std::fs::read(local.path().join("old.txt")).expect("old"), b"new\n");
    assert_eq!(
        cat(&m, "/local/old.txt").stdout,
        b"new\n",
        "the leader sees the new version"
    );
    // An empty file is a file.
    std::fs::File::create(fuse("local/empty")).expect("touch");
    assert_eq!(std::fs::metadata(local.path().join("empty")).expect("empty").len(), 0);

    // Directories, renames and deletes go to the UFS.
    std::fs::create_dir(fuse("local/dir")).expect("mkdir");
    assert!(local.path().join("dir").is_dir());
    std::fs::rename(fuse("local/copy.bin"), fuse("local/dir/moved.bin")).expect("rename");
    assert!(!local.path().join("copy.bin").exists());
    assert!(std::fs::read(fuse("local/dir/moved.bin")).expect("moved") == a);
    std::fs::remove_file(fuse("local/dir/moved.bin")).expect("rm");
    std::fs::remove_dir(fuse("local/dir")).expect("rmdir");
    assert!(!local.path().join("dir").exists());
    let errno = |r: std::io::Result<()>| r.err().and_then(|e| e.raw_os_error());
    assert_eq!(errno(std::fs::remove_dir(fuse("local/full"))), Some(libc::ENOTEMPTY));
    assert_eq!(
        errno(std::fs::remove_dir(fuse("local"))),
        Some(libc::EBUSY),
        "a mount point"
    );
    let stat = stdout(&m.goosefs(&["fs", "ls", "/local"]));
    assert!(!stat.contains("/local/dir") && stat.contains("/local/a.bin"), "{stat}");

    // A store that fails makes fsync(2) (and close(2), whose result Rust drops) fail with EIO,
    // and nothing appears in the UFS: here the staging folder is a file.
    let broken = tempfile::tempdir_in(storage.path()).expect("broken ufs");
    std::fs::write(broken.path().join(".goosefs-staging"), b"in the way").expect("blocker");
    let broken_uri = broken.path().display().to_string();
    assert!(m.goosefs(&["fs", "mount", "/broken", &broken_uri]).status.success());
    let stored = std::fs::File::create(fuse("broken/new.bin")).and_then(|mut f| {
        std::io::Write::write_all(&mut f, b"lost?")?;
        f.sync_all()
    });
    assert_eq!(errno(stored), Some(libc::EIO));
    assert!(!broken.path().join("new.bin").exists(), "no half or whole file stored");

    // Changing a file in place (no O_TRUNC) is not supported; the UFS is untouched.
    let append = std::fs::OpenOptions::new()
        .append(true)
        .open(fuse("local/a.bin"))
        .map(drop);
    assert_eq!(errno(append), Some(libc::EOPNOTSUPP));
    // What cannot be written answers EROFS, the UFS untouched.
    assert_eq!(
        errno(std::fs::write(fuse("hbase/new.txt"), b"x")),
        Some(libc::EROFS),
        "a Web UFS"
    );
    assert_eq!(errno(std::fs::create_dir(fuse("hbase/d"))), Some(libc::EROFS));
    assert_eq!(errno(std::fs::remove_file(fuse("hbase/web.txt"))), Some(libc::EROFS));
    assert_eq!(
        errno(std::fs::write(fuse("frozen/new.txt"), b"x")),
        Some(libc::EROFS),
        "--readonly"
    );
    assert_eq!(errno(std::fs::remove_file(fuse("frozen/a.bin"))), Some(libc::EROFS));
    assert!(!local.path().join("new.txt").exists() && ufs.root.path().join("web.txt").exists());
    assert!(std::fs::read(local.path().join("a.bin")).expect("a") == a);
    assert_eq!(m.stop_other("hbase-fuse-0"), Some(0));
    // No spool is left behind and no upload was left staged.
    let staged = std::fs::read_dir(local.path().join(".goosefs-staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staged, 0);
}

/// A tmpfs mounted for the test's lifetime (unmounted when dropped).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("mount");
        assert!(status.success(), "mounting a tmpfs needs root, as the FUSE tests do");
        Tmpfs(path.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_tier_on_a_full_file_system_reads_past_the_cache_instead_of_failing() {
    let ufs = UfsServer::start();
    let data = bytes(8 * MB + 99, 13);
    std::fs::write(ufs.root.path().join("big.bin"), &data).expect("big");
    let mut m = cluster(34, &ufs);
    // The rendered quota (about 2 GB) on a file system of 3 MiB: the quota says there is room,
    // the disk does not.
    let tier = m.dir.path().join("tier-0");
    let _tmpfs = Tmpfs::mount(&tier, "3m");
    m.start_worker("hbase-worker-0", "127.0.34.20", &tier, "");
    for round in 0..2 {
        let out = cat(&m, "/hbase/big.bin");
        assert_eq!(out.status.code(), Some(0), "round {round}: {}", stderr(&out));
        assert!(out.stdout == data, "round {round}: the UFS's bytes");
    }
    let errors = metric(&m, "127.0.34.20", "goosefs_worker_tier_write_errors_total");
    let cached = block_files(&tier).len();
    assert!(errors > 0, "the failed writes are counted");
    assert!((1..8).contains(&cached), "what fits is cached: {cached} blocks");
    let log = std::fs::read_to_string(m.other_log("hbase-worker-0")).unwrap_or_default();
    assert!(
        log.contains("cannot write to the tier directory") && log.contains(&tier.display().to_string()),
        "the log names the directory"
    );
    // A load must cache, so it fails, saying why.
    let out = m.goosefs(&["fs", "load", "/hbase/big.bin"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no room in any tier"), "{}", stderr(&out));
}

#[test]
fn a_directory_larger_than_a_page_lists_whole_through_fs_and_fuse() {
    let ufs = UfsServer::start();
    let many = ufs.root.path().join("many");
    std::fs::create_dir_all(many.join("sub")).expect("many");
    // More files than one answer carries (5,000), ten times a FUSE page (1,000).
    let count = 5_200usize;
    let mut bytes_total = 0u64;
    for i in 0..count {
        std::fs::write(many.join(format!("f{i:05}")), vec![b'x'; i % 7]).expect("file");
        bytes_total += (i % 7) as u64;
    }
    std::fs::write(many.join("sub/inner"), b"inner\n").expect("inner");
    let mut m = cluster(35, &ufs);

    let out = m.goosefs(&["fs", "ls", "/hbase/many"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .collect();
    let mut expected: Vec<String> = (0..count).map(|i| format!("/hbase/many/f{i:05}")).collect();
    expected.push("/hbase/many/sub".to_owned());
    assert_eq!(names, expected, "every entry once, in name order, across pages");

    let out = m.goosefs(&["fs", "ls", "-R", "/hbase"]);
    let recursive = stdout(&out);
    assert_eq!(
        recursive.lines().count(),
        count + 1 + 1 + 1,
        "many, its files, sub and sub/inner"
    );
    assert!(
        recursive.lines().any(|l| l.ends_with(" /hbase/many/sub/inner")),
        "{}",
        stderr(&out)
    );

    // GooseFS's columns; the directory itself is counted as a folder, as GooseFS counts it.
    let out = stdout(&m.goosefs(&["fs", "count", "/hbase/many"]));
    let row: Vec<&str> = out.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        row,
        [(count + 1).to_string(), "2".to_owned(), (bytes_total + 6).to_string()],
        "{out}"
    );
    let out = stdout(&m.goosefs(&["fs", "du", "-s", "/hbase/many"]));
    let fields: Vec<&str> = out.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        fields.first().copied(),
        Some((bytes_total + 6).to_string().as_str()),
        "{out}"
    );
    assert_eq!(fields.last().copied(), Some("/hbase/many"), "{out}");

    // The listing is kept (no sync interval): a new UFS file shows after `loadMetadata -F` only.
    std::fs::write(many.join("zz-new"), b"new").expect("new");
    let listed = |m: &Masters| stdout(&m.goosefs(&["fs", "ls", "/hbase/many"])).contains("/hbase/many/zz-new");
    assert!(!listed(&m), "the leader keeps its listing");
    let out = m.goosefs(&["fs", "loadMetadata", "-R", "-F", "/hbase"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(listed(&m), "loaded again");

    // FUSE lists the directory in pages of 1,000 through readdir's offsets.
    let mount_point = m.dir.path().join("fuse");
    std::fs::create_dir(&mount_point).expect("mount point");
    m.start_other(
        "hbase-fuse-0",
        "127.0.35.20",
        &rendered_args(HBASE_CASE, "fuse"),
        "GOOSEFS_FUSE_JAVA_OPTS",
        "-Dgoosefs.user.hostname=hbase-worker-0",
        &[("MOUNT_POINT", mount_point.display().to_string())],
    );
    let dir = mount_point.join("hbase/many");
    assert!(
        eventually(Duration::from_secs(10), || dir.join("sub").exists()),
        "FUSE mounts"
    );
    let mut in_fuse: Vec<String> = std::fs::read_dir(&dir)
        .expect("readdir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    in_fuse.sort();
    assert_eq!(in_fuse.len(), count + 2, "files, sub and zz-new");
    assert_eq!(in_fuse.first().map(String::as_str), Some("f00000"));
    assert_eq!(in_fuse.last().map(String::as_str), Some("zz-new"));
    in_fuse.dedup();
    assert_eq!(in_fuse.len(), count + 2, "no name twice");
    let inner = std::fs::metadata(dir.join("sub/inner")).map(|m| m.len()).ok();
    assert_eq!(inner, Some(6), "below a listed directory, lookups still answer");
}

#[test]
fn a_read_only_kernel_cache_mount_opens_without_requests_and_drops_changed_pages() {
    let ufs = UfsServer::start();
    std::fs::create_dir(ufs.root.path().join("small")).expect("small");
    let files: Vec<Vec<u8>> = (0..40).map(|i| bytes(100_000 + i * 7, 100 + i as u64)).collect();
    for (i, data) in files.iter().enumerate() {
        std::fs::write(ufs.root.path().join(format!("small/f{i:02}")), data).expect("file");
    }
    // Three blocks of 1 MiB: reads across blocks and windows.
    let big = bytes(3 * MB - 5, 9);
    std::fs::write(ufs.root.path().join("big.bin"), &big).expect("big");
    let mut m = cluster(36, &ufs);
    let tier = m.dir.path().join("tier-0");
    m.start_worker("hbase-worker-0", "127.0.36.20", &tier, "");
    let worker_port = m.port("goosefs.worker.web.port");
    assert!(
        eventually(Duration::from_secs(10), || http_get(
            "127.0.36.20",
            worker_port,
            "/ready"
        )
        .is_some()),
        "the worker registers (and holds the leader's grant key)"
    );
    // Kept metadata for a second only (the kernel's timeouts), so a change shows soon.
    let kernel_cache = ["fuse".to_owned(), "--fuse-opts=ro,kernel_cache,allow_other".to_owned()];
    let mount_point = start_fuse(
        &mut m,
        "127.0.36.20",
        &kernel_cache,
        &tier,
        "-Dgoosefs.user.metadata.cache.enabled=false",
    );
    let dir = mount_point.join("hbase/small");
    assert!(
        eventually(Duration::from_secs(10), || dir.join("f00").exists()),
        "FUSE mounts"
    );
    let fuse_port = fuse_web_port(&m);
    let fuse_metric = |name: &str| {
        let body = http_get("127.0.36.20", fuse_port, "/metrics").unwrap_or_default();
        common::metric_value(&body, name).unwrap_or(-1.0)
    };
    let read_all = || {
        for (i, data) in files.iter().enumerate() {
            let got = std::fs::read(dir.join(format!("f{i:02}"))).expect("read through FUSE");
            assert!(got == *data, "f{i:02}: {} bytes, the UFS has {}", got.len(), data.len());
        }
        let got = std::fs::read(mount_point.join("hbase/big.bin")).expect("big");
        assert_eq!(sha(&got), sha(&big), "big.bin through FUSE");
    };

    // Cold: every byte through this process, from blocks this host's worker fetched whole.
    read_all();
    let served = fuse_metric("goosefs_fuse_read_bytes_total");
    assert!(
        served >= (big.len() + files.iter().map(Vec::len).sum::<usize>()) as f64,
        "{served}"
    );
    assert_eq!(ufs.gets("/small/f00"), 1, "fetched once, by the worker");
    // Every block came with the leader's grant: no fetch asked the leader about its block.
    let worker_metric = |name: &str| metric(&m, "127.0.36.20", name);
    assert_eq!(worker_metric("goosefs_worker_binding_checks_total"), 0);
    assert!(worker_metric("goosefs_worker_granted_fetches_total") >= files.len() as u64 + 3);
    // The kernel opened every file itself: no open reached this process.
    for mode in ["passthrough", "served"] {
        let opens = fuse_metric(&format!("goosefs_fuse_opens_total{{mode=\"{mode}\"}}"));
        assert_eq!(opens, 0.0, "{mode} opens");
    }
    // Warm, within the kernel's timeouts and after them (the attributes unchanged): the page
    // cache answers. Not asserted as none: on this VM a stray folio now and then leaves the page
    // cache with no reclaim counted (8 KB of the 7 MB seen read again), and the kernel reads it.
    read_all();
    std::thread::sleep(Duration::from_millis(1_500));
    read_all();
    let again = fuse_metric("goosefs_fuse_read_bytes_total") - served;
    assert!(
        again * 20.0 < served,
        "{again} of {served} bytes served again: the page cache did not keep them"
    );

    // Pages the kernel let go (here: dropped with fadvise), after the block list's time: read
    // again through this process, the same bytes.
    let big_path = mount_point.join("hbase/big.bin");
    let before = fuse_metric("goosefs_fuse_read_bytes_total");
    let f = std::fs::File::open(&big_path).expect("open big");
    nix::fcntl::posix_fadvise(&f, 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED).expect("fadvise");
    drop(f);
    assert_eq!(
        sha(&std::fs::read(&big_path).expect("big")),
        sha(&big),
        "big.bin read again"
    );
    let again = fuse_metric("goosefs_fuse_read_bytes_total") - before;
    assert!(
        again >= big.len() as f64,
        "{again} bytes read again through this process"
    );

    // A file changed in the UFS: once the leader has its new length and the kernel's timeout has
    // passed, its kept pages are dropped and the new bytes are read, never a mix of old and new.
    let changed = bytes(150_000, 77);
    std::fs::write(ufs.root.path().join("small/f03"), &changed).expect("change");
    let out = m.goosefs(&["fs", "loadMetadata", "-F", "/hbase/small"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f03 = dir.join("f03");
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read(&f03)
            .is_ok_and(|got| got == changed)),
        "the new bytes through FUSE"
    );
    assert_eq!(
        std::fs::read(dir.join("f04")).expect("f04"),
        files[4],
        "others unchanged"
    );
    assert_eq!(m.stop_other("hbase-fuse-0"), Some(0), "FUSE unmounts on SIGTERM");
}
