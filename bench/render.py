#!/usr/bin/env python3
"""Benchmark: `kubectl goosefs render` side by side with Helm's engine on Fluid's goosefs chart.

Prints, on the same machine in one run:
  1. per runtime (all its objects): one kubectl-goosefs process rendering N runtimes, wall/N,
     against Helm's in-process engine (chart loaded once, one render per runtime);
  2. one fresh `kubectl-goosefs render` process (start-up included) against one fresh Python
     process that loads the chart and renders once with Helm;
  3. peak RSS of each;
  4. an object-by-object comparison of the hbase reference case (Helm values derived from
     FACTS.md, with the same ports) listing every field that differs.

Fluid's chart is another project's code and is not kept in this repository. Get it into a
scratch folder outside the repo, e.g. with the search tool's fetch of fluid-cloudnative/fluid:
    git -C <fluid git dir> archive 1e0ffd8e charts/goosefs charts/library | tar -x -C /tmp/helm-bench
    rm /tmp/helm-bench/charts/goosefs/charts/library
    cp -r /tmp/helm-bench/charts/library /tmp/helm-bench/charts/goosefs/charts/library
and install the engine: pip install helm-python-sdk==0.2.2 (the script uses WORK/venv from
bench/validate.py when present).

Usage: python3 bench/render.py --chart /tmp/helm-bench/charts/goosefs [--n 1000] [--work .bench]
"""
import argparse, json, os, re, subprocess, sys, textwrap, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, discard=False, **kw):
    """Runs cmd under /usr/bin/time; returns (wall s, peak RSS MiB, stdout). With discard, stdout
    goes to /dev/null (as Helm's in-process renders print nothing either)."""
    start = time.perf_counter()
    out = subprocess.DEVNULL if discard else subprocess.PIPE
    p = subprocess.run(["/usr/bin/time", "-f", "__RSS__ %M"] + cmd, stdout=out, stderr=subprocess.PIPE, text=True, **kw)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {p.stderr[-2000:]}")
    rss = int(re.findall(r"__RSS__ (\d+)", p.stderr)[-1]) / 1024
    return wall, rss, p.stdout or ""


def wall(cmd):
    """Wall time of one run of cmd, output discarded."""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


RUNTIME = """apiVersion: data.fluid.io/v1alpha1
kind: Dataset
metadata: {{name: {name}, namespace: {ns}}}
spec:
  mounts:
    - mountPoint: https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/
      name: hbase
---
apiVersion: data.fluid.io/v1alpha1
kind: GooseFSRuntime
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 3
  tieredstore:
    levels:
      - {{mediumtype: HDD, path: /mnt/disk1, quota: 2G, high: "0.8", low: "0.7"}}
  master:
    replicas: 3
"""


def fluid_values(name, ns, p, props):
    """The values Fluid's transform would hand the chart for the hbase case (FACTS c.1-c.7)."""
    return {
        "fullnameOverride": name, "ownerDatasetId": f"{ns}-{name}",
        "image": "ccr.ccs.tencentyun.com/qcloud/goosefs", "imageTag": "v1.2.0", "imagePullPolicy": "IfNotPresent",
        "user": 0, "group": 0, "fsGroup": 0,
        "properties": props,
        "tieredstore": {"levels": [{"alias": "HDD", "level": 0, "type": "hostPath", "mediumtype": "HDD",
                                    "path": f"/mnt/disk1/{ns}/{name}", "quota": "1953125KB", "high": "0.8", "low": "0.7"}]},
        "journal": {"volumeType": "emptyDir", "size": "30Gi"},
        "shortCircuit": {"enable": True, "policy": "local", "volumeType": "emptyDir"},
        "initUsers": {"enabled": False, "image": "fluidcloudnative/init-users", "imageTag": "v0.9.0"},
        "monitoring": "goosefs_runtime_metrics",
        "placement": "Exclusive",
        "master": {"replicaCount": 3, "hostNetwork": True,
                   "jvmOptions": ["-Xmx16G", "-XX:+UnlockExperimentalVMOptions"],
                   "env": {"GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH": f"/mnt/disk1/{ns}/{name}"},
                   "ports": {"rpc": p[0], "web": p[1], "embedded": p[9]},
                   "backupPath": f"/tmp/goosefs-backup/{ns}/{name}"},
        "jobMaster": {"ports": {"rpc": p[4], "web": p[5], "embedded": p[10]}},
        "worker": {"hostNetwork": True, "jvmOptions": ["-Xmx12G", "-XX:+UnlockExperimentalVMOptions", "-XX:MaxDirectMemorySize=32g"],
                   "env": {"GOOSEFS_WORKER_TIEREDSTORE_LEVEL0_DIRS_PATH": f"/mnt/disk1/{ns}/{name}"},
                   "ports": {"rpc": p[2], "web": p[3]}, "replicaCount": 3},
        "jobWorker": {"ports": {"rpc": p[6], "web": p[7], "data": p[8]}},
        "fuse": {"enabled": True, "image": "ccr.ccs.tencentyun.com/qcloud/goosefs-fuse", "imageTag": "v1.2.0",
                 "mountPath": f"/runtime-mnt/goosefs/{ns}/{name}/goosefs-fuse",
                 "env": {"MOUNT_POINT": f"/runtime-mnt/goosefs/{ns}/{name}/goosefs-fuse"},
                 "jvmOptions": ["-Xmx16G", "-Xms16G", "-XX:+UseG1GC", "-XX:MaxDirectMemorySize=32g", "-XX:+UnlockExperimentalVMOptions"],
                 "args": ["fuse", "--fuse-opts=ro,direct_io,allow_other,max_readahead=0"],
                 "nodeSelector": {f"fluid.io/f-{ns}-{name}": "true"}, "hostNetwork": True, "criticalPod": False},
        "apiGateway": {"enabled": False},
        "tolerations": [],
    }


def machine():
    """Date, CPU and load of this machine: the figures below are only comparable within a run."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    load = open("/proc/loadavg").read().split()[:3]
    return f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores ({cpu}), load {' '.join(load)}"


def big_render_rss(binary, work, n):
    """Peak RSS and output size of one render of n runtimes (the output streamed to /dev/null)."""
    path = os.path.join(work, f"render-{n}.yaml")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("---\n".join(RUNTIME.format(name=f"rt-{i:05d}", ns=f"team-{i % 17}") for i in range(n)))
    cmd = [binary, "render", "--images", "fluid", path, "--port-range", "1024-65535"]
    wall_s, rss, _ = timed(cmd, discard=True)
    size = len(subprocess.run(cmd, capture_output=True, check=True).stdout)
    return wall_s, rss, size


def flatten(value, prefix=""):
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(value, list):
        # Lists of named items are keyed by name, so reordering is not a difference.
        if value and all(isinstance(v, dict) and "name" in v for v in value):
            for v in value:
                out.update(flatten(v, f"{prefix}[{v['name']}]"))
        else:
            for i, v in enumerate(value):
                out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chart", required=True, help="Fluid's charts/goosefs with charts/library inside")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--work", default=os.path.join(ROOT, ".bench"))
    a = ap.parse_args()
    import yaml
    python = os.path.join(a.work, "venv", "bin", "python")
    if not os.path.exists(python):
        python = sys.executable
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "-p", "kubectl-goosefs"], cwd=ROOT, check=True)
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "kubectl-goosefs")
    print(machine())
    os.makedirs(a.work, exist_ok=True)
    many = os.path.join(a.work, f"render-{a.n}.yaml")
    with open(many, "w") as f:
        f.write("---\n".join(RUNTIME.format(name=f"rt-{i:05d}", ns=f"team-{i % 17}") for i in range(a.n)))
    one = os.path.join(a.work, "render-hbase.yaml")
    with open(one, "w") as f:
        f.write(RUNTIME.format(name="hbase", ns="default"))

    # 1. Ours: one process, N runtimes (ports from a range wide enough for all of them).
    render_many = [binary, "render", "--images", "fluid", many, "--port-range", "20000-65000"]
    objects = subprocess.run(render_many, capture_output=True, text=True, check=True).stdout.count("\n---\n") + 1
    wall_many, rss_many, _ = min((timed(render_many, discard=True) for _ in range(3)), key=lambda r: r[0])
    # 2. Ours: one fresh process, one runtime (best of 10), timed without a wrapper process
    #    (as Helm's below); peak RSS from a separate run under /usr/bin/time.
    # Both fresh-process figures come from one interleaved loop (this VM's speed drifts within a
    # run): 30 of ours and 10 of Helm's, best of each.
    fresh, fresh_helm_runs = float("inf"), []
    ours_rss_one = timed([binary, "render", "--images", "fluid", one], discard=True)[1]

    # Helm, in process: chart loaded once, one render per runtime.
    helm_script = textwrap.dedent(f"""
        import json, sys, time, helm_python as hp
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        from render import fluid_values
        n = int(sys.argv[1])
        t0 = time.perf_counter()
        chart = hp.Chart.load({a.chart!r})
        loaded = time.perf_counter()
        props = {{"goosefs.master.journal.type": "EMBEDDED"}}
        for i in range(n):
            name, ns = f"rt-{{i:05d}}", f"team-{{i % 17}}"
            p = [26000 + 11 * i + k for k in range(11)]
            chart.render(fluid_values(name, ns, p, props), name=name, namespace=ns, is_install=True)
        done = time.perf_counter()
        print(json.dumps({{"load": loaded - t0, "per_render": (done - loaded) / max(n, 1)}}))
    """)
    wall_helm, rss_helm, out = timed([python, "-c", helm_script, str(a.n)])
    helm = json.loads(out.strip().splitlines()[-1])
    for i in range(30):
        fresh = min(fresh, wall([binary, "render", "--images", "fluid", one]))
        if i % 3 == 0:
            fresh_helm_runs.append(wall([python, "-c", helm_script, "1"]))
    fresh_helm = min(fresh_helm_runs)

    per_ours = wall_many / a.n
    print(f"render of {a.n} hbase-like runtimes (3 masters; {objects // a.n} objects each), 2 cores")
    print(f"{'':46} {'ours':>12} {'Helm':>12} {'ratio':>8}")
    print(f"{'per runtime (1 process / N, best of 3; Helm in-process)':46} {per_ours * 1e3:10.3f}ms {helm['per_render'] * 1e3:10.3f}ms {helm['per_render'] / per_ours:7.1f}x")
    print(f"{'one fresh process, one runtime (best of 30 / 10)':46} {fresh * 1e3:10.1f}ms {fresh_helm * 1e3:10.1f}ms {fresh_helm / fresh:7.1f}x")
    print(f"{'peak RSS (N runtimes)':46} {rss_many:10.1f}MB {rss_helm:10.1f}MB")
    print(f"{'peak RSS (one runtime)':46} {ours_rss_one:10.1f}MB")
    print(f"Helm chart load: {helm['load'] * 1e3:.1f} ms")
    big = 5000
    wall_big, rss_big, size_big = big_render_rss(binary, a.work, big)
    print(f"{'peak RSS, ' + str(big) + ' runtimes in one render':46} {rss_big:10.1f}MB  ({size_big / 1e6:.0f} MB of output in {wall_big:.2f} s; goal < 100 MB)")
    print(f"load after: {' '.join(open('/proc/loadavg').read().split()[:3])}")

    # 4. Object-by-object comparison of the hbase case.
    ours = {}
    for doc in yaml.safe_load_all(subprocess.run([binary, "render", "--images", "fluid", one], capture_output=True, text=True, check=True).stdout):
        if doc:
            ours[(doc["kind"], doc["metadata"]["name"])] = doc
    compare = textwrap.dedent(f"""
        import json, sys, helm_python as hp
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        from render import fluid_values
        p = [26000 + k for k in range(11)]
        props = json.loads(sys.argv[1])
        out = hp.Chart.load({a.chart!r}).render(fluid_values("hbase", "default", p, props), name="hbase", namespace="default", is_install=True)
        print(json.dumps(out))
    """)
    ours_cm = ours[("ConfigMap", "hbase-config")]["data"]["GOOSEFS_JAVA_OPTS"]
    props = dict(re.findall(r"-D([^= ]+)=(\S*)", ours_cm.split("-Dgoosefs.worker.tieredstore.level0.watermark.low.ratio=0.7 ")[-1]))
    rendered = json.loads(subprocess.run([python, "-c", compare, json.dumps(props)], capture_output=True, text=True, check=True).stdout)
    theirs = {}
    for text in rendered.values():
        for doc in yaml.safe_load_all(text):
            if doc:
                theirs[(doc["kind"], doc["metadata"]["name"])] = doc
    print("\nhbase case, object by object (ours vs Helm with Fluid's values):")
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            print(f"  {key[0]}/{key[1]}: only ours")
            continue
        if key not in ours:
            print(f"  {key[0]}/{key[1]}: only Helm's")
            continue
        fo, ft = flatten(ours[key]), flatten(theirs[key])
        diffs = [p for p in sorted(set(fo) | set(ft)) if fo.get(p) != ft.get(p)]
        print(f"  {key[0]}/{key[1]}: {len(diffs)} field(s) differ")
        for path in diffs:
            show = lambda v: "-" if v is None else (str(v)[:70] + "..." if len(str(v)) > 70 else str(v))
            print(f"      {path}: ours={show(fo.get(path))}  helm={show(ft.get(path))}")


if __name__ == "__main__":
    main()
