#!/usr/bin/env python3
"""Benchmark: what the readiness probes cost `kubectl goosefs apply` to Ready, on the real cluster.

The reference runtime is applied and deleted in interleaved rounds, once with the default image
catalog (readiness probes on masters, workers and FUSE) and once with the same catalog but
`probes: false` (the same images and pods, Ready as soon as their containers run, as before the
probes). Medians of the rounds are printed side by side with their ratio: issue 23 allows the
probes +20 %.

Usage: python3 bench/apply-ready.py [--binary target/debug/kubectl-goosefs] [--rounds 3]
Needs the cluster up with the images loaded (scripts/local-cluster up && load-images); leaves
nothing deployed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.environ.get("KGFS_CLUSTER", "/tmp/kgfs-cluster")


def timed(*cmd):
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def gone(binary):
    subprocess.run([binary, "delete", "hbase", "--yes", "--timeout", "3m"], check=True, stdout=subprocess.DEVNULL)
    for _ in range(300):
        pods = subprocess.run(["kubectl", "get", "pods", "-o", "name"], check=True, capture_output=True, text=True)
        if not pods.stdout.strip():
            return
        time.sleep(0.5)
    sys.exit("pods were left after delete")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                    "debug", "kubectl-goosefs"))
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    os.environ.setdefault("KUBECONFIG", os.path.join(CLUSTER, "kubeconfig"))
    work = tempfile.mkdtemp(prefix="kgfs-bench-")
    ufs = os.path.join(work, "ufs")
    os.makedirs(ufs)
    with open(os.path.join(ufs, "small.txt"), "w") as f:
        f.write("hello\n")
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "crates/goosefs/tests/ufs_server.py"), ufs,
                               os.path.join(work, "port"), "10.88.0.1"])
    times = {"probes": [], "none": []}
    try:
        for _ in range(50):
            if os.path.exists(os.path.join(work, "port")) and open(os.path.join(work, "port")).read():
                break
            time.sleep(0.1)
        url = f"http://10.88.0.1:{open(os.path.join(work, 'port')).read().strip()}/"
        spec = open(os.path.join(ROOT, "testdata/hbase/hbase.yaml")).read()
        with open(os.path.join(work, "hbase.yaml"), "w") as f:
            f.write(spec.replace("https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/", url))
        catalog = open(os.path.join(ROOT, "templates/images.yaml")).read()
        assert "\nprobes: true\n" in catalog
        with open(os.path.join(work, "no-probes.yaml"), "w") as f:
            f.write(catalog.replace("\nprobes: true\n", "\nprobes: false\n"))
        apply = [a.binary, "apply", "-f", os.path.join(work, "hbase.yaml"), "--yes", "--install-crds", "--timeout", "5m"]
        # CRDs and the image cache warmed once, outside the measurement.
        subprocess.run(apply, check=True, stdout=subprocess.DEVNULL)
        gone(a.binary)
        for _ in range(a.rounds):
            times["probes"].append(timed(*apply))
            gone(a.binary)
            times["none"].append(timed(*apply, "--images", os.path.join(work, "no-probes.yaml")))
            gone(a.binary)
    finally:
        subprocess.run([a.binary, "delete", "hbase", "--yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server.terminate()
        subprocess.run(["rm", "-rf", work])
    with_probes, without = statistics.median(times["probes"]), statistics.median(times["none"])
    print(f"apply to Ready, the reference runtime (3 masters, 3 workers, 3 FUSE, mount Job), median of {a.rounds} "
          "interleaved rounds")
    print(f"  without probes   {without:5.1f} s   rounds " + ", ".join(f"{t:.1f}" for t in times["none"]))
    print(f"  with probes      {with_probes:5.1f} s   rounds " + ", ".join(f"{t:.1f}" for t in times["probes"]))
    print(f"  ratio            {with_probes / without:5.2f}   (issue 23 allows 1.20)")


if __name__ == "__main__":
    main()
