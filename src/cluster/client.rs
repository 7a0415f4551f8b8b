//! The only code that talks to an API server: connects with kubectl's habits (kubeconfig,
//! context, namespace, request timeout), reads live objects and the tool's inventory, and sends
//! server-side applies (dry-run for `plan`, real for `apply`) and deletes.

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::FIELD_MANAGER;
use super::plan::ResourceKey;
use super::status::{PodStatus, RuntimeStatus, failing_conditions, journal_addresses, runtime_status};
use crate::compile::applyset;
use crate::model::kinds::{self, ManagedKind};

/// How to reach the cluster (kubectl's flags).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig` (else `KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// `--request-timeout`.
    pub request_timeout: Option<Duration>,
}

/// Why talking to the cluster failed; each names what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig cannot be read or used.
    #[error("cannot use the kubeconfig: {0}; check --kubeconfig / KUBECONFIG and --context")]
    Config(String),
    /// The server cannot be reached (refused, reset, timed out, TLS).
    #[error("cannot reach the API server: {0}; check the cluster address and your network")]
    Unreachable(String),
    /// The server answered with an error status.
    #[error("{object}: the API server answered {code} {reason}: {message}{hint}")]
    Api {
        /// `Kind/ns/name`.
        object: String,
        /// HTTP status.
        code: u16,
        /// Kubernetes reason (`Forbidden`, `Invalid`...).
        reason: String,
        /// Server message.
        message: String,
        /// What to do.
        hint: String,
    },
}

impl ClusterError {
    /// The error a real server gives for an object of a namespace that does not exist.
    pub fn missing_namespace(namespace: &str) -> ClusterError {
        ClusterError::Api {
            object: format!("Namespace/{namespace}"),
            code: 404,
            reason: "NotFound".to_owned(),
            message: format!("namespaces \"{namespace}\" not found"),
            hint: NO_NAMESPACE.to_owned(),
        }
    }

    fn from_kube(object: &ResourceKey, error: kube::Error) -> ClusterError {
        match error {
            kube::Error::Api(status) => {
                let hint = match status.code {
                    401 => "; your credentials were refused (expired token?): log in again",
                    403 => "; your user lacks RBAC permission for this: ask for get/patch rights on it",
                    404 if status.message.starts_with("namespaces \"") => NO_NAMESPACE,
                    404 => "; the kind is not served (a CRD missing?)",
                    409 => "; another field manager owns these fields: resolve the conflict or use --force-conflicts",
                    422 => "; the server rejected the object as invalid",
                    429 | 500..=599 => "; the server is overloaded or failing: try again later",
                    _ => "",
                };
                ClusterError::Api {
                    object: object.to_string(),
                    code: status.code,
                    reason: status.reason.clone(),
                    // One line: a real server lists several conflicts on lines of their own.
                    message: status.message.split_whitespace().collect::<Vec<_>>().join(" "),
                    hint: hint.to_owned(),
                }
            }
            other => ClusterError::Unreachable(format!("{object}: {}", causes(&other))),
        }
    }
}

/// What to do about a namespace that does not exist.
const NO_NAMESPACE: &str = "; the namespace does not exist: create it, or pass --create-namespace to apply";

/// An error with the causes under it (`client error (SendRequest): connection closed before
/// message completed`): kube's own message alone rarely says what happened. A time-out says so
/// first, with the flag that sets it.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut timed_out = false;
    let mut next = Some(error);
    while let Some(e) = next {
        let io_timeout = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        let message = e.to_string();
        timed_out |= io_timeout || message.contains("timed out") || message.contains("deadline has elapsed");
        if !messages.iter().any(|m| m.contains(&message)) {
            messages.push(message);
        }
        next = e.source();
    }
    let chain = messages.join(": ");
    if timed_out {
        format!("timed out waiting for an answer (--request-timeout) ({chain})")
    } else {
        chain
    }
}

/// The label selector of the objects this tool made for runtime `name` (its inventory).
pub fn inventory_selector(name: &str) -> String {
    format!("{MANAGED_BY},app.kubernetes.io/instance={name}")
}

/// The label selector of everything this tool made.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by=kubectl-goosefs";

/// Whether `object` is a Dataset or GooseFSRuntime (served only once Fluid's CRDs are).
pub fn is_fluid_kind(object: &Value) -> bool {
    object["apiVersion"] == "data.fluid.io/v1alpha1"
}

/// List items may come without `apiVersion`/`kind`; put them back.
fn with_type(mut object: Value, api_version: &str, kind: &str) -> Value {
    object["apiVersion"] = api_version.into();
    object["kind"] = kind.into();
    object
}

/// Requests kept in flight (kubectl's default client QPS is 5, burst 10; API servers
/// handle far more, and 16 keeps a 50-runtime plan well under a second on a local server).
pub const CONCURRENCY: usize = 16;

/// Attempts per request when the connection fails (refused, reset, dropped, timed out).
const ATTEMPTS: u32 = 3;
/// No new attempt starts this long after the first (a slow server is not hammered).
const RETRY_BUDGET: Duration = Duration::from_secs(10);

/// Runs `request` again, with doubling delays from 100 ms, when the connection failed. Every
/// request this tool sends is idempotent (GET, LIST, server-side apply, DELETE that tolerates
/// 404), so a request whose answer was lost can be sent again. HTTP error statuses are not
/// retried here: kube's client already retries 429/503/504 honouring `Retry-After`.
async fn retrying<T, F, Fut>(mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match request().await {
            Err(kube::Error::HyperError(_) | kube::Error::Service(_))
                if attempt < ATTEMPTS && started.elapsed() < RETRY_BUDGET =>
            {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    /// The same connection without kube's retries of 429/503/504: for a pod's readiness answer,
    /// whose 503 is the answer (retried, it would take minutes to come back).
    once: kube::Client,
}

impl Cluster {
    /// Connects as kubectl would.
    ///
    /// # Errors
    /// [`ClusterError::Config`] for an unreadable or unusable kubeconfig.
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ClusterError> {
        let kube_options = KubeConfigOptions {
            context: options.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut config = match &options.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| ClusterError::Config(e.to_string()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options).await
            }
            None => kube::Config::from_kubeconfig(&kube_options).await,
        }
        .map_err(|e| ClusterError::Config(e.to_string()))?;
        if let Some(timeout) = options.request_timeout {
            config.read_timeout = Some(timeout);
            config.connect_timeout = Some(timeout);
        }
        let mut no_retry = config.clone();
        no_retry.default_retry = false;
        let once = kube::Client::try_from(no_retry).map_err(|e| ClusterError::Config(e.to_string()))?;
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster { client, once })
    }

    /// The namespace of the kubeconfig's context.
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    fn api(&self, key: &ResourceKey) -> Api<DynamicObject> {
        let (group, version) = key.api_version.rsplit_once('/').unwrap_or(("", &key.api_version));
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &key.kind));
        if kinds::is_cluster_scoped(&key.kind) || key.namespace.is_empty() {
            Api::all_with(self.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.client.clone(), &key.namespace, &resource)
        }
    }

    /// The live object, if any.
    ///
    /// # Errors
    /// [`ClusterError`] for anything but "not found".
    pub async fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let api = self.api(key);
        // Any 404 is "absent": servers differ in the reason they give (`NotFound`, or none for
        // a kind that is not served yet), so kube's `get_opt` is not enough.
        let found = match retrying(|| api.get(&key.name)).await {
            Ok(found) => Some(found),
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(e) => return Err(ClusterError::from_kube(key, e)),
        };
        found
            .map(|o| serde_json::to_value(o).map_err(|e| ClusterError::Unreachable(e.to_string())))
            .transpose()
    }

    /// What the object would be after a server-side apply (`dryRun=All`; nothing is written).
    ///
    /// # Errors
    /// [`ClusterError`], e.g. 409 for a field owned by another manager, 422 for an invalid object.
    /// `force` takes fields other managers own, as the real apply with `--force-conflicts` will.
    pub async fn dry_run_apply(&self, object: &Value, force: bool) -> Result<Value, ClusterError> {
        let params = PatchParams::apply(FIELD_MANAGER).dry_run();
        self.server_side_apply(object, if force { params.force() } else { params })
            .await
    }

    async fn server_side_apply(&self, object: &Value, params: PatchParams) -> Result<Value, ClusterError> {
        let key = ResourceKey::of(object);
        let api = self.api(&key);
        let patch = Patch::Apply(object);
        let result = retrying(|| api.patch(&key.name, &params, &patch))
            .await
            .map_err(|e| ClusterError::from_kube(&key, e))?;
        serde_json::to_value(result).map_err(|e| ClusterError::Unreachable(e.to_string()))
    }

    /// Live objects of `kind` in `namespace` carrying all `labels` (this tool's inventory).
    ///
    /// # Errors
    /// [`ClusterError`]; a kind the server does not serve (404) lists as empty.
    pub async fn list_labelled(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        labels: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let key = ResourceKey {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: String::new(),
        };
        let api = self.api(&key);
        let params = ListParams::default().labels(labels);
        match retrying(|| api.list(&params)).await {
            Ok(list) => list
                .items
                .into_iter()
                .map(|o| serde_json::to_value(o).map_err(|e| ClusterError::Unreachable(e.to_string())))
                .collect(),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
            Err(e) => Err(ClusterError::from_kube(&key, e)),
        }
    }
}

impl Cluster {
    /// Every Node and the host ports the live pods hold, for plan's capacity checks, read in
    /// pages of 500 (a large cluster's pods are not held in memory at once); `Err` with the
    /// refusal when this user may not list them or the server does not serve them (403, 404).
    ///
    /// # Errors
    /// [`ClusterError`] from the reads.
    pub async fn capacity_facts(
        &self,
    ) -> Result<Result<(Vec<super::capacity::NodeFacts>, Vec<super::capacity::HeldPort>), String>, ClusterError> {
        use super::capacity::{HeldPort, NodeFacts};
        let mut nodes = Vec::new();
        let mut held = Vec::new();
        for kind in ["Node", "Pod"] {
            let key = ResourceKey {
                api_version: "v1".to_owned(),
                kind: kind.to_owned(),
                namespace: String::new(),
                name: String::new(),
            };
            let api = self.api(&key);
            let mut token: Option<String> = None;
            loop {
                let mut params = ListParams::default().limit(500);
                if kind == "Pod" {
                    params = params.fields("status.phase!=Succeeded,status.phase!=Failed");
                }
                if let Some(t) = &token {
                    params = params.continue_token(t);
                }
                let page = match retrying(|| api.list(&params)).await {
                    Ok(page) => page,
                    Err(kube::Error::Api(status)) if (403..=405).contains(&status.code) => {
                        return Ok(Err(format!(
                            "cannot list {}s: {}",
                            kind.to_ascii_lowercase(),
                            status.message
                        )));
                    }
                    Err(e) => return Err(ClusterError::from_kube(&key, e)),
                };
                for item in &page.items {
                    let value = serde_json::to_value(item).map_err(|e| ClusterError::Unreachable(e.to_string()))?;
                    if kind == "Node" {
                        nodes.push(NodeFacts::of(&value));
                    } else {
                        held.extend(HeldPort::of(&value));
                    }
                }
                token = page.metadata.continue_.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(Ok((nodes, held)))
    }
}

impl Cluster {
    /// The names of every object of `kind` in `namespace` (all namespaces' for a cluster-scoped
    /// kind), whoever made them: a metadata-only list where the server serves one.
    ///
    /// # Errors
    /// [`ClusterError`]; a kind the server does not serve (404) lists as empty.
    pub async fn list_names(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<std::collections::HashSet<String>, ClusterError> {
        let key = ResourceKey {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: String::new(),
        };
        let api = self.api(&key);
        let params = ListParams::default();
        match retrying(|| api.list_metadata(&params)).await {
            Ok(list) => Ok(list.items.into_iter().filter_map(|o| o.metadata.name).collect()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(std::collections::HashSet::new()),
            Err(e) => Err(ClusterError::from_kube(&key, e)),
        }
    }

    /// Every object this tool made for the runtimes `names` of `namespace` (and their
    /// PersistentVolumes), in apply order of kinds. One list per kind, whatever the number of
    /// runtimes, run concurrently.
    ///
    /// # Errors
    /// [`ClusterError`] from the lists.
    pub async fn inventory(&self, namespace: &str, names: &[&str]) -> Result<Vec<Value>, ClusterError> {
        let selector = match names {
            [one] => inventory_selector(one),
            _ => MANAGED_BY.to_owned(),
        };
        let ids: Vec<String> = names.iter().map(|n| applyset::id(n, namespace)).collect();
        let lists: Vec<Vec<Value>> = stream::iter(kinds::RENDERED)
            .map(
                |ManagedKind {
                     api_version,
                     kind,
                     cluster_scoped,
                 }| {
                    let (selector, ids) = (&selector, &ids);
                    async move {
                        let ns = if cluster_scoped { "" } else { namespace };
                        let found = self.list_labelled(api_version, kind, ns, selector).await?;
                        Ok::<_, ClusterError>(
                            found
                                .into_iter()
                                .filter(|o| {
                                    // Members (or the parent) of one of these runtimes' ApplySets: the
                                    // id depends on the namespace, so a same-named runtime elsewhere,
                                    // whose PV carries the same instance label, is left alone.
                                    let labels = &o["metadata"]["labels"];
                                    let set = labels[applyset::PART_OF].as_str().or(labels[applyset::ID].as_str());
                                    set.is_some_and(|set| ids.iter().any(|id| id == set))
                                })
                                .map(|o| with_type(o, api_version, kind))
                                .collect(),
                        )
                    }
                },
            )
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(lists.into_iter().flatten().collect())
    }

    /// What `plan` compares: the dry-run result of every object that exists (`desired`, in the
    /// given order; an object that does not exist is a create, taken as rendered) and the live
    /// objects, which are the desired ones that exist plus the rest of each runtime's inventory
    /// (those become deletes). One list per kind for the inventory and one for the names of
    /// everything else, one dry run per existing object, and a read only for an object that
    /// exists outside the inventory.
    ///
    /// # Errors
    /// [`ClusterError`] from any request.
    pub async fn gather(
        &self,
        objects: &[Value],
        runtimes: &[(String, String)],
        as_rendered: &(dyn Fn(&Value) -> bool + Sync),
        force_conflicts: bool,
    ) -> Result<(Vec<Value>, Vec<Value>), ClusterError> {
        use std::collections::{BTreeMap, HashMap};
        // The inventory first (one list per kind and namespace): it holds the live state of
        // every object applied before, so only objects missing from it need a GET of their own.
        let mut by_namespace: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (namespace, name) in runtimes {
            by_namespace.entry(namespace).or_default().push(name);
        }
        let mut inventory = Vec::new();
        for (namespace, names) in by_namespace {
            inventory.extend(self.inventory(namespace, &names).await?);
        }
        let mut listed: HashMap<ResourceKey, usize> = inventory
            .iter()
            .enumerate()
            .map(|(i, o)| (ResourceKey::of(o), i))
            .collect();
        let known: Vec<Option<usize>> = objects.iter().map(|o| listed.remove(&ResourceKey::of(o))).collect();
        // Which of the other objects exist at all: one metadata-only list per kind and
        // namespace. An object that does not exist costs no dry run: a create has nothing to
        // conflict with, and is planned as rendered (the server checks it when it is applied).
        let mut groups: Vec<(String, String, String)> = objects
            .iter()
            .zip(&known)
            .filter(|(o, known)| known.is_none() && !as_rendered(o))
            .map(|(o, _)| {
                let key = ResourceKey::of(o);
                (key.api_version, key.kind, key.namespace)
            })
            .collect();
        groups.sort();
        groups.dedup();
        let names: Vec<std::collections::HashSet<String>> = stream::iter(&groups)
            .map(|(api_version, kind, namespace)| self.list_names(api_version, kind, namespace))
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let existing: std::collections::HashSet<ResourceKey> = groups
            .into_iter()
            .zip(names)
            .flat_map(|((api_version, kind, namespace), names)| {
                names.into_iter().map(move |name| ResourceKey {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                    namespace: namespace.clone(),
                    name,
                })
            })
            .collect();
        // Requests per object are independent: run several at once, keeping the results in
        // input order so the plan is deterministic.
        let pairs: Vec<(Option<Value>, Value)> = stream::iter(objects.iter().zip(known))
            .map(|(object, known)| {
                let listed = known.map(|i| inventory[i].clone());
                let exists = listed.is_some() || existing.contains(&ResourceKey::of(object));
                async move {
                    // A Fluid kind whose CRD this apply installs first, or an object of a
                    // namespace it creates first, cannot exist yet nor be dry-run (a real server
                    // answers 404); an object that does not exist is a create: plan it as rendered.
                    if as_rendered(object) || !exists {
                        return Ok((None, object.clone()));
                    }
                    let desired = self.dry_run_apply(object, force_conflicts).await?;
                    // Outside the inventory, an object that exists without our labels costs a read.
                    let current = match listed {
                        Some(found) => Some(found),
                        None => self.get(&ResourceKey::of(object)).await?,
                    };
                    Ok::<_, ClusterError>((current, desired))
                }
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let (live, desired): (Vec<Option<Value>>, Vec<Value>) = pairs.into_iter().unzip();
        let mut live: Vec<Value> = live.into_iter().flatten().collect();
        // What is left of the inventory is no longer rendered: deletes, in inventory order.
        let mut leftovers: Vec<usize> = listed.into_values().collect();
        leftovers.sort_unstable();
        live.extend(leftovers.into_iter().map(|i| inventory[i].clone()));
        Ok((desired, live))
    }

    /// Applies `object` for real (server-side apply, field manager `kubectl-goosefs`).
    ///
    /// # Errors
    /// [`ClusterError`]; a 409 names the conflicting fields' owner.
    pub async fn apply(&self, object: &Value, force: bool) -> Result<Value, ClusterError> {
        let params = PatchParams::apply(FIELD_MANAGER);
        self.server_side_apply(object, if force { params.force() } else { params })
            .await
    }

    /// Deletes an object (gone already counts as done).
    ///
    /// # Errors
    /// [`ClusterError`] for anything but "not found".
    pub async fn delete(&self, key: &ResourceKey) -> Result<Deletion, ClusterError> {
        let api = self.api(key);
        let params = kube::api::DeleteParams::background();
        match retrying(|| api.delete(&key.name, &params)).await {
            // The object comes back when it is still there, marked: finalizers hold it (a PVC in
            // use, `pvc-protection`); a Status or the final object when it is gone.
            Ok(answer) => Ok(match answer.left() {
                Some(object)
                    if object.metadata.deletion_timestamp.is_some()
                        && object.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()) =>
                {
                    Deletion::Pending(object.metadata.finalizers.unwrap_or_default())
                }
                _ => Deletion::Gone,
            }),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Deletion::Gone),
            Err(e) => Err(ClusterError::from_kube(key, e)),
        }
    }

    /// The runtimes this tool manages in `namespace` (from its master StatefulSets' labels).
    ///
    /// # Errors
    /// [`ClusterError`] from the list.
    pub async fn runtimes(&self, namespace: &str) -> Result<Vec<String>, ClusterError> {
        Ok(self
            .runtimes_in(Some(namespace))
            .await?
            .into_iter()
            .map(|(_, name)| name)
            .collect())
    }

    /// The runtimes this tool manages, as (namespace, name), in `namespace` or in all
    /// namespaces (`None`), found by their master StatefulSets; sorted.
    ///
    /// # Errors
    /// [`ClusterError`] from the list.
    pub async fn runtimes_in(&self, namespace: Option<&str>) -> Result<Vec<(String, String)>, ClusterError> {
        let masters = self
            .list_labelled("apps/v1", "StatefulSet", namespace.unwrap_or(""), MANAGED_BY)
            .await?;
        let mut found: Vec<(String, String)> = masters
            .iter()
            .filter_map(|o| {
                let name = o["metadata"]["labels"]["app.kubernetes.io/instance"].as_str()?;
                let namespace = o["metadata"]["namespace"].as_str()?;
                (o["metadata"]["name"].as_str() == Some(&format!("{name}-master")))
                    .then(|| (namespace.to_owned(), name.to_owned()))
            })
            .collect();
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The phases of runtime `name`, read from its StatefulSets and DaemonSet.
    ///
    /// # Errors
    /// [`ClusterError`] from the reads.
    pub async fn runtime_status(&self, namespace: &str, name: &str) -> Result<RuntimeStatus, ClusterError> {
        let read = |api_version: &str, kind: &str, suffix: &str| ResourceKey {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: format!("{name}-{suffix}"),
        };
        let master = self.get(&read("apps/v1", "StatefulSet", "master")).await?;
        let worker = self.get(&read("apps/v1", "StatefulSet", "worker")).await?;
        let fuse = self.get(&read("apps/v1", "DaemonSet", "fuse")).await?;
        Ok(runtime_status(
            namespace,
            name,
            master.as_ref(),
            worker.as_ref(),
            fuse.as_ref(),
        ))
    }

    /// [`Cluster::runtime_status`] plus the Raft journal addresses (from the runtime's
    /// ConfigMap) and the master pods, for `status`.
    ///
    /// # Errors
    /// [`ClusterError`] from the reads.
    pub async fn runtime_details(&self, namespace: &str, name: &str) -> Result<RuntimeStatus, ClusterError> {
        let mut status = self.runtime_status(namespace, name).await?;
        let config = ResourceKey {
            api_version: "v1".to_owned(),
            kind: "ConfigMap".to_owned(),
            namespace: namespace.to_owned(),
            name: format!("{name}-config"),
        };
        status.journal_addresses = self.get(&config).await?.as_ref().and_then(journal_addresses);
        let pods = self
            .list_labelled("v1", "Pod", namespace, &format!("release={name},role=goosefs-master"))
            .await?;
        status.master_pods = pods.iter().map(PodStatus::of).collect();
        status.master_pods.sort_by(|a, b| a.name.cmp(&b.name));
        for (role, unready) in [
            ("goosefs-worker", &mut status.unready_workers),
            ("goosefs-fuse", &mut status.unready_fuses),
        ] {
            let pods = self
                .list_labelled("v1", "Pod", namespace, &format!("release={name},role={role}"))
                .await?;
            // A terminating pod (a scale-down, a rollout) is not ready by design: not a cause.
            *unready = (pods.iter())
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .map(PodStatus::of)
                .filter(|p| !p.ready)
                .collect();
            unready.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // The live Fluid status (kept by the leading master for our images, written by `apply`
        // for Fluid's), when Fluid's CRDs are served: cache columns, the Dataset's phase and
        // the conditions that do not hold.
        let fluid = |kind: &str| ResourceKey {
            api_version: "data.fluid.io/v1alpha1".to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        if let Some(runtime) = self.get(&fluid("GooseFSRuntime")).await? {
            status.cache = super::status::CacheStates::from_live(&runtime["status"]["cacheStates"]);
            status.problems.extend(failing_conditions("GooseFSRuntime", &runtime));
        }
        if let Some(dataset) = self.get(&fluid("Dataset")).await? {
            status.dataset_phase = dataset["status"]["phase"].as_str().map(str::to_owned);
            status.problems.extend(failing_conditions("Dataset", &dataset));
        }
        Ok(status)
    }

    /// Why mount Job `job` of runtime `runtime` did not complete, as `; last log line: ...;
    /// Dataset: ...` (what can be read of it; empty when nothing can).
    pub async fn mount_failure(&self, namespace: &str, job: &str, runtime: &str) -> String {
        let mut why = String::new();
        let pods = self
            .list_labelled("v1", "Pod", namespace, &format!("job-name={job}"))
            .await
            .unwrap_or_default();
        // The newest pod: the one whose log says how the last attempt ended.
        let newest = pods
            .iter()
            .max_by_key(|p| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .and_then(|p| p["metadata"]["name"].as_str());
        if let Some(pod) = newest {
            let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}/log?tailLines=5");
            if let Ok(request) = http::Request::get(&path).body(Vec::new())
                && let Ok(Ok(log)) =
                    tokio::time::timeout(std::time::Duration::from_secs(5), self.client.request_text(request)).await
                && let Some(line) = log.lines().rev().find(|l| !l.trim().is_empty())
            {
                why.push_str(&format!(
                    "; last log line: {}",
                    line.trim().chars().take(300).collect::<String>()
                ));
            }
        }
        let dataset = ResourceKey {
            api_version: "data.fluid.io/v1alpha1".to_owned(),
            kind: "Dataset".to_owned(),
            namespace: namespace.to_owned(),
            name: runtime.to_owned(),
        };
        if let Ok(Some(dataset)) = self.get(&dataset).await
            && let Some(problem) = failing_conditions("Dataset", &dataset).first()
        {
            why.push_str(&format!("; {problem}"));
        }
        why
    }

    /// The answer of a pod's readiness endpoint (`/ready` on `port`), through the API server's
    /// pod proxy: why a probe fails, in the runtime's words (the kubelet records only the
    /// status code). `None` when the proxy cannot reach it.
    pub async fn pod_ready_answer(&self, namespace: &str, pod: &str, port: u16) -> Option<String> {
        let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/ready");
        let request = http::Request::get(&path).body(Vec::new()).ok()?;
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), self.once.request_text(request)).await;
        match answer {
            Ok(Ok(text)) => Some(text),
            // A 503 is the answer that matters: kube reports it as an error with the body.
            Ok(Err(kube::Error::Api(status))) => Some(status.message),
            _ => None,
        }
        .map(|t| t.trim().chars().take(300).collect())
    }

    /// Watches the StatefulSets, DaemonSets and Pods this tool labelled in `namespace` (all
    /// namespaces when empty), as
    /// `kubectl get -w` does, and sends [`Watched::Changed`] for every change (the current objects
    /// count as changes when a watch starts). Each watch reconnects where it stopped when the server
    /// ends it (its timeout) and from the current state after 410 Gone. A server that does not
    /// serve watches gets [`Watched::Unsupported`]; a failure ends the watches with the error.
    pub fn workload_changes(&self, namespace: &str) -> tokio::sync::mpsc::Receiver<Result<Watched, ClusterError>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        for (api_version, kind) in [("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("v1", "Pod")] {
            let key = ResourceKey {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: String::new(),
            };
            tokio::spawn(watch_kind(self.api(&key), key, sender.clone()));
        }
        receiver
    }

    /// Whether the API server serves Fluid's GooseFSRuntime (its CRD is installed).
    ///
    /// # Errors
    /// [`ClusterError`] from the read.
    pub async fn fluid_crds_installed(&self) -> Result<bool, ClusterError> {
        self.crd_installed("goosefsruntimes.data.fluid.io").await
    }

    /// Whether the API server has the CustomResourceDefinition `name` (`<plural>.<group>`).
    ///
    /// # Errors
    /// [`ClusterError`] from the read.
    pub async fn crd_installed(&self, name: &str) -> Result<bool, ClusterError> {
        let key = ResourceKey {
            api_version: "apiextensions.k8s.io/v1".to_owned(),
            kind: "CustomResourceDefinition".to_owned(),
            namespace: String::new(),
            name: name.to_owned(),
        };
        Ok(self.get(&key).await?.is_some())
    }

    /// Whether Fluid's own GooseFS controller runs (Deployment `fluid-system/goosefsruntime-controller`
    /// with replicas): it would act on the same objects. Unreadable (403) counts as not running.
    ///
    /// # Errors
    /// [`ClusterError`] from the read, except 403.
    pub async fn fluid_controller_running(&self) -> Result<bool, ClusterError> {
        let key = ResourceKey {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: "fluid-system".to_owned(),
            name: "goosefsruntime-controller".to_owned(),
        };
        match self.get(&key).await {
            Ok(found) => Ok(found.is_some_and(|d| d["spec"]["replicas"].as_i64().unwrap_or(1) > 0)),
            Err(ClusterError::Api { code: 403, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates `object` unless an object of its name exists: `false` then, and nothing changes
    /// (a create whose answer was lost and is retried finds its own object and says so too).
    ///
    /// # Errors
    /// [`ClusterError`] for anything but "already exists".
    pub async fn create(&self, object: &Value) -> Result<bool, ClusterError> {
        let key = ResourceKey::of(object);
        let api = self.api(&key);
        let typed: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| ClusterError::Unreachable(e.to_string()))?;
        let params = kube::api::PostParams::default();
        match retrying(|| api.create(&params, &typed)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(ClusterError::from_kube(&key, e)),
        }
    }

    /// Follows pod `pod`'s log to its end (the container's exit), handing each line to `line`.
    ///
    /// # Errors
    /// [`ClusterError`] when the log cannot be read.
    pub async fn follow_log(&self, namespace: &str, pod: &str, line: &mut dyn FnMut(&str)) -> Result<(), ClusterError> {
        use futures::{AsyncBufReadExt, TryStreamExt};
        let key = ResourceKey {
            api_version: "v1".to_owned(),
            kind: "Pod".to_owned(),
            namespace: namespace.to_owned(),
            name: pod.to_owned(),
        };
        let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::LogParams {
            follow: true,
            ..kube::api::LogParams::default()
        };
        let stream = api
            .log_stream(pod, &params)
            .await
            .map_err(|e| ClusterError::from_kube(&key, e))?;
        let mut lines = stream.lines();
        while let Some(text) = lines
            .try_next()
            .await
            .map_err(|e| ClusterError::Unreachable(format!("{key}: the log stopped: {e}")))?
        {
            line(&text);
        }
        Ok(())
    }

    /// Writes an object's `status` through the status subresource (a merge patch of `body`).
    ///
    /// # Errors
    /// [`ClusterError`].
    pub async fn patch_status(&self, key: &ResourceKey, body: &Value) -> Result<(), ClusterError> {
        let api = self.api(key);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let patch = Patch::Merge(body);
        retrying(|| api.patch_status(&key.name, &params, &patch))
            .await
            .map(drop)
            .map_err(|e| ClusterError::from_kube(key, e))
    }
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// The object is gone (or was not there).
    Gone,
    /// The object is marked for deletion and waits for these finalizers.
    Pending(Vec<String>),
}

impl Deletion {
    /// `deleted`, or `deleting (waiting for finalizers: ...)`.
    pub fn verb(&self) -> String {
        match self {
            Deletion::Gone => "deleted".to_owned(),
            Deletion::Pending(finalizers) => format!("deleting (waiting for finalizers: {})", finalizers.join(", ")),
        }
    }
}

/// What a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// An object was added, changed or deleted.
    Changed,
    /// The server does not serve watches (404/405): poll instead.
    Unsupported,
}

/// One kind's watch for [`Cluster::workload_changes`]; ends when the receiver is gone.
async fn watch_kind(
    api: Api<DynamicObject>,
    key: ResourceKey,
    sender: tokio::sync::mpsc::Sender<Result<Watched, ClusterError>>,
) {
    use kube::api::{WatchEvent, WatchParams};
    let params = WatchParams::default().labels(MANAGED_BY).timeout(290);
    // "0": start from the current state, which arrives as ADDED events.
    let mut version = "0".to_owned();
    loop {
        let events = match retrying(|| api.watch(&params, &version)).await {
            Ok(events) => events,
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 405 => {
                let _ = sender.send(Ok(Watched::Unsupported)).await;
                return;
            }
            Err(e) => {
                let _ = sender.send(Err(ClusterError::from_kube(&key, e))).await;
                return;
            }
        };
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o)) => {
                    if let Some(v) = o.metadata.resource_version {
                        version = v;
                    }
                    if sender.send(Ok(Watched::Changed)).await.is_err() {
                        return;
                    }
                }
                Ok(WatchEvent::Bookmark(bookmark)) => version = bookmark.metadata.resource_version,
                // Too old to resume from: start again from the current state.
                Ok(WatchEvent::Error(status)) if status.code == 410 => {
                    version = "0".to_owned();
                    break;
                }
                Ok(WatchEvent::Error(status)) => {
                    let error = kube::Error::Api(status);
                    let _ = sender.send(Err(ClusterError::from_kube(&key, error))).await;
                    return;
                }
                // The stream broke (a dropped connection): reconnect where it stopped, soon.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
        if sender.is_closed() {
            return;
        }
    }
}
