//! Plan-time checks of the rendered workloads against the live nodes and pods: what a compiler
//! can know before deploying. A host port (hostNetwork, or a `hostPort`) that a pod of something
//! else holds on a node the runtime needs refuses the plan, naming the node and the holder; a
//! node whose allocatable memory cannot hold a worker's MEM tiers plus the requests of the pods
//! placed there, and fewer selectable nodes than replicas, are warnings (the scheduler may still
//! find room once other pods go). Each runtime gets a one-line cost summary.
//!
//! Pure: [`Footprint`]s come from the rendered objects, [`NodeFacts`] and [`HeldPort`]s from the
//! live ones; the caller reads them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::quantity::parse_quantity;

/// One rendered workload's needs on each node it runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// `StatefulSet/ns/name` or `DaemonSet/ns/name`.
    pub object: String,
    /// The runtime's namespace.
    pub namespace: String,
    /// The runtime's name (the `release` label of its pods).
    pub runtime: String,
    /// `master`, `worker` or `FUSE`.
    pub role: &'static str,
    /// Pods wanted; `None` for a DaemonSet (one per selected node).
    pub replicas: Option<i64>,
    /// Host ports each pod holds, with their names.
    pub host_ports: BTreeMap<u16, String>,
    /// The pod template's node selector.
    pub node_selector: BTreeMap<String, String>,
    /// The pod template's required node affinity terms (one must match).
    pub node_terms: Vec<Value>,
    /// The pod template's tolerations.
    pub tolerations: Vec<Value>,
    /// Bytes of memory the pod's containers request.
    pub memory_requests: i128,
}

impl Footprint {
    /// The footprint of a rendered StatefulSet or DaemonSet of a runtime (its `release` label);
    /// `None` for other objects.
    pub fn of(object: &Value) -> Option<Footprint> {
        let kind = object["kind"].as_str()?;
        if kind != "StatefulSet" && kind != "DaemonSet" {
            return None;
        }
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let role = match object["metadata"]["labels"]["role"].as_str() {
            Some("goosefs-master") => "master",
            Some("goosefs-worker") => "worker",
            Some("goosefs-fuse") => "FUSE",
            _ => return None,
        };
        let pod = &object["spec"]["template"]["spec"];
        let host_network = pod["hostNetwork"] == true;
        let mut host_ports = BTreeMap::new();
        let mut memory_requests = 0i128;
        for container in pod["containers"].as_array().into_iter().flatten() {
            for port in container["ports"].as_array().into_iter().flatten() {
                let number = if host_network {
                    &port["containerPort"]
                } else {
                    &port["hostPort"]
                };
                if let Some(number) = number.as_u64().and_then(|n| u16::try_from(n).ok()) {
                    let label = port["name"].as_str().unwrap_or_default();
                    host_ports.insert(
                        number,
                        format!("{}/{label}", container["name"].as_str().unwrap_or_default()),
                    );
                }
            }
            memory_requests += memory(&container["resources"]["requests"]["memory"]);
        }
        Some(Footprint {
            object: format!("{kind}/{namespace}/{name}"),
            namespace: namespace.to_owned(),
            runtime: object["metadata"]["labels"]["release"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            role,
            replicas: (kind == "StatefulSet").then(|| object["spec"]["replicas"].as_i64().unwrap_or(1)),
            host_ports,
            node_selector: string_map(&pod["nodeSelector"]),
            node_terms:
                pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            tolerations: pod["tolerations"].as_array().cloned().unwrap_or_default(),
            memory_requests,
        })
    }
}

/// What the checks need of a live Node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    /// Node name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// `status.allocatable.memory` in bytes.
    pub allocatable_memory: i128,
    /// Its `NoSchedule`/`NoExecute` taints (cordoned: `node.kubernetes.io/unschedulable`).
    pub taints: Vec<Value>,
}

impl NodeFacts {
    /// From a live Node.
    pub fn of(node: &Value) -> NodeFacts {
        let mut taints: Vec<Value> = node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
            .cloned()
            .collect();
        if node["spec"]["unschedulable"] == true {
            taints.push(serde_json::json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}));
        }
        NodeFacts {
            name: node["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            labels: string_map(&node["metadata"]["labels"]),
            allocatable_memory: memory(&node["status"]["allocatable"]["memory"]),
            taints,
        }
    }
}

/// A host port a live pod holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeldPort {
    /// Node it runs on.
    pub node: String,
    /// The port.
    pub port: u16,
    /// `namespace/name` of the pod.
    pub pod: String,
    /// Its namespace.
    pub namespace: String,
    /// Its `release` label, with `app: goosefs` (a runtime's pod), else empty.
    pub release: String,
}

impl HeldPort {
    /// The host ports a live pod holds: none once it has finished or before it is scheduled.
    pub fn of(pod: &Value) -> Vec<HeldPort> {
        let Some(node) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
            return Vec::new();
        };
        if matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            return Vec::new();
        }
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let labels = &pod["metadata"]["labels"];
        let release = if labels["app"] == "goosefs" {
            labels["release"].as_str().unwrap_or_default()
        } else {
            ""
        };
        let host_network = pod["spec"]["hostNetwork"] == true;
        let containers = pod["spec"]["containers"].as_array().into_iter().flatten();
        let ports = containers.flat_map(|c| c["ports"].as_array().into_iter().flatten());
        let numbers: BTreeSet<u16> = ports
            .filter_map(|p| {
                let n = if host_network && p["hostPort"].is_null() {
                    &p["containerPort"]
                } else {
                    &p["hostPort"]
                };
                n.as_u64().and_then(|n| u16::try_from(n).ok())
            })
            .collect();
        numbers
            .into_iter()
            .map(|port| HeldPort {
                node: node.to_owned(),
                port,
                pod: format!("{namespace}/{}", pod["metadata"]["name"].as_str().unwrap_or_default()),
                namespace: namespace.to_owned(),
                release: release.to_owned(),
            })
            .collect()
    }
}

/// What the checks found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// Why the plan is refused (each names the node and the holder).
    pub refusals: Vec<String>,
    /// What may not fit.
    pub warnings: Vec<String>,
}

/// Per runtime: what its MEM tiers and caches add up to, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// `namespace/name`.
    pub runtime: String,
    /// Workers wanted.
    pub workers: i64,
    /// Bytes of tier quota per worker.
    pub per_worker: i128,
    /// Bytes of MEM tier quota per worker (memory the node gives up).
    pub mem_per_worker: i128,
}

/// Checks every footprint against the nodes and the ports their pods hold.
pub fn check(footprints: &[Footprint], caches: &[Cache], nodes: &[NodeFacts], held: &[HeldPort]) -> Findings {
    let mut findings = Findings::default();
    for f in footprints {
        let eligible: Vec<&NodeFacts> = nodes.iter().filter(|n| selects(f, n)).collect();
        // The runtime's own pods hold its ports now and are replaced by the ones planned.
        let conflicts = |node: &str| -> Vec<&HeldPort> {
            held.iter()
                .filter(|h| h.node == node && f.host_ports.contains_key(&h.port))
                .filter(|h| !(h.namespace == f.namespace && h.release == f.runtime))
                .collect()
        };
        let blocked: Vec<(&NodeFacts, Vec<&HeldPort>)> = eligible
            .iter()
            .map(|n| (*n, conflicts(&n.name)))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        let describe = |(node, held): &(&NodeFacts, Vec<&HeldPort>)| {
            let ports: Vec<String> = held
                .iter()
                .map(|h| format!("{} ({}) held by pod {}", h.port, f.host_ports[&h.port], h.pod))
                .collect();
            format!("node {}: host port {}", node.name, ports.join(", "))
        };
        match f.replicas {
            // A DaemonSet's pod on a node whose port is taken never starts.
            None => {
                for b in &blocked {
                    findings.refusals.push(format!(
                        "{}: {}; the {} pod there could never start",
                        f.object,
                        describe(b),
                        f.role
                    ));
                }
            }
            Some(replicas) => {
                let free = i64::try_from(eligible.len() - blocked.len()).unwrap_or(i64::MAX);
                if free < replicas && !blocked.is_empty() {
                    let why: Vec<String> = blocked.iter().map(describe).collect();
                    findings.refusals.push(format!(
                        "{}: {replicas} {} pods need {replicas} nodes with their host ports free, and only {free} of the {} selected are: {}",
                        f.object,
                        f.role,
                        eligible.len(),
                        why.join("; ")
                    ));
                } else if i64::try_from(eligible.len()).unwrap_or(i64::MAX) < replicas {
                    findings.warnings.push(format!(
                        "{}: {replicas} {} pods need {replicas} nodes (one per node: they hold the same host ports), and {} {} selected{}",
                        f.object,
                        f.role,
                        eligible.len(),
                        if eligible.len() == 1 { "node is" } else { "nodes are" },
                        selector_hint(f)
                    ));
                }
            }
        }
    }
    memory_warnings(footprints, caches, nodes, &mut findings);
    findings
}

/// A node that may run a worker and cannot hold its MEM tiers plus the requests of the worker and
/// FUSE pods placed there (allocatable memory, before any other pod's requests).
fn memory_warnings(footprints: &[Footprint], caches: &[Cache], nodes: &[NodeFacts], findings: &mut Findings) {
    for worker in footprints.iter().filter(|f| f.role == "worker") {
        let mem = caches
            .iter()
            .find(|c| c.runtime == format!("{}/{}", worker.namespace, worker.runtime))
            .map_or(0, |c| c.mem_per_worker);
        let fuse = footprints
            .iter()
            .find(|f| f.role == "FUSE" && f.namespace == worker.namespace && f.runtime == worker.runtime);
        for node in nodes.iter().filter(|n| selects(worker, n)) {
            let fuse_requests = fuse.filter(|f| selects(f, node)).map_or(0, |f| f.memory_requests);
            let need = mem + worker.memory_requests + fuse_requests;
            if need > 0 && node.allocatable_memory < need {
                findings.warnings.push(format!(
                    "{}: node {} has {} of allocatable memory, less than a worker there needs: {} of MEM tier quota plus {} of requests",
                    worker.object,
                    node.name,
                    bytes(node.allocatable_memory),
                    bytes(mem),
                    bytes(worker.memory_requests + fuse_requests)
                ));
            }
        }
    }
}

/// One line per runtime: cache capacity, memory its MEM tiers take, host ports per node.
pub fn summaries(footprints: &[Footprint], caches: &[Cache]) -> Vec<String> {
    caches
        .iter()
        .map(|c| {
            let ports: Vec<String> = footprints
                .iter()
                .filter(|f| format!("{}/{}", f.namespace, f.runtime) == c.runtime)
                .map(|f| format!("{} {}", f.role, f.host_ports.len()))
                .collect();
            let capacity = c.per_worker * i128::from(c.workers);
            let mem = if c.mem_per_worker > 0 {
                format!("MEM tiers take {} of memory per worker node", bytes(c.mem_per_worker))
            } else {
                "no MEM tier".to_owned()
            };
            format!(
                "{}: cache capacity {} ({} workers x {}); {mem}; host ports per node: {}",
                c.runtime,
                bytes(capacity),
                c.workers,
                bytes(c.per_worker),
                if ports.is_empty() {
                    "none".to_owned()
                } else {
                    ports.join(", ")
                }
            )
        })
        .collect()
}

/// Whether `node` may run a pod of `f`: its node selector and one of its required node affinity
/// terms match, and every `NoSchedule` or `NoExecute` taint is tolerated. (Pod anti-affinity to
/// other runtimes' workers is not modelled: it only makes fewer nodes free.)
fn selects(f: &Footprint, node: &NodeFacts) -> bool {
    f.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v))
        && (f.node_terms.is_empty() || f.node_terms.iter().any(|t| term_matches(t, &node.labels)))
        && node
            .taints
            .iter()
            .all(|t| f.tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// A node selector term: every label expression holds (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`; `Gt`/`Lt` compare integers). Field expressions are not checked.
fn term_matches(term: &Value, labels: &BTreeMap<String, String>) -> bool {
    term["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let label = e["key"].as_str().and_then(|k| labels.get(k));
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let number = |v: Option<&str>| v.and_then(|v| v.parse::<i64>().ok());
        match e["operator"].as_str().unwrap_or_default() {
            "In" => label.is_some_and(|l| values.contains(&l.as_str())),
            "NotIn" => label.is_none_or(|l| !values.contains(&l.as_str())),
            "Exists" => label.is_some(),
            "DoesNotExist" => label.is_none(),
            "Gt" => number(label.map(String::as_str))
                .zip(number(values.first().copied()))
                .is_some_and(|(l, v)| l > v),
            "Lt" => number(label.map(String::as_str))
                .zip(number(values.first().copied()))
                .is_some_and(|(l, v)| l < v),
            _ => true,
        }
    })
}

/// Kubernetes' toleration matching: an empty key with `Exists` tolerates everything; otherwise
/// the keys match, the values too for `Equal` (the default), and the effects when given.
fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let key = toleration["key"].as_str().unwrap_or_default();
    let exists = toleration["operator"] == "Exists";
    let effect_ok = toleration["effect"]
        .as_str()
        .is_none_or(|e| e.is_empty() || taint["effect"] == e);
    if key.is_empty() {
        return exists && effect_ok;
    }
    let value_ok =
        exists || toleration["value"].as_str().unwrap_or_default() == taint["value"].as_str().unwrap_or_default();
    taint["key"] == key && value_ok && effect_ok
}

fn selector_hint(f: &Footprint) -> String {
    if f.node_selector.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = f.node_selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(" (node selector {})", pairs.join(","))
    }
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect()
}

/// Bytes of a memory quantity; 0 when absent or unparsable (the API server has accepted it).
fn memory(value: &Value) -> i128 {
    value
        .as_str()
        .and_then(|q| parse_quantity(q).ok())
        .map_or(0, crate::model::quantity::ParsedQuantity::value_ceil)
}

fn bytes(n: i128) -> String {
    goosefs_conf::fluid_status::bytes_size(u64::try_from(n.max(0)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workload(kind: &str, role: &str, replicas: i64, ports: &[u16], extra: Value) -> Value {
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| json!({"name": format!("p{p}"), "containerPort": p}))
            .collect();
        let mut spec = json!({
            "hostNetwork": true,
            "containers": [{"name": "c", "ports": ports, "resources": {"requests": {"memory": "1Gi"}}}],
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        json!({
            "kind": kind,
            "metadata": {"name": format!("hbase-{role}"), "namespace": "default", "labels": {"role": format!("goosefs-{role}"), "release": "hbase"}},
            "spec": {"replicas": replicas, "template": {"spec": spec}},
        })
    }

    fn node(name: &str, memory: &str, labels: Value, spec: Value) -> NodeFacts {
        NodeFacts::of(&json!({
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
            "status": {"allocatable": {"memory": memory}},
        }))
    }

    fn pod(name: &str, node: &str, labels: Value, ports: Value, phase: &str) -> Vec<HeldPort> {
        HeldPort::of(&json!({
            "metadata": {"name": name, "namespace": "other", "labels": labels},
            "spec": {"nodeName": node, "hostNetwork": true, "containers": [{"name": "c", "ports": ports}]},
            "status": {"phase": phase},
        }))
    }

    fn nodes() -> Vec<NodeFacts> {
        ["n1", "n2", "n3"]
            .map(|n| node(n, "8Gi", json!({"pool": "cache"}), json!({})))
            .into()
    }

    #[test]
    fn a_footprint_reads_the_pod_template() {
        let f = Footprint::of(&workload(
            "StatefulSet",
            "master",
            3,
            &[26000, 26001],
            json!({"nodeSelector": {"pool": "cache"}}),
        ))
        .expect("a master");
        assert_eq!(f.object, "StatefulSet/default/hbase-master");
        assert_eq!((f.role, f.replicas, f.memory_requests), ("master", Some(3), 1 << 30));
        assert_eq!(f.host_ports.keys().copied().collect::<Vec<_>>(), [26000, 26001]);
        assert_eq!(f.host_ports[&26000], "c/p26000");
        let mut pod_network = workload("DaemonSet", "fuse", 0, &[26011], json!({"hostNetwork": false}));
        assert!(Footprint::of(&pod_network).is_some_and(|f| f.host_ports.is_empty() && f.replicas.is_none()));
        pod_network["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(9000);
        assert!(Footprint::of(&pod_network).is_some_and(|f| f.host_ports.contains_key(&9000)));
        assert!(Footprint::of(&json!({"kind": "ConfigMap"})).is_none());
    }

    #[test]
    fn a_port_held_by_another_pod_refuses_a_daemonset_on_that_node() {
        let fuse = Footprint::of(&workload("DaemonSet", "fuse", 0, &[26011], json!({}))).expect("fuse");
        let held = pod(
            "nginx-1",
            "n2",
            json!({"app": "nginx"}),
            json!([{"containerPort": 26011}]),
            "Running",
        );
        let findings = check(std::slice::from_ref(&fuse), &[], &nodes(), &held);
        assert_eq!(
            findings.refusals,
            [
                "DaemonSet/default/hbase-fuse: node n2: host port 26011 (c/p26011) held by pod other/nginx-1; the FUSE pod there could never start"
            ]
        );
        // Finished pods hold nothing; the runtime's own pods are replaced, not in the way.
        let done = pod("job-1", "n2", json!({}), json!([{"containerPort": 26011}]), "Succeeded");
        assert!(done.is_empty());
        let ours = HeldPort::of(&json!({
            "metadata": {"name": "hbase-fuse-x", "namespace": "default", "labels": {"app": "goosefs", "release": "hbase"}},
            "spec": {"nodeName": "n2", "hostNetwork": true, "containers": [{"ports": [{"containerPort": 26011}]}]},
        }));
        assert_eq!(ours.len(), 1);
        assert_eq!(check(&[fuse], &[], &nodes(), &ours), Findings::default());
    }

    #[test]
    fn replicas_refuse_only_when_the_free_nodes_are_too_few() {
        let workers = Footprint::of(&workload("StatefulSet", "worker", 2, &[26002], json!({}))).expect("w");
        let held = pod(
            "x",
            "n1",
            json!({}),
            json!([{"hostPort": 26002, "containerPort": 80}]),
            "Running",
        );
        assert_eq!(
            check(std::slice::from_ref(&workers), &[], &nodes(), &held),
            Findings::default(),
            "two nodes are free"
        );
        let mut both = held.clone();
        both.extend(pod("y", "n3", json!({}), json!([{"containerPort": 26002}]), "Pending"));
        let findings = check(std::slice::from_ref(&workers), &[], &nodes(), &both);
        assert_eq!(
            findings.refusals,
            [
                "StatefulSet/default/hbase-worker: 2 worker pods need 2 nodes with their host ports free, and only 1 of the 3 selected are: node n1: host port 26002 (c/p26002) held by pod other/x; node n3: host port 26002 (c/p26002) held by pod other/y"
            ]
        );
        let four = Footprint::of(&workload("StatefulSet", "worker", 4, &[26002], json!({}))).expect("w");
        assert_eq!(
            check(&[four], &[], &nodes(), &[]).warnings,
            [
                "StatefulSet/default/hbase-worker: 4 worker pods need 4 nodes (one per node: they hold the same host ports), and 3 nodes are selected"
            ]
        );
    }

    #[test]
    fn selectors_affinity_and_taints_pick_the_nodes() {
        let mut ns = nodes();
        ns.push(node(
            "cordoned",
            "8Gi",
            json!({"pool": "cache"}),
            json!({"unschedulable": true}),
        ));
        ns.push(node(
            "gpu",
            "8Gi",
            json!({"pool": "cache", "gpu": "1"}),
            json!({"taints": [{"key": "gpu", "value": "1", "effect": "NoSchedule"}]}),
        ));
        ns.push(node(
            "soft",
            "8Gi",
            json!({"pool": "cache"}),
            json!({"taints": [{"key": "x", "effect": "PreferNoSchedule"}]}),
        ));
        ns.push(node("web", "8Gi", json!({"pool": "web"}), json!({})));
        let selected = |extra: Value| {
            let f = Footprint::of(&workload("StatefulSet", "worker", 1, &[1], extra)).expect("w");
            ns.iter()
                .filter(|n| selects(&f, n))
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            selected(json!({"nodeSelector": {"pool": "cache"}})),
            ["n1", "n2", "n3", "soft"]
        );
        assert_eq!(
            selected(
                json!({"tolerations": [{"key": "gpu", "operator": "Equal", "value": "1"}], "nodeSelector": {"pool": "cache"}})
            ),
            ["n1", "n2", "n3", "gpu", "soft"]
        );
        assert_eq!(selected(json!({"tolerations": [{"operator": "Exists"}]})).len(), 7);
        let terms = |op: &str, values: Value| {
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": op, "values": values}]}]}}}})
        };
        assert_eq!(selected(terms("In", json!(["web"]))), ["web"]);
        assert_eq!(selected(terms("NotIn", json!(["cache"]))), ["web"]);
        assert_eq!(selected(terms("DoesNotExist", json!([]))), Vec::<String>::new());
    }

    #[test]
    fn memory_warns_per_node_and_the_summary_adds_up() {
        let worker = Footprint::of(&workload("StatefulSet", "worker", 3, &[26002, 26003], json!({}))).expect("w");
        let fuse = Footprint::of(&workload("DaemonSet", "fuse", 0, &[26011], json!({}))).expect("f");
        let cache = Cache {
            runtime: "default/hbase".to_owned(),
            workers: 3,
            per_worker: 6 << 30,
            mem_per_worker: 4 << 30,
        };
        let mut ns = nodes();
        ns[1] = node("n2", "5Gi", json!({}), json!({}));
        let findings = check(&[worker.clone(), fuse.clone()], std::slice::from_ref(&cache), &ns, &[]);
        assert_eq!(
            findings.warnings,
            [
                "StatefulSet/default/hbase-worker: node n2 has 5.00GiB of allocatable memory, less than a worker there needs: 4.00GiB of MEM tier quota plus 2.00GiB of requests"
            ]
        );
        assert_eq!(
            summaries(&[worker, fuse], &[cache]),
            [
                "default/hbase: cache capacity 18.00GiB (3 workers x 6.00GiB); MEM tiers take 4.00GiB of memory per worker node; host ports per node: worker 2, FUSE 1"
            ]
        );
    }
}
