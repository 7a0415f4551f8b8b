//! Network faults between masters with separate addresses: each master runs in a network
//! namespace of its own, joined by a bridge on which this test also sits. A partition is a
//! blackhole route between two masters (the test still reaches every one of them); a slow peer is
//! a process paused most of the time. Needs root, `ip` (iproute2) and `nsenter` (util-linux).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Masters, eventually, stderr, stdout};

/// Runs a command, failing the test with its output when it fails.
fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{} is needed for this test (iproute2/util-linux): {e}", args[0]));
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

/// Three namespaces on a bridge; removed on drop.
struct Network {
    namespaces: Vec<String>,
    veths: Vec<String>,
    bridge: String,
    ips: Vec<String>,
}

impl Network {
    fn new() -> Network {
        // Unique per test process and per network (tests run in parallel threads).
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let tag = (std::process::id() % 10_000) * 10 + NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 10;
        let subnet = format!("10.{}.{}", 100 + tag % 100, tag % 250);
        let bridge = format!("gfsbr{tag}");
        let net = Network {
            namespaces: (0..3).map(|i| format!("gfs{tag}m{i}")).collect(),
            veths: (0..3).map(|i| format!("gfs{tag}v{i}")).collect(),
            ips: (0..3).map(|i| format!("{subnet}.{}", 10 + i)).collect(),
            bridge: bridge.clone(),
        };
        run(&["ip", "link", "add", &bridge, "type", "bridge"]);
        run(&["ip", "addr", "add", &format!("{subnet}.1/24"), "dev", &bridge]);
        run(&["ip", "link", "set", &bridge, "up"]);
        for (i, ns) in net.namespaces.iter().enumerate() {
            let veth = &net.veths[i];
            run(&["ip", "netns", "add", ns]);
            run(&[
                "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ]);
            run(&["ip", "link", "set", veth, "master", &bridge, "up"]);
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", net.ips[i]),
                "dev",
                "eth0",
            ]);
            run(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        net
    }

    /// Cuts (or heals) the path between masters `a` and `b`, both ways.
    fn cut(&self, a: usize, b: usize, cut: bool) {
        let verb = if cut { "add" } else { "del" };
        for (from, to) in [(a, b), (b, a)] {
            let target = format!("{}/32", self.ips[to]);
            run(&["ip", "-n", &self.namespaces[from], "route", verb, "blackhole", &target]);
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting our end of each veth deletes both ends at once; the namespaces' own cleanup
        // is asynchronous and can leave them behind for a while.
        for veth in &self.veths {
            let _ = Command::new("ip").args(["link", "del", veth]).status();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).status();
    }
}

fn applied(m: &Masters, i: usize) -> Option<u64> {
    m.status(i).and_then(|s| s["applied_index"].as_u64())
}

/// The hbase case's three masters, each in its namespace of `net`, started and all voting (a
/// master that started late joins the group by rejoining); returns them and the leader.
fn voting_masters(net: &Network) -> (Masters, usize) {
    let mut m = Masters::at(
        "hbase-3-masters",
        net.ips.clone(),
        net.namespaces.iter().cloned().map(Some).collect(),
    );
    m.start_all();
    let leader = m.leader(Duration::from_secs(15)).expect("a leader");
    assert!(
        eventually(Duration::from_secs(15), || (0..3)
            .all(|i| m.status(i).is_some_and(|s| s["votes_allowed"] == true))),
        "every master votes: {}",
        m.report()
    );
    (m, leader)
}

#[test]
fn a_cut_off_leader_is_replaced_serves_nothing_and_converges_after_healing() {
    let net = Network::new();
    let (m, old) = voting_masters(&net);
    for i in 0..5 {
        assert!(m.goosefs(&["fs", "mkdir", &format!("/before{i}")]).status.success());
    }

    // The leader loses both peers; the test still reaches it.
    let (a, b) = ((old + 1) % 3, (old + 2) % 3);
    net.cut(old, a, true);
    net.cut(old, b, true);
    let new = m
        .leader_among(&[a, b], Duration::from_secs(15))
        .expect("the majority elects a leader");
    for i in 0..5 {
        let out = m.goosefs(&["fs", "mkdir", &format!("/during{i}")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    // The cut-off master no longer names itself leader, and writes sent only to it fail.
    assert!(
        eventually(Duration::from_secs(10), || m
            .status(old)
            .is_some_and(|s| s["leader"] != old as u64)),
        "{:?}",
        m.status(old)
    );
    let only_old =
        format!("-Dgoosefs.master.rpc.addresses=hbase-master-{old}:26000 -Dgoosefs.user.rpc.retry.max.duration=3s");
    let out = m.goosefs_with(&["fs", "mkdir", "/to-the-cut-off-one"], &only_old);
    assert_eq!(out.status.code(), Some(3), "{} {}", stdout(&out), stderr(&out));
    let out = m.goosefs_with(&["fs", "ls", "/"], &only_old);
    assert_eq!(
        out.status.code(),
        Some(3),
        "reads are not served by a cut-off leader either: {}",
        stdout(&out)
    );

    // Healed: one leader, one log, every acknowledged write.
    net.cut(old, a, false);
    net.cut(old, b, false);
    assert!(
        eventually(Duration::from_secs(20), || {
            let logs: Vec<Option<u64>> = (0..3).map(|i| applied(&m, i)).collect();
            logs.iter().all(|l| l.is_some() && *l == logs[0])
                && (0..3).all(|i| m.status(i).is_some_and(|s| s["leader"] == new as u64))
        }),
        "converged: {:?}",
        (0..3).map(|i| m.status(i)).collect::<Vec<_>>()
    );
    let listing = stdout(&m.goosefs(&["fs", "ls", "/"]));
    for name in (0..5)
        .map(|i| format!("/before{i}"))
        .chain((0..5).map(|i| format!("/during{i}")))
    {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!(" {name}"))),
            "{name} in {listing}"
        );
    }
    m.assert_one_leader_per_term();
}

#[test]
fn a_slow_follower_does_not_hold_writes_back_and_catches_up() {
    let net = Network::new();
    let (m, leader) = voting_masters(&net);
    // A slow peer: the follower runs 100 ms out of every 400 (SIGSTOP/SIGCONT), as under long
    // pauses or an overloaded node. (This machine's kernel has no netem for a slow link.)
    let slow = (leader + 1) % 3;
    let pid = m.pid(slow).expect("running").to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pauser = {
        let (stop, pid) = (stop.clone(), pid.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = Command::new("kill").args(["-STOP", &pid]).status();
                std::thread::sleep(Duration::from_millis(300));
                let _ = Command::new("kill").args(["-CONT", &pid]).status();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = std::time::Instant::now();
    for i in 0..20 {
        let out = m.goosefs(&["fs", "mkdir", &format!("/w{i}")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = pauser.join();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    // Each write commits with the other follower: twenty take far less than twenty pauses.
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(
        m.leader(Duration::from_secs(1)),
        Some(leader),
        "no election over a slow peer: {}",
        m.report()
    );
    assert!(
        eventually(Duration::from_secs(15), || applied(&m, slow).is_some()
            && applied(&m, slow) == applied(&m, leader)),
        "the slow follower catches up: {}",
        m.report()
    );
    m.assert_one_leader_per_term();
}
