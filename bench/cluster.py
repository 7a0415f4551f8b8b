#!/usr/bin/env python3
"""Benchmark: `kubectl goosefs plan` and `apply` of N runtimes side by side with kubectl's
`diff --server-side` and `apply --server-side` on the same rendered objects, against the same
API server, and a check that both see the same changes.

The server is the team's reference emulator, ../shared/testcluster/kmock_server.py (kmock 0.8
plus server-side apply, dryRun, selectors, defaults, quantity normalisation, auto-ready); it
runs from where it is and is not part of this repository. Needs: pip install kmock==0.8 (the
script uses WORK/venv from bench/validate.py when present) and kubectl on PATH.

The emulator serves HTTPS with a bearer token (kubectl sends no token over plain http).
Each phase starts from a fresh server:
  1. plan on an empty cluster (everything to create) vs `kubectl diff --server-side`;
  2. apply vs `kubectl apply --server-side` (ours without waiting, as kubectl does not wait);
  3. plan with nothing to change vs `kubectl diff --server-side` after the same apply.

Usage: python3 bench/cluster.py [--n 50] [--runs 3] [--work .bench]
       [--emulator ../shared/testcluster/kmock_server.py]
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANAGER = "kubectl-goosefs"


class Server:
    """One emulator process with a kubeconfig, stopped on exit."""

    def __init__(self, python, emulator, work):
        self.kubeconfig = os.path.join(work, "kc.yaml")
        self.proc = subprocess.Popen([python, emulator, "--kubeconfig", self.kubeconfig, "--auto-ready", "0.1", "--tls"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            sys.exit(f"the emulator did not start: {line!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


def machine():
    """Date, CPU and load: the figures below are only comparable within one run."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    return f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores ({cpu}), load {load}"


def run(cmd, ok=(0,)):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode not in ok:
        sys.exit(f"{' '.join(cmd[:3])} exited {p.returncode}: {p.stderr[-1500:]}")
    return wall, p


def corpus(n, directory):
    """n copies of the reference case, runtime i named rt-i."""
    text = open(os.path.join(ROOT, "testdata/hbase/hbase.yaml")).read()
    for i in range(n):
        with open(os.path.join(directory, f"rt-{i:03}.yaml"), "w") as f:
            f.write(re.sub(r"name: hbase$", f"name: rt-{i:03}", text, flags=re.M))


def ours_plan(binary, inputs, kc):
    wall, p = run([binary, "plan", inputs, "--kubeconfig", kc, "--detailed-exitcode"], ok=(0, 2))
    summary = p.stdout.strip().splitlines()[-1]
    c, u, d, n = map(int, re.findall(r"(\d+) ", summary)[:4])
    return wall, c + u + d, summary


def kubectl_diff(rendered, kc):
    wall, p = run(["kubectl", "--kubeconfig", kc, "diff", "--server-side", f"--field-manager={MANAGER}",
                   "-f", rendered], ok=(0, 1))
    # One `diff -u -N` header pair per changed object; name the fields changed, as kubectl also
    # diffs `status`, which a plan leaves out.
    changed = len(re.findall(r"^\+\+\+ ", p.stdout, flags=re.M))
    fields = sorted(set(re.findall(r"^[+-]\s*([A-Za-z]+):", p.stdout, flags=re.M)))
    if changed and len(fields) <= 3:
        return wall, f"{changed} ({', '.join(fields)})"
    return wall, changed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, ".bench"))
    ap.add_argument("--emulator", default=os.path.join(ROOT, "..", "shared", "testcluster", "kmock_server.py"))
    ap.add_argument("--binary", help="a kubectl-goosefs binary to measure instead of building the release one")
    args = ap.parse_args()
    venv_python = os.path.join(args.work, "venv", "bin", "python")
    python = venv_python if os.path.exists(venv_python) else sys.executable
    if not shutil.which("kubectl"):
        sys.exit("kubectl is not on PATH")
    binary = args.binary
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "kubectl-goosefs"], cwd=ROOT, check=True)
        binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "kubectl-goosefs")
    print(machine())
    work = tempfile.mkdtemp(prefix="goosefs-cluster-bench-")
    inputs = os.path.join(work, "inputs")
    os.mkdir(inputs)
    corpus(args.n, inputs)
    rendered = os.path.join(work, "rendered.yaml")
    _, p = run([binary, "render", inputs])
    open(rendered, "w").write(p.stdout)
    objects = p.stdout.count("\nkind: ") + p.stdout.startswith("kind: ")

    rows = []
    for phase in ("plan, empty cluster", "apply", "plan, no changes"):
        ours_best, theirs_best, ours_seen, theirs_seen = None, None, None, None
        for _ in range(args.runs):
            with Server(python, args.emulator, work) as server:
                kc = server.kubeconfig
                if phase == "plan, no changes":
                    run([binary, "apply", inputs, "--kubeconfig", kc, "--yes", "--wait=false"])
                if phase == "apply":
                    ours, _ = run([binary, "apply", inputs, "--kubeconfig", kc, "--yes", "--wait=false"])
                    _, after, _ = ours_plan(binary, inputs, kc)
                    ours_seen = f"{after} changes left"
                else:
                    ours, changes, _ = ours_plan(binary, inputs, kc)
                    ours_seen = f"{changes} changes"
            with Server(python, args.emulator, work) as server:
                kc = server.kubeconfig
                if phase == "plan, no changes":
                    run(["kubectl", "--kubeconfig", kc, "apply", "--server-side", f"--field-manager={MANAGER}",
                         "-f", rendered])
                if phase == "apply":
                    theirs, _ = run(["kubectl", "--kubeconfig", kc, "apply", "--server-side",
                                     f"--field-manager={MANAGER}", "-f", rendered])
                    _, after = kubectl_diff(rendered, kc)
                    theirs_seen = f"{after} changes left"
                else:
                    theirs, changes = kubectl_diff(rendered, kc)
                    theirs_seen = f"{changes} changes"
            ours_best = ours if ours_best is None else min(ours_best, ours)
            theirs_best = theirs if theirs_best is None else min(theirs_best, theirs)
        rows.append((phase, ours_best, theirs_best, ours_seen, theirs_seen))

    print(f"{args.n} runtimes, {objects} objects, emulator {os.path.relpath(args.emulator, ROOT)}, best of {args.runs}")
    print(f"{'':22}{'kubectl-goosefs':>16}{'kubectl':>10}{'ratio':>8}   results (ours / kubectl)")
    for phase, ours, theirs, ours_seen, theirs_seen in rows:
        print(f"{phase:22}{ours:>15.2f}s{theirs:>9.2f}s{theirs / ours:>7.1f}x   {ours_seen} / {theirs_seen}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
