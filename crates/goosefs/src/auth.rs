//! Who may call the runtime's ports, and what each caller may do.
//!
//! **Authentication** is per connection: before any request, the client and the server run a
//! handshake in which each signs both sides' fresh nonces with its role's Ed25519 key (the
//! runtime's Secret, [`goosefs_conf::credential`]). A connection is then trusted for its life, so
//! pooled connections pay once, and the worker's `sendfile` block path stays zero-copy (TLS would
//! copy every byte through the process). What this does not give: secrecy or integrity of the
//! bytes against someone on the network path (see docs/design.md, the credential).
//!
//! ```text
//! client -> server  "GFSA" version role_c nonce_c[32]
//! server -> client  0 role_s nonce_s[32] sig_s[64]      (or 1, u16 length, refusal text)
//! client -> server  sig_c[64]
//! server -> client  0                                   (or 1, u16 length, refusal text)
//! sig_x = Ed25519(key of role_x, "goosefs-auth-v1 <server|client>" role_c nonce_c role_s nonce_s)
//! ```
//!
//! **Authorisation** is by role ([`authorize`]), one table for every port: only masters speak
//! Raft and membership, only workers register and heartbeat, mounting and freeing need admin.
//! `/health` answers everyone; the web ports (`/metrics`, status) are open and carry no secret.
//!
//! `goosefs.security.authentication.type=NOSASL` turns all of this off (benchmarks' A/B, a
//! trusted test bed); any other value, or none, means on, and a daemon without its key does not
//! start.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use goosefs_conf::Conf;
pub use goosefs_conf::credential::Role;

use crate::proto::{Refusal, RefusalKind};
use goosefs_conf::credential::{self, AUTHENTICATION_TYPE, CredentialError, DIR_ENV, MOUNT_PATH};
use ring::rand::SecureRandom as _;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The first bytes of an authenticating connection.
pub const MAGIC: &[u8; 4] = b"GFSA";
/// The handshake's version byte.
const VERSION: u8 = 1;
/// How long a handshake may take, on either side.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest refusal text sent or read.
const MAX_REFUSAL: usize = 512;

/// Why a handshake or a credential failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Authentication is on and a key this process needs is not there.
    #[error(
        "authentication is on ({AUTHENTICATION_TYPE} is not NOSASL) but {dir} has no {what}: the rendered manifests mount the runtime's Secret <runtime>-credential there ({DIR_ENV} overrides the folder)"
    )]
    Missing {
        /// The credential folder.
        dir: String,
        /// What is missing.
        what: String,
    },
    /// An item does not parse.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// An item cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The peer refused this caller.
    #[error("refused: {0}")]
    Refused(String),
    /// The server did not prove it holds a key of this runtime.
    #[error("the server is not a member of this runtime (its handshake signature does not verify)")]
    UnknownServer,
    /// Not the handshake the protocol says, or the connection broke during it.
    #[error("handshake failed: {0}")]
    Protocol(String),
}

impl From<std::io::Error> for AuthError {
    fn from(e: std::io::Error) -> Self {
        AuthError::Protocol(e.to_string())
    }
}

/// What a process is, for choosing the key it signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// A daemon that plays one role.
    Daemon(Role),
    /// The `goosefs` CLI: admin where the admin key is mounted (the masters' pods, the mount
    /// Job), else client.
    Cli,
}

/// This process's credential: its own key (none: authentication off) and every role's public
/// keys.
pub struct Security {
    identity: Option<(Role, Ed25519KeyPair)>,
    trust: Vec<(Role, Vec<u8>)>,
}

impl std::fmt::Debug for Security {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("enabled", &self.enabled())
            .field("role", &self.identity.as_ref().map(|(r, _)| *r))
            .field("trusted_keys", &self.trust.len())
            .finish()
    }
}

impl Security {
    /// Authentication off: every caller is trusted (`NOSASL`).
    pub fn off() -> Security {
        Security {
            identity: None,
            trust: Vec::new(),
        }
    }

    /// Reads the credential folder for `process` as `conf` says.
    ///
    /// # Errors
    /// [`AuthError`]: authentication on and a key missing or malformed.
    pub fn load(conf: &Conf, process: Process) -> Result<Security, AuthError> {
        if conf
            .get_or(AUTHENTICATION_TYPE, "SIMPLE")
            .eq_ignore_ascii_case("NOSASL")
        {
            return Ok(Security::off());
        }
        let dir = std::env::var(DIR_ENV).unwrap_or_else(|_| MOUNT_PATH.to_owned());
        Security::from_dir(std::path::Path::new(&dir), process)
    }

    /// Reads the credential in `dir` for `process` (authentication on).
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn from_dir(dir: &std::path::Path, process: Process) -> Result<Security, AuthError> {
        let read = |item: &str| -> Result<Option<String>, AuthError> {
            let path = dir.join(item);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(AuthError::Read {
                    path: path.display().to_string(),
                    source,
                }),
            }
        };
        let missing = |what: String| AuthError::Missing {
            dir: dir.display().to_string(),
            what,
        };
        let mut trust = Vec::new();
        for role in Role::ALL {
            if let Some(text) = read(&role.pub_item())? {
                trust.extend(
                    credential::keys(&role.pub_item(), &text, 32)?
                        .into_iter()
                        .map(|k| (role, k)),
                );
            }
        }
        if trust.is_empty() {
            return Err(missing("public keys (*.pub)".to_owned()));
        }
        let candidates: &[Role] = match process {
            Process::Daemon(role) => &[role],
            Process::Cli => &[Role::Admin, Role::Client],
        };
        let mut identity = None;
        for role in candidates {
            if let Some(text) = read(&role.key_item())? {
                let seed = credential::keys(&role.key_item(), &text, 32)?;
                let pair = seed
                    .first()
                    .and_then(|s| Ed25519KeyPair::from_seed_unchecked(s).ok())
                    .ok_or_else(|| missing(role.key_item()))?;
                identity = Some((*role, pair));
                break;
            }
        }
        let identity = identity
            .ok_or_else(|| missing(candidates.iter().map(|r| r.key_item()).collect::<Vec<_>>().join(" or ")))?;
        Ok(Security {
            identity: Some(identity),
            trust,
        })
    }

    /// Whether connections authenticate.
    pub fn enabled(&self) -> bool {
        self.identity.is_some()
    }

    /// The role this process signs as.
    pub fn role(&self) -> Option<Role> {
        self.identity.as_ref().map(|(r, _)| *r)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], AuthError> {
        let (_, pair) = self
            .identity
            .as_ref()
            .ok_or_else(|| AuthError::Protocol("this process has no key".to_owned()))?;
        let mut sig = [0u8; 64];
        sig.copy_from_slice(pair.sign(message).as_ref());
        Ok(sig)
    }

    fn verifies(&self, role: Role, message: &[u8], sig: &[u8]) -> bool {
        self.trust
            .iter()
            .filter(|(r, _)| *r == role)
            .any(|(_, key)| UnparsedPublicKey::new(&ED25519, key).verify(message, sig).is_ok())
    }
}

static CURRENT: OnceLock<Arc<Security>> = OnceLock::new();

/// Sets this process's credential (once, at start, before any connection).
pub fn install(security: Security) {
    if CURRENT.set(Arc::new(security)).is_err() {
        // A connection was made before: it used the default (off). A bug, never a user's doing.
        tracing::error!("the credential was installed after the first connection; it is not used");
    }
}

/// This process's credential: what [`install`] set; authentication off in code that never
/// installs one (the library's own unit tests; every `goosefs` process installs one first).
pub fn current() -> Arc<Security> {
    CURRENT.get_or_init(|| Arc::new(Security::off())).clone()
}

fn transcript(label: &str, role_c: u8, nonce_c: &[u8; 32], role_s: u8, nonce_s: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(100);
    m.extend_from_slice(b"goosefs-auth-v1 ");
    m.extend_from_slice(label.as_bytes());
    m.push(role_c);
    m.extend_from_slice(nonce_c);
    m.push(role_s);
    m.extend_from_slice(nonce_s);
    m
}

fn nonce() -> Result<[u8; 32], AuthError> {
    let mut n = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut n)
        .map_err(|_| AuthError::Protocol("the system's random source failed".to_owned()))?;
    Ok(n)
}

/// Reads a status byte; a refusal's text becomes [`AuthError::Refused`].
async fn status<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(), AuthError> {
    match stream.read_u8().await? {
        0 => Ok(()),
        1 => {
            let len = usize::from(stream.read_u16().await?).min(MAX_REFUSAL);
            let mut text = vec![0; len];
            stream.read_exact(&mut text).await?;
            Err(AuthError::Refused(String::from_utf8_lossy(&text).into_owned()))
        }
        other => Err(AuthError::Protocol(format!("status byte {other}"))),
    }
}

/// Writes a refusal frame (best effort: the connection closes after it).
pub async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, why: &str) {
    let text = &why.as_bytes()[..why.len().min(MAX_REFUSAL)];
    let mut out = vec![1];
    out.extend_from_slice(&u16::try_from(text.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(text);
    let _ = stream.write_all(&out).await;
}

/// The client's side of the handshake: proves this process's role, checks the server's.
/// Returns the server's role.
///
/// # Errors
/// [`AuthError`]: refused, an unknown server, or a broken connection.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    security: &Security,
) -> Result<Role, AuthError> {
    let role_c = security
        .role()
        .ok_or_else(|| AuthError::Protocol("this process has no key".to_owned()))?;
    let nonce_c = nonce()?;
    let mut hello = Vec::with_capacity(38);
    hello.extend_from_slice(MAGIC);
    hello.push(VERSION);
    hello.push(role_c.to_wire());
    hello.extend_from_slice(&nonce_c);
    stream.write_all(&hello).await?;
    status(stream).await?;
    let mut reply = [0u8; 1 + 32 + 64];
    stream.read_exact(&mut reply).await?;
    let role_s = Role::from_wire(reply[0]).ok_or(AuthError::UnknownServer)?;
    let mut nonce_s = [0u8; 32];
    nonce_s.copy_from_slice(&reply[1..33]);
    let server = transcript("server", role_c.to_wire(), &nonce_c, reply[0], &nonce_s);
    if !security.verifies(role_s, &server, &reply[33..]) {
        return Err(AuthError::UnknownServer);
    }
    let sig = security.sign(&transcript("client", role_c.to_wire(), &nonce_c, reply[0], &nonce_s))?;
    stream.write_all(&sig).await?;
    status(stream).await?;
    Ok(role_s)
}

/// The server's side of the handshake, after [`MAGIC`] was seen: the caller's proven role, or a
/// refusal already sent to it (the caller then closes the connection).
///
/// # Errors
/// The reason, for the log (never a key).
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, security: &Security) -> Result<Role, String> {
    let mut hello = [0u8; 38];
    stream.read_exact(&mut hello).await.map_err(|e| e.to_string())?;
    if &hello[..4] != MAGIC || hello[4] != VERSION {
        refuse(stream, "unauthenticated: unknown handshake version").await;
        return Err("unknown handshake version".to_owned());
    }
    let Some(role_c) = Role::from_wire(hello[5]) else {
        refuse(stream, "unauthenticated: unknown role").await;
        return Err("unknown role".to_owned());
    };
    let mut nonce_c = [0u8; 32];
    nonce_c.copy_from_slice(&hello[6..]);
    let nonce_s = nonce().map_err(|e| e.to_string())?;
    let role_s = security.role().ok_or("this server has no key")?;
    let sig_s = security
        .sign(&transcript(
            "server",
            role_c.to_wire(),
            &nonce_c,
            role_s.to_wire(),
            &nonce_s,
        ))
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::with_capacity(98);
    reply.push(0);
    reply.push(role_s.to_wire());
    reply.extend_from_slice(&nonce_s);
    reply.extend_from_slice(&sig_s);
    stream.write_all(&reply).await.map_err(|e| e.to_string())?;
    let mut sig_c = [0u8; 64];
    stream.read_exact(&mut sig_c).await.map_err(|e| e.to_string())?;
    let client = transcript("client", role_c.to_wire(), &nonce_c, role_s.to_wire(), &nonce_s);
    if !security.verifies(role_c, &client, &sig_c) {
        refuse(
            stream,
            &format!("unauthenticated: the {} key does not verify", role_c.as_str()),
        )
        .await;
        return Err(format!("a {} signature that does not verify", role_c.as_str()));
    }
    stream.write_all(&[0]).await.map_err(|e| e.to_string())?;
    Ok(role_c)
}

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Authentication is off: trusted.
    Open,
    /// No handshake.
    Anonymous,
    /// Proved this role.
    Role(Role),
}

/// The ports whose requests [`authorize`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// A master's embedded journal port (Raft).
    Journal,
    /// A master's RPC port.
    MasterRpc,
    /// A worker's RPC port (HTTP and the block protocol).
    WorkerRpc,
    /// The job master's and job workers' ports.
    Job,
    /// Web ports: open (`/health`, `/metrics`, status).
    Web,
}

/// What [`Port::WorkerRpc`]'s block protocol is called in [`authorize`].
pub const BLOCK_READ: &str = "block read";

static UNAUTHENTICATED: AtomicU64 = AtomicU64::new(0);
static FORBIDDEN: AtomicU64 = AtomicU64::new(0);
static FAILED_HANDSHAKES: AtomicU64 = AtomicU64::new(0);

/// Counts a handshake that failed (a wrong key, junk, a client that stalled).
pub fn count_failed_handshake() {
    FAILED_HANDSHAKES.fetch_add(1, Ordering::Relaxed);
}

/// The refusal counters, for the ports' `/metrics`.
pub fn metrics(e: &mut crate::metrics::Exposition) {
    e.family(
        "goosefs_auth_refused_total",
        crate::metrics::Kind::Counter,
        "Requests and connections refused by authentication or authorisation.",
    );
    for (reason, n) in [
        ("unauthenticated", &UNAUTHENTICATED),
        ("forbidden", &FORBIDDEN),
        ("handshake", &FAILED_HANDSHAKES),
    ] {
        e.sample(
            "goosefs_auth_refused_total",
            &[("reason", reason)],
            n.load(Ordering::Relaxed),
        );
    }
}

/// The roles that may make `request` on `port` (`None`: everyone, unauthenticated too).
fn allowed(port: Port, request: &str) -> Option<&'static [Role]> {
    use crate::proto::paths;
    use Role::{Admin, Client, Master, Worker};
    const ANY: &[Role] = &[Master, Worker, Client, Admin];
    if request == "/health" || port == Port::Web {
        return None;
    }
    Some(match port {
        Port::Journal => &[Master],
        Port::MasterRpc => match request {
            paths::REJOIN => &[Master],
            // The whole namespace and mount table (UFS URIs included): administrators only.
            paths::BACKUP => &[Admin],
            // The grant key lets its holder vouch for what a worker caches: workers only.
            paths::REGISTER | paths::HEARTBEAT | paths::GRANT_KEY => &[Worker],
            // Mount and unmount are checked again by the handler: admin only.
            paths::WRITE | paths::WRITES => &[Client, Admin],
            _ => ANY,
        },
        Port::WorkerRpc => match request {
            // Only masters, and a master asks only while it leads (`fs free` goes through it).
            paths::FREE => &[Master],
            _ => ANY,
        },
        Port::Job => &[Client, Admin],
        Port::Web => ANY,
    })
}

/// Whether `caller` may make `request` (a path, or [`BLOCK_READ`]) on `port`; a refusal is
/// counted for `/metrics`.
///
/// # Errors
/// The [`Refusal`] to answer with.
pub fn authorize(port: Port, request: &str, caller: Caller) -> Result<(), Refusal> {
    let Some(roles) = allowed(port, request) else {
        return Ok(());
    };
    match caller {
        Caller::Open => Ok(()),
        Caller::Role(role) if roles.contains(&role) => Ok(()),
        Caller::Role(role) => Err(forbidden(role, request, roles)),
        Caller::Anonymous => {
            UNAUTHENTICATED.fetch_add(1, Ordering::Relaxed);
            Err(Refusal::new(
                RefusalKind::Unauthenticated,
                format!(
                    "unauthenticated: {request} needs the runtime's credential (the Secret <runtime>-credential, mounted at {MOUNT_PATH})"
                ),
            ))
        }
    }
}

/// A refusal of `role` for `what`, which needs one of `roles` (counted).
pub fn forbidden(role: Role, what: &str, roles: &[Role]) -> Refusal {
    FORBIDDEN.fetch_add(1, Ordering::Relaxed);
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Refusal::new(
        RefusalKind::Forbidden,
        format!(
            "forbidden: the {} role may not {what} (needs {})",
            role.as_str(),
            names.join(" or ")
        ),
    )
}

/// A refusal as an HTTP answer: its kind's status and its line.
pub fn answer(refusal: &Refusal) -> (axum::http::StatusCode, String) {
    let status = axum::http::StatusCode::from_u16(refusal.http_status()).unwrap_or(axum::http::StatusCode::FORBIDDEN);
    (status, format!("{}\n", refusal.message))
}

/// An axum middleware enforcing [`authorize`] for `port` on every request of a router; the
/// [`Caller`] comes from the connection (see [`crate::net::serve`]).
pub async fn guard(
    port: Port,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let caller = request
        .extensions()
        .get::<Caller>()
        .copied()
        .unwrap_or(Caller::Anonymous);
    match authorize(port, request.uri().path(), caller) {
        Ok(()) => next.run(request).await,
        Err(refusal) => answer(&refusal).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A credential folder with every item, and one with `roles`' keys only.
    pub(crate) fn folder(roles: &[Role]) -> (tempfile::TempDir, tempfile::TempDir) {
        let all = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let some = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (item, text) in credential::generate().unwrap_or_default() {
            std::fs::write(all.path().join(&item), &text).unwrap_or_else(|e| panic!("{e}"));
            if item.ends_with(".pub") || roles.iter().any(|r| r.key_item() == item) {
                std::fs::write(some.path().join(&item), &text).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        (all, some)
    }

    fn load(dir: &std::path::Path, p: Process) -> Security {
        Security::from_dir(dir, p).unwrap_or_else(|e| panic!("{e}"))
    }

    async fn handshake(client: &Security, server: &Security) -> (Result<Role, AuthError>, Result<Role, String>) {
        let (a, b) = tokio::io::duplex(4096);
        // Each side closes its end when done, as a process closes a refused connection.
        tokio::join!(
            async move {
                let mut a = a;
                connect(&mut a, client).await
            },
            async move {
                let mut b = b;
                accept(&mut b, server).await
            }
        )
    }

    #[tokio::test]
    async fn the_right_key_authenticates_and_each_side_learns_the_others_role() {
        let (all, fuse) = folder(&[Role::Client]);
        let master = load(all.path(), Process::Daemon(Role::Master));
        let client = load(fuse.path(), Process::Cli);
        assert_eq!(client.role(), Some(Role::Client), "no admin key: the CLI is a client");
        assert_eq!(load(all.path(), Process::Cli).role(), Some(Role::Admin));
        let (c, s) = handshake(&client, &master).await;
        assert_eq!((c.ok(), s.ok()), (Some(Role::Master), Some(Role::Client)));
    }

    #[tokio::test]
    async fn another_runtimes_key_is_refused_both_ways() {
        let (ours, _) = folder(&[]);
        let (theirs, _) = folder(&[]);
        let master = load(ours.path(), Process::Daemon(Role::Master));
        let stranger = load(theirs.path(), Process::Daemon(Role::Master));
        // A stranger's client: the server refuses it, with a reason.
        let (c, s) = handshake(&stranger, &master).await;
        // The stranger finds first that the server is not of its runtime.
        assert!(matches!(c, Err(AuthError::UnknownServer)), "{c:?}");
        assert!(s.is_err());
        // A client that trusts our server but signs with a key the server does not know.
        let mut forged = load(ours.path(), Process::Daemon(Role::Worker));
        forged.identity = stranger.identity;
        let (c, s) = handshake(&forged, &master).await;
        assert_eq!(
            c.err().map(|e| e.to_string()).as_deref(),
            Some("refused: unauthenticated: the master key does not verify")
        );
        assert!(s.is_err());
    }

    /// The rotation docs/design.md describes: add the new public keys as second lines, roll out, switch the private
    /// keys, roll out, drop the old lines. Every pair of neighbouring steps still talks.
    #[tokio::test]
    async fn a_rotation_keeps_every_neighbouring_step_talking() {
        let old = credential::generate().unwrap_or_default();
        let new = credential::generate().unwrap_or_default();
        let step = |keys: &BTreeMap<String, String>, pubs: &[&BTreeMap<String, String>]| {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            for (item, text) in keys.iter().filter(|(i, _)| i.ends_with(".key")) {
                std::fs::write(dir.path().join(item), text).unwrap_or_else(|e| panic!("{e}"));
            }
            for item in keys.keys().filter(|i| i.ends_with(".pub")) {
                let lines: Vec<&str> = pubs.iter().filter_map(|p| p.get(item)).map(|t| t.trim()).collect();
                std::fs::write(dir.path().join(item), lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
            }
            dir
        };
        let steps = [
            step(&old, &[&old]),
            step(&old, &[&old, &new]),
            step(&new, &[&old, &new]),
            step(&new, &[&new]),
        ];
        let as_master = |d: &tempfile::TempDir| load(d.path(), Process::Daemon(Role::Master));
        let as_client = |d: &tempfile::TempDir| load(d.path(), Process::Daemon(Role::Client));
        for pair in steps.windows(2) {
            for (c, s) in [(&pair[0], &pair[1]), (&pair[1], &pair[0])] {
                let (c, s) = handshake(&as_client(c), &as_master(s)).await;
                assert_eq!((c.ok(), s.ok()), (Some(Role::Master), Some(Role::Client)));
            }
        }
        // The first and the last step share no key: a process left behind is refused.
        let (c, s) = handshake(&as_client(&steps[0]), &as_master(&steps[3])).await;
        assert!(c.is_err() && s.is_err());
    }

    #[tokio::test]
    async fn junk_and_short_handshakes_are_refused_without_panicking() {
        let (all, _) = folder(&[]);
        let master = load(all.path(), Process::Daemon(Role::Master));
        for junk in [
            &b"GFSA"[..],
            b"GFSA\x09\x01",
            b"GFSA\x01\x09xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            b"",
        ] {
            let (mut a, mut b) = tokio::io::duplex(4096);
            a.write_all(junk).await.unwrap_or_else(|e| panic!("{e}"));
            a.write_all(&[0u8; 40]).await.unwrap_or_else(|e| panic!("{e}"));
            drop(a);
            assert!(accept(&mut b, &master).await.is_err(), "{junk:?}");
        }
    }

    #[test]
    fn missing_keys_are_named() {
        let (_, none) = folder(&[]);
        let e = Security::from_dir(none.path(), Process::Daemon(Role::Master)).err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("has no master.key"), "{text}");
        let e = Security::from_dir(none.path(), Process::Cli).err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("has no admin.key or client.key"), "{text}");
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let e = Security::from_dir(empty.path(), Process::Cli).err();
        assert!(e.map(|e| e.to_string()).unwrap_or_default().contains("public keys"));
        // Debug never shows a key.
        let (all, _) = folder(&[]);
        let s = format!("{:?}", load(all.path(), Process::Daemon(Role::Master)));
        assert_eq!(s, "Security { enabled: true, role: Some(Master), trusted_keys: 4 }");
    }

    #[test]
    fn roles_are_authorised_by_one_table() {
        use crate::proto::paths;
        let role = |r| Caller::Role(r);
        assert!(authorize(Port::Journal, "/raft/append", role(Role::Master)).is_ok());
        for r in [Role::Worker, Role::Client, Role::Admin] {
            let e = authorize(Port::Journal, "/raft/vote", role(r)).err();
            assert_eq!(e.map(|e| e.http_status()), Some(403), "{r:?}");
        }
        assert!(authorize(Port::MasterRpc, paths::REJOIN, role(Role::Admin)).is_err());
        assert!(authorize(Port::MasterRpc, paths::BACKUP, role(Role::Client)).is_err());
        assert!(authorize(Port::MasterRpc, paths::BACKUP, role(Role::Admin)).is_ok());
        assert!(authorize(Port::MasterRpc, paths::REGISTER, role(Role::Worker)).is_ok());
        assert!(authorize(Port::MasterRpc, paths::HEARTBEAT, role(Role::Client)).is_err());
        assert!(authorize(Port::MasterRpc, paths::WRITE, role(Role::Worker)).is_err());
        assert!(authorize(Port::MasterRpc, paths::WRITES, role(Role::Worker)).is_err());
        assert!(authorize(Port::MasterRpc, paths::WRITES, role(Role::Client)).is_ok());
        assert!(authorize(Port::MasterRpc, paths::LIST, role(Role::Worker)).is_ok());
        assert!(authorize(Port::WorkerRpc, paths::FREE, role(Role::Client)).is_err());
        assert!(authorize(Port::WorkerRpc, paths::FREE, role(Role::Admin)).is_err());
        assert!(authorize(Port::WorkerRpc, paths::FREE, role(Role::Master)).is_ok());
        assert!(authorize(Port::WorkerRpc, BLOCK_READ, role(Role::Client)).is_ok());
        assert!(authorize(Port::Job, "/api/v1/job/load", role(Role::Worker)).is_err());
        let anon = authorize(Port::MasterRpc, paths::LIST, Caller::Anonymous).err();
        assert_eq!(anon.as_ref().map(|r| r.http_status()), Some(401));
        assert!(
            anon.map(|r| r.message)
                .unwrap_or_default()
                .starts_with("unauthenticated: ")
        );
        // /health and the web ports answer everyone; with authentication off, everything does.
        assert!(authorize(Port::MasterRpc, "/health", Caller::Anonymous).is_ok());
        assert!(authorize(Port::Web, "/metrics", Caller::Anonymous).is_ok());
        assert!(authorize(Port::Journal, "/raft/vote", Caller::Open).is_ok());
        let message = authorize(Port::WorkerRpc, paths::FREE, role(Role::Worker))
            .err()
            .map(|r| r.message);
        assert_eq!(
            message.as_deref(),
            Some("forbidden: the worker role may not /api/v1/block/free (needs master)")
        );
        let mut e = crate::metrics::Exposition::new("master");
        metrics(&mut e);
        assert!(e.finish().contains(",role=\"master\",reason=\"forbidden\"}"));
    }
}
