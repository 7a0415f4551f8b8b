//! Under file systems: a mount's UFS URI and options become an Apache OpenDAL operator (HTTP,
//! S3, COS, OSS, WebHDFS, the local file system), with OpenDAL's retry (exponential back-off with
//! jitter on temporary errors: timeouts, 5xx, throttling) and timeout layers. Web UFS listings
//! come from index pages ([`web`]), which OpenDAL's HTTP service does not list.
//!
//! One file per service ([`web`], `s3`, `cos`, `oss`, `hdfs`, `local`), chosen by goosefs-conf's
//! scheme table, which the plugin's validation reads too. The master lists and stats through this
//! module; workers read block ranges. Mount options may
//! hold secrets: they go into the operator and nowhere else (errors name option keys, never values).

mod cos;
mod hdfs;
mod local;
mod oss;
mod s3;
pub mod web;

use std::collections::BTreeMap;
use std::time::Duration;

use goosefs_conf::ufs::Service;
use goosefs_conf::{Conf, keys};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{ErrorKind, Operator};

/// Why a UFS operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UfsError {
    /// The URI's scheme is not one the runtime reads.
    #[error("{uri}: the runtime does not read the {scheme}:// scheme")]
    Scheme {
        /// The UFS URI.
        uri: String,
        /// Its scheme.
        scheme: String,
    },
    /// The URI or its options cannot make an operator.
    #[error("{uri}: {reason}")]
    Config {
        /// The UFS URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The scheme cannot be written.
    #[error("{uri}: this UFS cannot be written (read-only scheme)")]
    ReadOnly {
        /// The UFS URI.
        uri: String,
    },
    /// The path does not exist in the UFS.
    #[error("{uri}: {path} does not exist")]
    NotFound {
        /// The UFS URI.
        uri: String,
        /// Path inside it.
        path: String,
    },
    /// The UFS refused the credentials (or refused the request: a Web UFS's 403).
    #[error("{uri}: access denied to {path} (check the mount's keys): {source}")]
    Denied {
        /// The UFS URI.
        uri: String,
        /// Path inside it.
        path: String,
        /// The UFS's own answer (OpenDAL's error, or the index page's status).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other failure, after the retries.
    #[error("{uri}: {op} {path} failed: {source}")]
    Io {
        /// The UFS URI.
        uri: String,
        /// The operation.
        op: &'static str,
        /// Path inside it.
        path: String,
        /// OpenDAL's (or the index page request's) error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Bytes sent per request when storing a file (S3's multipart parts must be at least 5 MiB).
pub const UPLOAD_CHUNK: usize = 8 << 20;

/// How UFS calls behave, from the process's configuration.
#[derive(Debug, Clone)]
pub struct UfsSettings {
    /// One request's limit.
    pub timeout: Duration,
    /// Retries of a failed request.
    pub retries: usize,
    /// Web index page rules.
    pub index: web::IndexRules,
}

impl Default for UfsSettings {
    fn default() -> Self {
        UfsSettings {
            timeout: Duration::from_secs(60),
            retries: 5,
            index: web::IndexRules::default(),
        }
    }
}

impl UfsSettings {
    /// Settings from `goosefs.underfs.web.*` (the timeout applies to every scheme).
    ///
    /// # Errors
    /// A property that does not parse.
    pub fn from_conf(conf: &Conf) -> Result<UfsSettings, goosefs_conf::opts::ConfError> {
        let timeout = conf.period(keys::UNDERFS_WEB_CONNECTION_TIMEOUT, Duration::from_secs(60))?;
        Ok(UfsSettings {
            timeout,
            retries: 5,
            index: web::IndexRules::new(
                conf.get_or(keys::UNDERFS_WEB_TITLES, web::DEFAULT_TITLES),
                conf.get_or(keys::UNDERFS_WEB_PARENT_NAMES, web::DEFAULT_PARENT_NAMES),
            ),
        })
    }
}

/// A file or directory in a UFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name in its directory.
    pub name: String,
    /// A directory?
    pub dir: bool,
    /// Length in bytes (0 for directories).
    pub length: u64,
    /// Last modification, ms since the epoch (0 when the UFS does not say).
    pub mtime_ms: i64,
    /// What identifies this version of the file: its length, time and ETag. Block ids derive
    /// from it, so a file changed in the UFS gets new blocks and stale cache is never served.
    pub fingerprint: String,
}

/// One mount's UFS.
#[derive(Clone)]
pub struct Ufs {
    uri: String,
    op: Operator,
    /// For Web UFSes: how index pages are read.
    web: Option<web::Index>,
    /// For local folders: the folder (uploads are staged in [`STAGING`] under it).
    local: Option<String>,
}

/// The folder under a local UFS's root where uploads are written before being renamed into
/// place (on the same file system, so the rename is atomic); never listed.
pub const STAGING: &str = ".goosefs-staging";

impl std::fmt::Debug for Ufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the options: they may hold keys.
        f.debug_struct("Ufs").field("uri", &self.uri).finish_non_exhaustive()
    }
}

/// The service that reads `scheme` (lower case). The scheme table is goosefs-conf's, the
/// plugin's too, so a scheme the plugin calls readable is one [`Ufs::open`] opens; `file` is the
/// runtime's own name for a local path (its root UFS, `/underFSStorage`).
fn service_of(scheme: &str) -> Option<Service> {
    match scheme {
        "file" => Some(Service::Local),
        other => goosefs_conf::ufs::lookup(other).and_then(|s| s.service),
    }
}

/// A UFS URI taken apart, for the services' builders.
struct Target<'a> {
    /// As written (shown only through [`shown`]: it may carry a password).
    uri: &'a str,
    /// Lower case.
    scheme: String,
    /// Host, bucket, claim or name node.
    authority: &'a str,
    /// The path, ending in `/`.
    root: String,
}

impl Target<'_> {
    /// A configuration error naming the (redacted) URI.
    fn refused(&self, reason: impl Into<String>) -> UfsError {
        UfsError::Config {
            uri: shown(self.uri),
            reason: reason.into(),
        }
    }

    fn needs_authority(&self, what: &str) -> Result<(), UfsError> {
        if self.authority.is_empty() {
            Err(self.refused(format!("no {what} in the URI")))
        } else {
            Ok(())
        }
    }

    /// The operator of a service's builder, no extras.
    fn operator(&self, builder: impl opendal::Builder) -> Result<Built, UfsError> {
        let op = Operator::new(builder).map_err(|e| self.refused(e.to_string()))?;
        Ok(Built {
            op,
            web: None,
            local: None,
        })
    }
}

/// What a service's builder makes.
struct Built {
    op: Operator,
    web: Option<web::Index>,
    local: Option<String>,
}

/// A URI as errors show it (no password: [`crate::proto::path::redact_uri`]).
fn shown(uri: &str) -> String {
    crate::proto::path::redact_uri(uri).into_owned()
}

/// The first option set among `keys`.
fn option<'a>(options: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| options.get(*k)).map(String::as_str)
}

/// Installs, once, the TLS crypto provider (rustls is built without a default one) and
/// OpenDAL's HTTP transport.
fn tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal_http_transport_reqwest::install_default();
    });
}

impl Ufs {
    /// The operator for `uri` with the mount's `options`.
    ///
    /// # Errors
    /// [`UfsError::Scheme`] or [`UfsError::Config`].
    pub fn open(uri: &str, options: &BTreeMap<String, String>, settings: &UfsSettings) -> Result<Ufs, UfsError> {
        tls_provider();
        let (scheme, rest) = match uri.split_once("://") {
            Some((s, rest)) => (s.to_ascii_lowercase(), rest),
            None => ("file".to_owned(), uri),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let t = Target {
            uri,
            root: if path.ends_with('/') {
                path.to_owned()
            } else {
                format!("{path}/")
            },
            scheme,
            authority,
        };
        let Built { op, web, local } = match service_of(&t.scheme) {
            Some(Service::Web) => web::build(&t, settings)?,
            Some(Service::S3) => s3::build(&t, options)?,
            Some(Service::Cos) => cos::build(&t, options)?,
            Some(Service::Oss) => oss::build(&t, options)?,
            Some(Service::WebHdfs) => hdfs::build(&t, options)?,
            Some(Service::Local) => local::build_local(&t)?,
            Some(Service::Pvc) => local::build_pvc(&t)?,
            None => {
                return Err(UfsError::Scheme {
                    uri: shown(uri),
                    scheme: t.scheme,
                });
            }
        };
        let op = op
            .layer(
                TimeoutLayer::new()
                    .with_timeout(settings.timeout)
                    .with_io_timeout(settings.timeout),
            )
            .layer(
                RetryLayer::new()
                    .with_jitter()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(2))
                    .with_max_times(settings.retries),
            );
        Ok(Ufs {
            uri: shown(uri),
            op,
            web,
            local,
        })
    }

    /// The mount's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn error(&self, op: &'static str, path: &str, e: opendal::Error) -> UfsError {
        let path = if path.is_empty() { "/" } else { path }.to_owned();
        match e.kind() {
            ErrorKind::NotFound => UfsError::NotFound {
                uri: shown(&self.uri),
                path,
            },
            ErrorKind::PermissionDenied => UfsError::Denied {
                uri: shown(&self.uri),
                path,
                source: Box::new(e),
            },
            _ => UfsError::Io {
                uri: shown(&self.uri),
                op,
                path,
                source: Box::new(e),
            },
        }
    }

    /// The entries of directory `dir` (relative to the mount, no leading or trailing slash; empty
    /// for the mount's root), sorted by name.
    ///
    /// # Errors
    /// [`UfsError`]; `NotFound` when `dir` is not a directory.
    pub async fn list(&self, dir: &str) -> Result<Vec<Entry>, UfsError> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out = match &self.web {
            Some(index) => self.list_index(index, &prefix).await?,
            None => {
                let listed = self.op.list(&prefix).await.map_err(|e| self.error("list", dir, e))?;
                // Stores list a missing directory as an empty one: ask whether it exists.
                if listed.is_empty() && !prefix.is_empty() {
                    let meta = self.op.stat(&prefix).await.map_err(|e| self.error("stat", dir, e))?;
                    if !meta.is_dir() {
                        return Err(UfsError::NotFound {
                            uri: shown(&self.uri),
                            path: dir.to_owned(),
                        });
                    }
                }
                let mut out = Vec::with_capacity(listed.len());
                for entry in listed {
                    let name = entry.path()[prefix.len().min(entry.path().len())..].trim_end_matches('/');
                    if name.is_empty() || name.contains('/') || (prefix.is_empty() && name == STAGING) {
                        // The directory itself, something deeper, or uploads in progress.
                        continue;
                    }
                    let meta = entry.metadata();
                    let (name, dir_entry) = (name.to_owned(), meta.is_dir());
                    let meta = if dir_entry || meta.last_modified().is_some() {
                        meta.clone()
                    } else {
                        // Listings of some services carry no sizes or times.
                        self.op
                            .stat(entry.path())
                            .await
                            .map_err(|e| self.error("stat", entry.path(), e))?
                    };
                    out.push(entry_of(name, &meta));
                }
                out
            }
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Checks that the mount's root can be listed (wrong keys, no such bucket, no index page)
    /// without listing it whole: a mount of a directory of 100,000 files does not wait for
    /// 100,000 HEADs or pages.
    ///
    /// # Errors
    /// [`UfsError`].
    pub async fn check(&self) -> Result<(), UfsError> {
        use futures_util::TryStreamExt as _;
        if let Some(index) = &self.web {
            return self.index_links(index, "").await.map(drop);
        }
        let mut lister = self.op.lister("").await.map_err(|e| self.error("list", "", e))?;
        lister.try_next().await.map(drop).map_err(|e| self.error("list", "", e))
    }

    /// The bytes of file `path` from `offset`, `length` of them, as they arrive: one request,
    /// resumed by the retry layer if it breaks.
    ///
    /// # Errors
    /// [`UfsError`] when the request cannot start; the stream's items carry later failures.
    pub async fn stream(&self, path: &str, offset: u64, length: u64) -> Result<opendal::FuturesBytesStream, UfsError> {
        let reader = self.op.reader(path).await.map_err(|e| self.error("read", path, e))?;
        reader
            .into_bytes_stream(offset..offset + length)
            .await
            .map_err(|e| self.error("read", path, e))
    }

    /// Whether this UFS can be written at all (a Web UFS cannot).
    ///
    /// # Errors
    /// [`UfsError::ReadOnly`].
    pub fn check_writable(&self) -> Result<(), UfsError> {
        let cap = self.op.info().capability();
        if cap.write && cap.delete && cap.create_dir {
            Ok(())
        } else {
            Err(UfsError::ReadOnly { uri: shown(&self.uri) })
        }
    }

    /// Stores the first `length` bytes of `spool` as file `path`, replacing what was there:
    /// streamed in [`UPLOAD_CHUNK`] pieces (multipart on object stores), and visible in the
    /// UFS only once complete.
    ///
    /// # Errors
    /// [`UfsError`]; a failed upload leaves the UFS's previous file (or none).
    pub async fn upload(&self, path: &str, spool: &std::fs::File, length: u64) -> Result<(), UfsError> {
        use std::os::unix::fs::FileExt;
        self.check_writable()?;
        let io = |source: std::io::Error| UfsError::Io {
            uri: shown(&self.uri),
            op: "write",
            path: path.to_owned(),
            source: Box::new(source),
        };
        // A local folder is written atomically: staged beside the files, then renamed (OpenDAL's
        // fs service otherwise writes the target in place, visible half-written).
        let staged;
        let op = match &self.local {
            Some(dir) => {
                staged = local::staged(dir).map_err(|e| self.error("write", path, e))?;
                &staged
            }
            None => &self.op,
        };
        let mut writer = op
            .writer_with(path)
            .chunk(UPLOAD_CHUNK)
            .await
            .map_err(|e| self.error("write", path, e))?;
        let mut offset = 0;
        while offset < length {
            let n = usize::try_from((length - offset).min(UPLOAD_CHUNK as u64)).unwrap_or(UPLOAD_CHUNK);
            let mut buf = vec![0; n];
            spool.read_exact_at(&mut buf, offset).map_err(io)?;
            if let Err(e) = writer.write(buf).await {
                // Abort so no part of the file (or a multipart upload) is left behind.
                let _ = writer.abort().await;
                return Err(self.error("write", path, e));
            }
            offset += n as u64;
        }
        writer.close().await.map_err(|e| self.error("write", path, e))?;
        Ok(())
    }

    /// Makes directory `path` (and its parents).
    ///
    /// # Errors
    /// [`UfsError`].
    pub async fn create_dir(&self, path: &str) -> Result<(), UfsError> {
        self.check_writable()?;
        let dir = format!("{}/", path.trim_end_matches('/'));
        self.op.create_dir(&dir).await.map_err(|e| self.error("mkdir", path, e))
    }

    /// Renames file `from` to `to`, when the UFS can (a local folder, WebHDFS); object stores
    /// cannot rename: `Ok(false)`.
    ///
    /// # Errors
    /// [`UfsError`].
    pub async fn rename(&self, from: &str, to: &str) -> Result<bool, UfsError> {
        self.check_writable()?;
        if !self.op.info().capability().rename {
            return Ok(false);
        }
        self.op
            .rename(from, to)
            .await
            .map_err(|e| self.error("rename", from, e))?;
        Ok(true)
    }

    /// Deletes file `path`, or the empty directory `path/` when `dir`.
    ///
    /// # Errors
    /// [`UfsError`].
    pub async fn delete(&self, path: &str, dir: bool) -> Result<(), UfsError> {
        self.check_writable()?;
        let target = if dir {
            format!("{}/", path.trim_end_matches('/'))
        } else {
            path.to_owned()
        };
        self.op.delete(&target).await.map_err(|e| self.error("delete", path, e))
    }

    /// A failure in the middle of a [`Ufs::stream`].
    pub fn stream_error(&self, path: &str, e: std::io::Error) -> UfsError {
        UfsError::Io {
            uri: shown(&self.uri),
            op: "read",
            path: path.to_owned(),
            source: Box::new(e),
        }
    }

    /// `length` bytes of file `path` from `offset`.
    ///
    /// # Errors
    /// [`UfsError`]; a short read is an error (the file changed under us).
    pub async fn read(&self, path: &str, offset: u64, length: u64) -> Result<bytes::Bytes, UfsError> {
        let buffer = self
            .op
            .read_with(path)
            .range(offset..offset + length)
            .await
            .map_err(|e| self.error("read", path, e))?;
        let bytes = buffer.to_bytes();
        if bytes.len() as u64 != length {
            return Err(UfsError::Io {
                uri: shown(&self.uri),
                op: "read",
                path: path.to_owned(),
                source: format!(
                    "asked for {length} bytes at {offset}, got {}: the file changed?",
                    bytes.len()
                )
                .into(),
            });
        }
        Ok(bytes)
    }
}

/// `endpoint` with `https://` when it has no scheme (object store endpoints are often written bare).
fn with_scheme(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    }
}

fn entry_of(name: String, meta: &opendal::Metadata) -> Entry {
    let mtime_ms = meta.last_modified().map_or(0, |t| t.into_inner().as_millisecond());
    let dir = meta.is_dir();
    let length = if dir { 0 } else { meta.content_length() };
    let fingerprint = if dir {
        String::new()
    } else {
        format!("{length}:{mtime_ms}:{}", meta.etag().unwrap_or_default())
    };
    Entry {
        name,
        dir,
        length,
        mtime_ms,
        fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny HTTP server on `ip`: each request's path is answered from `answers` (status,
    /// extra header, body); returns its port and the paths it was asked for.
    async fn http_server(
        ip: &str,
        answers: Vec<(&'static str, u16, String, &'static str)>,
    ) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                log.lock().expect("log").push(head.clone());
                let (status, header, body) = answers
                    .iter()
                    .find(|(p, ..)| *p == path)
                    .map_or((404, String::new(), ""), |(_, st, h, b)| (*st, h.clone(), *b));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\n{header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        (port, asked)
    }

    #[tokio::test]
    async fn web_ufs_redirects_are_followed_within_the_origin_only() {
        let (other, other_asked) = http_server("127.0.0.1", vec![("/secret", 200, String::new(), "secret")]).await;
        let away = format!("Location: http://127.0.0.1:{other}/secret\r\n");
        let (port, _) = http_server(
            "127.0.0.1",
            vec![
                ("/d/moved.txt", 302, "Location: /d/here.txt\r\n".to_owned(), ""),
                ("/d/here.txt", 200, String::new(), "here"),
                ("/d/away.txt", 302, away, ""),
            ],
        )
        .await;
        let ufs = Ufs::open(
            &format!("http://127.0.0.1:{port}/d/"),
            &BTreeMap::new(),
            &UfsSettings::default(),
        )
        .expect("open");
        let same = ufs.read("moved.txt", 0, 4).await.map(|b| b.to_vec());
        assert_eq!(same.ok().as_deref(), Some(&b"here"[..]), "a redirect within the origin");
        let away = ufs
            .read("away.txt", 0, 6)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(away.contains("error following redirect"), "{away}");
        assert!(
            other_asked.lock().expect("log").is_empty(),
            "the other origin was never asked"
        );
    }

    #[tokio::test]
    async fn a_web_ufs_index_page_is_read_up_to_its_bound() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut head = [0u8; 4096];
                let _ = s.read(&mut head).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
                    .await;
                let chunk = vec![b'<'; 1 << 20];
                // Endless, until the reader hangs up.
                while s.write_all(&chunk).await.is_ok() {}
            }
        });
        let ufs = Ufs::open(
            &format!("http://127.0.0.1:{port}/"),
            &BTreeMap::new(),
            &UfsSettings::default(),
        )
        .expect("open");
        let e = ufs.list("").await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("an index page over 134217728 bytes"), "{e}");
    }

    #[tokio::test]
    async fn a_web_ufs_refusal_is_named_with_the_servers_answer() {
        let (port, _) = http_server(
            "127.0.0.1",
            vec![
                ("/private/", 403, String::new(), "no"),
                ("/gone/", 404, String::new(), ""),
            ],
        )
        .await;
        let open = |dir: &str| {
            Ufs::open(
                &format!("http://127.0.0.1:{port}/{dir}/"),
                &BTreeMap::new(),
                &UfsSettings::default(),
            )
            .expect("open")
        };
        let refused = open("private").list("").await.err();
        assert!(matches!(refused, Some(UfsError::Denied { .. })), "{refused:?}");
        let text = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains(&format!("403 Forbidden from http://127.0.0.1:{port}/private/")),
            "{text}"
        );
        let gone = open("gone").list("").await.err();
        assert!(matches!(gone, Some(UfsError::NotFound { .. })), "{gone:?}");
    }

    #[tokio::test]
    async fn web_ufs_user_info_is_a_header_and_never_shown() {
        let (port, asked) = http_server("127.0.0.1", vec![("/d/f.txt", 200, String::new(), "data")]).await;
        let ufs = Ufs::open(
            &format!("http://me:pa55w0rd@127.0.0.1:{port}/d/"),
            &BTreeMap::new(),
            &UfsSettings::default(),
        )
        .expect("open");
        let read = ufs.read("f.txt", 0, 4).await.map(|b| b.to_vec());
        assert_eq!(read.ok().as_deref(), Some(&b"data"[..]));
        let heads = asked.lock().expect("log").join("\n");
        // base64("me:pa55w0rd")
        assert!(heads.contains("authorization: Basic bWU6cGE1NXcwcmQ="), "{heads}");
        assert!(
            !heads.contains("pa55w0rd@"),
            "no user info in the request line: {heads}"
        );
        let missing = ufs
            .read("missing.txt", 0, 4)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!missing.is_empty() && !missing.contains("pa55w0rd"), "{missing}");
        assert!(missing.contains("me:***@127.0.0.1"), "{missing}");
    }

    #[tokio::test]
    async fn local_directories_list_with_sizes_and_read_ranges() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("a.txt"), b"hello world").expect("write");
        std::fs::write(dir.path().join("sub/b"), b"x").expect("write");
        let ufs = Ufs::open(
            &format!("local://{}", dir.path().display()),
            &BTreeMap::new(),
            &UfsSettings::default(),
        )
        .expect("open");
        let root = ufs.list("").await.expect("list");
        let names: Vec<_> = root.iter().map(|e| (e.name.as_str(), e.dir, e.length)).collect();
        assert_eq!(names, [("a.txt", false, 11), ("sub", true, 0)]);
        assert!(root[0].mtime_ms > 0 && root[0].fingerprint.starts_with("11:"));
        assert_eq!(ufs.list("sub").await.expect("list sub")[0].name, "b");
        assert_eq!(&ufs.read("a.txt", 6, 5).await.expect("read")[..], b"world");
        assert!(matches!(ufs.read("a.txt", 6, 50).await, Err(UfsError::Io { .. })));
        assert!(matches!(ufs.list("missing").await, Err(UfsError::NotFound { .. })));
    }

    #[tokio::test]
    async fn uploads_replace_a_local_file_whole_or_not_at_all() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), b"old").expect("write");
        let ufs = Ufs::open(
            &dir.path().display().to_string(),
            &BTreeMap::new(),
            &UfsSettings::default(),
        )
        .expect("open");
        ufs.check_writable().expect("a local folder is writable");
        let mut spool = tempfile::tempfile().expect("spool");
        let data: Vec<u8> = (0..UPLOAD_CHUNK + 100).map(|i| (i % 241) as u8).collect();
        spool.write_all(&data).expect("spool");
        // A spool shorter than the length asked (a lost write) fails the upload: the old file stays.
        let err = ufs
            .upload("f", &spool, data.len() as u64 + 1)
            .await
            .expect_err("short spool");
        assert!(matches!(err, UfsError::Io { op: "write", .. }), "{err}");
        assert_eq!(std::fs::read(dir.path().join("f")).expect("old"), b"old");
        ufs.upload("f", &spool, data.len() as u64).await.expect("upload");
        assert!(std::fs::read(dir.path().join("f")).expect("new") == data);
        // The staging folder is there, empty, and never listed.
        assert_eq!(std::fs::read_dir(dir.path().join(STAGING)).expect("staging").count(), 0);
        let names: Vec<_> = ufs.list("").await.expect("list").into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["f"]);
        ufs.create_dir("d/e").await.expect("mkdir");
        assert!(ufs.rename("f", "d/e/g").await.expect("rename"));
        ufs.delete("d/e/g", false).await.expect("rm");
        ufs.delete("d/e", true).await.expect("rmdir");
        assert!(!dir.path().join("d/e").exists());
        let web = Ufs::open("http://127.0.0.1:9/x/", &BTreeMap::new(), &UfsSettings::default()).expect("web");
        assert!(matches!(web.check_writable(), Err(UfsError::ReadOnly { .. })));
    }

    #[test]
    fn unknown_schemes_and_missing_settings_are_refused_without_secrets() {
        let settings = UfsSettings::default();
        let err = Ufs::open("gs://bucket/x", &BTreeMap::new(), &settings).expect_err("gs");
        assert!(matches!(err, UfsError::Scheme { .. }), "{err}");
        let options: BTreeMap<String, String> =
            [("fs.cosn.userinfo.secretKey".to_owned(), "TOPSECRET".to_owned())].into();
        let err = Ufs::open("cosn://bucket-1250000000/data", &options, &settings).expect_err("no region");
        let text = err.to_string();
        assert!(
            text.contains("fs.cosn.bucket.region") && !text.contains("TOPSECRET"),
            "{text}"
        );
        let ufs = Ufs::open("s3://bucket/prefix", &options, &settings).expect("s3 opens lazily");
        assert!(!format!("{ufs:?}").contains("TOPSECRET"));
    }

    #[test]
    fn every_scheme_the_plugin_calls_readable_opens_and_no_other() {
        let settings = UfsSettings::default();
        let options: BTreeMap<String, String> = [
            ("fs.cosn.bucket.region", "ap-guangzhou"),
            ("fs.oss.endpoint", "oss-cn-hangzhou.aliyuncs.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        for scheme in goosefs_conf::ufs::SCHEMES {
            assert_eq!(service_of(scheme.name), scheme.service, "{}", scheme.name);
            let uri = match scheme.service {
                Some(Service::Local) => format!("{}://{}/", scheme.name, dir.path().display()),
                // A claim's folder is under /underFSStorage, which a test does not create.
                Some(Service::Pvc) => continue,
                _ => format!("{}://authority/path/", scheme.name),
            };
            let opened = Ufs::open(&uri, &options, &settings);
            match scheme.service {
                Some(_) => assert!(opened.is_ok(), "{uri}: {:?}", opened.err()),
                None => assert!(matches!(opened, Err(UfsError::Scheme { .. })), "{uri}"),
            }
        }
        assert_eq!(service_of("file"), Some(Service::Local));
        assert_eq!(service_of("ftp"), None);
    }
}
