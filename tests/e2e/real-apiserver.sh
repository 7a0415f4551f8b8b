#!/usr/bin/env bash
# End-to-end checks of kubectl-goosefs against a real kube-apiserver (scripts/real-apiserver),
# through the real kubectl's plugin dispatch. There are no controllers: the checks write the
# workloads' status themselves, as the StatefulSet/DaemonSet controllers would.
#
#   tests/e2e/real-apiserver.sh BINARY KUBECONFIG [NOBODY_KUBECONFIG]
#
# NOBODY_KUBECONFIG is a user without RBAC rights (403 checks; skipped and said so if absent).
# The runtime's own status writes are checked when the goosefs binary lies beside BINARY and the
# kubeconfig's directory holds serviceaccount/{token,ca.crt} for default/hbase-master
# (scripts/real-apiserver writes it): three real masters then run against the server.
# Every check is counted; all run even after a failure; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

BINARY="$(realpath "$1")"
export KUBECONFIG="$(realpath "$2")"
NOBODY="${3:-}"
HBASE=testdata/hbase/hbase.yaml
WORK="$(mktemp -d)"
GOOSEFS="$(dirname "$BINARY")/goosefs"
ACCOUNT="$(dirname "$KUBECONFIG")/serviceaccount"
stop_masters() { [ -f "$WORK/masters.pids" ] && kill $(cat "$WORK/masters.pids") 2>/dev/null; rm -f "$WORK/masters.pids"; }
trap 'stop_masters; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" && ln -s "$BINARY" "$WORK/bin/kubectl-goosefs"
"$BINARY" completion kubectl > "$WORK/bin/kubectl_complete-goosefs" && chmod +x "$WORK/bin/kubectl_complete-goosefs"
export PATH="$WORK/bin:$PATH" NO_COLOR=1

. tests/e2e/check.sh

echo "== kubectl and its plugin dispatch"
check "kubectl plugin list finds kubectl-goosefs" \
  "kubectl plugin list 2>/dev/null | grep -x '$WORK/bin/kubectl-goosefs'"
check "kubectl goosefs version" "kubectl goosefs version | grep -q '^kubectl-goosefs $("$BINARY" version | head -1 | cut -d' ' -f2)'"
check "kubectl goosefs validate (exit 0)" "kubectl goosefs validate $HBASE"

echo "== plan and apply on an empty cluster"
check "plan: 15 to create (the credential Secret first, without data), exit 2 with --detailed-exitcode" \
  "kubectl goosefs plan $HBASE --detailed-exitcode > $WORK/plan.txt; test \$? = 2 && tail -1 $WORK/plan.txt | grep -qx 'Plan: 15 to create, 0 to update, 0 to delete, 0 unchanged.' &&
   grep -qx 'create Secret/default/hbase-credential' $WORK/plan.txt && ! grep -q 'stringData' $WORK/plan.txt"
check "plan wrote nothing" "test -z \"\$(kubectl get configmaps,statefulsets -l app.kubernetes.io/instance=hbase -o name)\""
check "apply --install-crds creates everything (no wait)" \
  "kubectl goosefs apply $HBASE --yes --install-crds --wait=false | grep -q 'DaemonSet/default/hbase-fuse created'"
check "the CRDs are Established" \
  "kubectl wait --for condition=established --timeout=20s crd/goosefsruntimes.data.fluid.io crd/datasets.data.fluid.io"
check "objects exist: 2 ConfigMaps, the masters' ServiceAccount, Role and RoleBinding, 3 Services, 2 StatefulSets, Job, DaemonSet, PV, PVC; the credential Secret holds 8 keys" \
  "test \"\$(kubectl get configmaps,serviceaccounts,roles,rolebindings,services,statefulsets,jobs,daemonsets,pvc -l app.kubernetes.io/instance=hbase -o name | wc -l)\" = 13 && kubectl get pv default-hbase -o name &&
   test \"\$(kubectl get secret hbase-credential -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"data\"]))')\" = 8"
check "master Services keep protocol TCP (1.20 rejects apply of ports without it)" \
  "test \"\$(kubectl get service hbase-master-0 -o jsonpath='{.spec.ports[*].protocol}' | tr ' ' '\n' | sort -u)\" = TCP"
check "plan after apply: no changes despite the server's defaults (exit 0)" \
  "kubectl goosefs plan $HBASE --detailed-exitcode | tail -1 | grep -qx 'Plan: 0 to create, 0 to update, 0 to delete, 16 unchanged.'"
check "status: NotReady before any pod runs (exit 3)" \
  "kubectl goosefs status hbase > $WORK/status.txt; test \$? = 3 && grep -Eq '^hbase +NotReady +NotReady +Ready ' $WORK/status.txt"

echo "== readiness (written as the controllers would)"
kubectl goosefs status hbase --watch > "$WORK/watch.txt" 2>&1 &
WATCHER=$!
sleep 1
kubectl patch statefulset hbase-master --subresource=status --type=merge -p '{"status":{"replicas":3,"readyReplicas":3,"currentReplicas":3}}' >/dev/null
kubectl patch statefulset hbase-worker --subresource=status --type=merge -p '{"status":{"replicas":3,"readyReplicas":3,"currentReplicas":3}}' >/dev/null
kubectl patch daemonset hbase-fuse --subresource=status --type=merge -p '{"status":{"desiredNumberScheduled":2,"currentNumberScheduled":2,"numberReady":2,"numberMisscheduled":0}}' >/dev/null
# The mount Job's completion, as the Job controller records it: the Dataset is Bound only after it.
kubectl patch "$(kubectl get job -l role=goosefs-mount -o name)" --subresource=status --type=merge \
  -p '{"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}}' >/dev/null
check "status --watch (a real watch) printed a row as the workloads became ready" \
  "for _ in \$(seq 50); do grep -Eq '^hbase +Ready +Ready +Ready ' $WORK/watch.txt && break; sleep 0.1; done
   kill $WATCHER; grep -Eq '^hbase +NotReady +NotReady +Ready ' $WORK/watch.txt && grep -Eq '^hbase +Ready +Ready +Ready ' $WORK/watch.txt"
check "status -o wide: Ready with 3/3 masters, 3/3 workers, 2/2 fuses (exit 0)" \
  "kubectl goosefs status hbase -o wide | grep -Eq '^hbase +3 +3 +Ready +3 +3 +Ready +2 +2 +Ready '"
check "kubectl completes 'kubectl goosefs status <TAB>' with the runtime's name" \
  "kubectl __complete goosefs status '' 2>/dev/null | grep -qx hbase"
check "status lists the Raft embedded-journal addresses" \
  "kubectl goosefs status hbase | grep -q 'Raft embedded journal hbase-master-0:26009,hbase-master-1:26009,hbase-master-2:26009'"
check "apply with nothing to change writes no status: the runtime keeps it" \
  "kubectl goosefs apply $HBASE --yes | tail -1 | grep -qx 'Nothing to apply.'"

echo "== the status the runtime keeps (three real masters, as the masters' service account)"
if [ -x "$GOOSEFS" ] && [ -s "$ACCOUNT/token" ]; then
  # The masters as their pods run them: the applied ConfigMap and master container environment,
  # the credential Secret's items, on loopback addresses a hosts file names hbase-master-<i>.
  python3 - "$WORK" "$GOOSEFS" "$ACCOUNT" "$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')" <<'EOF'
import base64, json, os, subprocess, sys
work, goosefs, account, server = sys.argv[1:]
get = lambda *a: json.loads(subprocess.check_output(["kubectl", "get", *a, "-o", "json"]))
config = get("configmap", "hbase-config")["data"]
container = get("statefulset", "hbase-master")["spec"]["template"]["spec"]["containers"][0]
credential = os.path.join(work, "credential")
os.makedirs(credential, exist_ok=True)
for key, value in get("secret", "hbase-credential")["data"].items():
    open(os.path.join(credential, key), "wb").write(base64.b64decode(value))
ips = ["127.0.88.%d" % (10 + i) for i in range(3)]
open(os.path.join(work, "hosts"), "w").write("".join("%s hbase-master-%d\n" % (ip, i) for i, ip in enumerate(ips)))
pids = []
for i, ip in enumerate(ips):
    env = {"PATH": os.environ["PATH"], **config}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[var["name"]] = "default"
    env.update({
        "GOOSEFS_MASTER_HOSTNAME": "hbase-master-%d" % i,
        "GOOSEFS_MASTER_JAVA_OPTS": env.get("GOOSEFS_MASTER_JAVA_OPTS", "")
            + " -Dgoosefs.master.bind.host=%s -Dgoosefs.master.journal.folder=%s/journal-%d" % (ip, work, i),
        "GOOSEFS_HOSTS_FILE": os.path.join(work, "hosts"),
        "GOOSEFS_CREDENTIAL_DIR": credential,
        "GOOSEFS_KUBE_API_URL": server,
        "GOOSEFS_KUBE_SERVICE_ACCOUNT": account,
    })
    log = open(os.path.join(work, "master-%d.log" % i), "w")
    pids.append(subprocess.Popen([goosefs, "master-only", "--no-format"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=log, start_new_session=True).pid)
open(os.path.join(work, "masters.pids"), "w").write(" ".join(map(str, pids)))
EOF
  check "the leading master writes the GooseFSRuntime's status: kubectl get goosefsruntime reads Ready Ready Ready" \
    "for _ in \$(seq 100); do kubectl get goosefsruntime hbase 2>/dev/null | grep -Eq '^hbase +Ready +Ready +Ready ' && break; sleep 0.2; done
     kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +Ready +Ready ' && kubectl get goosefsruntime hbase -o jsonpath='{.status.valueFile}' | grep -qx hbase-config"
  check "kubectl get dataset: exactly Fluid's columns; NotBound, the UFS unreachable from here ([Calculating] size)" \
    "for _ in \$(seq 100); do kubectl get dataset hbase -o jsonpath='{.status.phase}' | grep -qx NotBound && break; sleep 0.2; done
     kubectl get dataset hbase > $WORK/dataset.txt && head -1 $WORK/dataset.txt | grep -Eqx 'NAME +UFS TOTAL SIZE +CACHED +CACHE CAPACITY +CACHED PERCENTAGE +PHASE +AGE' &&
     grep -Eq '^hbase +\[Calculating\] +0.00B +0.00B +NotBound ' $WORK/dataset.txt"
  check "kubectl get dataload: Fluid's columns (DATASET, PHASE, AGE, DURATION) from the installed CRD, the phase and duration as a loader writes them" \
    "printf 'apiVersion: data.fluid.io/v1alpha1\\nkind: DataLoad\\nmetadata: {name: warm}\\nspec:\\n  dataset: {name: hbase}\\n' | kubectl apply -f - >/dev/null &&
     kubectl patch dataload warm --subresource=status --type=merge -p '{\"status\": {\"phase\": \"Complete\", \"duration\": \"1m5s\", \"conditions\": []}}' >/dev/null &&
     kubectl get dataload warm > $WORK/dataload.txt && cat $WORK/dataload.txt && head -1 $WORK/dataload.txt | grep -Eqx 'NAME +DATASET +PHASE +AGE +DURATION' &&
     grep -Eq '^warm +hbase +Complete +[0-9a-z]+ +1m5s$' $WORK/dataload.txt && kubectl delete dataload warm >/dev/null"
  check "kubectl get databackup: Fluid's columns (DATASET, PHASE, PATH, NODENAME, DURATION, AGE) from the installed CRD" \
    "printf 'apiVersion: data.fluid.io/v1alpha1\\nkind: DataBackup\\nmetadata: {name: nightly}\\nspec:\\n  dataset: hbase\\n  backupPath: pvc://backups/hbase/\\n' | kubectl apply -f - >/dev/null &&
     kubectl patch databackup nightly --subresource=status --type=merge -p '{\"status\": {\"phase\": \"Complete\", \"duration\": \"4s\", \"conditions\": [], \"infos\": {\"BackupLocationPath\": \"pvc://backups/hbase/\", \"BackupLocationNodeName\": \"NA\"}}}' >/dev/null &&
     kubectl get databackup nightly > $WORK/databackup.txt && cat $WORK/databackup.txt && head -1 $WORK/databackup.txt | grep -Eqx 'NAME +DATASET +PHASE +PATH +NODENAME +DURATION +AGE' &&
     grep -Eq '^nightly +hbase +Complete +pvc://backups/hbase/ +NA +4s +[0-9a-z]+$' $WORK/databackup.txt && kubectl delete databackup nightly >/dev/null"
  check "the Dataset's Ready condition names the mount that failed, with the UFS's answer (within 30 s)" \
    "for _ in \$(seq 150); do kubectl get dataset hbase -o jsonpath='{.status.conditions[0].message}' | grep -q '^cannot mount ' && break; sleep 0.2; done
     kubectl get dataset hbase -o jsonpath='{.status.conditions[0].message}' | grep -q '^cannot mount https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/ at /hbase: '"
  check "status --explain names it; status is not ready (exit 3)" \
    "kubectl goosefs status hbase --explain > $WORK/explain.txt; test \$? = 3 && grep -q 'hbase: Dataset Ready: cannot mount ' $WORK/explain.txt"
  check "status -o wide: the live cache columns" \
    "kubectl goosefs status hbase -o wide | head -1 | grep -q 'CACHED   CAPACITY   CACHED %   HIT RATIO'"
  check "a worker no longer ready: the runtime's status follows within 10 s" \
    "kubectl patch statefulset hbase-worker --subresource=status --type=merge -p '{\"status\":{\"readyReplicas\":0}}' >/dev/null &&
     for _ in \$(seq 50); do kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +NotReady ' && break; sleep 0.2; done
     kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +NotReady '"
  check "and back to Ready within 10 s" \
    "kubectl patch statefulset hbase-worker --subresource=status --type=merge -p '{\"status\":{\"readyReplicas\":3}}' >/dev/null &&
     for _ in \$(seq 50); do kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +Ready ' && break; sleep 0.2; done
     kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +Ready '"
  check "the leader is killed: the new leader keeps the status (a worker's readiness followed within 10 s, transition times kept)" \
    "before=\$(kubectl get goosefsruntime hbase -o jsonpath='{.status.conditions[?(@.type==\"MasterInitialized\")].lastTransitionTime}') &&
     leader=\$(for i in 0 1 2; do curl -s --max-time 2 http://127.0.88.1\$i:26001/api/v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"role\"])' 2>/dev/null | grep -qx leader && echo \$i; done | head -1) &&
     test -n \"\$leader\" && kill \$(cut -d' ' -f\$((leader + 1)) $WORK/masters.pids) &&
     kubectl patch statefulset hbase-worker --subresource=status --type=merge -p '{\"status\":{\"readyReplicas\":0}}' >/dev/null &&
     for _ in \$(seq 50); do kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +NotReady ' && break; sleep 0.2; done
     kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +NotReady ' &&
     kubectl patch statefulset hbase-worker --subresource=status --type=merge -p '{\"status\":{\"readyReplicas\":3}}' >/dev/null &&
     for _ in \$(seq 50); do kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +Ready ' && break; sleep 0.2; done
     kubectl get goosefsruntime hbase | grep -Eq '^hbase +Ready +Ready ' &&
     test \"\$(kubectl get goosefsruntime hbase -o jsonpath='{.status.conditions[?(@.type==\"MasterInitialized\")].lastTransitionTime}')\" = \"\$before\""
  TOKEN="$(cat "$ACCOUNT/token")"
  check "the masters' account: 403 for the spec, another runtime's status, pods, Secrets (RBAC of the rendered Role)" \
    "! kubectl --token $TOKEN patch goosefsruntime hbase --type merge -p '{\"spec\":{\"replicas\":2}}' 2>$WORK/rbac.txt && grep -q Forbidden $WORK/rbac.txt &&
     ! kubectl --token $TOKEN patch goosefsruntime other --subresource status --type merge -p '{\"status\":{}}' 2>$WORK/rbac.txt && grep -q Forbidden $WORK/rbac.txt &&
     ! kubectl --token $TOKEN get pods 2>$WORK/rbac.txt && grep -q Forbidden $WORK/rbac.txt &&
     ! kubectl --token $TOKEN get secret hbase-credential 2>$WORK/rbac.txt && grep -q Forbidden $WORK/rbac.txt &&
     kubectl --token $TOKEN get goosefsruntime hbase --subresource status -o name >/dev/null"
  check "no master logged the token" "! grep -q \"\$(cat $ACCOUNT/token)\" $WORK/master-*.log"
  stop_masters
  if [ "${#failed[@]}" -gt 0 ]; then
    for log in "$WORK"/master-*.log; do echo "  -- $log (last lines)"; tail -8 "$log" | sed 's/^/     /'; done
  fi
else
  echo "  (not run: no goosefs binary beside $BINARY, or no $ACCOUNT/token)"
fi
check "a further apply writes nothing" "kubectl goosefs apply $HBASE --yes | tail -1 | grep -qx 'Nothing to apply.'"

echo "== a quota change"
sed 's/quota: 2G/quota: 4G/' $HBASE > "$WORK/quota.yaml"
# The GooseFSRuntime itself changes too: with Fluid's CRDs served it is applied with the rest.
check "plan: exactly the GooseFSRuntime, the ConfigMap and the worker StatefulSet change" \
  "kubectl goosefs plan $WORK/quota.yaml -o json | python3 -c 'import json,sys; p=json.load(sys.stdin); u=[c[\"key\"][\"kind\"]+\"/\"+c[\"key\"][\"name\"] for c in p[\"changes\"] if c[\"op\"]!=\"unchanged\"]; assert u==[\"GooseFSRuntime/hbase\",\"ConfigMap/hbase-config\",\"StatefulSet/hbase-worker\"], u'"
check "the plan says the worker cache is rebuilt" "kubectl goosefs plan $WORK/quota.yaml | grep -qi 'cache'"
check "apply the quota change (no wait)" \
  "kubectl goosefs apply $WORK/quota.yaml --yes --wait=false | grep -q 'StatefulSet/default/hbase-worker configured'"
check "the live ConfigMap holds the new quota (3906250KB)" \
  "kubectl get configmap hbase-config -o jsonpath='{.data.GOOSEFS_JAVA_OPTS}' | grep -q 'level0.dirs.quota=3906250KB'"
check "plan after the change: no changes" "kubectl goosefs plan $WORK/quota.yaml --detailed-exitcode >/dev/null"

python3 - "$WORK/quota.yaml" "$WORK/image.yaml" <<'EOF'
import sys
text = open(sys.argv[1]).read()
head = "kind: GooseFSRuntime\nmetadata:\n  name: hbase\nspec:\n"
assert head in text
open(sys.argv[2], "w").write(text.replace(head, head + "  goosefsVersion: {image: registry.example/goosefs, imageTag: v1.2.1}\n"))
EOF
check "a new image: plan replaces the mount Job (its pod template is immutable) instead of failing" \
  "kubectl goosefs plan $WORK/image.yaml > $WORK/image.txt && grep -q '^create Job/default/hbase-mount-' $WORK/image.txt && grep -q '^delete Job/default/hbase-mount-' $WORK/image.txt"

echo "== field ownership"
cat > "$WORK/scale.json" <<'EOF'
{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "hbase-worker", "namespace": "default"},
 "spec": {"replicas": 5}}
EOF
check "another manager takes .spec.replicas of the workers" \
  "kubectl apply --server-side --force-conflicts --validate=false --field-manager=scaler -f $WORK/scale.json >/dev/null"
check "plan reports the conflict naming the manager (exit 1)" \
  "kubectl goosefs plan $WORK/quota.yaml > $WORK/conflict.txt 2>&1; test \$? = 1 && grep -q 'conflict' $WORK/conflict.txt && grep -q 'scaler' $WORK/conflict.txt"
check "apply --force-conflicts takes the fields back" \
  "kubectl goosefs apply $WORK/quota.yaml --yes --force-conflicts --wait=false | grep -q 'hbase-worker configured' && test \"\$(kubectl get statefulset hbase-worker -o jsonpath='{.spec.replicas}')\" = 3"

echo "== ApplySet inventory and prune"
check "kubectl derives the same ApplySet id from the parent reference" "
  kubectl create namespace kcheck >/dev/null &&
  kubectl create configmap seed -n kcheck --from-literal=a=b --dry-run=client -o yaml > $WORK/seed.yaml &&
  KUBECTL_APPLYSET=true kubectl apply -n kcheck --server-side --prune --applyset=configmaps/hbase-applyset -f $WORK/seed.yaml >/dev/null &&
  theirs=\$(kubectl get configmap hbase-applyset -n kcheck -o jsonpath='{.metadata.labels.applyset\.kubernetes\.io/id}') &&
  ours=\$(kubectl goosefs render $HBASE -n kcheck -o json | python3 -c 'import json,sys; print([o for o in json.load(sys.stdin)[\"items\"] if o[\"metadata\"][\"name\"]==\"hbase-applyset\"][0][\"metadata\"][\"labels\"][\"applyset.kubernetes.io/id\"])') &&
  test -n \"\$ours\" && test \"\$theirs\" = \"\$ours\""
check "kubectl refuses to take over our ApplySet (tooling kubectl-goosefs)" \
  "! KUBECTL_APPLYSET=true kubectl apply --server-side --prune --applyset=configmaps/hbase-applyset -f $WORK/seed.yaml -n default --dry-run=server > $WORK/takeover.txt 2>&1; grep -q 'kubectl-goosefs' $WORK/takeover.txt"
ID=$(kubectl get configmap hbase-applyset -o jsonpath='{.metadata.labels.applyset\.kubernetes\.io/id}')
kubectl create configmap hbase-old --dry-run=client -o yaml | kubectl label --local -f - -o yaml \
  app.kubernetes.io/managed-by=kubectl-goosefs app.kubernetes.io/instance=hbase "applyset.kubernetes.io/part-of=$ID" \
  | kubectl apply --server-side --field-manager=kubectl-goosefs -f - >/dev/null
kubectl create configmap someone-elses --dry-run=client -o yaml | kubectl label --local -f - -o yaml app=goosefs \
  | kubectl apply --server-side -f - >/dev/null
check "apply keeps a member no longer rendered unless --prune" \
  "kubectl goosefs apply $WORK/quota.yaml --yes 2>&1 | grep -q '1 object(s) no longer rendered were kept' && kubectl get configmap hbase-old -o name"
check "apply --prune deletes it and nothing else" \
  "kubectl goosefs apply $WORK/quota.yaml --yes --prune --wait=false | grep -q 'ConfigMap/default/hbase-old pruned' && ! kubectl get configmap hbase-old 2>/dev/null && kubectl get configmap someone-elses -o name"

echo "== errors"
if [ -n "$NOBODY" ]; then
  check "a user without RBAC rights: 403 named in one line, exit 1" \
    "kubectl goosefs plan $HBASE --kubeconfig $NOBODY > $WORK/403.txt 2>&1; test \$? = 1 && grep -q 'answered 403' $WORK/403.txt && grep -q RBAC $WORK/403.txt"
else
  echo "  (403 checks not run: no NOBODY_KUBECONFIG given)"
fi
mkdir -p "$WORK/templates" && sed 's/podManagementPolicy: Parallel/podManagementPolicy: OrderedReady/' \
  templates/master-statefulset.yaml.j2 > "$WORK/templates/master-statefulset.yaml.j2"
check "a template change to an immutable field: the server's 422 names the object, exit 1" \
  "kubectl goosefs plan $WORK/quota.yaml --templates $WORK/templates > $WORK/422.txt 2>&1; test \$? = 1 && grep -q 'StatefulSet/default/hbase-master: the API server answered 422' $WORK/422.txt"

check "a namespace that does not exist is named with what to do (exit 1)" \
  "kubectl goosefs plan $HBASE -n cache > $WORK/ns.txt 2>&1; test \$? = 1 && grep -q 'namespaces \"cache\" not found; the namespace does not exist' $WORK/ns.txt"
check "apply --create-namespace plans objects of the new namespace as rendered, then applies them" \
  "kubectl goosefs apply $HBASE -n cache --create-namespace --yes --wait=false | grep -q 'DaemonSet/cache/hbase-fuse created' &&
   kubectl goosefs plan $HBASE -n cache --detailed-exitcode >/dev/null"
check "status -A: both namespaces' runtimes, NAMESPACE first (cache not ready yet: exit 3)" \
  "kubectl goosefs status -A > $WORK/all.txt; test \$? = 3 && grep -Eq '^NAMESPACE +NAME ' $WORK/all.txt &&
   grep -Eq '^cache +hbase +NotReady ' $WORK/all.txt && grep -Eq '^default +hbase +Ready +Ready +Ready ' $WORK/all.txt"

echo "== delete"
# Without kube-controller-manager the PV and PVC stay Terminating (their protection finalizers
# are never removed): deleted means gone or being deleted.
check "delete removes every object of the runtime and the GooseFSRuntime" \
  "kubectl goosefs delete hbase --yes > $WORK/delete.txt &&
   grep -qx 'PersistentVolumeClaim/default/hbase deleting (waiting for finalizers: kubernetes.io/pvc-protection)' $WORK/delete.txt &&
   grep -qx 'Secret/default/hbase-credential deleted' $WORK/delete.txt && ! kubectl get secret hbase-credential 2>/dev/null &&
   test -z \"\$(kubectl get configmaps,services,statefulsets,jobs,daemonsets -l app.kubernetes.io/instance=hbase -o name)\" &&
   kubectl get pv,pvc -A -l applyset.kubernetes.io/part-of=$ID -o json | python3 -c 'import json,sys; i=json.load(sys.stdin)[\"items\"]; assert len(i)==2 and all(o[\"metadata\"].get(\"deletionTimestamp\") for o in i), i' &&
   ! kubectl get goosefsruntime hbase 2>/dev/null"
check "the same-named runtime of namespace cache keeps everything, its PV included" \
  "kubectl get pv cache-hbase -o name && test -z \"\$(kubectl get pv cache-hbase -o jsonpath='{.metadata.deletionTimestamp}')\" &&
   test \"\$(kubectl get statefulsets -n cache -o name | wc -l)\" = 2"
check "the Dataset stays, NotBound; the stranger's ConfigMap stays" \
  "test \"\$(kubectl get dataset hbase -o jsonpath='{.status.phase}')\" = NotBound && kubectl get configmap someone-elses -o name"
check "plan after delete: everything else to create; the Terminating PV and PVC are noted" \
  "kubectl goosefs plan $HBASE > $WORK/after.txt; tail -1 $WORK/after.txt | grep -qx 'Plan: 14 to create, 0 to update, 0 to delete, 3 unchanged.' &&
   test \"\$(grep -c 'is being deleted (Terminating, waiting for finalizers: kubernetes.io/pv' $WORK/after.txt)\" = 2"

check "delete of a runtime whose status was never written unbinds its Dataset (the CRD requires conditions)" \
  "kubectl goosefs delete hbase -n cache --yes --wait=false | tail -1 | grep -qx 'Dataset/cache/hbase unbound' &&
   test \"\$(kubectl get dataset hbase -n cache -o jsonpath='{.status.phase}')\" = NotBound"

finish "real kube-apiserver $(kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
