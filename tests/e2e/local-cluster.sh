#!/usr/bin/env bash
# The seed scenario for real: kubectl-goosefs applies the reference Dataset and GooseFSRuntime
# to the three-node cluster of scripts/local-cluster (real kubelets, our goosefs image), and the
# checks read what the real pods do. Nothing here writes a status: the leading master keeps it.
#
#   tests/e2e/local-cluster.sh BINARY
#
# Needs the cluster up with the images loaded (scripts/local-cluster up && load-images) and
# KUBECONFIG pointing at it. Starts its Web UFS (crates/goosefs/tests/ufs_server.py: a directory
# index, byte ranges, per-path request counts) on the host bridge, 10.88.0.1.
# Every check is counted; all run even after a failure; the exit status is 1 if any failed.
# Prints wall times (apply to Ready, failover) for the closing note and the benchmark.
set -uo pipefail
cd "$(dirname "$0")/../.."

BINARY="$(realpath "$1")"
CLUSTER="${KGFS_CLUSTER:-/tmp/kgfs-cluster}"
WORK="$(mktemp -d)"
UFS_PID=""
trap '[ -n "$UFS_PID" ] && kill "$UFS_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" && ln -s "$BINARY" "$WORK/bin/kubectl-goosefs"
export PATH="$WORK/bin:$PATH" NO_COLOR=1
FUSE_DIR=/runtime-mnt/goosefs/default/hbase/goosefs-fuse/hbase

. tests/e2e/check.sh

# Seconds since the epoch, with milliseconds.
now() { date +%s.%N | cut -c1-14; }
since() { python3 -c "print(f'{$(now) - $1:.1f}')"; }

# The UFS: a few files, one larger than a block (the rendered block size is 256MB).
mkdir -p "$WORK/ufs"
echo "hello from the web UFS" > "$WORK/ufs/small.txt"
head -c 5000000 /dev/urandom > "$WORK/ufs/medium.bin"
head -c 300000000 /dev/urandom > "$WORK/ufs/big.bin"
python3 crates/goosefs/tests/ufs_server.py "$WORK/ufs" "$WORK/ufs.port" 10.88.0.1 &
UFS_PID=$!
for _ in $(seq 50); do [ -s "$WORK/ufs.port" ] && break; sleep 0.1; done
UFS="http://10.88.0.1:$(cat "$WORK/ufs.port")"
export UFS
ufs_gets() { curl -s "$UFS/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin).get('/$1', {}).get('GET', 0))"; }
BIG_SHA=$(sha256sum "$WORK/ufs/big.bin" | cut -d' ' -f1)
SMALL_SHA=$(sha256sum "$WORK/ufs/small.txt" | cut -d' ' -f1)
export BIG_SHA SMALL_SHA WORK FUSE_DIR
export -f ufs_gets

# The reference case (examples/hbase.yaml), its Dataset pointing at this UFS.
HBASE="$WORK/hbase.yaml"
sed "s|https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/|$UFS/|" testdata/hbase/hbase.yaml > "$HBASE"
grep -q "$UFS/" "$HBASE" || { echo "the reference case's mount point was not replaced" >&2; exit 1; }

leader() { kubectl exec "$1" -c goosefs-master -- goosefs fs masterInfo 2>/dev/null | sed -n 's/^current leader master: \(hbase-master-[0-9]\):26000$/\1/p'; }
fuse_pod() { kubectl get pod -l role=goosefs-fuse --field-selector "spec.nodeName=$1" -o name | head -1; }
uids() { kubectl get pod -l "role=$1" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid}{"\n"}{end}' | sort; }
export -f leader fuse_pod uids

echo "== 1. the cluster"
check "kubectl get nodes: three Ready" \
  "test \$(kubectl get nodes --no-headers | awk '\$2==\"Ready\"' | wc -l) = 3"

echo "== 2. plan and apply through kubectl's plugin dispatch"
# 15 objects (the credential Secret first, the masters' ServiceAccount, Role and RoleBinding);
# 17 when the CRDs are already installed (the Dataset and the GooseFSRuntime too).
check "kubectl goosefs plan: everything to create (exit 2 with --detailed-exitcode), its cost, nothing that may not fit" \
  "kubectl goosefs plan $HBASE --detailed-exitcode > $WORK/plan.txt; test \$? = 2 &&
   tail -1 $WORK/plan.txt | grep -Eqx 'Plan: (15|17) to create, 0 to update, 0 to delete, 0 unchanged.' &&
   grep -qx 'cost: default/hbase: cache capacity 5.59GiB (3 workers x 1.86GiB); no MEM tier; host ports per node: master 6, worker 5, FUSE 1' $WORK/plan.txt &&
   ! grep -q '^warning:' $WORK/plan.txt"
# A pod of something else holding the masters' RPC port and the FUSE metrics port on a node (host
# network): plan refuses, naming the node and the pod, before anything is deployed.
cat > "$WORK/squatter.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: squatter}
spec:
  hostNetwork: true
  containers:
    - name: squatter
      image: $(scripts/images name)
      imagePullPolicy: Never
      command: ["sleep", "600"]
      ports: [{containerPort: 26000}, {containerPort: 26011}]
EOF
check "host ports held by another pod: plan refuses, naming the node and the holder for the masters and FUSE" \
  "kubectl apply -f $WORK/squatter.yaml >/dev/null && kubectl wait --for=condition=PodScheduled --timeout=60s pod/squatter >/dev/null &&
   node=\$(kubectl get pod squatter -o jsonpath='{.spec.nodeName}');
   kubectl goosefs plan $HBASE > $WORK/squat.txt 2>&1; code=\$?; cat $WORK/squat.txt | tail -2;
   kubectl delete pod squatter --grace-period=0 --force >/dev/null 2>&1;
   test \$code = 1 && grep -q \"node \$node: host port 26011 (goosefs-fuse/metrics) held by pod default/squatter; the FUSE pod there could never start\" $WORK/squat.txt &&
   grep -q \"StatefulSet/default/hbase-master: 3 master pods need 3 nodes with their host ports free, and only 2 of the 3 selected are: node \$node: host port 26000 (goosefs-master/rpc) held by pod default/squatter\" $WORK/squat.txt"
start=$(now)
check "kubectl goosefs apply -f hbase.yaml --yes waits until Ready" \
  "kubectl goosefs apply -f $HBASE --yes --install-crds --timeout 5m"
APPLY_READY=$(since "$start")
echo "       apply to Ready: ${APPLY_READY} s"

echo "== 3. the pods the real kubelets run"
check "hbase-master-0..2 Running with both containers ready (master, job master)" \
  "for i in 0 1 2; do kubectl get pod hbase-master-\$i --no-headers | grep -Eq ' 2/2 +Running ' || exit 1; done"
check "three hbase-worker-* (worker, job worker) and three hbase-fuse-* Running, one per node" \
  "kubectl wait --for=condition=Ready pod -l 'role in (goosefs-worker,goosefs-fuse)' --timeout=120s >/dev/null &&
   test \$(kubectl get pod -l role=goosefs-worker --no-headers | grep -Ec ' 2/2 +Running ') = 3 &&
   test \$(kubectl get pod -l role=goosefs-fuse --no-headers | grep -Ec ' 1/1 +Running ') = 3 &&
   test \$(kubectl get pod -l role=goosefs-fuse -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort -u | wc -l) = 3"
check "the mount Job is Complete" \
  "kubectl wait --for=condition=complete --timeout=120s job -l role=goosefs-mount"

echo "== 4. phases computed from the real pods"
check "kubectl goosefs status hbase: Ready Ready Ready (exit 0)" \
  "kubectl goosefs status hbase | grep -Eq '^hbase +Ready +Ready +Ready'"
check "kubectl get goosefsruntime hbase: Ready Ready Ready, written by the leading master (within 10 s)" \
  "for _ in \$(seq 50); do kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +Ready +Ready' && break; sleep 0.2; done
   kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +Ready +Ready' &&
   kubectl get goosefsruntime hbase -o jsonpath='{.metadata.managedFields[*].manager}' | tr ' ' '\\n' | grep -qx goosefs-master"

echo "== 5. Raft masters"
check "goosefs fs masterInfo in hbase-master-0 names the leader and all masters" \
  "kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs masterInfo > $WORK/info.txt && cat $WORK/info.txt &&
   grep -Eq '^current leader master: hbase-master-[012]:26000$' $WORK/info.txt &&
   grep -qx 'All masters: \[hbase-master-0:26000, hbase-master-1:26000, hbase-master-2:26000\]' $WORK/info.txt"

check "the seed's step verbatim: bash in hbase-master-0, then goosefs fs masterInfo" \
  "echo 'goosefs fs masterInfo' | kubectl exec -i hbase-master-0 -c goosefs-master -- bash > $WORK/bash.txt && cat $WORK/bash.txt &&
   grep -Eq '^current leader master: hbase-master-[012]:26000$' $WORK/bash.txt"
check "masters, workers and FUSE carry readiness probes, and every master answers /ready" \
  "test \$(kubectl get pods -l 'role in (goosefs-master,goosefs-worker,goosefs-fuse)' -o jsonpath='{range .items[*]}{.spec.containers[0].readinessProbe}{\"\\n\"}{end}' | grep -c . ) = 9 &&
   for i in 0 1 2; do kubectl exec hbase-master-\$i -c goosefs-master -- wget -q -O- http://127.0.0.1:26001/ready | grep -qx ready || exit 1; done"

echo "== 5b. a DataLoad warms the cache before any read"
# Fluid's DataLoad beside the runtime: the loader Job's pod runs `goosefs dataload` and writes the
# DataLoad's status itself (no controller); kubectl get dataload reads as under Fluid.
cat > "$WORK/dataload.yaml" <<EOF
apiVersion: data.fluid.io/v1alpha1
kind: DataLoad
metadata: {name: hbase-warmup}
spec:
  dataset: {name: hbase, namespace: default}
  target:
    - path: /hbase
EOF
start=$(now)
check "apply of the runtime with its DataLoad: the loader runs, kubectl get dataload says Complete with Fluid's columns" \
  "kubectl goosefs apply -f $HBASE -f $WORK/dataload.yaml --yes --timeout 5m > $WORK/apply-load.txt 2>&1 || { cat $WORK/apply-load.txt; exit 1; }
   for _ in \$(seq 300); do test \"\$(kubectl get dataload hbase-warmup -o jsonpath='{.status.phase}')\" = Complete && break; sleep 0.5; done
   kubectl get dataload hbase-warmup > $WORK/dataload.txt; cat $WORK/dataload.txt;
   kubectl logs -l dataload=hbase-warmup --tail=5 2>&1 | sed 's/^/       /';
   head -1 $WORK/dataload.txt | grep -Eqx 'NAME +DATASET +PHASE +AGE +DURATION' &&
   grep -Eq '^hbase-warmup +hbase +Complete +[0-9a-z]+ +[0-9hms]+\$' $WORK/dataload.txt"
LOADED=$(since "$start")
check "every block was fetched from the UFS once, before any read (big.bin: 2 blocks of 256MB)" \
  "echo \"GETs: big \$(ufs_gets big.bin), medium \$(ufs_gets medium.bin), small \$(ufs_gets small.txt)\";
   test \$(ufs_gets big.bin) = 2 && test \$(ufs_gets medium.bin) = 1 && test \$(ufs_gets small.txt) = 1"
check "kubectl goosefs load hbase /hbase: a one-off loader Job, its progress followed to the end (nothing fetched again)" \
  "kubectl goosefs load hbase /hbase --timeout 3m > $WORK/load.txt 2>&1; code=\$?; cat $WORK/load.txt | sed 's/^/       /';
   test \$code = 0 && grep -Eq '^/hbase: 3 files, 290\\.87MB loaded in [0-9.]+s \\([0-9.]+[KMG]?B/s\\)$' $WORK/load.txt &&
   test \$(ufs_gets big.bin) = 2"
check "the first read through FUSE after the load sends no request to the UFS" \
  "test \"\$(kubectl exec \$(fuse_pod kgfs-node-2) -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA &&
   test \$(ufs_gets big.bin) = 2"

echo "== 6. reads through FUSE"
FUSE=$(fuse_pod kgfs-node-1)
export FUSE
check "ls through the FUSE mount lists the UFS files" \
  "kubectl exec $FUSE -- ls $FUSE_DIR | sort | tr '\n' ' ' | grep -qx 'big.bin medium.bin small.txt '"
check "cat of a small file and of a file larger than a block returns the UFS bytes (sha256)" \
  "test \"\$(kubectl exec $FUSE -- cat $FUSE_DIR/small.txt | sha256sum | cut -d' ' -f1)\" = $SMALL_SHA &&
   test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA"
check "a second read sends no request to the UFS" \
  "before=\$(ufs_gets big.bin); test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA &&
   after=\$(ufs_gets big.bin); echo \"GETs \$before -> \$after\"; test \$before -gt 0 && test \$before = \$after"
check "another node's FUSE mount reads the same bytes" \
  "test \"\$(kubectl exec \$(fuse_pod kgfs-node-3) -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA"
check "fsadmin report capacity: three workers, each with the 2G HDD tier" \
  "kubectl exec hbase-master-0 -c goosefs-master -- goosefs fsadmin report capacity > $WORK/cap.txt; cat $WORK/cap.txt;
   test \$(grep -Ec '^10\.88\.0\.1[123] .* capacity +1907\.35MB' $WORK/cap.txt) = 3 &&
   grep -Eq 'Total Capacity: 5\.59GB' $WORK/cap.txt"

echo "== 6b. the status the runtime keeps"
# UFS total: small.txt, medium.bin and big.bin, in Fluid's format (two decimals, binary units).
UFS_TOTAL=$(python3 -c "
import os, sys
n = sum(os.path.getsize(os.path.join('$WORK/ufs', f)) for f in ('small.txt', 'medium.bin', 'big.bin'))
units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; i = 0; x = float(n)
while x >= 1024 and i < len(units) - 1: x /= 1024; i += 1
print('%.2f%s' % (x, units[i]))")
export UFS_TOTAL
check "kubectl get dataset hbase: exactly Fluid's columns, Bound, UFS TOTAL SIZE the UFS files' ($UFS_TOTAL), the big file cached (within 10 s of the reads)" \
  "for _ in \$(seq 50); do kubectl get dataset hbase > $WORK/dataset.txt; grep -Eq '^hbase +$UFS_TOTAL +[0-9.]+(MiB|GiB) ' $WORK/dataset.txt && break; sleep 0.2; done; cat $WORK/dataset.txt
   head -1 $WORK/dataset.txt | grep -Eqx 'NAME +UFS TOTAL SIZE +CACHED +CACHE CAPACITY +CACHED PERCENTAGE +PHASE +AGE' &&
   grep -Eq '^hbase +$UFS_TOTAL +[0-9.]+(MiB|GiB) +5\.59GiB +[0-9.]+% +Bound ' $WORK/dataset.txt &&
   kubectl get dataset hbase -o json | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"status\"]; c=s[\"cacheStates\"][\"cached\"]; n=float(c[:-3])*{\"MiB\":2**20,\"GiB\":2**30}[c[-3:]]; assert n >= 300000000*0.99, c; assert s[\"fileNum\"]==\"3\", s'"
check "kubectl get dataset -o wide: TOTAL FILES 3 and a hit ratio" \
  "kubectl get dataset hbase -o wide > $WORK/dataset-wide.txt; cat $WORK/dataset-wide.txt;
   head -1 $WORK/dataset-wide.txt | grep -q 'TOTAL FILES' && grep -Eq ' 3 ' $WORK/dataset-wide.txt"
check "kubectl goosefs status -o wide: the live cache columns" \
  "kubectl goosefs status hbase -o wide | grep -Eq ' 5\.59GiB +[0-9.]+% '"
check "the FUSE pod's metrics port: reads, bytes and opens counted, labelled with runtime, namespace and role" \
  "kubectl exec $FUSE -- wget -q -O- http://127.0.0.1:\$(kubectl get pod ${FUSE#pod/} -o jsonpath='{.spec.containers[0].ports[?(@.name==\"metrics\")].containerPort}')/metrics > $WORK/fuse-metrics.txt &&
   grep -Eq '^goosefs_fuse_opens_total\\{runtime=\"hbase\",namespace=\"default\",role=\"fuse\",mode=\"(passthrough|served)\"\\} [1-9]' $WORK/fuse-metrics.txt &&
   grep -q '^# TYPE goosefs_fuse_read_seconds histogram' $WORK/fuse-metrics.txt"
check "a worker pod deleted: kubectl get goosefsruntime shows the worker phase change within 10 s" \
  "start=\$(date +%s.%N); kubectl delete pod hbase-worker-2 --wait=false >/dev/null &&
   for _ in \$(seq 100); do kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +PartialReady ' && break; sleep 0.1; done
   kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +PartialReady ' &&
   python3 -c \"import time; t=time.time()-\$start; open('$WORK/followed', 'w').write(f'{t:.1f}'); assert t < 10\""
check "... and back to Ready within 10 s of the new pod's readiness" \
  "for _ in \$(seq 600); do kubectl get pod hbase-worker-2 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' 2>/dev/null | grep -qx True && break; sleep 0.2; done
   start=\$(date +%s.%N)
   for _ in \$(seq 100); do kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +Ready +Ready' && break; sleep 0.1; done
   kubectl get goosefsruntime hbase --no-headers | grep -Eq '^hbase +Ready +Ready +Ready' &&
   python3 -c \"import time; t=time.time()-\$start; open('$WORK/back', 'w').write(f'{t:.1f}'); assert t < 10\""

echo "== 6c. FUSE is ready only while it can serve"
# Every byte comes through a worker: with none left, every FUSE pod turns not ready (its own check
# of the workers' heartbeats; the leader would list them for goosefs.master.worker.timeout).
check "workers scaled to 0: every FUSE pod turns not ready, and --explain quotes its probe" \
  "start=\$(date +%s.%N); kubectl scale statefulset hbase-worker --replicas=0 >/dev/null &&
   for _ in \$(seq 300); do test \"\$(kubectl get daemonset hbase-fuse -o jsonpath='{.status.numberReady}')\" = 0 && break; sleep 0.1; done
   test \"\$(kubectl get daemonset hbase-fuse -o jsonpath='{.status.numberReady}')\" = 0 &&
   python3 -c \"import time; open('$WORK/fuse-unready', 'w').write(f'{time.time()-\$start:.1f}')\" &&
   kubectl goosefs status hbase --explain > $WORK/explain-fuse.txt; cat $WORK/explain-fuse.txt;
   grep -Eq '0/3 FUSE pods ready: pod hbase-fuse-[a-z0-9]+ runs but its readiness probe answers .*no file can be read' $WORK/explain-fuse.txt"
check "... and ready again once the workers are back" \
  "kubectl scale statefulset hbase-worker --replicas=3 >/dev/null &&
   for _ in \$(seq 300); do test \"\$(kubectl get statefulset hbase-worker -o jsonpath='{.status.readyReplicas}') \$(kubectl get daemonset hbase-fuse -o jsonpath='{.status.numberReady}')\" = '3 3' && exit 0; sleep 0.2; done; exit 1"

echo "== 7. a pod reading through the Dataset's PVC"
cat > "$WORK/reader.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: pvc-reader}
spec:
  restartPolicy: Never
  containers:
    - name: reader
      image: $(scripts/images name)
      imagePullPolicy: Never
      command: ["sh", "-c", "sha256sum /data/hbase/big.bin /data/hbase/small.txt"]
      volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: hbase, readOnly: true}
EOF
# The PV controller binds the claim on an event or on its periodic sync (15 s): wait for it, as
# for the pod (a one-shot look failed a CI run that reached this step 8 s sooner than usual).
check "the PVC is Bound and the pod reads the UFS bytes through it" \
  "kubectl wait --for=jsonpath='{.status.phase}'=Bound --timeout=60s pvc/hbase &&
   kubectl apply -f $WORK/reader.yaml >/dev/null &&
   kubectl wait --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s pod/pvc-reader &&
   kubectl logs pvc-reader > $WORK/reader.txt; cat $WORK/reader.txt;
   grep -q \"^$BIG_SHA  /data/hbase/big.bin\$\" $WORK/reader.txt && grep -q \"^$SMALL_SHA  /data/hbase/small.txt\$\" $WORK/reader.txt"
kubectl delete pod pvc-reader --wait=false >/dev/null 2>&1

echo "== 7a. kubectl goosefs inject: an application pointed at the Dataset, offline"
cat > "$WORK/app.yaml" <<EOF
# an application that knows nothing of GooseFS
apiVersion: apps/v1
kind: Deployment
metadata: {name: reader}
spec:
  selector: {matchLabels: {app: reader}}
  template:
    metadata: {labels: {app: reader}}
    spec:
      containers:
      - name: reader
        image: $(scripts/images name)
        imagePullPolicy: Never
        command: ["sleep", "3600"]
EOF
check "the injected Deployment (its comment kept) runs and its pod reads the Dataset's bytes" \
  "kubectl goosefs inject -f $WORK/app.yaml --dataset hbase --runtime $HBASE > $WORK/app.injected.yaml &&
   head -1 $WORK/app.injected.yaml | grep -qx '# an application that knows nothing of GooseFS' &&
   kubectl apply -f $WORK/app.injected.yaml >/dev/null &&
   kubectl rollout status deployment/reader --timeout=120s >/dev/null &&
   pod=\$(kubectl get pods -l app=reader -o jsonpath='{.items[0].metadata.name}') &&
   test \"\$(kubectl exec \$pod -- sha256sum /data/hbase/big.bin | cut -d' ' -f1)\" = $BIG_SHA"
kubectl delete deployment reader --wait=false >/dev/null 2>&1

echo "== 7b. a pod with the runtime's ConfigMap but not its Secret"
cat > "$WORK/intruder.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: intruder}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers:
    - name: intruder
      image: $(scripts/images name)
      imagePullPolicy: Never
      command: ["sleep", "600"]
      envFrom: [{configMapRef: {name: hbase-config}}]
EOF
kubectl apply -f "$WORK/intruder.yaml" >/dev/null
check "the intruder pod runs (the runtime's ConfigMap, host network, our image)" \
  "kubectl wait --for=condition=Ready --timeout=60s pod/intruder"
check "its goosefs CLI cannot list, read, mkdir or mount: exit 5, no bytes" \
  "for cmd in 'fs ls /hbase' 'fs cat /hbase/small.txt' 'fs mkdir /pwned' 'fs mount /pwn local:///'; do
     kubectl exec intruder -- goosefs \$cmd > $WORK/intruder.out 2>&1; rc=\$?; cat $WORK/intruder.out;
     test \$rc = 5 && grep -q 'has no public keys' $WORK/intruder.out && ! grep -q 'hello from the web UFS' $WORK/intruder.out || exit 1;
   done"
printf 'GFSD\000\000\000\004id=1' > "$WORK/block-request"
check "raw requests to the master's RPC and journal ports answer 401; the worker's block port refuses" \
  "kubectl exec intruder -- wget -q -O- 'http://hbase-master-0:26000/api/v1/fs/list?path=/hbase' 2>&1 | grep -q '401 Unauthorized' &&
   kubectl exec intruder -- wget -q -O- --post-data='{}' --header='Content-Type: application/json' http://hbase-master-1:26009/raft/vote 2>&1 | grep -q '401 Unauthorized' &&
   kubectl exec -i intruder -- nc -w 3 10.88.0.11 26002 < $WORK/block-request | grep -aq 'unauthenticated: block read'"
check "nothing the intruder tried exists; the refusals are counted in /metrics" \
  "! kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs ls / | grep -q pwn &&
   for i in 0 1 2; do kubectl exec intruder -- wget -q -O- http://hbase-master-\$i:26001/metrics; done |
     awk '/^goosefs_auth_refused_total/ {n += \$2} END {exit !(n >= 2)}'"
kubectl delete pod intruder --wait=false >/dev/null 2>&1

echo "== 8. leader failover"
OLD=$(leader hbase-master-0)
OTHER=hbase-master-0; [ "$OLD" = hbase-master-0 ] && OTHER=hbase-master-1
OLD_UID=$(kubectl get pod "$OLD" -o jsonpath='{.metadata.uid}')
start=$(now)
kubectl delete pod "$OLD" --wait=false >/dev/null
NEW=""
for _ in $(seq 300); do
  NEW=$(leader "$OTHER")
  [ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && break
  sleep 0.2
done
FAILOVER=$(since "$start")
echo "       leader $OLD deleted; new leader $NEW after ${FAILOVER} s"
export OLD OLD_UID NEW
check "a new leader is elected after the leader pod is deleted" "test -n '$NEW' && test '$NEW' != '$OLD'"
check "the StatefulSet recreates the pod and it runs again" \
  "for _ in \$(seq 120); do uid=\$(kubectl get pod $OLD -o jsonpath='{.metadata.uid}' 2>/dev/null);
     test -n \"\$uid\" && test \"\$uid\" != $OLD_UID && kubectl get pod $OLD --no-headers | grep -Eq ' 2/2 +Running ' && exit 0; sleep 1; done; exit 1"
check "the recreated master (empty journal) rejoins: it answers with the same leader and all masters" \
  "for _ in \$(seq 60); do kubectl exec $OLD -c goosefs-master -- goosefs fs masterInfo > $WORK/rejoin.txt 2>&1 &&
     grep -q \"current leader master: \$(leader $OTHER):26000\" $WORK/rejoin.txt && exit 0; sleep 1; done; cat $WORK/rejoin.txt; exit 1"
check "reads keep working after the failover (sha256 through FUSE)" \
  "test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/medium.bin | cut -d' ' -f1)\" = $(sha256sum "$WORK/ufs/medium.bin" | cut -d' ' -f1) &&
   test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA"

echo "== 8b. every master pod deleted at once (emptyDir journals: all lost)"
# Nothing mounts by hand here and no mount Job runs again: the new leader mounts the Dataset's
# declared mounts itself.
kubectl get pods -l role=goosefs-mount -o name | sort > "$WORK/mount-pods.before"
uids goosefs-master > "$WORK/masters.lost"
# A file the old masters never listed: only a listing by the new leader can serve it.
echo "read only after every master was lost" > "$WORK/ufs/fresh.txt"
start=$(now)
kubectl delete pod hbase-master-0 hbase-master-1 hbase-master-2 --wait=false >/dev/null
SERVED=""
for _ in $(seq 360); do
  if kubectl exec "$FUSE" -- cat "$FUSE_DIR/fresh.txt" 2>/dev/null | grep -q "every master was lost"; then
    SERVED=$(since "$start"); break
  fi
  sleep 0.5
done
echo "       all masters deleted; the Dataset served again through FUSE after ${SERVED:-never} s"
if [ -z "$SERVED" ] || python3 -c "import sys; sys.exit(not float('$SERVED') > 60)"; then
  # Slow: what each new master did, for the log.
  for i in 0 1 2; do echo "       -- hbase-master-$i"; kubectl logs hbase-master-$i -c goosefs-master --timestamps 2>&1 | head -30 | sed 's/^/       /'; done
  kubectl get pods -o wide | sed 's/^/       /'
fi
export SERVED
# The time is printed for the closing note (issue 22's goal is 60 s; here the kubelets take 10-50 s
# to finish deleting a pod): a speed goal is a measurement, not a timed check.
check "the Dataset's files read again through the existing FUSE mounts, with no mount by hand" \
  "test -n '$SERVED'"
check "every master pod was recreated (new journals) and a leader leads them" \
  "uids goosefs-master > $WORK/masters.new; test \$(comm -12 $WORK/masters.lost $WORK/masters.new | wc -l) = 0 &&
   test -n \"\$(leader hbase-master-0)\""
check "the files read and list as before (sha256 through FUSE)" \
  "test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA &&
   kubectl exec $FUSE -- ls $FUSE_DIR | grep -qx medium.bin"
check "kubectl goosefs status hbase: Ready Ready Ready again" \
  "for _ in \$(seq 60); do kubectl goosefs status hbase | grep -Eq '^hbase +Ready +Ready +Ready' && exit 0; sleep 1; done; exit 1"
check "no mount Job ran again" \
  "kubectl get pods -l role=goosefs-mount -o name | sort | diff $WORK/mount-pods.before -"

echo "== 8c. a journal on a volume survives every master pod deleted at once"
# The masters' journal on a hostPath outside the per-node directories: one directory the three
# nodes share, as an RWX claim (NFS, CephFS) would be. Each master keeps its journal in
# /journal/<pod name>, so whichever node a master lands on, it finds its own.
JOURNAL_HOST=/var/lib/kgfs-e2e/hbase-journal
rm -rf "$JOURNAL_HOST"
JOURNALED="$WORK/journaled.yaml"
python3 - "$HBASE" "$JOURNALED" "$JOURNAL_HOST" <<'PY'
import sys
src, dst, host = sys.argv[1:4]
text = open(src).read()
marker = "\n  master:\n"
assert marker in text, "the reference case has a master section"
text = text.replace(marker, f"\n  volumes:\n    - name: journal\n      hostPath: {{path: {host}, type: DirectoryOrCreate}}{marker}"
                    "    volumeMounts:\n      - {name: journal, mountPath: /journal}\n", 1)
open(dst, "w").write(text)
PY
check "apply of the runtime with its journal on a volume (the masters roll one by one)" \
  "kubectl goosefs apply -f $JOURNALED --yes --timeout 5m && kubectl rollout status statefulset hbase-master --timeout=300s >/dev/null &&
   test -n \"\$(kubectl get statefulset hbase-master -o jsonpath='{.spec.template.spec.volumes[?(@.name==\"journal\")].hostPath.path}')\""
check "fs mkdir /kept, journaled on the volume by every master" \
  "for _ in \$(seq 60); do kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs mkdir /kept >/dev/null 2>&1 && break; sleep 1; done;
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs ls / | grep -q ' /kept\$' &&
   for i in 0 1 2; do test -d $JOURNAL_HOST/hbase-master-\$i || exit 1; done"
uids goosefs-master > "$WORK/masters.journaled"
kubectl delete pod hbase-master-0 hbase-master-1 hbase-master-2 --wait=false >/dev/null
check "every master pod was recreated and a leader leads them" \
  "for _ in \$(seq 240); do uids goosefs-master > $WORK/masters.after; test \$(comm -12 $WORK/masters.journaled $WORK/masters.after | wc -l) = 0 &&
     test -n \"\$(leader hbase-master-0)\" && exit 0; sleep 1; done; exit 1"
check "the directory made by hand survived in the journals on the volume" \
  "for _ in \$(seq 60); do kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs ls / 2>/dev/null | grep -q ' /kept\$' && exit 0; sleep 1; done; exit 1"
check "the Dataset still reads through FUSE (sha256)" \
  "test \"\$(kubectl exec $FUSE -- sha256sum $FUSE_DIR/big.bin | cut -d' ' -f1)\" = $BIG_SHA"
# The runtime from here on is the journaled one (a later apply must not roll the masters back).
HBASE="$JOURNALED"

echo "== 9. a quota change rolls the workers only"
LEADER=$(leader hbase-master-0)
uids goosefs-master > "$WORK/masters.before"
uids goosefs-worker > "$WORK/workers.before"
sed 's/quota: 2G/quota: 3G/' "$HBASE" > "$WORK/quota.yaml"
check "apply of the new quota" "kubectl goosefs apply -f $WORK/quota.yaml --yes --timeout 5m"
# apply waits for Fluid's phases (ready counts), not for the rolling update to finish.
check "every worker pod was replaced and runs the new quota" \
  "kubectl rollout status statefulset hbase-worker --timeout=300s >/dev/null; uids goosefs-worker > $WORK/workers.after; cat $WORK/workers.after;
   test \$(comm -12 $WORK/workers.before $WORK/workers.after | wc -l) = 0 &&
   test \$(kubectl get pod -l role=goosefs-worker --no-headers | grep -Ec ' 2/2 +Running ') = 3 &&
   kubectl get configmap hbase-config -o jsonpath='{.data.GOOSEFS_JAVA_OPTS}' | grep -q 'level0.dirs.quota=3000000000 '"
check "the masters kept their pods and their leader" \
  "uids goosefs-master | diff $WORK/masters.before - && test \"\$(leader hbase-master-0)\" = $LEADER"

echo "== 9b. the credential is in its Secret only"
kubectl goosefs render "$HBASE" > "$WORK/render.yaml"
for p in $(kubectl get pods -o name); do kubectl logs "$p" --all-containers 2>/dev/null; done > "$WORK/logs.txt"
kubectl get secret hbase-credential -o json |
  python3 -c 'import json,sys,base64; [print(l) for v in json.load(sys.stdin)["data"].values() for l in base64.b64decode(v).decode().split()]' > "$WORK/keys.txt"
check "the Secret holds 8 keys, and none is in render's output, the plan, any pod's log or any process's arguments" \
  "test \$(wc -l < $WORK/keys.txt) = 8 && test -s $WORK/logs.txt &&
   ! grep -F -f $WORK/keys.txt $WORK/render.yaml $WORK/plan.txt $WORK/logs.txt &&
   ! cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | grep -F -f $WORK/keys.txt"

echo "== 9c. metadata backup and restore: kubectl goosefs backup, then dataRestoreLocation"
# A claim on a directory the three nodes share, as an RWX claim (NFS, CephFS) would be.
BACKUP_HOST=/var/lib/kgfs-e2e/backups
rm -rf "$BACKUP_HOST" && mkdir -p "$BACKUP_HOST"
cat > "$WORK/backups.yaml" <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: kgfs-e2e-backups}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: $BACKUP_HOST, type: Directory}
  claimRef: {namespace: default, name: backups}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: backups}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  volumeName: kgfs-e2e-backups
  resources: {requests: {storage: 1Gi}}
EOF
RESTORING="$WORK/restoring.yaml"
python3 - "$HBASE" "$RESTORING" <<'PY'
import sys
src, dst = sys.argv[1:3]
text = open(src).read()
marker = "kind: Dataset\nmetadata:\n  name: hbase\nspec:\n"
assert marker in text, "the reference case's Dataset"
open(dst, "w").write(text.replace(marker, marker + '  dataRestoreLocation: {path: "pvc://backups/hbase/"}\n', 1))
PY
check "directories and a second mount, backed up into a claim by kubectl goosefs backup" \
  "kubectl apply -f $WORK/backups.yaml >/dev/null &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs mkdir /restored-dir >/dev/null &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs mkdir /restored-dir/inner >/dev/null &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs mount /second $UFS/ >/dev/null &&
   kubectl goosefs backup hbase --to pvc://backups/hbase/ --timeout 3m > $WORK/backup.txt; cat $WORK/backup.txt;
   grep -q '^backed up: pvc://backups/hbase/metadata-backup-hbase-default.gz' $WORK/backup.txt &&
   gzip -t $BACKUP_HOST/hbase/metadata-backup-hbase-default.gz"
cat > "$WORK/databackup.yaml" <<EOF
---
apiVersion: data.fluid.io/v1alpha1
kind: DataBackup
metadata: {name: nightly}
spec:
  dataset: hbase
  backupPath: pvc://backups/nightly/
EOF
check "a DataBackup applied with the runtime: its Job backs up, kubectl get databackup shows Fluid's columns, Complete" \
  "cat $WORK/quota.yaml $WORK/databackup.yaml > $WORK/with-backup.yaml &&
   kubectl goosefs apply -f $WORK/with-backup.yaml --yes --install-crds --timeout 5m >/dev/null &&
   for _ in \$(seq 120); do kubectl get databackup nightly -o jsonpath='{.status.phase}' | grep -qx Complete && break; sleep 1; done;
   kubectl get databackup nightly > $WORK/databackup.txt; cat $WORK/databackup.txt;
   head -1 $WORK/databackup.txt | grep -Eqx 'NAME +DATASET +PHASE +PATH +NODENAME +DURATION +AGE' &&
   grep -Eq '^nightly +hbase +Complete +pvc://backups/nightly/ +kgfs-node-[123] +[0-9]+s ' $WORK/databackup.txt &&
   gzip -t $BACKUP_HOST/nightly/metadata-backup-hbase-default.gz"
check "deleted, then applied with dataRestoreLocation: the new masters restore the directories and the mount" \
  "kubectl goosefs delete hbase --yes --timeout 3m >/dev/null &&
   for _ in \$(seq 120); do test -z \"\$(kubectl get pods -l app=goosefs -o name)\" && break; sleep 1; done &&
   kubectl goosefs apply -f $RESTORING --yes --timeout 5m >/dev/null &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs ls / > $WORK/restored.txt; cat $WORK/restored.txt;
   grep -q ' /restored-dir\$' $WORK/restored.txt && grep -q ' /second\$' $WORK/restored.txt &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs ls /restored-dir | grep -q ' /restored-dir/inner\$' &&
   kubectl exec hbase-master-0 -c goosefs-master -- goosefs fs mount | grep -Eq ' on +/second +[(]'"
# Ready within a minute, as after losing every master (section 8). The status and the sum are
# printed on failure: one CI run failed here once, with the status exit code hidden.
check "the restored runtime is Ready and still reads the Dataset (sha256 through FUSE)" \
  "for _ in \$(seq 60); do kubectl goosefs status hbase > $WORK/restored-status.txt 2>&1 && break; sleep 1; done;
   cat $WORK/restored-status.txt; kubectl goosefs status hbase >/dev/null &&
   sum=\$(kubectl exec \$(fuse_pod kgfs-node-1) -- sha256sum $FUSE_DIR/small.txt | cut -d' ' -f1); echo \"sha256: \$sum\";
   test \"\$sum\" = $SMALL_SHA"

echo "== 10. delete"
check "kubectl goosefs delete hbase --yes" "kubectl goosefs delete hbase --yes --timeout 3m"
check "no pod, Job, PV, PVC or Secret of ours is left" \
  "for _ in \$(seq 120); do test -z \"\$(kubectl get pods,jobs,statefulsets,daemonsets,pv,pvc,configmaps,secrets -l app.kubernetes.io/managed-by=kubectl-goosefs -o name)\" &&
     test -z \"\$(kubectl get pods --no-headers 2>/dev/null)\" && exit 0; sleep 1; done; kubectl get pods,pv,pvc; exit 1"
check "no FUSE mount is left on any node" \
  "for i in 1 2 3; do ! grep -E ' /runtime-mnt/[^ ]* .* - fuse' /proc/\$(cat $CLUSTER/node-\$i/dockerd.pid)/mountinfo || exit 1; done"

echo
echo "times: apply to Ready ${APPLY_READY} s; leader failover ${FAILOVER} s; served again after every master was lost ${SERVED:-never} s;" \
  "status followed a deleted worker in $(cat "$WORK/followed" 2>/dev/null || echo -) s, Ready again $(cat "$WORK/back" 2>/dev/null || echo -) s after its pod;" \
  "FUSE not ready $(cat "$WORK/fuse-unready" 2>/dev/null || echo -) s after its workers went; DataLoad applied and Complete in ${LOADED:-} s"
finish "the seed scenario on three real nodes"
