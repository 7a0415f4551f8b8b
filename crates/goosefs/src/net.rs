//! Addresses and the one RPC transport every part uses: JSON over HTTP/1.1 (hyper-util's pooled
//! client; axum serves behind [`serve`]). Every connection a client opens starts with the
//! [`crate::auth`] handshake when authentication is on, and every server checks it. Host names resolve through the system resolver, or first through a
//! hosts(5)-format file named by `GOOSEFS_HOSTS_FILE`: on Kubernetes the masters' names resolve
//! through their Services; outside it (tests, machines without such DNS) the file maps them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The environment variable naming a hosts file consulted before DNS.
pub const HOSTS_FILE_ENV: &str = "GOOSEFS_HOSTS_FILE";

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The host name does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// Host.
        host: String,
        /// Why.
        reason: String,
    },
    /// No connection, or it broke before an answer.
    #[error("cannot reach {address}: {source}")]
    Unreachable {
        /// `host:port`.
        address: String,
        /// Cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer in time.
    #[error("{address} did not answer within {after:?}")]
    Timeout {
        /// `host:port`.
        address: String,
        /// Limit.
        after: Duration,
    },
    /// An answer that is not what the protocol says.
    #[error("{address} answered HTTP {status}: {body}")]
    Status {
        /// `host:port`.
        address: String,
        /// HTTP status.
        status: u16,
        /// Body (truncated).
        body: String,
    },
    /// The server refused this process's credential, or is not of this runtime.
    #[error("{address}: {source}")]
    Auth {
        /// `host:port`.
        address: String,
        /// Why.
        source: crate::auth::AuthError,
    },
    /// A body that does not decode.
    #[error("{address} sent a body that does not decode: {source}")]
    Decode {
        /// `host:port`.
        address: String,
        /// Cause.
        source: serde_json::Error,
    },
}

/// Looks `host` up in the hosts file named by [`HOSTS_FILE_ENV`], if any.
fn from_hosts_file(host: &str) -> Option<IpAddr> {
    let path = std::env::var_os(HOSTS_FILE_ENV)?;
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ip: IpAddr = words.next()?.parse().ok()?;
            words.any(|name| name.eq_ignore_ascii_case(host)).then_some(ip)
        })
        .next()
}

/// Resolves `host:port`.
///
/// # Errors
/// [`NetError::Resolve`].
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, NetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(ip) = from_hosts_file(host) {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut found = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| NetError::Resolve {
            host: host.to_owned(),
            reason: e.to_string(),
        })?;
    found.next().ok_or_else(|| NetError::Resolve {
        host: host.to_owned(),
        reason: "no address".to_owned(),
    })
}

/// Splits `host:port`.
fn split(address: &str) -> Result<(&str, u16), NetError> {
    address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        .ok_or_else(|| NetError::Resolve {
            host: address.to_owned(),
            reason: "not host:port".to_owned(),
        })
}

/// The largest answer read from a peer (a listing of 100,000 files is about 20 MB of JSON).
const MAX_ANSWER: usize = 256 << 20;

/// How long a resolved address is reused: masters move only when their pods do.
const RESOLVED_FOR: Duration = Duration::from_secs(5);

/// Resolved addresses by `host:port`, with when they were resolved.
type Resolved = Arc<Mutex<HashMap<String, (SocketAddr, Instant)>>>;

/// Idle block-read connections (the workers' `sendfile` protocol), by worker address.
type BlockPool = Arc<Mutex<HashMap<SocketAddr, Vec<tokio::net::TcpStream>>>>;

/// Idle block connections kept per worker.
const BLOCK_POOL: usize = 8;

/// A pooled HTTP client for JSON requests, and block reads from workers (cheap to clone).
#[derive(Clone)]
pub struct Http {
    client: Client<Connector, Full<Bytes>>,
    security: Arc<crate::auth::Security>,
    blocks: BlockPool,
    /// Name lookups (a hosts file read, or getaddrinfo on a blocking thread) cost more than a
    /// request on a kept-alive connection: reuse them for a few seconds.
    resolved: Resolved,
}

impl Default for Http {
    /// A client that authenticates with this process's credential ([`crate::auth::current`]).
    fn default() -> Self {
        Http::with_security(crate::auth::current())
    }
}

/// hyper's TCP connector followed by the [`crate::auth`] handshake.
#[derive(Clone)]
pub struct Connector {
    tcp: HttpConnector,
    security: Arc<crate::auth::Security>,
}

/// A connection error hyper carries back to [`Http::call`].
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<hyper::Uri> for Connector {
    type Response = hyper_util::rt::TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let connecting = self.tcp.call(uri);
        let security = self.security.clone();
        Box::pin(async move {
            let mut stream = connecting.await?.into_inner();
            authenticate(&mut stream, &security).await?;
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}

/// Runs the client's handshake on a new connection when authentication is on (bounded by
/// [`crate::auth::HANDSHAKE_TIMEOUT`]).
async fn authenticate(
    stream: &mut tokio::net::TcpStream,
    security: &crate::auth::Security,
) -> Result<(), crate::auth::AuthError> {
    if !security.enabled() {
        return Ok(());
    }
    tokio::time::timeout(crate::auth::HANDSHAKE_TIMEOUT, crate::auth::connect(stream, security))
        .await
        .map_err(|_| crate::auth::AuthError::Protocol("no answer within 5s".to_owned()))?
        .map(drop)
}

/// The [`crate::auth::AuthError`] somewhere in a connection error's chain.
fn auth_failure(error: &(dyn std::error::Error + 'static)) -> Option<crate::auth::AuthError> {
    let mut e = Some(error);
    while let Some(err) = e {
        if let Some(auth) = err.downcast_ref::<crate::auth::AuthError>() {
            return Some(match auth {
                crate::auth::AuthError::Refused(r) => crate::auth::AuthError::Refused(r.clone()),
                crate::auth::AuthError::UnknownServer => crate::auth::AuthError::UnknownServer,
                other => crate::auth::AuthError::Protocol(other.to_string()),
            });
        }
        e = err.source();
    }
    None
}

impl Http {
    /// A client that authenticates with `security`.
    pub fn with_security(security: Arc<crate::auth::Security>) -> Http {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(2)));
        Http {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(Connector {
                    tcp,
                    security: security.clone(),
                }),
            security,
            blocks: BlockPool::default(),
            resolved: Resolved::default(),
        }
    }
}

impl Http {
    async fn resolve(&self, address: &str) -> Result<SocketAddr, NetError> {
        let fresh = |at: &Instant| at.elapsed() < RESOLVED_FOR;
        if let Some((socket, at)) = self
            .resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(address)
            && fresh(at)
        {
            return Ok(*socket);
        }
        let (host, port) = split(address)?;
        let socket = resolve(host, port).await?;
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(address.to_owned(), (socket, Instant::now()));
        Ok(socket)
    }

    /// POSTs `body` as JSON to `http://address/path` and decodes the JSON answer; `GET` when
    /// `body` is `None`.
    ///
    /// # Errors
    /// [`NetError`]: unreachable, timed out, an HTTP status other than 200, or an undecodable body.
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        address: &str,
        path: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<R, NetError> {
        let socket = self.resolve(address).await?;
        let uri = format!("http://{socket}{path}");
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| NetError::Unreachable {
            address: address.to_owned(),
            source,
        };
        let request = match body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).map_err(|e| unreachable(e.into()))?;
                hyper::Request::post(uri)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(bytes)))
            }
            None => hyper::Request::get(uri).body(Full::new(Bytes::new())),
        }
        .map_err(|e| unreachable(e.into()))?;
        let bytes = self.exchange(address, request, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|source| NetError::Decode {
            address: address.to_owned(),
            source,
        })
    }
}

impl Http {
    /// POSTs `body` as raw bytes (`application/octet-stream`) to `http://address/path` and
    /// decodes the JSON answer.
    ///
    /// # Errors
    /// As [`Http::call`].
    pub async fn call_bytes<R: DeserializeOwned>(
        &self,
        address: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<R, NetError> {
        let socket = self.resolve(address).await?;
        let request = hyper::Request::post(format!("http://{socket}{path}"))
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| NetError::Unreachable {
                address: address.to_owned(),
                source: e.into(),
            })?;
        let bytes = self.exchange(address, request, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|source| NetError::Decode {
            address: address.to_owned(),
            source,
        })
    }
}

/// One block request on `stream`: the answer's bytes (at most `max`), or the worker's refusal.
async fn block_exchange(
    stream: &mut tokio::net::TcpStream,
    query: &str,
    max: u64,
) -> std::io::Result<Result<Bytes, String>> {
    use tokio::io::AsyncWriteExt;
    stream.write_all(&crate::proto::block::encode_request(query)).await?;
    crate::proto::block::read_answer(stream, max).await
}

impl Http {
    /// Reads part of a block from the worker at `address` (the query of a
    /// [`crate::proto::block::BlockRequest`]) over its `sendfile` protocol, on a kept connection when one is
    /// idle (a kept connection that fails is replaced once: the worker may have restarted).
    ///
    /// # Errors
    /// [`NetError`]: unreachable, timed out, or the worker's refusal (`Status` 502, its text).
    pub async fn get_block(&self, address: &str, query: &str, max: u64, timeout: Duration) -> Result<Bytes, NetError> {
        let socket = self.resolve(address).await?;
        let unreachable = |e: std::io::Error| NetError::Unreachable {
            address: address.to_owned(),
            source: Box::new(e),
        };
        let connect = || async {
            let mut stream = tokio::net::TcpStream::connect(socket).await.map_err(unreachable)?;
            let _ = stream.set_nodelay(true);
            authenticate(&mut stream, &self.security)
                .await
                .map_err(|source| NetError::Auth {
                    address: address.to_owned(),
                    source,
                })?;
            Ok::<_, NetError>(stream)
        };
        let exchange = async {
            let pooled = self
                .blocks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(&socket)
                .and_then(Vec::pop);
            let mut fresh = pooled.is_none();
            let mut stream = match pooled {
                Some(s) => s,
                None => connect().await?,
            };
            loop {
                match block_exchange(&mut stream, query, max).await {
                    Ok(answer) => return Ok((answer, stream)),
                    Err(e) if fresh => return Err(unreachable(e)),
                    Err(_) => {
                        fresh = true;
                        stream = connect().await?;
                    }
                }
            }
        };
        let (answer, stream) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| NetError::Timeout {
                address: address.to_owned(),
                after: timeout,
            })??;
        {
            let mut pool = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
            let idle = pool.entry(socket).or_default();
            if idle.len() < BLOCK_POOL {
                idle.push(stream);
            }
        }
        answer.map_err(|body| NetError::Status {
            address: address.to_owned(),
            status: 502,
            body,
        })
    }

    /// Asks this host's worker at `address` to cache a block and vouch for its file (the query
    /// of a [`crate::proto::block::BlockRequest`] with `local` set).
    ///
    /// # Errors
    /// [`NetError`], as [`Http::get_block`], or an answer that does not decode.
    pub async fn local_block(
        &self,
        address: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<crate::proto::block::LocalBlock, NetError> {
        let body = self.get_block(address, query, 64 << 10, timeout).await?;
        serde_json::from_slice(&body).map_err(|source| NetError::Decode {
            address: address.to_owned(),
            source,
        })
    }

    /// GETs `http://address/path` and returns the body of a 200 answer.
    ///
    /// # Errors
    /// [`NetError`]: unreachable, timed out, or another status (its body in the error).
    pub async fn get_bytes(&self, address: &str, path: &str, timeout: Duration) -> Result<Bytes, NetError> {
        let socket = self.resolve(address).await?;
        let request = hyper::Request::get(format!("http://{socket}{path}"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| NetError::Unreachable {
                address: address.to_owned(),
                source: e.into(),
            })?;
        self.exchange(address, request, timeout).await
    }

    async fn exchange(
        &self,
        address: &str,
        request: hyper::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Bytes, NetError> {
        let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| NetError::Unreachable {
            address: address.to_owned(),
            source,
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| match auth_failure(&e) {
                Some(source) => NetError::Auth {
                    address: address.to_owned(),
                    source,
                },
                None => unreachable(e.into()),
            })?;
            let status = response.status().as_u16();
            let bytes = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(unreachable)?
                .to_bytes();
            Ok::<_, NetError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| NetError::Timeout {
                address: address.to_owned(),
                after: timeout,
            })??;
        if status != 200 {
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            text.truncate(500);
            return Err(NetError::Status {
                address: address.to_owned(),
                status,
                body: text,
            });
        }
        Ok(bytes)
    }
}

/// Binds a TCP listener on `host:port`, saying which property to change when it fails.
///
/// # Errors
/// The bind error with the address and the property.
pub async fn listen(host: &str, port: u16, property: &str) -> Result<tokio::net::TcpListener, std::io::Error> {
    let address = resolve(host, port)
        .await
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, e.to_string()))?;
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {address} ({property}): {e}")))
}

/// Connections one server holds open at once; further ones wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a connection may take to send its first bytes, and a request its headers.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves a connection that opened with [`crate::proto::block::BLOCK_MAGIC`] (a worker's block reads).
pub type BlockServer = Arc<
    dyn Fn(
            tokio::net::TcpStream,
            crate::auth::Caller,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Waits until `stream` has 4 bytes to read (or EOF, or [`HEAD_TIMEOUT`]) and returns them.
/// A client writes its first message whole; one that sent fewer and stalls is polled with
/// sleeps, not a busy loop.
async fn first_bytes(stream: &tokio::net::TcpStream) -> Option<[u8; 4]> {
    let mut first = [0u8; 4];
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
            Ok(Ok(n)) if n >= 4 => return Some(first),
            Ok(Ok(0) | Err(_)) | Err(_) => return None,
            Ok(Ok(_)) if tokio::time::Instant::now() >= deadline => return None,
            Ok(Ok(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Serves `router` on `listener` for `port`: at most [`MAX_CONNECTIONS`] at once, an accept
/// loop that outlives failed accepts (`EMFILE`: it waits and tries again), the
/// [`crate::auth`] handshake of each connection when authentication is on (its role goes to
/// the handlers as a [`crate::auth::Caller`] extension, checked by [`crate::auth::guard`]),
/// time limits on the handshake and on request headers; `blocks` takes the connections that
/// speak the block protocol.
///
/// # Errors
/// None in practice: it serves until the process stops (the `Result` is the servers' common
/// output type in their `JoinSet`s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    port: crate::auth::Port,
    router: axum::Router,
    blocks: Option<BlockServer>,
) -> std::io::Result<()> {
    let security = crate::auth::current();
    let router = router.layer(axum::middleware::from_fn(move |request, next| {
        crate::auth::guard(port, request, next)
    }));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or memory, or a connection reset before it was taken:
                // none of these stops the server.
                tracing::warn!(error = %e, "accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (router, blocks, security) = (router.clone(), blocks.clone(), security.clone());
        tokio::spawn(async move {
            connection(stream, router, blocks, &security).await;
            drop(slot);
        });
    }
}

/// One connection of [`serve`].
async fn connection(
    mut stream: tokio::net::TcpStream,
    router: axum::Router,
    blocks: Option<BlockServer>,
    security: &crate::auth::Security,
) {
    use crate::auth::Caller;
    let Some(mut first) = first_bytes(&stream).await else {
        return;
    };
    let caller = if !security.enabled() {
        Caller::Open
    } else if &first == crate::auth::MAGIC {
        match tokio::time::timeout(
            crate::auth::HANDSHAKE_TIMEOUT,
            crate::auth::accept(&mut stream, security),
        )
        .await
        {
            Ok(Ok(role)) => Caller::Role(role),
            Ok(Err(reason)) => {
                crate::auth::count_failed_handshake();
                tracing::debug!(%reason, "handshake refused");
                return;
            }
            Err(_) => {
                crate::auth::count_failed_handshake();
                return;
            }
        }
    } else {
        Caller::Anonymous
    };
    // After a handshake the protocol's own first bytes follow.
    if matches!(caller, Caller::Role(_)) {
        match first_bytes(&stream).await {
            Some(next) => first = next,
            None => return,
        }
    }
    if &first == crate::proto::block::BLOCK_MAGIC {
        if let Some(blocks) = blocks {
            blocks(stream, caller).await;
        }
        return;
    }
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(caller);
        tower::ServiceExt::oneshot(router.clone(), request)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(split("hbase-master-0:26000").ok(), Some(("hbase-master-0", 26000)));
        assert!(split("nohost").is_err());
        assert!(split("h:99999").is_err());
    }

    #[tokio::test]
    async fn ip_literals_resolve_without_lookups() {
        let addr = resolve("127.0.0.7", 5).await.ok();
        assert_eq!(addr, Some("127.0.0.7:5".parse().unwrap_or_else(|_| unreachable!())));
    }

    /// A peer answering without end (or a body over the bound) costs the caller at most
    /// [`MAX_ANSWER`] bytes of memory and one error, never the process.
    #[tokio::test]
    async fn answers_over_the_bound_are_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 1024];
            let _ = s.read(&mut request).await;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", MAX_ANSWER + 1);
            s.write_all(head.as_bytes()).await.expect("head");
            let chunk = vec![b' '; 1 << 20];
            // Until the caller hangs up.
            while s.write_all(&chunk).await.is_ok() {}
        });
        let answer = Http::default()
            .call::<(), serde_json::Value>(&address, "/", None, Duration::from_secs(60))
            .await;
        assert!(matches!(answer, Err(NetError::Unreachable { .. })), "{answer:?}");
    }

    #[tokio::test]
    async fn block_answers_longer_than_asked_or_refusals_are_never_taken() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        let server = tokio::spawn(async move {
            // Three connections: a refusal, too many bytes, then a good answer.
            for answer in [
                [&[1u8][..], &5u32.to_be_bytes(), b"nope!"].concat(),
                [&[0u8][..], &100u64.to_be_bytes()].concat(),
                [&[0u8][..], &3u64.to_be_bytes(), b"abc"].concat(),
            ] {
                let (mut s, _) = listener.accept().await.expect("accept");
                let mut head = [0u8; 8];
                s.read_exact(&mut head).await.expect("head");
                assert_eq!(&head[..4], crate::proto::block::BLOCK_MAGIC);
                let mut query = vec![0; u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize];
                s.read_exact(&mut query).await.expect("query");
                assert_eq!(query, b"id=1");
                s.write_all(&answer).await.expect("answer");
                // Close, so each request needs a new connection.
            }
        });
        let http = Http::default();
        let t = Duration::from_secs(5);
        let refused = http.get_block(&address, "id=1", 10, t).await;
        assert!(
            matches!(&refused, Err(NetError::Status { status: 502, body, .. }) if body == "nope!"),
            "{refused:?}"
        );
        // The kept connection is closed by then: replaced once, and the answer is too long.
        let long = http.get_block(&address, "id=1", 10, t).await;
        assert!(matches!(long, Err(NetError::Unreachable { .. })), "{long:?}");
        http.blocks.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let good = http.get_block(&address, "id=1", 10, t).await.expect("good");
        assert_eq!(&good[..], b"abc");
        server.await.expect("server");
    }
}
