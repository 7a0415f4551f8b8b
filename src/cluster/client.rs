//! The API-server side of `plan`: connects with kubectl's habits (kubeconfig, context,
//! namespace, request timeout), reads live objects and asks the server for server-side-apply dry
//! runs. Every write this module sends carries `dryRun=All`: it never changes the cluster.

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::FIELD_MANAGER;
use super::plan::ResourceKey;

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
    fn from_kube(object: &ResourceKey, error: kube::Error) -> ClusterError {
        match error {
            kube::Error::Api(status) => {
                let hint = match status.code {
                    401 => "; your credentials were refused (expired token?): log in again",
                    403 => "; your user lacks RBAC permission for this: ask for get/patch rights on it",
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
                    message: status.message.clone(),
                    hint: hint.to_owned(),
                }
            }
            other => ClusterError::Unreachable(format!("{object}: {other}")),
        }
    }
}

/// The kinds `render` emits: (apiVersion, kind, cluster-scoped).
pub const KINDS: [(&str, &str, bool); 7] = [
    ("v1", "ConfigMap", false),
    ("v1", "Service", false),
    ("v1", "PersistentVolume", true),
    ("v1", "PersistentVolumeClaim", false),
    ("apps/v1", "StatefulSet", false),
    ("batch/v1", "Job", false),
    ("apps/v1", "DaemonSet", false),
];

/// The label selector of the objects this tool made for runtime `name` (its inventory).
pub fn inventory_selector(name: &str) -> String {
    format!("app.kubernetes.io/managed-by=kubectl-goosefs,app.kubernetes.io/instance={name}")
}

/// List items may come without `apiVersion`/`kind`; put them back.
fn with_type(mut object: Value, api_version: &str, kind: &str) -> Value {
    object["apiVersion"] = api_version.into();
    object["kind"] = kind.into();
    object
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
}

/// Kinds this tool writes that are cluster-scoped.
const CLUSTER_SCOPED: [&str; 3] = ["PersistentVolume", "Namespace", "CustomResourceDefinition"];

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
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster { client })
    }

    /// The namespace of the kubeconfig's context.
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    fn api(&self, key: &ResourceKey) -> Api<DynamicObject> {
        let (group, version) = key.api_version.rsplit_once('/').unwrap_or(("", &key.api_version));
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &key.kind));
        if CLUSTER_SCOPED.contains(&key.kind.as_str()) || key.namespace.is_empty() {
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
        let found = self
            .api(key)
            .get_opt(&key.name)
            .await
            .map_err(|e| ClusterError::from_kube(key, e))?;
        found
            .map(|o| serde_json::to_value(o).map_err(|e| ClusterError::Unreachable(e.to_string())))
            .transpose()
    }

    /// What the object would be after a server-side apply (`dryRun=All`; nothing is written).
    ///
    /// # Errors
    /// [`ClusterError`], e.g. 409 for a field owned by another manager, 422 for an invalid object.
    pub async fn dry_run_apply(&self, object: &Value) -> Result<Value, ClusterError> {
        let key = ResourceKey::of(object);
        let params = PatchParams::apply(FIELD_MANAGER).dry_run();
        let result = self
            .api(&key)
            .patch(&key.name, &params, &Patch::Apply(object))
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
        match self.api(&key).list(&ListParams::default().labels(labels)).await {
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
    /// Every object of runtime `name` in `namespace` this tool made (and its PersistentVolume).
    ///
    /// # Errors
    /// [`ClusterError`] from the lists.
    pub async fn inventory(&self, namespace: &str, name: &str) -> Result<Vec<Value>, ClusterError> {
        let mut found = Vec::new();
        for (api_version, kind, cluster_scoped) in KINDS {
            let ns = if cluster_scoped { "" } else { namespace };
            for object in self
                .list_labelled(api_version, kind, ns, &inventory_selector(name))
                .await?
            {
                found.push(with_type(object, api_version, kind));
            }
        }
        Ok(found)
    }

    /// What `plan` compares: the dry-run result of every object (`desired`, in the given order)
    /// and the live objects, which are the desired ones that exist plus the rest of each
    /// runtime's inventory (those become deletes).
    ///
    /// # Errors
    /// [`ClusterError`] from any request.
    pub async fn gather(
        &self,
        objects: &[Value],
        runtimes: &[(String, String)],
    ) -> Result<(Vec<Value>, Vec<Value>), ClusterError> {
        let mut desired = Vec::with_capacity(objects.len());
        let mut live = Vec::new();
        for object in objects {
            if let Some(current) = self.get(&ResourceKey::of(object)).await? {
                live.push(current);
            }
            desired.push(self.dry_run_apply(object).await?);
        }
        for (namespace, name) in runtimes {
            for object in self.inventory(namespace, name).await? {
                let key = ResourceKey::of(&object);
                if !live.iter().any(|l| ResourceKey::of(l) == key) {
                    live.push(object);
                }
            }
        }
        Ok((desired, live))
    }

    /// Applies `object` for real (server-side apply, field manager `kubectl-goosefs`).
    ///
    /// # Errors
    /// [`ClusterError`]; a 409 names the conflicting fields' owner.
    pub async fn apply(&self, object: &Value, force: bool) -> Result<Value, ClusterError> {
        let key = ResourceKey::of(object);
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        let result = self
            .api(&key)
            .patch(&key.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| ClusterError::from_kube(&key, e))?;
        serde_json::to_value(result).map_err(|e| ClusterError::Unreachable(e.to_string()))
    }

    /// Deletes an object (gone already counts as done).
    ///
    /// # Errors
    /// [`ClusterError`] for anything but "not found".
    pub async fn delete(&self, key: &ResourceKey) -> Result<(), ClusterError> {
        match self
            .api(key)
            .delete(&key.name, &kube::api::DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(ClusterError::from_kube(key, e)),
        }
    }
}
