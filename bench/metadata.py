#!/usr/bin/env python3
"""Benchmark: the masters' namespace at the sizes users bring (issue 22). Three local `goosefs`
masters (release build), started as bench/masters.py starts them, with a snapshot every
`--checkpoint` journal entries. For each size (directories made by 16 concurrent clients of the
runtime's own client, crates/goosefs/examples/load.rs, all in one parent directory):

  1. bytes per namespace entry on the leader and on a follower (RSS growth / entries);
  2. `goosefs fs ls` of that one directory (the whole listing, printed to /dev/null), next to
     `ls -f` of a local directory with as many entries (the page cache warm; up to 150,000);
  3. a follower whose journal is wiped rejoining: time until it votes again and has applied
     the leader's log, and the size of the snapshot it installed.

Usage: python3 bench/metadata.py [--sizes 10000,100000] [--checkpoint 2000] [--dir DIR]
Sizes are reached approximately (the load runs for a time estimated from a first rate).
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import masters as m  # noqa: E402  (bench/masters.py: the same masters and environment)


def rss(proc):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def timed(argv, env):
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def local_ls(count, base):
    """`ls -f` of a local directory of `count` empty files (second run: page cache warm)."""
    folder = tempfile.mkdtemp(dir=base)
    for i in range(count):
        os.close(os.open(os.path.join(folder, f"c{i}"), os.O_CREAT | os.O_WRONLY, 0o644))
    subprocess.run(["ls", "-f", folder], check=True, stdout=subprocess.DEVNULL)
    t = timed(["ls", "-f", folder], os.environ)
    shutil.rmtree(folder, ignore_errors=True)
    return t


def one_size(target, base, a):
    work = tempfile.mkdtemp(dir=base)
    env = m.rendered_env()
    env["GOOSEFS_MASTER_JAVA_OPTS"] = (env.get("GOOSEFS_MASTER_JAVA_OPTS", "")
                                       + f" -Dgoosefs.master.journal.checkpoint.period.entries={a.checkpoint}")
    ms = m.Masters(os.path.join(m.TARGET, "release/goosefs"), work, env)
    try:
        for i in range(3):
            ms.start(i)
        leader = ms.leader()
        follower = (leader + 1) % 3
        cenv = ms.client_env()
        subprocess.run([ms.binary, "fs", "mkdir", "/big"], env=cenv, check=True, stdout=subprocess.DEVNULL)
        time.sleep(1)
        before = {i: rss(ms.procs[i]) for i in range(3)}
        # A first second gives the rate; the rest of the size follows at that rate.
        first = m.load(ms, "write", 16, 1.0, "/big")
        made = first["ops"]
        if made < target:
            rest = m.load(ms, "write", 16, (target - made) / max(1.0, first["per_second"]), "/big")
            made += rest["ops"]
        time.sleep(2)
        grown = {i: rss(ms.procs[i]) - before[i] for i in range(3)}
        listing = timed([ms.binary, "fs", "ls", "/big"], cenv)
        # A follower's pod is recreated: its journal is gone; it rejoins from the snapshot.
        ms.kill(follower)
        shutil.rmtree(os.path.join(work, f"journal-{follower}"), ignore_errors=True)
        t = time.monotonic()
        ms.start(follower)
        ms.caught_up(follower, timeout=600)
        rejoin = time.monotonic() - t
        snapshot = (ms.status(follower) or {}).get("snapshot_bytes", 0)
        ms.stop_all()
    finally:
        for i in range(3):
            ms.kill(i)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "entries": made,
        "leader_bytes": grown[leader] / made,
        "follower_bytes": grown[follower] / made,
        "leader_rss": grown[leader] + before[leader],
        "ls": listing,
        "local_ls": local_ls(made, base) if made <= 150_000 else None,
        "rejoin": rejoin,
        "snapshot": snapshot,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--checkpoint", type=int, default=2000)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--locked", "--release", "-p", "goosefs", "--bin", "goosefs", "--example", "load",
                    "--example", "credential"], cwd=m.ROOT, check=True, stdout=subprocess.DEVNULL)
    base = a.dir or os.path.join(m.TARGET, "bench-metadata")
    os.makedirs(base, exist_ok=True)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"a snapshot every {a.checkpoint} journal entries")
    rows = [one_size(int(s), base, a) for s in a.sizes.split(",")]
    print()
    print("| directories in one parent | bytes per entry (leader / follower) | leader RSS | `fs ls` of the parent | `ls -f` of as many local entries | ratio | wiped follower rejoins | snapshot |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        local = f"{r['local_ls'] * 1000:.0f} ms" if r["local_ls"] is not None else "n/a"
        ratio = f"{r['ls'] / r['local_ls']:.0f}x" if r["local_ls"] else "n/a"
        print(f"| {r['entries']:,} | {r['leader_bytes']:.0f} / {r['follower_bytes']:.0f} | {r['leader_rss'] / 2**20:.0f} MiB "
              f"| {r['ls'] * 1000:.0f} ms | {local} | {ratio} | {r['rejoin']:.2f} s | {r['snapshot'] / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
