//! The runtime's only Kubernetes API client: the leading master reads its own StatefulSets and
//! DaemonSet and patches the status of its GooseFSRuntime and Dataset ([`crate::master::status`]),
//! as the pod's service account, over HTTPS with the cluster's CA.
//!
//! Four REST calls do not justify kube and k8s-openapi in the runtime image (a release build of
//! both, and megabytes of binary): this uses the reqwest the Web UFS already builds. It reads the
//! in-cluster configuration as client-go does (`KUBERNETES_SERVICE_HOST`/`_PORT`, the
//! service-account directory's `token` and `ca.crt`), and reads the token again before each
//! request, since the kubelet rotates projected tokens. The token is sent as a sensitive header
//! and never logged or shown in an error. Answers are bounded (size and time).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// Where the kubelet mounts a pod's service-account token and the cluster's CA.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Overrides the API server URL (tests, and a master run outside a pod): `http://` is allowed
/// only here.
pub const API_URL_ENV: &str = "GOOSEFS_KUBE_API_URL";

/// Overrides [`SERVICE_ACCOUNT_DIR`] (tests).
pub const SERVICE_ACCOUNT_ENV: &str = "GOOSEFS_KUBE_SERVICE_ACCOUNT";

/// Each request's deadline.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read (a StatefulSet with a large template is tens of KB).
const MAX_BODY: usize = 4 << 20;

/// Why a request failed. Never carries the token.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The in-cluster configuration cannot be read.
    #[error("Kubernetes API configuration: {0}")]
    Config(String),
    /// The API server did not answer (connection, TLS, time).
    #[error("the Kubernetes API at {url} did not answer: {reason}")]
    Unreachable {
        /// Base URL.
        url: String,
        /// Transport error.
        reason: String,
    },
    /// The API server answered with an error status.
    #[error("{method} {path}: {code} {reason}: {message}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// Request path.
        path: String,
        /// HTTP status.
        code: u16,
        /// The Status object's `reason` (`Forbidden`, `NotFound`...).
        reason: String,
        /// The Status object's message.
        message: String,
    },
    /// The answer is not the JSON expected, or too large.
    #[error("{path}: unreadable answer: {0}", path = .1)]
    Decode(String, String),
}

impl KubeError {
    /// The HTTP status of an error answer.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A client of the pod's API server.
#[derive(Clone)]
pub struct KubeApi {
    http: reqwest::Client,
    base: String,
    token_file: PathBuf,
}

impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl KubeApi {
    /// The in-cluster client, or `None` outside a cluster (no API server named).
    ///
    /// # Errors
    /// [`KubeError::Config`] when an API server is named but its CA cannot be used.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<KubeApi>, KubeError> {
        let dir = PathBuf::from(env(SERVICE_ACCOUNT_ENV).unwrap_or_else(|| SERVICE_ACCOUNT_DIR.to_owned()));
        let base = match (
            env(API_URL_ENV),
            env("KUBERNETES_SERVICE_HOST"),
            env("KUBERNETES_SERVICE_PORT"),
        ) {
            (Some(url), _, _) => url.trim_end_matches('/').to_owned(),
            (None, Some(host), Some(port)) if host.contains(':') => format!("https://[{host}]:{port}"),
            (None, Some(host), Some(port)) => format!("https://{host}:{port}"),
            _ => return Ok(None),
        };
        if !base.starts_with("https://") && !base.starts_with("http://") {
            return Err(KubeError::Config(format!("{API_URL_ENV} is not an http(s) URL")));
        }
        // rustls is built without a default provider (the process's choice is ring): installed
        // here too, since the status may be the first TLS the process does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // The API server names a writer by its user agent (managedFields' manager).
            .user_agent(concat!("goosefs-master/", env!("CARGO_PKG_VERSION")));
        let ca = dir.join("ca.crt");
        if base.starts_with("https://") {
            let pem = std::fs::read(&ca).map_err(|e| KubeError::Config(format!("{}: {e}", ca.display())))?;
            // reqwest parses the PEM only when it connects: say now that it is not one.
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(KubeError::Config(format!("{}: not a PEM certificate", ca.display())));
            }
            // A bundle: a CA file may hold several (and a self-signed server's file holds its
            // certificate and the CA that signed it).
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| KubeError::Config(format!("{}: {e}", ca.display())))?;
            // Only the cluster's CA: the API server is never trusted through a public root.
            builder = builder.tls_certs_only(certs);
        }
        let http = builder.build().map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(Some(KubeApi {
            http,
            base,
            token_file: dir.join("token"),
        }))
    }

    /// The object at `path`, or `None` when it does not exist (404).
    ///
    /// # Errors
    /// [`KubeError`] for any other failure.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, KubeError> {
        match self.send(reqwest::Method::GET, "GET", path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A JSON merge patch of the object at `path` (a `/status` path patches the status
    /// subresource).
    ///
    /// # Errors
    /// [`KubeError`].
    pub async fn merge_patch(&self, path: &str, body: &Value) -> Result<Value, KubeError> {
        self.send(reqwest::Method::PATCH, "PATCH", path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        name: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, KubeError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        // Read for every request: the kubelet replaces a projected token before it expires.
        if let Ok(token) = std::fs::read_to_string(&self.token_file) {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| KubeError::Config(format!("{} is not a token", self.token_file.display())))?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
                .body(body.to_string());
        }
        let unreachable = |e: reqwest::Error| KubeError::Unreachable {
            url: self.base.clone(),
            reason: e.without_url().to_string(),
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let code = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(KubeError::Decode(
                    format!("more than {MAX_BODY} bytes"),
                    path.to_owned(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&code) {
            if value.is_null() {
                return Err(KubeError::Decode("not JSON".to_owned(), path.to_owned()));
            }
            return Ok(value);
        }
        let text = |key: &str| {
            value[key]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect::<String>()
        };
        Err(KubeError::Status {
            method: name,
            path: path.to_owned(),
            code,
            reason: text("reason"),
            message: text("message"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_cluster_configuration_is_read_as_client_go_reads_it() {
        let none = |_: &str| None;
        assert!(matches!(KubeApi::from_env(&none), Ok(None)), "outside a cluster");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path().to_string_lossy().into_owned();
        let env = |k: &str| match k {
            "KUBERNETES_SERVICE_HOST" => Some("10.0.0.1".to_owned()),
            "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
            SERVICE_ACCOUNT_ENV => Some(d.clone()),
            _ => None,
        };
        let missing_ca = KubeApi::from_env(&env).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing_ca.contains("ca.crt"), "{missing_ca}");
        std::fs::write(dir.path().join("ca.crt"), "not a certificate").unwrap_or_else(|e| panic!("{e}"));
        assert!(KubeApi::from_env(&env).is_err(), "a CA that is not PEM");
        let plain = |k: &str| (k == API_URL_ENV).then(|| "http://127.0.0.1:1/".to_owned());
        let api = KubeApi::from_env(&plain).ok().flatten();
        assert_eq!(api.map(|a| a.base), Some("http://127.0.0.1:1".to_owned()));
        let bad = |k: &str| (k == API_URL_ENV).then(|| "ftp://x".to_owned());
        assert!(KubeApi::from_env(&bad).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_the_token() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("token"), "SECRET-TOKEN").unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path().to_string_lossy().into_owned();
        let env = |k: &str| match k {
            API_URL_ENV => Some("http://127.0.0.1:1".to_owned()),
            SERVICE_ACCOUNT_ENV => Some(d.clone()),
            _ => None,
        };
        let api = KubeApi::from_env(&env)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("configured"));
        let error = api.get("/api/v1/namespaces/default").await.err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.contains("did not answer"), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
        assert!(!format!("{api:?}").contains("SECRET"));
    }
}
