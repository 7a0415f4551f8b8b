#!/usr/bin/env python3
"""Benchmark: three local `goosefs` masters (release build), started with the hbase case's
rendered ConfigMap environment on loopback addresses, as the runtime tests start them.

Prints, measured in one run on this machine:
  1. time from start to the first leader;
  2. failover: SIGKILL of the leader until another master leads (median and max of N; the
     killed master is restarted and caught up between rounds);
  3. metadata writes per second (`mkdir`, each journaled with fsync on a quorum) and reads per
     second (`stat`), with C concurrent clients for S seconds each, p50/p99 latency
     (crates/goosefs/examples/load.rs, the runtime's own client);
next to the goals of issue 10 and published anchors (cited in the table);
  4. the same writes and reads with authentication on (as deployed) and off (NOSASL), fresh
     masters per mode, alternating, medians: the cost of authentication (issue 21).

Usage: python3 bench/masters.py [--failovers 20] [--seconds 10] [--concurrency 16] [--dir DIR] [--auth-rounds 2]
The journals go to DIR (default: a folder in the cargo target directory, i.e. on disk, not tmpfs).
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
NET = "127.0.50."


def rendered_env(case="hbase-3-masters", auth=True):
    """The ConfigMap environment of a golden render, and the runtime's credential as the pods
    mount it (a new one, GOOSEFS_CREDENTIAL_DIR); with auth=False, authentication off instead
    (goosefs.security.authentication.type=NOSASL, GooseFS's own switch), for the A/B."""
    text = open(os.path.join(ROOT, "testdata/render", case, "expected.yaml")).read()
    doc = next(d for d in text.split("\n---\n") if "kind: ConfigMap" in d and "GOOSEFS_JAVA_OPTS" in d)
    env = {}
    for line in doc.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep and key.startswith("GOOSEFS_"):
            # JSON-quoted by the render's `y` filter, or a plain scalar (a name).
            env[key] = json.loads(value) if value.startswith('"') else value
    if auth:
        env["GOOSEFS_CREDENTIAL_DIR"] = credential()
    else:
        env["GOOSEFS_JAVA_OPTS"] += " -Dgoosefs.security.authentication.type=NOSASL"
    return env


def credential():
    """A folder with a new credential (crates/goosefs/examples/credential.rs)."""
    example = os.path.join(TARGET, "release/examples/credential")
    if not os.path.exists(example):
        subprocess.run(["cargo", "build", "--locked", "--release", "-p", "goosefs", "--example", "credential"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    folder = tempfile.mkdtemp(prefix="goosefs-credential-")
    subprocess.run([example, folder], check=True)
    return folder


class Masters:
    def __init__(self, binary, work, env):
        self.binary, self.work, self.env = binary, work, env
        self.hosts = os.path.join(work, "hosts")
        with open(self.hosts, "w") as f:
            for i in range(3):
                f.write(f"{NET}{10 + i} hbase-master-{i}\n")
        self.procs = [None, None, None]

    def client_env(self):
        env = dict(self.env)
        env["GOOSEFS_HOSTS_FILE"] = self.hosts
        env["GOOSEFS_USER_JAVA_OPTS"] = "-Dgoosefs.user.rpc.retry.max.duration=30s"
        env["PATH"] = os.environ.get("PATH", "")
        return env

    def start(self, i):
        env = self.client_env()
        env["GOOSEFS_MASTER_HOSTNAME"] = f"hbase-master-{i}"
        env["GOOSEFS_MASTER_JAVA_OPTS"] = (self.env.get("GOOSEFS_MASTER_JAVA_OPTS", "")
            + f" -Dgoosefs.master.bind.host={NET}{10 + i}"
            + f" -Dgoosefs.master.journal.folder={self.work}/journal-{i}")
        log = open(os.path.join(self.work, f"master-{i}.log"), "ab")
        self.procs[i] = subprocess.Popen([self.binary, "master-only", "--no-format"], env=env,
                                         stdout=subprocess.DEVNULL, stderr=log)

    def kill(self, i):
        if self.procs[i]:
            self.procs[i].send_signal(signal.SIGKILL)
            self.procs[i].wait()
            self.procs[i] = None

    def status(self, i):
        try:
            with urllib.request.urlopen(f"http://{NET}{10 + i}:26001/api/v1/status", timeout=1) as r:
                return json.load(r)
        except Exception:
            return None

    def leader(self, exclude=None, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i in range(3):
                if i == exclude or not self.procs[i]:
                    continue
                s = self.status(i)
                if s and s["role"] == "leader" and s["leader"] == i:
                    return i
            time.sleep(0.01)
        sys.exit("no leader within %ss" % timeout)

    def commit_index(self):
        """The leader's applied index: one journal entry per Raft round."""
        return self.status(self.leader())["applied_index"] or 0

    def caught_up(self, i, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.status(i)
            others = [self.status(j) for j in range(3) if j != i]
            top = max((o["applied_index"] or 0) for o in others if o)
            if s and s["role"] == "follower" and s["votes_allowed"] and (s["applied_index"] or 0) >= top:
                return
            time.sleep(0.05)
        sys.exit(f"master {i} did not catch up")

    def stop_all(self):
        for i in range(3):
            if self.procs[i]:
                self.procs[i].send_signal(signal.SIGTERM)
        for i in range(3):
            if self.procs[i]:
                self.procs[i].wait(timeout=20)


def load(masters, mode, concurrency, seconds, prefix):
    out = subprocess.run([os.path.join(TARGET, "release/examples/load"), mode, str(concurrency), str(seconds), prefix],
                         env=masters.client_env(), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(base, env, a):
    """Writes and reads per second of three fresh masters started with `env`."""
    work = tempfile.mkdtemp(dir=base)
    masters = Masters(os.path.join(TARGET, "release/goosefs"), work, env)
    try:
        for i in range(3):
            masters.start(i)
        masters.leader()
        subprocess.run([masters.binary, "fs", "mkdir", "/bench-w", "/bench-r"], env=masters.client_env(), check=True,
                       stdout=subprocess.DEVNULL)
        writes = load(masters, "write", a.concurrency, a.seconds, "/bench-w")
        reads = load(masters, "read", a.concurrency, a.seconds, "/bench-r")
        masters.stop_all()
    finally:
        for i in range(3):
            masters.kill(i)
        shutil.rmtree(work, ignore_errors=True)
    return writes["per_second"], reads["per_second"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--failovers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--auth-rounds", type=int, default=2,
                    help="rounds of the authentication A/B (each: fresh masters with it on and with NOSASL, "
                         "the order alternating); 0 skips it")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--locked", "--release", "-p", "goosefs", "--bin", "goosefs", "--example", "load",
                    "--example", "credential"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    base = a.dir or os.path.join(TARGET, "bench-masters")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(dir=base)
    masters = Masters(os.path.join(TARGET, "release/goosefs"), work, rendered_env())
    load1 = os.getloadavg()[0]
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load {load1:.2f}; journals in {work}")
    try:
        t0 = time.monotonic()
        for i in range(3):
            masters.start(i)
        masters.leader()
        first = time.monotonic() - t0

        env = masters.client_env()
        goosefs = masters.binary
        subprocess.run([goosefs, "fs", "mkdir", "/bench-w", "/bench-r"], env=env, check=True, stdout=subprocess.DEVNULL)
        entries_before = masters.commit_index()
        writes = load(masters, "write", a.concurrency, a.seconds, "/bench-w")
        per_entry = writes["ops"] / max(1, masters.commit_index() - entries_before)
        reads = load(masters, "read", a.concurrency, a.seconds, "/bench-r")

        failovers = []
        for _ in range(a.failovers):
            old = masters.leader()
            masters.kill(old)
            t = time.monotonic()
            masters.leader(exclude=old)
            failovers.append(time.monotonic() - t)
            masters.start(old)
            masters.caught_up(old)
        masters.stop_all()
    finally:
        for i in range(3):
            masters.kill(i)

    med, worst = statistics.median(failovers), max(failovers)
    print()
    print("| three local masters (release) | measured here | goal (issue 10) | anchors |")
    print("|---|---|---|---|")
    print(f"| first leader after start | {first:.2f} s | | |")
    print(f"| failover after SIGKILL of the leader, {len(failovers)} rounds | median {med:.2f} s, max {worst:.2f} s "
          f"| median < 5 s ({5 / med:.1f}x under) | Alluxio/GooseFS: election timeout 10-20 s by default "
          f"(alluxio.master.embedded.journal.election.timeout.min/max), so a failover takes 10 s or more |")
    print(f"| metadata writes (mkdir), {a.concurrency} clients | {writes['per_second']:,.0f}/s, p50 {writes['p50_ms']:.2f} ms, "
          f"p99 {writes['p99_ms']:.2f} ms, {writes['failures']} failed, {per_entry:.1f} writes per journal entry | >= 5,000/s ({writes['per_second'] / 5000:.2f}x) "
          f"| openraft 0.9 README: 70,000 writes/s with one writer, 1,000,000/s with 256 writers (in-memory store, one process, no network, no fsync) |")
    print(f"| metadata reads (stat), {a.concurrency} clients | {reads['per_second']:,.0f}/s, p50 {reads['p50_ms']:.2f} ms, "
          f"p99 {reads['p99_ms']:.2f} ms, {reads['failures']} failed | >= 50,000/s ({reads['per_second'] / 50000:.2f}x) | |")
    print(f"\nfailover times (s): {', '.join(f'{f:.2f}' for f in failovers)}")
    shutil.rmtree(work, ignore_errors=True)

    if a.auth_rounds:
        # Issue 21: authentication costs at most 10 % of metadata operations per second, against
        # the same build with it off (NOSASL). Each round starts fresh masters per mode.
        runs = {True: [], False: []}
        for r in range(a.auth_rounds):
            for auth in ((False, True) if r % 2 == 0 else (True, False)):
                runs[auth].append(measure(base, rendered_env(auth=auth), a))
        med = lambda mode, k: statistics.median(x[k] for x in runs[mode])
        print()
        print(f"| authentication A/B, {a.auth_rounds} rounds, {a.concurrency} clients | authenticated | NOSASL | ratio | goal (issue 21) |")
        print("|---|---|---|---|---|")
        for k, what in ((0, "writes (mkdir)"), (1, "reads (stat)")):
            on, off = med(True, k), med(False, k)
            print(f"| {what} per second, medians | {on:,.0f} | {off:,.0f} | {on / off:.3f} | >= 0.90 |")
        for auth in (True, False):
            shown = "; ".join(f"{w:,.0f} w, {r:,.0f} r" for w, r in runs[auth])
            print(f"  {'authenticated' if auth else 'NOSASL'} rounds: {shown}")


if __name__ == "__main__":
    main()
