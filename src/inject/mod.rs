//! Offline injection: what Fluid's webhook did to application pods at admission, done to the
//! application's YAML instead, so that a cluster without the webhook (or a GitOps repository)
//! carries it as an ordinary diff.
//!
//! For every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) the pod
//! template gets the Dataset's volume and a mount of it in its containers, a preferred pod
//! affinity to the nodes running the runtime's workers (where the cache is), and, when the FUSE
//! DaemonSet runs only on selected nodes and the volume is its host path, a required node
//! affinity to those nodes. [`Target::plan`] says what to add to one document as appends
//! (nothing that is already there: injecting twice changes nothing); [`edit`] makes them in the
//! text. Each edited file is parsed again and must read as the intended data; where it does not
//! (a layout the text edit does not handle), the file is written anew from the data and the
//! caller is told that its comments were dropped.

pub mod edit;

use serde_json::{Value, json};

use self::edit::{Append, Step};
use crate::load;
use crate::load::node::{Node, Pos};

/// What injection adds for one Dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Dataset (and runtime) name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The pod volume.
    pub volume: Value,
    /// The container mount of it.
    pub mount: Value,
    /// A weighted pod affinity term to the runtime's worker pods.
    pub near_workers: Value,
    /// Node selector requirements every pod must meet (FUSE runs only there), maybe none.
    pub fuse_nodes: Vec<Value>,
    /// The volume is the Dataset's PVC (it must be in the pod's namespace).
    pub claim: bool,
    /// Mount into these containers only (empty: every container).
    pub containers: Vec<String>,
}

/// Settings of [`Target::new`].
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// The PVC (`--csi fluid`) instead of the FUSE host path.
    pub claim: bool,
    /// Where containers see the Dataset.
    pub mount_path: String,
    /// Mount into these containers only.
    pub containers: Vec<String>,
}

impl Target {
    /// What to add for the runtime compiled into `values`.
    pub fn new(values: &crate::compile::Values, options: TargetOptions) -> Target {
        let volume_name = volume_name(&values.name);
        let read_only = values.volume.access_modes.iter().all(|m| m == "ReadOnlyMany");
        let (volume, mut mount) = if options.claim {
            (
                json!({"name": volume_name, "persistentVolumeClaim": {"claimName": values.name}}),
                json!({"name": volume_name, "mountPath": options.mount_path}),
            )
        } else {
            // HostToContainer: a FUSE restart mounts again under the host path, and the pod sees
            // the new mount (a hostPath PV offers no propagation).
            (
                json!({"name": volume_name, "hostPath": {"path": values.fuse.mount_path, "type": "Directory"}}),
                json!({"name": volume_name, "mountPath": options.mount_path, "mountPropagation": "HostToContainer"}),
            )
        };
        if read_only {
            mount["readOnly"] = Value::Bool(true);
        }
        let mut workers = serde_json::Map::new();
        for key in ["role", "fluid.io/dataset"] {
            if let Some(v) = values.role_labels.get("worker_pod").and_then(|l| l.get(key)) {
                workers.insert(key.to_owned(), Value::String(v.clone()));
            }
        }
        let near_workers = json!({"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchLabels": workers},
            "namespaces": [values.namespace],
            "topologyKey": "kubernetes.io/hostname"}});
        // Fluid's CSI plugin starts FUSE on whichever node the pod lands; the host path exists
        // only where the DaemonSet runs.
        let fuse_nodes = if options.claim && values.volume.csi {
            Vec::new()
        } else {
            values
                .fuse
                .node_selector
                .iter()
                .map(|(k, v)| json!({"key": k, "operator": "In", "values": [v]}))
                .collect()
        };
        Target {
            name: values.name.clone(),
            namespace: values.namespace.clone(),
            volume,
            mount,
            near_workers,
            fuse_nodes,
            claim: options.claim,
            containers: options.containers,
        }
    }

    /// The appends that inject `object`, or `None` when it is not a workload. Empty when all is
    /// already there.
    ///
    /// # Errors
    /// [`InjectError::Conflict`]: the volume's name or mount path taken by something else, a
    /// `--container` the workload lacks, a PVC in another namespace.
    pub fn plan(&self, object: &Value, at: &str) -> Result<Option<Vec<Append>>, InjectError> {
        let Some(prefix) = pod_spec_path(object) else {
            return Ok(None);
        };
        let conflict = |message: String| InjectError::Conflict {
            at: at.to_owned(),
            object: describe(object),
            message,
        };
        let mut spec = object;
        for step in &prefix {
            if let Step::Key(k) = step {
                spec = &spec[*k];
            }
        }
        if !spec.is_object() {
            return Err(conflict("it has no pod template".to_owned()));
        }
        if self.claim
            && let Some(ns) = object["metadata"]["namespace"].as_str()
            && ns != self.namespace
        {
            return Err(conflict(format!(
                "it is in namespace {ns}, the Dataset's PVC in {}; a pod can only mount a claim of its own namespace",
                self.namespace
            )));
        }
        let path = |tail: &[Step]| prefix.iter().chain(tail).cloned().collect::<Vec<_>>();
        let mut appends = Vec::new();
        let name = &self.volume["name"];
        let volumes = spec["volumes"].as_array().map(Vec::as_slice).unwrap_or_default();
        match volumes.iter().find(|v| &v["name"] == name) {
            Some(v) if v == &self.volume => {}
            Some(_) => return Err(conflict(format!("it has another volume named {name}"))),
            None => appends.push(Append {
                path: path(&[Step::Key("volumes")]),
                item: self.volume.clone(),
            }),
        }
        let containers = spec["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
        for wanted in &self.containers {
            if !containers.iter().any(|c| c["name"].as_str() == Some(wanted)) {
                return Err(conflict(format!("it has no container {wanted}")));
            }
        }
        for (i, container) in containers.iter().enumerate() {
            let cname = container["name"].as_str().unwrap_or_default();
            if !self.containers.is_empty() && !self.containers.iter().any(|c| c == cname) {
                continue;
            }
            let mounts = container["volumeMounts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if mounts.iter().any(|m| m == &self.mount) {
                continue;
            }
            if mounts.iter().any(|m| &m["name"] == name) {
                return Err(conflict(format!("container {cname} already mounts {name} differently")));
            }
            if let Some(m) = mounts.iter().find(|m| m["mountPath"] == self.mount["mountPath"]) {
                return Err(conflict(format!(
                    "container {cname} already mounts {} at {}",
                    m["name"], self.mount["mountPath"]
                )));
            }
            appends.push(Append {
                path: path(&[Step::Key("containers"), Step::Index(i), Step::Key("volumeMounts")]),
                item: self.mount.clone(),
            });
        }
        let affinity = &spec["affinity"];
        let preferred = &affinity["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
        if !preferred.as_array().is_some_and(|a| a.contains(&self.near_workers)) {
            appends.push(Append {
                path: path(&[
                    Step::Key("affinity"),
                    Step::Key("podAffinity"),
                    Step::Key("preferredDuringSchedulingIgnoredDuringExecution"),
                ]),
                item: self.near_workers.clone(),
            });
        }
        if !self.fuse_nodes.is_empty() {
            let terms_path = [
                Step::Key("affinity"),
                Step::Key("nodeAffinity"),
                Step::Key("requiredDuringSchedulingIgnoredDuringExecution"),
                Step::Key("nodeSelectorTerms"),
            ];
            let terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if terms.is_empty() {
                appends.push(Append {
                    path: path(&terms_path),
                    item: json!({"matchExpressions": self.fuse_nodes}),
                });
            }
            // Terms are alternatives: each must also require the FUSE nodes.
            for (t, term) in terms.iter().enumerate() {
                let have = term["matchExpressions"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for expression in self.fuse_nodes.iter().filter(|e| !have.contains(e)) {
                    let mut tail = terms_path.to_vec();
                    tail.extend([Step::Index(t), Step::Key("matchExpressions")]);
                    appends.push(Append {
                        path: path(&tail),
                        item: expression.clone(),
                    });
                }
            }
        }
        Ok(Some(appends))
    }
}

/// The pod volume's name: `goosefs-<dataset>`, a DNS label.
fn volume_name(dataset: &str) -> String {
    let mut name: String = format!("goosefs-{dataset}").replace('.', "-");
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// Where the pod spec of a workload is, by kind.
fn pod_spec_path(object: &Value) -> Option<Vec<Step>> {
    let api = object["apiVersion"].as_str()?;
    let kind = object["kind"].as_str()?;
    let template = vec![Step::Key("spec"), Step::Key("template"), Step::Key("spec")];
    match (api, kind) {
        ("v1", "Pod") => Some(vec![Step::Key("spec")]),
        ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch/v1", "Job") => Some(template),
        ("batch/v1" | "batch/v1beta1", "CronJob") => {
            let mut path = vec![Step::Key("spec"), Step::Key("jobTemplate")];
            path.extend(template);
            Some(path)
        }
        _ => None,
    }
}

/// `Kind/name` of an object.
pub fn describe(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Why injection stopped.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The file is not YAML.
    #[error("{at}:{}:{}: {message}", pos.line, pos.column)]
    Parse {
        /// The file.
        at: String,
        /// Where.
        pos: Pos,
        /// The parser's message.
        message: String,
    },
    /// Neither the text edit nor a rewrite reads back as the intended objects.
    #[error("{at}: cannot write the injected file so that it reads back as the same objects; nothing was written")]
    Unwritable {
        /// The file.
        at: String,
    },
    /// A workload cannot take the injection as it is.
    #[error("{at}: {object}: {message}")]
    Conflict {
        /// The file.
        at: String,
        /// `Kind/name`.
        object: String,
        /// What is in the way.
        message: String,
    },
}

/// One file, injected.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    /// The new text (the old one when nothing changed).
    pub text: String,
    /// Each document as data, after injection.
    pub documents: Vec<Value>,
    /// `Kind/name` of each workload changed.
    pub changed: Vec<String>,
    /// `Kind/name` of each workload that had everything already.
    pub unchanged: Vec<String>,
    /// Why the file was written anew from its data (comments and layout dropped), if it was.
    pub rewritten: Option<String>,
}

fn parse(text: &str, at: &str) -> Result<Vec<Node>, InjectError> {
    let mut docs = Vec::new();
    match load::for_each_document(text, |n| docs.push(n)) {
        None => Ok(docs),
        Some(failure) => Err(InjectError::Parse {
            at: at.to_owned(),
            pos: failure.pos,
            message: failure.message,
        }),
    }
}

/// Injects `target` into every workload of the YAML `text` (named `at` in messages).
///
/// # Errors
/// [`InjectError`]: the text does not parse, or a workload conflicts.
pub fn inject(text: &str, at: &str, target: &Target) -> Result<Injected, InjectError> {
    let docs = parse(text, at)?;
    let mut documents: Vec<Value> = docs.iter().map(Node::to_json).collect();
    let mut plans = Vec::new();
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    for (index, object) in documents.iter().enumerate() {
        if let Some(appends) = target.plan(object, at)? {
            if appends.is_empty() {
                unchanged.push(describe(object));
            } else {
                changed.push(describe(object));
                plans.push((index, appends));
            }
        }
    }
    for (index, appends) in &plans {
        for append in appends {
            // Planned from this very document: every step exists or is made.
            append
                .apply_to(&mut documents[*index])
                .map_err(|e| InjectError::Conflict {
                    at: at.to_owned(),
                    object: describe(&documents[*index]),
                    message: e.0,
                })?;
        }
    }
    let mut rewritten = None;
    let mut out = text.to_owned();
    'edit: for (index, appends) in &plans {
        for append in appends {
            let Ok(docs) = parse(&out, at) else {
                rewritten = Some("the text edit did not parse".to_owned());
                break 'edit;
            };
            match docs.get(*index).map(|doc| edit::append(&out, doc, append)) {
                Some(Ok(next)) => out = next,
                Some(Err(why)) => {
                    rewritten = Some(why.0);
                    break 'edit;
                }
                None => {
                    rewritten = Some("a document went missing".to_owned());
                    break 'edit;
                }
            }
        }
    }
    // The edit must read as the intended data, or the file is written from the data.
    if rewritten.is_none() {
        let check: Option<Vec<Value>> = parse(&out, at).ok().map(|d| d.iter().map(Node::to_json).collect());
        if check.as_ref() != Some(&documents) {
            rewritten = Some("the text edit did not read back as intended".to_owned());
        }
    }
    if rewritten.is_some() {
        let style = edit::Style::of(text);
        out = documents
            .iter()
            .map(|d| match d {
                Value::Object(map) => map.iter().map(|(k, v)| edit::block_entry(k, v, 0, style)).collect(),
                other => format!("{}\n", edit::scalar_text(other)),
            })
            .collect::<Vec<String>>()
            .join("---\n");
        // Never write what would not read back as the same objects.
        let check: Option<Vec<Value>> = parse(&out, at).ok().map(|d| d.iter().map(Node::to_json).collect());
        if check.as_ref() != Some(&documents) {
            return Err(InjectError::Unwritable { at: at.to_owned() });
        }
    }
    Ok(Injected {
        text: out,
        documents,
        changed,
        unchanged,
        rewritten,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(claim: bool, fuse_nodes: bool) -> Target {
        Target {
            name: "hbase".into(),
            namespace: "default".into(),
            volume: json!({"name": "goosefs-hbase", "hostPath": {"path": "/runtime-mnt/goosefs/default/hbase/goosefs-fuse", "type": "Directory"}}),
            mount: json!({"name": "goosefs-hbase", "mountPath": "/data", "mountPropagation": "HostToContainer", "readOnly": true}),
            near_workers: json!({"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"role": "goosefs-worker"}}, "namespaces": ["default"], "topologyKey": "kubernetes.io/hostname"}}),
            fuse_nodes: if fuse_nodes {
                vec![json!({"key": "fuse", "operator": "In", "values": ["yes"]})]
            } else {
                Vec::new()
            },
            claim,
            containers: Vec::new(),
        }
    }

    const DEPLOYMENT: &str = "# the app\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app # ours\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx\n      - name: b\n        image: busybox\n        volumeMounts: [{name: cache, mountPath: /cache}]\n      volumes:\n      - name: cache\n        emptyDir: {}\n";

    #[test]
    fn injects_in_place_keeping_comments_and_twice_changes_nothing() {
        let once = inject(DEPLOYMENT, "app.yaml", &target(false, false)).expect("injects");
        assert_eq!(once.rewritten, None);
        assert_eq!(once.changed, ["Deployment/app"]);
        assert!(
            once.text.starts_with("# the app\n") && once.text.contains("name: app # ours\n"),
            "{}",
            once.text
        );
        let spec = &once.documents[0]["spec"]["template"]["spec"];
        assert_eq!(spec["volumes"][1]["name"], "goosefs-hbase");
        assert_eq!(spec["containers"][0]["volumeMounts"][0]["mountPath"], "/data");
        assert_eq!(
            spec["containers"][1]["volumeMounts"][1]["mountPropagation"],
            "HostToContainer"
        );
        assert_eq!(
            spec["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"],
            100
        );
        let twice = inject(&once.text, "app.yaml", &target(false, false)).expect("injects");
        assert_eq!(twice.text, once.text);
        assert_eq!(twice.unchanged, ["Deployment/app"]);
    }

    #[test]
    fn fuse_nodes_are_required_in_every_alternative_term() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions: [{key: zone, operator: In, values: [a]}]\n        - matchFields: [{key: metadata.name, operator: In, values: [n1]}]\n";
        let out = inject(text, "p.yaml", &target(false, true)).expect("injects");
        assert_eq!(out.rewritten, None, "{}", out.text);
        let terms = &out.documents[0]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
        assert_eq!(terms[0]["matchExpressions"][1]["key"], "fuse");
        assert_eq!(terms[1]["matchExpressions"][0]["key"], "fuse");
        assert_eq!(terms[1]["matchFields"][0]["key"], "metadata.name");
    }

    #[test]
    fn conflicts_and_other_kinds() {
        let taken = DEPLOYMENT.replace("/cache}", "/data}");
        let err = inject(&taken, "app.yaml", &target(false, false)).expect_err("conflict");
        assert_eq!(
            err.to_string(),
            "app.yaml: Deployment/app: container b already mounts \"cache\" at \"/data\""
        );
        let elsewhere = DEPLOYMENT.replace("name: app # ours", "name: app\n  namespace: prod");
        let err = inject(&elsewhere, "app.yaml", &target(true, false)).expect_err("namespace");
        assert!(
            err.to_string()
                .contains("in namespace prod, the Dataset's PVC in default"),
            "{err}"
        );
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
        let out = inject(service, "s.yaml", &target(false, false)).expect("passes");
        assert_eq!(out.text, service);
        assert!(out.changed.is_empty() && out.unchanged.is_empty());
        let err = inject("a: [", "bad.yaml", &target(false, false)).expect_err("parse");
        assert!(err.to_string().starts_with("bad.yaml:1:"), "{err}");
    }

    #[test]
    fn a_layout_the_edit_cannot_take_is_rewritten_from_the_data() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n  volumes:\n";
        let out = inject(text, "p.yaml", &target(false, false)).expect("injects");
        assert!(out.rewritten.is_some());
        let reread = parse(&out.text, "p.yaml").expect("parses");
        assert_eq!(reread[0].to_json(), out.documents[0]);
    }
}
