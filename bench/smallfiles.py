#!/usr/bin/env python3
"""Benchmark: small files and large directories on a real Web UFS (issue 22). The runtime (release
build) runs as bench/data.py starts it: one master, one worker and FUSE from the one-master
render; the UFS is nginx (Debian's nginx-light) with autoindex, as a mirror serves files.

Small files: --dirs directories of --files files of --size bytes each, read whole by --threads
reader threads (and by one), measured in one run side by side with their references:

  1. cold through FUSE (every file's first read: the worker fetches it from nginx) next to the
     same GETs straight from nginx with as many threads, keep-alive connections (goal >= 0.8);
  2. warm through FUSE next to the same reads from the page cache of a local copy (goal >= 0.6
     with --threads readers, >= 0.4 with one);
  3. the peak RSS of the master, the worker and FUSE;
  4. the round trip of one request to the FUSE process (an ioctl Python's open() sends for every
     file), and from it the best warm ratio one request per file allows with one thread; and warm
     reads with one thread of files opened as Python 3.14 opens them (no such ioctl);
  5. where a cold file's time goes: CPU microseconds per file of the reader, FUSE, the worker, the
     master, nginx and the whole machine, through FUSE and for the GETs straight from nginx.

Each of these once per FUSE mode, with a fresh worker tier: the render's args (Fluid's
`direct_io`: passthrough, an OPEN and a RELEASE per file) and a read-only `kernel_cache` mount
(the kernel opens files itself and keeps their pages).

Listing: a directory of --listing files (empty) on nginx, listed cold and warm through
`goosefs fs ls` and through FUSE (`ls -f`), next to `ls -f` of the local directory and a GET of
nginx's index page; also at a tenth of the size, to show the cost is linear (goal: 100,000 files
in under 2 s cold through both).

Usage: python3 bench/smallfiles.py [--dirs 10] [--files 1000] [--size 100KB] [--threads 8]
                                   [--listing 100000] [--dir DIR]
Needs nginx (apt-get install nginx-light) and the release build
(cargo build --release -p goosefs --bin goosefs --example credential).
"""
import argparse, http.client, io, os, resource, shutil, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import CASE, TARGET, Cluster, cpu_seconds, machine_busy, rendered, wait_for  # noqa: E402


def size_arg(text):
    units = {"KB": 1 << 10, "MB": 1 << 20, "B": 1}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


class Nginx:
    """nginx serving `root` with autoindex (exact sizes) on a free local port."""

    def __init__(self, work, root):
        self.work, self.root = work, root
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""user root; worker_processes 2; daemon off; pid {work}/nginx.pid;
error_log {work}/nginx.err;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path {work}/nginx-tmp; proxy_temp_path {work}/nginx-tmp;
  fastcgi_temp_path {work}/nginx-tmp; uwsgi_temp_path {work}/nginx-tmp; scgi_temp_path {work}/nginx-tmp;
  server {{ listen 127.0.0.1:{self.port}; root {root};
    location / {{ autoindex on; autoindex_exact_size on; }} }}
}}
""")
        os.makedirs(os.path.join(work, "nginx-tmp"), exist_ok=True)
        self.proc = subprocess.Popen(["nginx", "-c", conf], stderr=subprocess.DEVNULL)
        assert wait_for(lambda: self.get("/") is not None), "nginx starts"

    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def get(self, path):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
            return body if r.status == 200 else None
        except OSError:
            return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def in_threads(items, threads, work):
    """Runs `work(item, state)` over `items` split between `threads` threads (each with its
    own state dict); returns the seconds taken."""
    chunks = [items[i::threads] for i in range(threads)]
    errors = []

    def run(chunk):
        state = {}
        try:
            for item in chunk:
                work(item, state)
        except Exception as e:  # noqa: BLE001 (reported after the run)
            errors.append(e)

    t = time.monotonic()
    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    if errors:
        raise errors[0]
    return time.monotonic() - t


def read_file(path, _state):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def read_file_no_tty_check(path, _state):
    """As `read_file`, opened as Python 3.14's open() opens a regular file: without asking whether
    it is a terminal (CPython gh-90102), so with no ioctl (TCGETS) that FUSE passes on."""
    with io.BufferedReader(io.FileIO(path, "r")) as f:
        while f.read(1 << 20):
            pass


def http_getter(port):
    def get(path, state):
        c = state.get("c")
        if c is None:
            c = state["c"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 200, (path, r.status)
    return get


def request_round_trip(path, rounds=3000):
    """Seconds per request to the FUSE process and back, the median of 5 runs: the ioctl Python's
    open() sends to ask whether a file is a terminal (TCGETS), which FUSE passes to its process
    for every file opened, the kernel knowing no answer of its own."""
    import fcntl, statistics, termios
    fd = os.open(path, os.O_RDONLY)
    runs = []
    try:
        for _ in range(5):
            t = time.monotonic()
            for _ in range(rounds):
                try:
                    fcntl.ioctl(fd, termios.TCGETS, bytes(64))
                except OSError:
                    pass
            runs.append((time.monotonic() - t) / rounds)
    finally:
        os.close(fd)
    return statistics.median(runs)


def nginx_pids(pid):
    """nginx's master process `pid` and its workers."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def cpu_sample(c, web):
    """CPU seconds so far of each process a cold read involves: the master, the worker, FUSE,
    nginx (all its processes), the reader (this process: its threads and the kernel's work on
    their behalf, FUSE requests and page-cache copies included) and the whole machine."""
    out = {role: cpu_seconds(c.procs[role].pid) for role in ("master", "worker", "fuse")}
    out["nginx"] = sum(cpu_seconds(pid) for pid in nginx_pids(web.proc.pid))
    me = resource.getrusage(resource.RUSAGE_SELF)
    out["reader"] = me.ru_utime + me.ru_stime
    out["machine"] = machine_busy()
    return out


def cpu_per_file(c, web, n, fn):
    """Runs `fn` (reading `n` files); its seconds and the CPU microseconds per file of each role."""
    before = cpu_sample(c, web)
    took = fn()
    after = cpu_sample(c, web)
    return took, {role: (after[role] - before[role]) / n * 1e6 for role in after}


def drop_page_cache():
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("1\n")


def timed(argv, env=None):
    t = time.monotonic()
    out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.decode(errors='replace')}")
    return time.monotonic() - t, out.stdout


def MODES(rendered_args):
    """The FUSE modes compared: the render's args (Fluid's `direct_io`: passthrough of cached
    blocks, an OPEN and a RELEASE per file) and a read-only `kernel_cache` mount (the kernel opens
    files itself and keeps their pages)."""
    return [("rendered", rendered_args), ("kernel_cache", ["fuse", "--fuse-opts=ro,kernel_cache,allow_other"])]


# Requests a warm Python open() and read of a file wait for, per mode: OPEN and TCGETS (the
# RELEASE of close(2) is not waited for), or TCGETS alone.
WAITED = {"rendered": 2, "kernel_cache": 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dirs", type=int, default=10)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--size", type=size_arg, default=100 << 10)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--listing", type=int, default=100_000)
    ap.add_argument("--dir")
    a = ap.parse_args()
    binary = os.path.join(TARGET, "release", "goosefs")
    if not os.path.exists(binary):
        sys.exit(f"build it first: cargo build --release -p goosefs --bin goosefs --example credential ({binary} not found)")
    if not shutil.which("nginx"):
        sys.exit("needs nginx: apt-get install nginx-light")
    base = a.dir or os.path.join(TARGET, "bench-smallfiles")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    work = tempfile.mkdtemp(dir=base)
    ufs = os.path.join(work, "ufs")
    small = [f"d{d:02}/f{i:05}" for d in range(a.dirs) for i in range(a.files)]
    payload = os.urandom(a.size)
    for d in range(a.dirs):
        os.makedirs(os.path.join(ufs, f"d{d:02}"))
    for rel in small:
        with open(os.path.join(ufs, rel), "wb") as f:
            f.write(payload)
    # Each listed twice over: once first through `fs ls`, once first through FUSE (both cold).
    listings = [(a.listing // 10, "tenth"), (a.listing, "big")]
    for count, name in listings:
        for via in ("fs", "fuse"):
            os.makedirs(os.path.join(ufs, f"{name}-{via}"))
            for i in range(count):
                os.close(os.open(os.path.join(ufs, f"{name}-{via}", f"entry-{i:07}"), os.O_CREAT | os.O_WRONLY, 0o644))
    local = os.path.join(work, "local")
    shutil.copytree(ufs, local, ignore=shutil.ignore_patterns("big-*", "tenth-*"))

    env, fuse_args = rendered(CASE)
    c = Cluster(binary, work, env)
    web = Nginx(work, ufs)
    mnt, tier = os.path.join(work, "mnt"), os.path.join(work, "tier")
    os.makedirs(mnt)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"{a.dirs} x {a.files} files of {a.size} bytes, {a.threads} threads; nginx {web.url()}")
    try:
        c.start_master()
        c.start_worker(tier, "20GB")
        out = c.goosefs("fs", "mount", "/data", web.url())
        assert out.returncode == 0, out.stderr
        c.start_fuse(fuse_args, mnt, tier, os.path.join(mnt, "data", "d00"))

        # Listing first (nothing listed yet: cold), then again (warm).
        rows, results, cpu = [], [], []
        for count, name in listings:
            t_index, _ = timed(["curl", "-s", "-o", "/dev/null", web.url() + name + "-fs/"])
            t_fs, out = timed([binary, "fs", "ls", f"/data/{name}-fs"], c.base_env())
            assert out.count(b"\n") == count, (name, out.count(b"\n"))
            t_fs_warm, _ = timed([binary, "fs", "ls", f"/data/{name}-fs"], c.base_env())
            fuse_dir = os.path.join(mnt, "data", f"{name}-fuse")
            t_fuse, out = timed(["ls", "-f", fuse_dir])
            assert out.count(b"\n") == count + 2, (name, out.count(b"\n"))
            t_fuse_warm, _ = timed(["ls", "-f", fuse_dir])
            t_local, _ = timed(["ls", "-f", os.path.join(ufs, f"{name}-fs")])
            rows.append((count, t_index, t_fs, t_fs_warm, t_fuse, t_fuse_warm, t_local))

        # Small files, once per FUSE mode, each with a fresh worker tier (cold again): cold through
        # FUSE, then straight from nginx, then warm, then the page cache.
        fuse_paths = [os.path.join(mnt, "data", r) for r in small]
        local_paths = [os.path.join(local, r) for r in small]
        http_paths = ["/" + r for r in small]
        n = len(small)
        for mode, args in MODES(fuse_args):
            c.stop("fuse")
            c.stop("worker")
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
            fresh = f"{tier}-{len(results)}"
            c.start_worker(fresh, "20GB")
            c.start_fuse(args, mnt, fresh, os.path.join(mnt, "data", "d00"))
            drop_page_cache()
            cold, cold_cpu = cpu_per_file(c, web, n, lambda: in_threads(fuse_paths, a.threads, read_file))
            drop_page_cache()
            direct, direct_cpu = cpu_per_file(c, web, n, lambda: in_threads(http_paths, a.threads, http_getter(web.port)))
            # Warm as the page cache reference is: read once first (the tier's block files, or
            # the FUSE pages, back in memory after the drop above), then measured.
            in_threads(fuse_paths, a.threads, read_file)
            warm = in_threads(fuse_paths, a.threads, read_file)
            warm1 = in_threads(fuse_paths, 1, read_file)
            in_threads(local_paths, a.threads, read_file)  # into the page cache
            page = in_threads(local_paths, a.threads, read_file)
            page1 = in_threads(local_paths, 1, read_file)
            warm1_plain = in_threads(fuse_paths, 1, read_file_no_tty_check)
            page1_plain = in_threads(local_paths, 1, read_file_no_tty_check)
            rtt = request_round_trip(fuse_paths[0])
            rss = {role: c.peak_rss_mb(role) for role in ("master", "worker", "fuse")}
            results.append((mode, args, cold, direct, warm, page, warm1, page1, rtt, rss, warm1_plain, page1_plain))
            cpu.append((mode, cold_cpu, direct_cpu))
    finally:
        for name in list(c.procs):
            c.stop(name)
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
        web.stop()

    print()
    print("| listing | nginx index page | `fs ls` cold | `fs ls` warm | FUSE `ls -f` cold | FUSE `ls -f` warm | local `ls -f` |")
    print("|---|---|---|---|---|---|---|")
    for (count, t_index, t_fs, t_fs_warm, t_fuse, t_fuse_warm, t_local) in rows:
        print(f"| {count:,} files | {t_index:.2f} s | {t_fs:.2f} s | {t_fs_warm:.2f} s | {t_fuse:.2f} s | {t_fuse_warm:.2f} s | {t_local:.3f} s |")
    print()
    print("| FUSE mode | small files | files/s | reference | files/s | ratio | goal |")
    print("|---|---|---|---|---|---|---|")
    for (mode, args, cold, direct, warm, page, warm1, page1, rtt, rss, warm1_plain, page1_plain) in results:
        print(f"| {mode} | cold through FUSE, {a.threads} threads | {n / cold:,.0f} | GET from nginx, {a.threads} threads | {n / direct:,.0f} | {direct / cold:.2f} | >= 0.8 |")
        print(f"| {mode} | warm through FUSE, {a.threads} threads | {n / warm:,.0f} | page cache, {a.threads} threads | {n / page:,.0f} | {page / warm:.2f} | >= 0.6 |")
        print(f"| {mode} | warm through FUSE, 1 thread | {n / warm1:,.0f} | page cache, 1 thread | {n / page1:,.0f} | {page1 / warm1:.2f} | >= 0.4 |")
        print(f"| {mode} | warm, 1 thread, opened without the TTY check (Python 3.14's open()) | {n / warm1_plain:,.0f} | page cache, the same | {n / page1_plain:,.0f} | {page1_plain / warm1_plain:.2f} | >= 0.4 |")
    print()
    print("The floor with one thread: the page cache's time per file plus the round trips a warm open waits")
    print("for (Python's open() sends TCGETS, which reaches the FUSE process for every file), as a ratio.")
    print()
    print("| FUSE mode | round trip of one request | requests waited for per file | page cache, 1 thread, per file | best ratio, 1 thread |")
    print("|---|---|---|---|---|")
    for (mode, args, cold, direct, warm, page, warm1, page1, rtt, *_) in results:
        per_file = page1 / n
        print(f"| {mode} | {rtt * 1e6:.0f} us | {WAITED[mode]} | {per_file * 1e6:.0f} us | {per_file / (per_file + WAITED[mode] * rtt):.2f} |")
    print()
    print(f"Where a cold file's time goes: CPU microseconds per file, {a.threads} threads (the reader is this")
    print("process: its threads and the kernel's work for them; the machine's includes the kernel's writeback).")
    print()
    roles = ("reader", "fuse", "worker", "master", "nginx", "machine")
    print("| FUSE mode | read | " + " | ".join(roles) + " |")
    print("|---|---|" + "---|" * len(roles))
    for (mode, cold_cpu, direct_cpu) in cpu:
        print(f"| {mode} | cold through FUSE | " + " | ".join(f"{cold_cpu[r]:.0f}" for r in roles) + " |")
        print(f"| {mode} | GET from nginx | " + " | ".join(
            "" if r in ("fuse", "worker", "master") else f"{direct_cpu[r]:.0f}" for r in roles) + " |")
    print()
    for (mode, args, *_, rss, _, _) in results:
        print(f"{mode} ({' '.join(args)}): peak RSS " + ", ".join(f"{role} {mb:.0f} MB" for role, mb in rss.items()))
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
