//! The project's Kubernetes API test server: real HTTP on 127.0.0.1, started by the tests
//! themselves, following `../shared/testcluster/NOTES.md` for what `plan` needs: typed paths for
//! core and grouped kinds (namespaced and cluster-scoped), GET, label-selected lists,
//! server-side-apply PATCH (create or merge, `dryRun=All` honoured, field manager recorded),
//! the status subresource (merge patch), DELETE, a request log, fault injection (status codes with `Retry-After`, dropped
//! connections; next-request or matching-request), and an optional kubelet stand-in that marks
//! applied StatefulSets and DaemonSets ready.
//! Apply semantics are simplified: maps merge, lists are replaced whole, and ownership is kept
//! per leaf field (a list is one leaf): applying a different value to a field another manager
//! applied is a 409 naming that manager and field, unless `force=true` takes it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// A failure to serve instead of the next matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status (and `Retry-After: 0` for 429/503).
    Status(u16),
    /// Close the connection without answering.
    Drop,
}

/// Selects requests by their `METHOD path?query` log line.
pub type Matcher = fn(&str) -> bool;

#[derive(Default)]
struct State {
    /// Objects by path (`/api/v1/namespaces/ns/configmaps/name`).
    objects: BTreeMap<String, Value>,
    /// `METHOD path?query` of every request, in order.
    log: Vec<String>,
    faults: VecDeque<Fault>,
    /// Faults served once to the first request whose log line satisfies the predicate.
    targeted: Vec<(Matcher, Fault)>,
    /// Mark applied workloads ready, as if their pods had started.
    workloads_become_ready: bool,
    resource_version: u64,
    /// Per object path: the manager of each applied leaf field (`.spec.replicas`).
    owners: BTreeMap<String, BTreeMap<String, String>>,
}

/// A running server; stopped when dropped (the thread ends with the test process).
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl ApiServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> ApiServer {
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let state = shared.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(state.clone(), req));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let addr = rx.recv().expect("server started");
        ApiServer { addr, state }
    }

    /// A kubeconfig for this server (context `test`, namespace `default`), written into `dir`.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://{}\nusers:\n- name: test\n  user: {{}}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n",
            self.addr
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().expect("state").log.clone()
    }

    /// Serves these faults, in order, instead of the next requests.
    pub fn inject(&self, faults: &[Fault]) {
        self.state.lock().expect("state").faults.extend(faults.iter().cloned());
    }

    /// Serves `fault` once, to the first request whose `METHOD path?query` satisfies `matches`.
    pub fn inject_matching(&self, matches: Matcher, fault: Fault) {
        self.state.lock().expect("state").targeted.push((matches, fault));
    }

    /// Whether really applied StatefulSets and DaemonSets get a status with every replica ready.
    pub fn workloads_become_ready(&self, ready: bool) {
        self.state.lock().expect("state").workloads_become_ready = ready;
    }

    /// The stored object at `path`.
    pub fn object(&self, path: &str) -> Option<Value> {
        self.state.lock().expect("state").objects.get(path).cloned()
    }

    /// Paths of the stored objects.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().expect("state").objects.keys().cloned().collect()
    }

    /// Stores `object` as an apply by `manager` would (for seeding live state).
    pub fn apply(&self, object: &Value, manager: &str) {
        let path = object_path(object);
        let mut state = self.state.lock().expect("state");
        take_fields(&mut state, &path, object, manager);
        let merged = apply_to(&mut state, &path, object, manager);
        state.objects.insert(path, merged);
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.state.lock().expect("state").objects.len()
    }
}

/// The REST path of an object.
pub fn object_path(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let plural = format!("{}s", kind.to_ascii_lowercase());
    if namespace.is_empty() || kind == "PersistentVolume" {
        format!("{base}/{plural}/{name}")
    } else {
        format!("{base}/namespaces/{namespace}/{plural}/{name}")
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

/// The leaf fields an apply sets (`\0spec\0replicas`), with their values; identity fields left out.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                // Segments are joined with NUL: keys such as `app.kubernetes.io/name` hold dots.
                let field = format!("{prefix}\0{k}");
                if !matches!(
                    field.as_str(),
                    "\0apiVersion" | "\0kind" | "\0metadata\0name" | "\0metadata\0namespace"
                ) {
                    leaves(v, &field, out);
                }
            }
        }
        _ => out.push((prefix.to_owned(), value.clone())),
    }
}

/// The value at a leaf field of `object`.
fn at<'a>(object: &'a Value, field: &str) -> &'a Value {
    field.split('\0').skip(1).fold(object, |v, k| &v[k])
}

/// Fields of `patch` whose value differs from the live one and that another manager owns.
fn conflicts(state: &State, path: &str, patch: &Value, manager: &str) -> Vec<(String, String)> {
    let (Some(owners), Some(live)) = (state.owners.get(path), state.objects.get(path)) else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    leaves(patch, "", &mut fields);
    fields
        .into_iter()
        .filter_map(|(field, value)| {
            let owner = owners.get(&field)?;
            (owner != manager && at(live, &field) != &value).then(|| (owner.clone(), field.replace('\0', ".")))
        })
        .collect()
}

/// Makes `manager` the owner of every field `patch` sets.
fn take_fields(state: &mut State, path: &str, patch: &Value, manager: &str) {
    let mut fields = Vec::new();
    leaves(patch, "", &mut fields);
    let owners = state.owners.entry(path.to_owned()).or_default();
    for (field, _) in fields {
        owners.insert(field, manager.to_owned());
    }
}

fn apply_to(state: &mut State, path: &str, patch: &Value, manager: &str) -> Value {
    state.resource_version += 1;
    let mut object = state.objects.get(path).cloned().unwrap_or_else(|| {
        json!({"metadata": {"uid": format!("uid-{}", state.resource_version), "creationTimestamp": "2026-01-01T00:00:00Z"}})
    });
    merge(&mut object, patch);
    object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
    object["metadata"]["managedFields"] = json!([{"manager": manager, "operation": "Apply"}]);
    object
}

/// What the controllers and kubelet would report once every pod of a workload runs.
fn make_ready(object: &mut Value) {
    match object["kind"].as_str() {
        Some("StatefulSet") => {
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            object["status"] = json!({"replicas": replicas, "readyReplicas": replicas});
        }
        Some("DaemonSet") => {
            object["status"] = json!({"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2});
        }
        _ => {}
    }
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    if code == 429 || code == 503 {
        response
            .headers_mut()
            .insert("retry-after", "0".parse().expect("header"));
    }
    response
}

fn ok(value: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    response
}

fn matches_labels(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        object["metadata"]["labels"][k].as_str() == Some(v)
    })
}

/// Whether a path names a collection (`/api/v1/namespaces/ns/configmaps`, `/apis/g/v/plural`)
/// rather than an object.
fn is_collection(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let base = match parts.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return false,
    };
    let rest = parts.get(base..).unwrap_or_default();
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        rest.len() == 3
    } else {
        rest.len() == 1
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.replace("%2C", ",").replace("%3D", "=").replace("%2F", "/"))
    })
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let fault = {
        let mut s = state.lock().expect("state");
        let line = format!("{method} {path}?{query}");
        let targeted = s.targeted.iter().position(|(matches, _)| matches(&line));
        s.log.push(line);
        match targeted {
            Some(i) => Some(s.targeted.remove(i).1),
            None => s.faults.pop_front(),
        }
    };
    match fault {
        Some(Fault::Status(code)) => return Ok(status(code, "Injected", "injected by the test")),
        Some(Fault::Drop) => return Err(std::io::Error::other("dropped by the test")),
        None => {}
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut s = state.lock().expect("state");
    match method.as_str() {
        "GET" => {
            if let Some(object) = s.objects.get(&path) {
                return Ok(ok(object));
            }
            if is_collection(&path) {
                let prefix = format!("{path}/");
                let selector = query_param(&query, "labelSelector").unwrap_or_default();
                let items: Vec<Value> = s
                    .objects
                    .iter()
                    .filter(|(p, o)| {
                        p.starts_with(&prefix) && !p[prefix.len()..].contains('/') && matches_labels(o, &selector)
                    })
                    .map(|(_, o)| o.clone())
                    .collect();
                let list = json!({"apiVersion": "v1", "kind": "List",
                                  "metadata": {"resourceVersion": s.resource_version.to_string()}, "items": items});
                return Ok(ok(&list));
            }
            Ok(status(404, "NotFound", &format!("{path} not found")))
        }
        "PATCH" => {
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return Ok(status(400, "BadRequest", "the apply patch is not JSON"));
            };
            if let Some(parent) = path.strip_suffix("/status") {
                // The status subresource: a merge patch of the parent's `status` only.
                let Some(mut object) = s.objects.get(parent).cloned() else {
                    return Ok(status(404, "NotFound", &format!("{parent} not found")));
                };
                merge(&mut object["status"], &patch["status"]);
                s.resource_version += 1;
                object["metadata"]["resourceVersion"] = json!(s.resource_version.to_string());
                s.objects.insert(parent.to_owned(), object.clone());
                return Ok(ok(&object));
            }
            let manager = query_param(&query, "fieldManager").unwrap_or_default();
            let dry_run = query_param(&query, "dryRun").as_deref() == Some("All");
            if query_param(&query, "force").as_deref() != Some("true") {
                let found = conflicts(&s, &path, &patch, &manager);
                if !found.is_empty() {
                    let list: Vec<String> = found
                        .iter()
                        .map(|(m, f)| format!("conflict with \"{m}\": {f}"))
                        .collect();
                    let message = format!("Apply failed with {} conflict(s): {}", found.len(), list.join(", "));
                    return Ok(status(409, "Conflict", &message));
                }
            }
            if !dry_run {
                take_fields(&mut s, &path, &patch, &manager);
            }
            let mut merged = apply_to(&mut s, &path, &patch, &manager);
            if !dry_run {
                if s.workloads_become_ready {
                    make_ready(&mut merged);
                }
                s.objects.insert(path, merged.clone());
            }
            Ok(ok(&merged))
        }
        "DELETE" => match s.objects.remove(&path) {
            Some(object) => {
                s.owners.remove(&path);
                Ok(ok(&object))
            }
            None => Ok(status(404, "NotFound", &format!("{path} not found"))),
        },
        _ => Ok(status(405, "MethodNotAllowed", "not supported by the test server")),
    }
}
