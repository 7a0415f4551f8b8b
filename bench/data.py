#!/usr/bin/env python3
"""Benchmark: the runtime's data path on this machine (release build), started with the
one-master case's rendered ConfigMap environment and container args, as the tests start it.

A file set of --gb GB (--files files) is served by a local HTTP UFS (crates/goosefs/tests/
ufs_server.py: Python's http.server with ranges) and mounted at /data. Measured in one run:

  1. `cat` of the files from the page cache (the physical reference for warm reads);
  2. `curl` of the files from the HTTP UFS directly (the reference for cold reads), and `curl -r`
     of each block (the worker's ranged request, which this server answers through another loop);
  3. writing the same number of bytes into new files on the tier's file system (what any cache
     pays to take bytes it did not hold);
  4. cold read through FUSE (`cat` at $MOUNT_POINT; the worker fetches each block whole, then
     the kernel reads the block file: passthrough);
     2-4 are taken --passes times, interleaved (the cache freed between passes), and reported as
     medians: on this 2-core VM one pass of either reference varies by a third. Then 3 and 4 once
     more after 5 s idle each: this VM hands memory freed for 2 s back to its host (free page
     reporting), and writing into memory that came back costs a hypervisor fault per page, for any
     writer (see docs/benchmarks.md);
  5. warm read through FUSE (passthrough);
  6. warm `goosefs fs cat` (blocks sent by the worker over its RPC port with sendfile), twice:
     the first send of a block verifies its whole file;
  7. a cold FUSE read of the whole set through a tier quota of --small-quota (eviction from the
     high to the low watermark while reading), with the eviction rate and the time the eviction
     work took (the worker's counters), and the first byte of a cold open;
  8. peak RSS (VmHWM) of the worker and the FUSE process;
  9. cold, warm and `fs cat` reads with authentication on (as deployed) and off (NOSASL), fresh
     processes per mode, alternating, medians: the cost of authentication (issue 21);

next to the goals of issue 11 (warm FUSE >= 70% of the page cache, cold >= 90% of the UFS,
eviction keeping up with 1 GB/s) and published anchors.

Usage: python3 bench/data.py [--gb 2] [--files 8] [--passes 3] [--small-quota 512MB] [--dir DIR] [--profile release]
                            [--auth-rounds 2]
DIR defaults to a folder in the cargo target directory (on disk, not tmpfs).
"""
import argparse, json, os, resource, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

from masters import rendered_env  # bench/masters.py: the ConfigMap of a golden render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
CASE = "one-master"
MASTER_IP, WORKER_IP = "127.0.60.10", "127.0.60.20"
TIER_USED = 'goosefs_worker_tier_used_bytes{tier="HDD"}'


def rendered(case):
    """The ConfigMap environment and the fuse container's args of a golden render."""
    env = rendered_env(case)
    text = open(os.path.join(ROOT, "testdata/render", case, "expected.yaml")).read()
    fuse_args = next(json.loads(l.strip()[len("args: "):]) for l in text.splitlines()
                     if l.strip().startswith('args: ["fuse"'))
    return env, fuse_args


class Cluster:
    def __init__(self, binary, work, env):
        self.binary, self.work, self.env, self.procs = binary, work, env, {}
        self.hosts = os.path.join(work, "hosts")
        with open(self.hosts, "w") as f:
            f.write(f"{MASTER_IP} hbase-master-0\n{WORKER_IP} hbase-worker-0\n")

    def base_env(self):
        env = dict(self.env)
        env["GOOSEFS_HOSTS_FILE"] = self.hosts
        env["GOOSEFS_USER_JAVA_OPTS"] = "-Dgoosefs.user.rpc.retry.max.duration=30s"
        env["PATH"] = os.environ.get("PATH", "")
        return env

    def spawn(self, name, args, extra_env):
        env = self.base_env()
        for key, value in extra_env.items():
            env[key] = env.get(key, "") + " " + value if key.endswith("JAVA_OPTS") else value
        log = open(os.path.join(self.work, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen([self.binary] + args, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()

    def start_master(self):
        """The master, its journal in the work folder; returns once it answers."""
        self.spawn("master", ["master-only", "--no-format"], {
            "GOOSEFS_MASTER_HOSTNAME": "hbase-master-0",
            "GOOSEFS_MASTER_JAVA_OPTS": f"-Dgoosefs.master.bind.host={MASTER_IP} -Dgoosefs.master.journal.folder={self.work}/journal"})
        assert wait_for(lambda: self.goosefs("fsadmin", "report").returncode == 0), "the master starts"

    def start_worker(self, tier, quota):
        """The worker with one tier directory of `quota`; returns once the master lists it."""
        self.spawn("worker", ["worker-only", "--no-format"], {
            "GOOSEFS_WORKER_HOSTNAME": "hbase-worker-0",
            "GOOSEFS_WORKER_JAVA_OPTS": f"-Dgoosefs.worker.bind.host={WORKER_IP}"
                f" -Dgoosefs.worker.tieredstore.level0.dirs.path={tier}"
                f" -Dgoosefs.worker.tieredstore.level0.dirs.quota={quota}"})
        assert wait_for(lambda: b"hbase-worker-0" in self.goosefs("fsadmin", "report", "capacity").stdout)

    def start_fuse(self, fuse_args, mnt, tier, first):
        """FUSE at `mnt`, reading `tier` directly; returns once `first` (a path below `mnt`) shows."""
        self.spawn("fuse", fuse_args, {
            "MOUNT_POINT": mnt,
            "GOOSEFS_FUSE_JAVA_OPTS": f"-Dgoosefs.user.hostname=hbase-worker-0"
                f" -Dgoosefs.worker.tieredstore.level0.dirs.path={tier}"})
        assert wait_for(lambda: os.path.exists(first)), "FUSE mounts"

    def goosefs(self, *args, stdout=subprocess.PIPE):
        return subprocess.run([self.binary] + list(args), env=self.base_env(), stdout=stdout,
                              stderr=subprocess.PIPE, check=False)

    def minor_faults(self, name):
        """Minor page faults of process `name` so far (each a page of fresh memory)."""
        return int(proc_stat(self.procs[name].pid, 7))

    def peak_rss_mb(self, name):
        p = self.procs.get(name)
        try:
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except (OSError, AttributeError):
            pass
        return float("nan")


TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid, *fields):
    """The sum of numeric fields of /proc/PID/stat, counted after the command's closing
    parenthesis (0: state); 0 once the process is gone."""
    try:
        values = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return sum(int(values[f]) for f in fields)
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far."""
    return proc_stat(pid, 11, 12) / TICK


def machine_busy():
    """CPU seconds the whole machine spent busy so far (all but idle and iowait)."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


class Cpu:
    """CPU seconds per role over one timed section: the UFS server, the worker, FUSE, the tools
    the bench ran (curl, cat: reaped children) and the whole machine."""

    def __init__(self, pids):
        self.pids = pids

    def sample(self):
        tools = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {role: cpu_seconds(pid) for role, pid in self.pids().items()}
        out["tools"] = tools.ru_utime + tools.ru_stime
        out["machine"] = machine_busy()
        return out

    def timed(self, fn, into):
        """Times `fn`, appending its CPU seconds per role to `into`."""
        before = self.sample()
        wall = timed(fn)
        after = self.sample()
        into.append({k: after[k] - before[k] for k in after})
        return wall


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)


def wait_for(check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def write_new_files(near, size, count):
    """Writes `count` new files of `size` bytes beside directory `near` (the tier's file system)
    and removes them: what any cache pays to hold bytes it has not held before. On this VM, memory
    the guest has not touched lately costs a fault in the hypervisor on first write."""
    scratch = near + "-write-reference"
    os.makedirs(scratch, exist_ok=True)
    # dd, as the other references are tools (curl, cat): Python's own writes of the same pieces
    # varied from 0.7 to 4.6 GB/s between runs here.
    piece = 512 << 10
    for i in range(count):
        run(["dd", "if=/dev/zero", f"of={os.path.join(scratch, str(i))}", f"bs={piece}",
             f"count={size // piece}", "status=none"])
        if size % piece:
            with open(os.path.join(scratch, str(i)), "ab") as f:
                f.write(bytes(size % piece))
    shutil.rmtree(scratch)


def metrics(port):
    try:
        body = urllib.request.urlopen(f"http://{WORKER_IP}:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        sample, value = line.rsplit(" ", 1)
        name, _, labels = sample.partition("{")
        # Every sample carries runtime, namespace and role: keyed without them.
        rest = [l for l in labels.rstrip("}").split(",") if l and l.split("=")[0] not in ("runtime", "namespace", "role")]
        out[name + ("{" + ",".join(rest) + "}" if rest else "")] = float(value)
    return out


def auth_round(binary, work, auth, fuse_args, url, names):
    """Seconds of a cold FUSE read, a warm one and a warm `fs cat` of the set, on a fresh master,
    worker and FUSE whose authentication is on or off (NOSASL)."""
    sub = tempfile.mkdtemp(dir=work, prefix="auth-on-" if auth else "auth-off-")
    env = rendered_env(CASE, auth=auth)
    c = Cluster(binary, sub, env)
    mnt, tier = os.path.join(sub, "mnt"), os.path.join(sub, "tier")
    os.makedirs(mnt)
    try:
        c.start_master()
        c.start_worker(tier, "100GB")
        assert c.goosefs("fs", "mount", "/data", url).returncode == 0
        files = [os.path.join(mnt, "data", n) for n in names]
        c.start_fuse(fuse_args, mnt, tier, files[0])
        cold = timed(lambda: run(["cat"] + files))
        warm = timed(lambda: run(["cat"] + files))
        fs_cat = timed(lambda: [subprocess.run([binary, "fs", "cat", f"/data/{n}"], env=c.base_env(),
                                               stdout=subprocess.DEVNULL, check=True) for n in names])
        return cold, warm, fs_cat
    finally:
        for name in list(c.procs):
            c.stop(name)
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
        shutil.rmtree(sub, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--small-quota", default="512MB")
    ap.add_argument("--dir")
    ap.add_argument("--profile", default="release", help="cargo profile of the binary (release, quick)")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running after the warm reads (for profiling)")
    ap.add_argument("--auth-rounds", type=int, default=2,
                    help="rounds of the authentication A/B (fresh processes with it on and with NOSASL); 0 skips it")
    a = ap.parse_args()
    binary = os.path.join(TARGET, a.profile, "goosefs")
    if not os.path.exists(binary):
        sys.exit(f"build it first: cargo build --release -p goosefs --bin goosefs --example credential ({binary} not found)")
    base = a.dir or os.path.join(TARGET, "bench-data")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    work = tempfile.mkdtemp(dir=base)
    ufs_dir = os.path.join(work, "ufs")
    os.makedirs(ufs_dir)
    size = int(a.gb * (1 << 30) / a.files)
    names = [f"part-{i:03}.bin" for i in range(a.files)]
    for n in names:
        with open(os.path.join(ufs_dir, n), "wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(left, 64 << 20))
                f.write(chunk)
                left -= len(chunk)
    total = size * a.files
    gb = total / 1e9

    env, fuse_args = rendered(CASE)
    c = Cluster(binary, work, env)
    port_file = os.path.join(work, "ufs.port")
    ufs = subprocess.Popen([sys.executable, os.path.join(ROOT, "crates/goosefs/tests/ufs_server.py"), ufs_dir, port_file])
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    try:
        wait_for(lambda: os.path.exists(port_file))
        url = f"http://127.0.0.1:{open(port_file).read().strip()}/"
        c.start_master()
        first = os.path.join(mnt, "data", names[0])
        tier = os.path.join(work, "tier")
        c.start_worker(tier, f"{int(a.gb * 1.5 * 1024)}MB")
        out = c.goosefs("fs", "mount", "/data", url)
        assert out.returncode == 0, out.stderr
        c.start_fuse(fuse_args, mnt, tier, first)
        ufs_files = [os.path.join(ufs_dir, n) for n in names]
        fuse_files = [os.path.join(mnt, "data", n) for n in names]
        web_port = int(next(w.split("=")[1] for w in env["GOOSEFS_JAVA_OPTS"].split() if w.startswith("-Dgoosefs.worker.web.port=")))

        run(["cat"] + ufs_files)  # into the page cache
        page_cache = timed(lambda: run(["cat"] + ufs_files))
        curl_all = lambda: [run(["curl", "-sf", "-o", "/dev/null", url + n]) for n in names]
        # The worker's request: a ranged GET of the block (this server answers ranges through
        # another loop than whole files).
        curl_ranged = lambda: [run(["curl", "-sf", "-r", f"0-{size - 1}", "-o", "/dev/null", url + n]) for n in names]
        write_all = lambda: write_new_files(tier, size, a.files)
        cat_fuse = lambda: run(["cat"] + fuse_files)

        def free_cache():
            assert c.goosefs("fs", "free", "/data").returncode == 0
            assert wait_for(lambda: metrics(web_port).get(TIER_USED, 1) == 0), "the worker frees its blocks"

        passes, cold_faults = [], []
        cpu = Cpu(lambda: {"server": ufs.pid, "worker": c.procs["worker"].pid, "fuse": c.procs["fuse"].pid})
        cpu_cold, cpu_curl, cpu_ranged = [], [], []
        for i in range(a.passes):
            if i:
                free_cache()
            # Each timed writer of new bytes starts right after the deletion of as many bytes
            # written by dd (the untimed write's, then the timed write's), so both find memory
            # alike. Writing right after `fs free` was slower again (0.9 against 3-5 GB/s): which
            # memory a writer gets here depends on how it was freed, not on the writer.
            write_all()
            write = timed(write_all)
            faults = c.minor_faults("worker")
            cold = cpu.timed(cat_fuse, cpu_cold)
            cold_faults.append(c.minor_faults("worker") - faults)
            passes.append((cpu.timed(curl_all, cpu_curl), write, cold, cpu.timed(curl_ranged, cpu_ranged)))
        direct, tier_write, cold, ranged = (statistics.median(p[k] for p in passes) for k in range(4))
        warm = timed(cat_fuse)
        fs_cat_all = lambda: [subprocess.run([binary, "fs", "cat", f"/data/{n}"], env=c.base_env(),
                                             stdout=subprocess.DEVNULL, check=True) for n in names]
        # The first zero-copy send of a block verifies the whole block file; the second does not.
        fs_cat = timed(fs_cat_all)
        fs_cat_again = timed(fs_cat_all)
        rss_worker, rss_fuse = c.peak_rss_mb("worker"), c.peak_rss_mb("fuse")
        # Memory handed back to the host: each writer after 5 s idle.
        free_cache()
        time.sleep(5)
        idle_write = timed(write_all)
        time.sleep(5)
        idle_cold = timed(cat_fuse)
        if a.keep:
            print(f"kept running: work dir {work}, UFS {url}, mount {mnt}; env: GOOSEFS_HOSTS_FILE={c.hosts}")
            print(json.dumps(c.base_env()), file=open(os.path.join(work, "env.json"), "w"))
            signal.pause()

        # Eviction: a fresh worker and FUSE with a small quota, the whole set read cold through it.
        c.stop("fuse")
        c.stop("worker")
        small_tier = os.path.join(work, "tier-small")
        c.start_worker(small_tier, a.small_quota)
        c.start_fuse(fuse_args, mnt, small_tier, first)
        evicting = timed(lambda: run(["cat"] + fuse_files))
        m = metrics(web_port)
        evictions = m.get("goosefs_worker_evictions_total", 0)
        evicted_bytes = m.get("goosefs_worker_evicted_bytes_total", 0)
        eviction_seconds = m.get("goosefs_worker_eviction_seconds_total", float("nan"))
        used = m.get(TIER_USED, 0)
        capacity = m.get('goosefs_worker_tier_capacity_bytes{tier="HDD"}', 1)
        # The first file was evicted by the last ones: opening it again fetches its block whole
        # before the first byte (passthrough needs the whole block file).
        first_byte = timed(lambda: run(["head", "-c", "1", fuse_files[0]]))
        rss_worker_small, rss_fuse_small = c.peak_rss_mb("worker"), c.peak_rss_mb("fuse")

        # Issue 21: authentication (on above, as deployed) against the same build with it off
        # (NOSASL), each round a fresh master, worker and FUSE per mode, the order alternating.
        for name in list(c.procs):
            c.stop(name)
        ab = {True: [], False: []}
        for r in range(a.auth_rounds):
            for auth in ((False, True) if r % 2 == 0 else (True, False)):
                ab[auth].append(auth_round(binary, work, auth, fuse_args, url, names))
    finally:
        for name in list(c.procs):
            c.stop(name)
        ufs.kill()
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)

    rate = lambda t: gb / t
    print(f"Data path, {gb:.2f} GB in {a.files} files, one master + one worker + FUSE on this machine "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})\n")
    print(f"| read | seconds | GB/s | ratio | goal |")
    print(f"|---|---|---|---|---|")
    print(f"| page cache `cat` (physical reference) | {page_cache:.2f} | {rate(page_cache):.2f} | 1 | |")
    print(f"| HTTP UFS directly (`curl`, median of {a.passes}) | {direct:.2f} | {rate(direct):.2f} | 1 | |")
    print(f"| HTTP UFS directly, ranged GETs of the blocks (`curl -r`, the worker's request; median) | {ranged:.2f} | {rate(ranged):.2f} | {direct / ranged:.2f} of `curl` | |")
    print(f"| writing the same bytes into new files on the tier's file system (any cache's floor; median) | {tier_write:.2f} | {rate(tier_write):.2f} | 1 | |")
    print(f"| FUSE cold (`cat`; the worker fetches each block whole, then passthrough; median) | {cold:.2f} | {rate(cold):.2f} | {direct / cold:.2f} of direct, {ranged / cold:.2f} of ranged, {max(direct, tier_write) / cold:.2f} of the slower of direct and the write | >= 0.90 of direct |")
    print(f"| FUSE warm (`cat`; passthrough: the kernel reads the block files) | {warm:.2f} | {rate(warm):.2f} | {page_cache / warm:.2f} of page cache | >= 0.70 |")
    print(f"| `goosefs fs cat` warm (worker RPC; blocks verified whole before their first sendfile) | {fs_cat:.2f} | {rate(fs_cat):.2f} | {page_cache / fs_cat:.2f} of page cache | |")
    print(f"| `goosefs fs cat` warm again (sendfile of verified blocks) | {fs_cat_again:.2f} | {rate(fs_cat_again):.2f} | {page_cache / fs_cat_again:.2f} of page cache | |")
    print(f"| FUSE cold through a {a.small_quota} quota (evicting) | {evicting:.2f} | {rate(evicting):.2f} | {cold / evicting:.2f} of cold without eviction | |")
    print()
    print("Cold passes (curl, write, FUSE cold, ranged curl in GB/s; cold / curl, cold / ranged): " + "; ".join(
        f"{rate(d):.2f}, {rate(w):.2f}, {rate(k):.2f}, {rate(r):.2f}; {d / k:.2f}, {r / k:.2f}" for d, w, k, r in passes))
    def cpu_line(name, samples, wall):
        per_gb = {k: statistics.median(x[k] for x in samples) / gb for k in samples[0]}
        roles = ", ".join(f"{k} {v:.2f}" for k, v in per_gb.items() if k != "machine" and v > 0.005)
        print(f"  {name}: {per_gb['machine']:.2f} core-s per GB for the machine ({roles}); "
              f"{per_gb['machine'] * gb / wall:.2f} of {os.cpu_count()} cores busy")
    print("CPU (medians over the passes):")
    cpu_line("curl", cpu_curl, direct)
    cpu_line("ranged curl", cpu_ranged, ranged)
    cpu_line("FUSE cold", cpu_cold, cold)
    print(f"Worker's minor page faults per cold pass: {', '.join(str(f) for f in cold_faults)} "
          f"(a fault per page would be {total // 4096})")
    print(f"After 5 s idle (memory handed back to the host): writing new files {rate(idle_write):.2f} GB/s, "
          f"FUSE cold {rate(idle_cold):.2f} GB/s = {direct / idle_cold:.2f} of the median curl")
    print(f"Eviction: {int(evictions)} blocks ({evicted_bytes / 1e9:.2f} GB) evicted in {evicting:.2f} s of reading = "
          f"{evicted_bytes / 1e9 / evicting:.2f} GB/s while reading at {rate(evicting):.2f} GB/s; the eviction work "
          f"itself took {eviction_seconds:.3f} s = {evicted_bytes / 1e9 / max(eviction_seconds, 1e-6):.1f} GB/s of eviction capacity "
          f"(goal: keep up with a 1 GB/s read stream); tier ended at {used / capacity:.0%} of its quota")
    print(f"First byte of a cold open (`head -c 1` of an evicted 256 MiB file): {first_byte:.2f} s")
    print(f"Peak RSS: worker {rss_worker:.0f} MB, FUSE {rss_fuse:.0f} MB (2 GB cached); "
          f"with the small quota: worker {rss_worker_small:.0f} MB, FUSE {rss_fuse_small:.0f} MB")
    if a.auth_rounds:
        med = lambda auth, k: statistics.median(x[k] for x in ab[auth])
        print(f"\n| authentication A/B, {a.auth_rounds} rounds (fresh processes per mode) | authenticated GB/s | NOSASL GB/s | ratio | goal (issue 21) |")
        print("|---|---|---|---|---|")
        for k, what in ((0, "FUSE cold"), (1, "FUSE warm (passthrough)"), (2, "`goosefs fs cat` warm (block protocol)")):
            on, off = rate(med(True, k)), rate(med(False, k))
            print(f"| {what}, median | {on:.2f} | {off:.2f} | {on / off:.3f} | >= 0.95 |")
        for auth in (True, False):
            shown = "; ".join(", ".join(f"{rate(t):.2f}" for t in x) for x in ab[auth])
            print(f"  {'authenticated' if auth else 'NOSASL'} rounds (cold, warm, fs cat GB/s): {shown}")
    print("Published anchors: Alluxio's FUSE on NVMe, one thread, 256 KiB sequential reads: 2,101 MiB/s "
          "(documentation.alluxio.io, Benchmarking POSIX Performance); JuiceFS users report fully cached "
          "reads about 25% slower than local ext4, i.e. ~0.75 of local (github.com/juicedata/juicefs discussion 7293).")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
