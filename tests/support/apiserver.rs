//! The project's Kubernetes API test server: real HTTP on 127.0.0.1, started by the tests
//! themselves, serving what `plan` needs: typed paths for
//! core and grouped kinds (namespaced and cluster-scoped), GET, label-selected lists,
//! server-side-apply PATCH (create or merge, `dryRun=All` honoured, field manager recorded),
//! the status subresource (merge patch), DELETE, a request log, fault injection (status codes with `Retry-After`, dropped
//! connections, delayed answers; next-request or matching-request), and an optional kubelet stand-in that marks
//! applied StatefulSets and DaemonSets ready. Like a real server it fills in defaults (the
//! common ones of the kinds we render, in dry runs too), writes quantities in canonical form
//! (`4096Mi` -> `4Gi`, `0.5` -> `500m`), refuses objects in namespaces that do not exist and
//! changes to immutable fields (a Job's pod template, a StatefulSet's spec but for replicas,
//! template and update strategy) with 422, and serves custom resources only once their
//! CustomResourceDefinition is stored (404 before, as for an unknown kind), dropping the fields
//! their CRD's structural schema does not declare, as a real server prunes them.
//! Watches stream changes (from resourceVersion 0: the current objects first) until their
//! timeout; `refuse_watches` answers them with 405. Discovery (`/api`, `/apis`, each group
//! version's resources, custom ones from the stored CRDs) lets the real kubectl talk to it.
//! Apply semantics are simplified: maps merge, lists are replaced whole, and ownership is kept
//! per leaf field (a list is one leaf): applying a different value to a field another manager
//! applied is a 409 naming that manager and field, unless `force=true` takes it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
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
    /// Answer normally, but only after this long.
    Delay(std::time::Duration),
}

/// Selects requests by their `METHOD path?query` log line.
pub type Matcher = fn(&str) -> bool;

/// What a watch sends: the object's path, the event type and the object.
type Event = (String, &'static str, Value);

/// A response body: whole, or streamed (watches).
type Body = BoxBody<Bytes, std::io::Error>;

struct State {
    /// Objects by path (`/api/v1/namespaces/ns/configmaps/name`).
    objects: BTreeMap<String, Value>,
    /// `METHOD path?query` of every request, in order.
    log: Vec<String>,
    faults: VecDeque<Fault>,
    /// Connections accepted and not yet closed.
    open_connections: usize,
    /// Faults served once to the first request whose log line satisfies the predicate.
    targeted: Vec<(Matcher, Fault)>,
    /// Mark applied workloads ready, as if their pods had started.
    workloads_become_ready: bool,
    resource_version: u64,
    /// Per object path: the manager of each applied leaf field (`.spec.replicas`).
    owners: BTreeMap<String, BTreeMap<String, String>>,
    /// Every stored change, for watches.
    events: tokio::sync::broadcast::Sender<Event>,
    /// Answer watch requests with 405, as a server (or proxy) that does not stream.
    refuse_watches: bool,
    /// Bearer tokens of service accounts: (namespace, name). Their requests are authorised by
    /// the stored Roles and RoleBindings, as RBAC does; any other caller may do anything.
    service_accounts: BTreeMap<String, (String, String)>,
}

impl State {
    fn new() -> State {
        State {
            objects: BTreeMap::new(),
            log: Vec::new(),
            faults: VecDeque::new(),
            open_connections: 0,
            targeted: Vec::new(),
            workloads_become_ready: false,
            resource_version: 0,
            owners: BTreeMap::new(),
            events: tokio::sync::broadcast::channel(4096).0,
            refuse_watches: false,
            service_accounts: BTreeMap::new(),
        }
    }

    /// Stores `object` at `path` and tells the watches.
    fn store(&mut self, path: String, object: Value) {
        let kind = if self.objects.contains_key(&path) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let _ = self.events.send((path.clone(), kind, object.clone()));
        self.objects.insert(path, object);
    }
}

/// A running server (the thread ends with the test process); clones share it.
#[derive(Clone)]
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl ApiServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> ApiServer {
        let state = Arc::new(Mutex::new(State::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let server_state = state.clone();
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
                    let state = server_state.clone();
                    state.lock().expect("state").open_connections += 1;
                    tokio::spawn(async move {
                        let service = service_fn({
                            let state = state.clone();
                            move |req| handle(state.clone(), req)
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        state.lock().expect("state").open_connections -= 1;
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

    /// Waits until the requests of finished clients are served: a client that failed may exit
    /// with requests still queued here, and a fault injected meanwhile would hit one of those
    /// instead of the next client's (the cause of a rare failure of the fault tests).
    fn settle(&self) {
        let quiet = std::time::Duration::from_millis(50);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = usize::MAX;
        while std::time::Instant::now() < deadline {
            let (open, logged) = {
                let s = self.state.lock().expect("state");
                (s.open_connections, s.log.len())
            };
            if open == 0 && logged == seen {
                return;
            }
            seen = logged;
            std::thread::sleep(quiet);
        }
    }

    /// Serves these faults, in order, instead of the next requests.
    pub fn inject(&self, faults: &[Fault]) {
        self.settle();
        self.state.lock().expect("state").faults.extend(faults.iter().cloned());
    }

    /// Serves `fault` once, to the first request whose `METHOD path?query` satisfies `matches`.
    pub fn inject_matching(&self, matches: Matcher, fault: Fault) {
        self.settle();
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

    /// The stored object at `path`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().expect("state").objects.get(path).cloned()
    }

    /// Stores `object` as an apply by `manager` would (for seeding live state).
    pub fn apply(&self, object: &Value, manager: &str) {
        let path = object_path(object);
        let mut state = self.state.lock().expect("state");
        take_fields(&mut state, &path, object, manager);
        let merged = apply_to(&mut state, &path, object, manager);
        state.store(path, merged);
    }

    /// A bearer token for service account `namespace/name`: requests bearing it are authorised
    /// by the stored Roles bound to that account (403 otherwise), as RBAC does.
    #[allow(dead_code)] // tests/runtime_status.rs
    pub fn service_account_token(&self, namespace: &str, name: &str) -> String {
        let token = format!("sa-token-{namespace}-{name}");
        self.state
            .lock()
            .expect("state")
            .service_accounts
            .insert(token.clone(), (namespace.to_owned(), name.to_owned()));
        token
    }

    /// Sets the `status` of the stored object at `path`, as its controller would.
    pub fn set_status(&self, path: &str, status: Value) {
        let mut state = self.state.lock().expect("state");
        state.resource_version += 1;
        let version = state.resource_version.to_string();
        let mut object = state.objects.get(path).cloned().expect("object to update");
        object["status"] = status;
        object["metadata"]["resourceVersion"] = json!(version);
        state.store(path.to_owned(), object);
    }

    /// Answers watch requests with 405 from now on.
    pub fn refuse_watches(&self) {
        self.state.lock().expect("state").refuse_watches = true;
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
                    // A merge patch's null removes the key (RFC 7386).
                    _ if v.is_null() => {
                        a.remove(k);
                    }
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
    set_defaults(&mut object);
    canonical_quantities(&mut object);
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
        // The Job controller's record of a pod that exited 0.
        Some("Job") => {
            object["status"] = json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]});
        }
        _ => {}
    }
}

/// A whole body.
fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    let mut response = Response::new(full(body.to_string()));
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

fn ok(value: &Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
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

/// Whether the object at `object` belongs to the collection at `collection`: its direct child,
/// or for a collection across namespaces (`/apis/apps/v1/statefulsets`), one in any namespace
/// (`/apis/apps/v1/namespaces/<ns>/statefulsets/<name>`).
fn in_collection(collection: &str, object: &str) -> bool {
    let Some((parent, name)) = object.rsplit_once('/') else {
        return false;
    };
    if name.is_empty() {
        return false;
    }
    if parent == collection {
        return true;
    }
    let Some((base, plural)) = collection.rsplit_once('/') else {
        return false;
    };
    !base.contains("/namespaces")
        && parent
            .strip_prefix(&format!("{base}/namespaces/"))
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(namespace, p)| !namespace.is_empty() && p == plural)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.replace("%2C", ",").replace("%3D", "=").replace("%2F", "/"))
    })
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
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
        Some(Fault::Delay(pause)) => tokio::time::sleep(pause).await,
        None => {}
    }
    let token = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut s = state.lock().expect("state");
    if let Some(denied) = token.and_then(|t| authorise(&s, &t, &method, &path, &query)) {
        return Ok(denied);
    }
    if let Some(crd) = custom_resource_definition(&path)
        && !s.objects.contains_key(&crd)
    {
        return Ok(status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource ({path})"),
        ));
    }
    match method.as_str() {
        "GET" => {
            if let Some(object) = s.objects.get(&path) {
                return Ok(ok(object));
            }
            // A pod's log: the text of its `test/log` annotation (the kubelet's stand-in).
            if let Some(pod) = path.strip_suffix("/log").and_then(|p| s.objects.get(p)) {
                let text = pod["metadata"]["annotations"]["test/log"].as_str().unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = query_param(&query, "tailLines")
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(lines.len());
                let shown = lines[lines.len().saturating_sub(tail)..].join("\n") + "\n";
                return Ok(Response::new(full(shown)));
            }
            // The status subresource reads as the whole object.
            if let Some(object) = path.strip_suffix("/status").and_then(|p| s.objects.get(p)) {
                return Ok(ok(object));
            }
            // The namespaces every cluster starts with exist without being stored.
            if let Some(ns) = path.strip_prefix("/api/v1/namespaces/")
                && PRESENT_NAMESPACES.contains(&ns)
            {
                return Ok(ok(
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                     "status": {"phase": "Active"}}),
                ));
            }
            if let Some(document) = discovery(&s, &path) {
                return Ok(ok(&document));
            }
            if is_collection(&path) && matches!(query_param(&query, "watch").as_deref(), Some("true" | "1")) {
                if s.refuse_watches {
                    return Ok(status(405, "MethodNotAllowed", "watch is not supported here"));
                }
                return Ok(watch(&s, &path, &query));
            }
            if is_collection(&path) {
                let selector = query_param(&query, "labelSelector").unwrap_or_default();
                let items: Vec<Value> = s
                    .objects
                    .iter()
                    .filter(|(p, o)| in_collection(&path, p) && matches_labels(o, &selector))
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
                prune_unknown(&s, parent, &mut object);
                s.resource_version += 1;
                object["metadata"]["resourceVersion"] = json!(s.resource_version.to_string());
                s.store(parent.to_owned(), object.clone());
                return Ok(ok(&object));
            }
            // Like a real server: objects go only into namespaces that exist (dry runs too).
            if let Some(ns) = path
                .split("/namespaces/")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                && path.split("/namespaces/").nth(1).is_some_and(|rest| rest.contains('/'))
                && !PRESENT_NAMESPACES.contains(&ns)
                && !s.objects.contains_key(&format!("/api/v1/namespaces/{ns}"))
            {
                return Ok(status(404, "NotFound", &format!("namespaces \"{ns}\" not found")));
            }
            let manager = query_param(&query, "fieldManager").unwrap_or_default();
            let dry_run = query_param(&query, "dryRun").as_deref() == Some("All");
            if query_param(&query, "force").as_deref() != Some("true") {
                let found = conflicts(&s, &path, &patch, &manager);
                // Worded as kube-apiserver words it (checked against 1.20).
                let message = match found.as_slice() {
                    [] => None,
                    [(m, f)] => Some(format!(
                        "Apply failed with 1 conflict: conflict with \"{m}\" using {}: {f}",
                        patch["apiVersion"].as_str().unwrap_or_default()
                    )),
                    many => {
                        let mut text = format!("Apply failed with {} conflicts:", many.len());
                        let mut managers: Vec<&String> = many.iter().map(|(m, _)| m).collect();
                        managers.dedup();
                        for m in managers {
                            text.push_str(&format!(" conflicts with \"{m}\":"));
                            for (_, f) in many.iter().filter(|(owner, _)| owner == m) {
                                text.push_str(&format!("\n- {f}"));
                            }
                        }
                        Some(text)
                    }
                };
                if let Some(message) = message {
                    return Ok(status(409, "Conflict", &message));
                }
            }
            let before = s.objects.get(&path).cloned();
            let mut merged = apply_to(&mut s, &path, &patch, &manager);
            prune_unknown(&s, &path, &mut merged);
            if let Some(message) = before.as_ref().and_then(|live| immutable_change(live, &merged)) {
                return Ok(status(422, "Invalid", &message));
            }
            if dry_run && before.is_none() {
                // As real servers: a dry-run create is stored nowhere, so it has no version.
                if let Some(metadata) = merged["metadata"].as_object_mut() {
                    metadata.remove("resourceVersion");
                }
            }
            if !dry_run {
                take_fields(&mut s, &path, &patch, &manager);
            }
            if !dry_run {
                if s.workloads_become_ready {
                    make_ready(&mut merged);
                }
                s.store(path, merged.clone());
            }
            Ok(ok(&merged))
        }
        "POST" => {
            // A create (the credential Secret): 409 when the name exists, as real servers;
            // `stringData` is stored as base64 `data`.
            let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
                return Ok(status(400, "BadRequest", "the object is not JSON"));
            };
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let target = format!("{path}/{name}");
            if s.objects.contains_key(&target) {
                return Ok(status(409, "AlreadyExists", &format!("{name} already exists")));
            }
            if let Some(data) = object.as_object_mut().and_then(|o| o.remove("stringData")) {
                use base64::Engine as _;
                let encoded: serde_json::Map<String, Value> = data
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let text = v.as_str().unwrap_or_default();
                        (k.clone(), json!(base64::engine::general_purpose::STANDARD.encode(text)))
                    })
                    .collect();
                object["data"] = Value::Object(encoded);
            }
            s.resource_version += 1;
            object["metadata"]["resourceVersion"] = json!(s.resource_version.to_string());
            s.store(target, object.clone());
            Ok(ok(&object))
        }
        "DELETE" => match s.objects.remove(&path) {
            // Finalizers keep an object, marked for deletion, until their controllers remove them
            // (there are none here).
            Some(mut object)
                if object["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()) =>
            {
                object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
                s.store(path, object.clone());
                Ok(ok(&object))
            }
            Some(object) => {
                s.owners.remove(&path);
                let _ = s.events.send((path.clone(), "DELETED", object.clone()));
                Ok(ok(&object))
            }
            None => Ok(status(404, "NotFound", &format!("{path} not found"))),
        },
        _ => Ok(status(405, "MethodNotAllowed", "not supported by the test server")),
    }
}

/// Namespaces every cluster starts with.
const PRESENT_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Groups served without a CRD.
const BUILT_IN_GROUPS: [&str; 5] = [
    "apps",
    "batch",
    "apiextensions.k8s.io",
    "rbac.authorization.k8s.io",
    "policy",
];

/// For a path of a custom resource (`/apis/data.fluid.io/v1alpha1/.../goosefsruntimes/x`), the
/// path its CustomResourceDefinition is stored at.
fn custom_resource_definition(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let (Some(&"apis"), Some(group)) = (parts.first(), parts.get(1)) else {
        return None;
    };
    if BUILT_IN_GROUPS.contains(group) || !group.contains('.') {
        return None;
    }
    let rest = parts.get(3..).unwrap_or_default();
    let plural = if rest.first() == Some(&"namespaces") {
        rest.get(2)
    } else {
        rest.first()
    }?;
    Some(format!(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{group}"
    ))
}

/// Sets `object[key]` to `value` where it is absent.
fn default(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.entry(key).or_insert(value);
    }
}

/// The defaults a real API server fills in for the kinds we render (Kubernetes 1.20-1.33).
fn set_defaults(object: &mut Value) {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let spec = &mut object["spec"];
    if !spec.is_object() {
        return;
    }
    match kind.as_str() {
        "StatefulSet" => {
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
        }
        "DaemonSet" => {
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
        }
        "Job" => {
            default(spec, "completions", json!(1));
            default(spec, "parallelism", json!(1));
            default(spec, "completionMode", json!("NonIndexed"));
            default(spec, "suspend", json!(false));
        }
        "Service" => {
            default(spec, "type", json!("ClusterIP"));
            default(spec, "sessionAffinity", json!("None"));
            for port in spec["ports"].as_array_mut().into_iter().flatten() {
                default(port, "protocol", json!("TCP"));
                let number = port["port"].clone();
                default(port, "targetPort", number);
            }
        }
        "PersistentVolume" => {
            default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            default(spec, "volumeMode", json!("Filesystem"));
        }
        "PersistentVolumeClaim" => default(spec, "volumeMode", json!("Filesystem")),
        _ => {}
    }
    let pod = &mut spec["template"]["spec"];
    if pod.is_object() {
        default(pod, "restartPolicy", json!("Always"));
        default(pod, "dnsPolicy", json!("ClusterFirst"));
        default(pod, "schedulerName", json!("default-scheduler"));
        default(pod, "terminationGracePeriodSeconds", json!(30));
        default(pod, "securityContext", json!({}));
        for key in ["containers", "initContainers"] {
            for container in pod[key].as_array_mut().into_iter().flatten() {
                let latest = container["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'));
                default(
                    container,
                    "imagePullPolicy",
                    json!(if latest { "Always" } else { "IfNotPresent" }),
                );
                default(container, "terminationMessagePath", json!("/dev/termination-log"));
                default(container, "terminationMessagePolicy", json!("File"));
                for port in container["ports"].as_array_mut().into_iter().flatten() {
                    default(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

/// Rewrites the quantities of `resources.limits`/`requests` and `storage` in canonical form.
fn canonical_quantities(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), value) {
                    ("limits" | "requests" | "capacity", Value::Object(quantities)) => {
                        for q in quantities.values_mut() {
                            if let Some(text) = q.as_str().and_then(canonical_quantity) {
                                *q = json!(text);
                            }
                        }
                    }
                    (_, value) => canonical_quantities(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical_quantities),
        _ => {}
    }
}

/// `4096Mi` -> `4Gi`, `0.5` -> `500m`, `1000m` -> `1`, `2000k` -> `2M`: the largest suffix of the
/// same family (binary or decimal) that keeps the number whole. `None` for what it cannot parse.
fn canonical_quantity(text: &str) -> Option<String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    const BINARY: [(&str, f64); 6] = [
        ("Ei", 6.0),
        ("Pi", 5.0),
        ("Ti", 4.0),
        ("Gi", 3.0),
        ("Mi", 2.0),
        ("Ki", 1.0),
    ];
    const DECIMAL: [(&str, i32); 8] = [
        ("E", 18),
        ("P", 15),
        ("T", 12),
        ("G", 9),
        ("M", 6),
        ("k", 3),
        ("", 0),
        ("m", -3),
    ];
    if let Some((_, power)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        let bytes = (number * 1024f64.powf(*power)).round() as u128;
        for (s, p) in BINARY {
            let unit = 1024u128.pow(p as u32);
            if bytes >= unit && bytes.is_multiple_of(unit) {
                return Some(format!("{}{s}", bytes / unit));
            }
        }
        return Some(bytes.to_string());
    }
    let (_, power) = DECIMAL.iter().find(|(s, _)| *s == suffix)?;
    let milli = (number * 10f64.powi(power + 3)).round() as u128;
    for (s, p) in DECIMAL {
        let unit = 10u128.pow((p + 3) as u32);
        if milli >= unit && milli.is_multiple_of(unit) {
            return Some(format!("{}{s}", milli / unit));
        }
    }
    Some("0".to_owned())
}

/// Drops the fields of a custom resource at `path` that its CRD's schema does not declare.
fn prune_unknown(state: &State, path: &str, object: &mut Value) {
    let Some(crd) = custom_resource_definition(path).and_then(|p| state.objects.get(&p)) else {
        return;
    };
    let version = path.split('/').nth(3).unwrap_or_default();
    let versions = crd["spec"]["versions"].as_array().cloned().unwrap_or_default();
    let Some(schema) = versions.iter().find(|v| v["name"] == version) else {
        return;
    };
    let schema = &schema["schema"]["openAPIV3Schema"];
    if let Some(fields) = object.as_object_mut() {
        for (key, value) in fields.iter_mut() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                prune(value, &schema["properties"][key.as_str()]);
            }
        }
    }
}

fn prune(value: &mut Value, schema: &Value) {
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema["properties"].as_object() {
                map.retain(|k, _| properties.contains_key(k));
                for (k, v) in map.iter_mut() {
                    prune(v, &properties[k]);
                }
            } else if schema["additionalProperties"].is_object() {
                map.values_mut().for_each(|v| prune(v, &schema["additionalProperties"]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| prune(v, &schema["items"])),
        _ => {}
    }
}

/// Why an update of `live` to `merged` is refused as a real server refuses it, if it is.
fn immutable_change(live: &Value, merged: &Value) -> Option<String> {
    let name = merged["metadata"]["name"].as_str().unwrap_or_default();
    match merged["kind"].as_str() {
        Some("Job") if live["spec"]["template"] != merged["spec"]["template"] => Some(format!(
            "Job.batch \"{name}\" is invalid: spec.template: Invalid value: ...: field is immutable"
        )),
        Some("StatefulSet") => {
            let strip = |o: &Value| {
                let mut spec = o["spec"].clone();
                if let Some(map) = spec.as_object_mut() {
                    for mutable in ["replicas", "template", "updateStrategy", "minReadySeconds", "ordinals"] {
                        map.remove(mutable);
                    }
                }
                spec
            };
            (strip(live) != strip(merged)).then(|| format!(
                "StatefulSet.apps \"{name}\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', 'updateStrategy' and 'minReadySeconds' are forbidden"
            ))
        }
        _ => None,
    }
}

/// A watch of the collection at `path`: from `resourceVersion` 0 (or none) the matching objects as
/// ADDED first, then every change, one JSON event per line, until `timeoutSeconds` (default 290).
fn watch(state: &State, path: &str, query: &str) -> Response<Body> {
    let collection = path.to_owned();
    let selector = query_param(query, "labelSelector").unwrap_or_default();
    let member = move |p: &str, o: &Value| in_collection(&collection, p) && matches_labels(o, &selector);
    let from_start = matches!(query_param(query, "resourceVersion").as_deref(), None | Some("" | "0"));
    let initial: Vec<Event> = if from_start {
        state
            .objects
            .iter()
            .filter(|(p, o)| member(p, o))
            .map(|(p, o)| (p.clone(), "ADDED", o.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let seconds = query_param(query, "timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(290);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let changes = events_until(state.events.subscribe(), deadline);
    let frame = |(_, kind, object): Event| {
        Ok::<_, std::io::Error>(Frame::data(Bytes::from(
            json!({"type": kind, "object": object}).to_string() + "\n",
        )))
    };
    let stream = futures::stream::iter(initial)
        .chain(changes.filter(move |(p, _, o)| std::future::ready(member(p, o))))
        .map(frame);
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    response
}

/// The events of `receiver` until `deadline`.
fn events_until(
    receiver: tokio::sync::broadcast::Receiver<Event>,
    deadline: tokio::time::Instant,
) -> impl futures::Stream<Item = Event> {
    futures::stream::unfold(receiver, move |mut receiver| async move {
        // The deadline, a closed channel, or a watcher too slow to keep up (real servers end
        // such watches too) end the stream.
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Ok(event)) => Some((event, receiver)),
            Ok(Err(_)) | Err(_) => None,
        }
    })
}

/// The built-in resources served: (group, version, kind, plural, namespaced).
const BUILT_IN: [(&str, &str, &str, &str, bool); 17] = [
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "Node", "nodes", false),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "Service", "services", true),
    ("", "v1", "Pod", "pods", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
    ("", "v1", "PersistentVolume", "persistentvolumes", false),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true),
    ("apps", "v1", "StatefulSet", "statefulsets", true),
    ("apps", "v1", "DaemonSet", "daemonsets", true),
    ("apps", "v1", "Deployment", "deployments", true),
    ("batch", "v1", "Job", "jobs", true),
    ("batch", "v1", "CronJob", "cronjobs", true),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
];

/// RBAC for a service account's request: `None` when a rule of a Role bound to the account (in
/// the request's namespace) allows the verb on the resource (and name), else a 403 Status worded
/// as a real server words it. Callers that are not service accounts are not checked.
fn authorise(state: &State, token: &str, method: &str, path: &str, query: &str) -> Option<Response<Body>> {
    let (sa_namespace, sa_name) = state.service_accounts.get(token)?;
    // /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]], /apis/<group>/<version>/namespaces/...
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.first() {
        Some(&"api") => ("", parts.get(2..).unwrap_or_default()),
        _ => (
            parts.get(1).copied().unwrap_or_default(),
            parts.get(3..).unwrap_or_default(),
        ),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
        _ => ("", rest),
    };
    let resource = match rest {
        [resource, _, sub] => format!("{resource}/{sub}"),
        [resource, ..] => (*resource).to_owned(),
        [] => String::new(),
    };
    let name = rest.get(1).copied().unwrap_or_default();
    let verb = match (method, name.is_empty()) {
        ("GET", true) if matches!(query_param(query, "watch").as_deref(), Some("true" | "1")) => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("PATCH", _) => "patch",
        ("PUT", _) => "update",
        ("POST", _) => "create",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    let listed = |rule: &Value, key: &str, wanted: &str| {
        rule[key]
            .as_array()
            .is_some_and(|l| l.iter().any(|v| v == wanted || v == "*"))
    };
    let allowed = !namespace.is_empty()
        && state.objects.iter().any(|(p, binding)| {
            p.starts_with(&format!(
                "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/"
            )) && binding["roleRef"]["kind"] == "Role"
                && binding["subjects"].as_array().is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s["kind"] == "ServiceAccount"
                            && s["name"] == sa_name.as_str()
                            && s["namespace"] == sa_namespace.as_str()
                    })
                })
                && state
                    .objects
                    .get(&format!(
                        "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{}",
                        binding["roleRef"]["name"].as_str().unwrap_or_default()
                    ))
                    .and_then(|role| role["rules"].as_array())
                    .is_some_and(|rules| {
                        rules.iter().any(|rule| {
                            listed(rule, "apiGroups", group)
                                && listed(rule, "resources", &resource)
                                && listed(rule, "verbs", verb)
                                && (rule["resourceNames"].as_array().is_none_or(Vec::is_empty)
                                    || listed(rule, "resourceNames", name))
                        })
                    })
        });
    if allowed {
        return None;
    }
    let (kind, sub) = resource.split_once('/').unwrap_or((&resource, ""));
    let what = if sub.is_empty() {
        format!("resource \"{kind}\"")
    } else {
        format!("resource \"{kind}/{sub}\"")
    };
    Some(status(
        403,
        "Forbidden",
        &format!(
            "{kind}{} \"{name}\" is forbidden: User \"system:serviceaccount:{sa_namespace}:{sa_name}\" cannot {verb} {what} in API group \"{group}\" in the namespace \"{namespace}\"",
            if group.is_empty() {
                String::new()
            } else {
                format!(".{group}")
            }
        ),
    ))
}

/// Discovery documents: `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`.
fn discovery(state: &State, path: &str) -> Option<Value> {
    // Served resources: the built-in ones and those of the stored CRDs.
    let mut resources: Vec<(String, String, String, String, bool)> = BUILT_IN
        .iter()
        .map(|(g, v, k, p, n)| ((*g).to_owned(), (*v).to_owned(), (*k).to_owned(), (*p).to_owned(), *n))
        .collect();
    for (crd_path, crd) in &state.objects {
        if !crd_path.starts_with("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/") {
            continue;
        }
        let spec = &crd["spec"];
        for version in spec["versions"].as_array().into_iter().flatten() {
            resources.push((
                spec["group"].as_str().unwrap_or_default().to_owned(),
                version["name"].as_str().unwrap_or_default().to_owned(),
                spec["names"]["kind"].as_str().unwrap_or_default().to_owned(),
                spec["names"]["plural"].as_str().unwrap_or_default().to_owned(),
                spec["scope"] == "Namespaced",
            ));
        }
    }
    let list = |group: &str, version: &str| {
        let group_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        let items: Vec<Value> = resources
            .iter()
            .filter(|(g, v, ..)| g == group && v == version)
            .map(|(_, _, kind, plural, namespaced)| {
                json!({"name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced,
                       "kind": kind, "verbs": ["get", "list", "watch", "patch", "delete"]})
            })
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": items})
    };
    match path.trim_end_matches('/') {
        "/api" => Some(json!({"kind": "APIVersions", "versions": ["v1"],
                              "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})),
        "/api/v1" => Some(list("", "v1")),
        "/apis" => {
            let mut groups: Vec<(String, String)> = resources
                .iter()
                .filter(|(g, ..)| !g.is_empty())
                .map(|(g, v, ..)| (g.clone(), v.clone()))
                .collect();
            groups.sort();
            groups.dedup();
            let groups: Vec<Value> = groups
                .iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        other => {
            let rest = other.strip_prefix("/apis/")?;
            let (group, version) = rest.split_once('/')?;
            (!version.contains('/') && resources.iter().any(|(g, v, ..)| g == group && v == version))
                .then(|| list(group, version))
        }
    }
}
