//! The masters' client protocol on the RPC port (`goosefs.master.rpc.port`): JSON messages over
//! HTTP, shared by the server ([`crate::master`]) and the client ([`crate::client`]). Every
//! answer is an [`Answer`]: a follower says who leads instead of serving.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Paths of the RPC port.
pub mod paths {
    /// `GET`: [`super::MasterInfo`] (any master answers).
    pub const INFO: &str = "/api/v1/master/info";
    /// `POST` a [`crate::master::namespace::Command`]: `()` once journaled and applied.
    pub const WRITE: &str = "/api/v1/master/write";
    /// `GET`: the mount table, `Vec<super::MountEntry>`.
    pub const MOUNTS: &str = "/api/v1/fs/mounts";
    /// `GET ?path=`: [`super::FileInfo`].
    pub const STAT: &str = "/api/v1/fs/stat";
    /// `GET ?path=`: `Vec<super::FileInfo>`.
    pub const LIST: &str = "/api/v1/fs/list";
    /// `GET`: [`super::Report`].
    pub const REPORT: &str = "/api/v1/master/report";
    /// `POST` a [`super::Rejoin`]: `()` once the master is a voter again.
    pub const REJOIN: &str = "/api/v1/master/rejoin";
    /// `GET ?path=`: [`super::FileBlocks`] of a file.
    pub const BLOCKS: &str = "/api/v1/fs/blocks";
    /// `GET`: `Vec<super::WorkerReport>`, the live workers.
    pub const WORKERS: &str = "/api/v1/master/workers";
    /// `POST` a [`super::Registration`]: the worker's id.
    pub const REGISTER: &str = "/api/v1/worker/register";
    /// `POST` a [`super::Heartbeat`]: [`super::HeartbeatReply`].
    pub const HEARTBEAT: &str = "/api/v1/worker/heartbeat";
    /// `GET ?path=<mount point>`: [`super::UfsMount`], options unmasked (workers read the UFS).
    pub const MOUNT_UFS: &str = "/api/v1/worker/ufs";
    /// `POST ?path=`: the leader forgets its listing of that directory (a file was written
    /// there through FUSE), so the next `ls` loads it again.
    pub const SYNC: &str = "/api/v1/fs/sync";
    /// Worker RPC port, `POST` block ids: how many were dropped.
    pub const FREE: &str = "/api/v1/block/free";
}

/// The first bytes of a block-read connection to a worker's RPC port (its `sendfile`
/// protocol: `crate::worker::data`); any other first bytes are HTTP.
pub const BLOCK_MAGIC: &[u8; 4] = b"GFSD";

/// A read of part of a block from a worker, with what it needs to fetch the block from the UFS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRequest {
    /// Block id.
    pub id: u64,
    /// The GooseFS path of the file's mount.
    pub mount: String,
    /// That mount's UFS URI (a worker holding another for the mount asks the leader again).
    pub ufs: String,
    /// The file's path inside the mount's UFS.
    pub path: String,
    /// The block's offset in the file.
    pub block_offset: u64,
    /// The block's length.
    pub block_length: u64,
    /// Offset of the read inside the block.
    pub offset: u64,
    /// Bytes to read.
    pub len: u64,
    /// Only make sure it is cached; send no bytes.
    #[serde(default)]
    pub load: bool,
    /// Make sure it is cached by this worker and answer with a [`LocalBlock`] (FUSE on the
    /// worker's host, for passthrough).
    #[serde(default)]
    pub local: bool,
}

/// The largest block a request may name: far above any block size GooseFS uses (Fluid renders
/// 256MB), and far enough below `u64::MAX` that no size computed from it wraps.
pub const MAX_BLOCK_LENGTH: u64 = 1 << 40;
/// The most bytes one block read may ask for (clients read pieces of 8 MiB at most; a worker
/// that cannot cache a block holds the asked bytes in memory).
pub const MAX_READ: u64 = 64 << 20;
/// The longest path or URI a request may carry (Linux's `PATH_MAX`).
pub const MAX_PATH: usize = 4096;

impl BlockRequest {
    /// The request as the block protocol carries it: a URL query string.
    pub fn to_query(&self) -> String {
        let enc = crate::ufs::web::percent_encode_path;
        format!(
            "id={}&mount={}&ufs={}&path={}&block_offset={}&block_length={}&offset={}&len={}&load={}&local={}",
            self.id,
            enc(&self.mount),
            enc(&self.ufs),
            enc(&self.path),
            self.block_offset,
            self.block_length,
            self.offset,
            self.len,
            self.load,
            self.local
        )
    }

    /// Decodes a request the network sent and checks its bounds ([`BlockRequest::check`]).
    ///
    /// # Errors
    /// Why it is refused, one line starting `invalid:`.
    pub fn decode(query: &[u8]) -> Result<BlockRequest, String> {
        let r = std::str::from_utf8(query)
            .ok()
            .and_then(|q| format!("/?{q}").parse::<axum::http::Uri>().ok())
            .and_then(|uri| axum::extract::Query::<BlockRequest>::try_from_uri(&uri).ok())
            .map(|q| q.0)
            .ok_or_else(|| "invalid: malformed block request".to_owned())?;
        r.check()?;
        Ok(r)
    }

    /// Checks every length and offset with checked arithmetic: the block within `u64` and at
    /// most [`MAX_BLOCK_LENGTH`], the read within the block, bytes asked for at most
    /// [`MAX_READ`] (a `load` or `local` request sends none), paths at most [`MAX_PATH`].
    ///
    /// # Errors
    /// Why it is refused, one line starting `invalid:`.
    pub fn check(&self) -> Result<(), String> {
        let fail = |why: String| Err(format!("invalid: block {}: {why}", self.id));
        if self.block_length > MAX_BLOCK_LENGTH {
            return fail(format!(
                "length {} is over the limit of {MAX_BLOCK_LENGTH}",
                self.block_length
            ));
        }
        if self.block_offset.checked_add(self.block_length).is_none() {
            return fail(format!("offset {} plus length overflows", self.block_offset));
        }
        if self.offset > self.block_length {
            return fail(format!(
                "read offset {} is past the block's {} bytes",
                self.offset, self.block_length
            ));
        }
        if !self.load && !self.local && self.len > MAX_READ {
            return fail(format!("a read of {} bytes is over the limit of {MAX_READ}", self.len));
        }
        if [&self.mount, &self.ufs, &self.path].iter().any(|p| p.len() > MAX_PATH) {
            return fail(format!("a path over {MAX_PATH} bytes"));
        }
        Ok(())
    }
}

/// What identifies one version of a file: inode, size, modification and change times (seconds
/// and nanoseconds).
pub type FileStamp = (u64, u64, i64, i64, i64, i64);

/// The [`FileStamp`] of a file's metadata.
pub fn file_stamp(m: &std::fs::Metadata) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    (m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
}

/// A block file in a tier directory that its worker has checked whole and vouches for while
/// `stamp` still describes it: what FUSE on the worker's host hands to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalBlock {
    /// The block file's path (the fuse container mounts the tier directories at the same paths).
    pub path: String,
    /// Its identity when checked.
    pub stamp: FileStamp,
}

/// An answer of the RPC port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer<T> {
    /// Served.
    Ok(T),
    /// Not the leader: ask `leader` (an RPC address), or retry later when it is unknown.
    NotLeader {
        /// The leader's RPC address, when known.
        leader: Option<String>,
    },
    /// Refused (bad path, exists, ...): retrying will not help.
    Refused(Refusal),
}

/// What kind of refusal: what a client acts on (FUSE's errno, the CLI's exit code), never the
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefusalKind {
    /// The path does not exist.
    NotFound,
    /// The path exists already.
    Exists,
    /// A directory that is not empty.
    NotEmpty,
    /// In use.
    Busy,
    /// Malformed or out of bounds.
    Invalid,
    /// No credential, or one this runtime does not know.
    Unauthenticated,
    /// The caller's role may not do this, or the policy does not allow it.
    Forbidden,
    /// Anything else (a UFS that cannot be read, a job that failed).
    Failed,
}

/// A refused request: its kind and one line for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What kind.
    pub kind: RefusalKind,
    /// Why, one line.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
        }
    }

    /// [`RefusalKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::NotFound, message)
    }

    /// [`RefusalKind::Exists`].
    pub fn exists(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Exists, message)
    }

    /// [`RefusalKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Invalid, message)
    }

    /// [`RefusalKind::Failed`].
    pub fn failed(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Failed, message)
    }

    /// The HTTP status a refusal made before any handler (authentication, authorisation) has.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            RefusalKind::Unauthenticated => 401,
            RefusalKind::Forbidden => 403,
            RefusalKind::Invalid => 400,
            RefusalKind::NotFound => 404,
            RefusalKind::Exists | RefusalKind::NotEmpty | RefusalKind::Busy => 409,
            RefusalKind::Failed => 500,
        }
    }
}

/// `fs masterInfo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MasterInfo {
    /// The leader's RPC address as this master knows it.
    pub leader: Option<String>,
    /// Every master's RPC address, in journal order.
    pub masters: Vec<String>,
    /// Raft term.
    pub term: u64,
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// GooseFS path.
    pub path: String,
    /// UFS URI.
    pub ufs: String,
    /// Read-only.
    pub read_only: bool,
    /// Shared.
    pub shared: bool,
    /// Options (secret values are not sent: see `master`).
    pub options: BTreeMap<String, String>,
}

/// A path's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Inode id.
    pub id: u64,
    /// Absolute path.
    pub path: String,
    /// Directory?
    pub folder: bool,
    /// Length in bytes.
    pub length: u64,
    /// Last modification, ms since the epoch.
    pub mtime_ms: i64,
    /// A mount point?
    pub mount_point: bool,
    /// The UFS path it maps to.
    pub ufs_path: String,
}

/// `fsadmin report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The leader's RPC address.
    pub leader: String,
    /// Web port.
    pub web_port: u16,
    /// RPC port.
    pub rpc_port: u16,
    /// Start of the leader process, ms since the epoch.
    pub started_ms: i64,
    /// Journal addresses (empty with the UFS journal).
    pub journal_addresses: Vec<String>,
    /// Raft term.
    pub term: u64,
    /// Mounts, root included.
    pub mounts: usize,
}

/// A worker's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerAddress {
    /// Id the leader gave it (stable: derived from its host and RPC port).
    pub id: u64,
    /// `GOOSEFS_WORKER_HOSTNAME` (`goosefs.worker.hostname`).
    pub host: String,
    /// RPC port: also serves block data.
    pub rpc_port: u16,
    /// Web port.
    pub web_port: u16,
}

impl WorkerAddress {
    /// `host:rpc_port`.
    pub fn rpc(&self) -> String {
        format!("{}:{}", self.host, self.rpc_port)
    }
}

/// Capacity and usage of one tier of a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierUsage {
    /// Alias (`MEM`, `SSD`, `HDD`).
    pub alias: String,
    /// Bytes of quota.
    pub capacity: u64,
    /// Bytes of cached blocks.
    pub used: u64,
}

/// A worker registering with the leader (again after a leader change): everything it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    /// Host name.
    pub host: String,
    /// RPC (and data) port.
    pub rpc_port: u16,
    /// Web port.
    pub web_port: u16,
    /// Tiers, top first.
    pub tiers: Vec<TierUsage>,
    /// Every block it holds.
    pub blocks: Vec<u64>,
}

/// A worker's periodic report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Its id.
    pub id: u64,
    /// Tiers, top first.
    pub tiers: Vec<TierUsage>,
    /// Blocks cached since the last report.
    pub added: Vec<u64>,
    /// Blocks dropped since the last report.
    pub removed: Vec<u64>,
}

/// The leader's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeartbeatReply {
    /// Recorded.
    Recorded,
    /// This leader does not know the worker (it just took over): register with every block.
    Register,
}

/// A live worker, as `fsadmin report capacity` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Addresses.
    pub address: WorkerAddress,
    /// Tiers.
    pub tiers: Vec<TierUsage>,
    /// Milliseconds since its last heartbeat.
    pub last_heartbeat_ms: u64,
    /// Blocks it holds.
    pub blocks: usize,
}

/// One block of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Block id: the file's id (from its UFS version) plus the block's index.
    pub id: u64,
    /// Offset in the file.
    pub offset: u64,
    /// Length.
    pub length: u64,
    /// Ids of the workers holding it.
    pub workers: Vec<u64>,
}

/// A file's blocks and where they are: what a reader needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileBlocks {
    /// The file.
    pub info: FileInfo,
    /// The GooseFS path of the mount it is in.
    pub mount: String,
    /// That mount's UFS URI.
    pub ufs: String,
    /// Its path inside the mount's UFS.
    pub ufs_path: String,
    /// Block size.
    pub block_size: u64,
    /// Blocks, in order.
    pub blocks: Vec<BlockInfo>,
    /// Every live worker.
    pub workers: Vec<WorkerAddress>,
}

/// A mount's UFS for a worker (options unmasked: the worker needs the keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UfsMount {
    /// UFS URI.
    pub ufs: String,
    /// Options.
    pub options: BTreeMap<String, String>,
    /// The asked path inside the UFS (no leading slash).
    #[serde(default)]
    pub rel: String,
    /// Mounted `--readonly`.
    #[serde(default)]
    pub read_only: bool,
}

/// A master that lost its journal asks to be re-admitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejoin {
    /// Its Raft id.
    pub node: u64,
    /// A random id of this life of its journal.
    pub incarnation: String,
}

/// The most bytes of one path component (Linux's `NAME_MAX`, as the FUSE mount presents it).
pub const MAX_NAME: usize = 255;
/// The most components of a GooseFS path: a recursive `mkdir` stores every prefix, so its cost
/// grows with the square of the depth.
pub const MAX_DEPTH: usize = 256;

/// Checks a GooseFS path from the network against [`MAX_PATH`], [`MAX_NAME`] and [`MAX_DEPTH`].
///
/// # Errors
/// An [`RefusalKind::Invalid`] refusal, one line starting `invalid:`.
pub fn check_path(path: &str) -> Result<(), Refusal> {
    let refuse = |why: String| Err(Refusal::invalid(format!("invalid: {why}")));
    if path.len() > MAX_PATH {
        return refuse(format!("a path of {} bytes (at most {MAX_PATH})", path.len()));
    }
    if let Some(name) = path.split('/').find(|n| n.len() > MAX_NAME) {
        let shown: String = name.chars().take(20).collect();
        return refuse(format!("the name {shown:?}... is over {MAX_NAME} bytes"));
    }
    let depth = path.split('/').filter(|n| !n.is_empty()).count();
    if depth > MAX_DEPTH {
        return refuse(format!("a path {depth} levels deep (at most {MAX_DEPTH})"));
    }
    Ok(())
}

/// Which UFSes a mount may name: `local://`/`file://` directories only at or below the local
/// root UFS (`goosefs.master.mount.table.root.ufs`: `/underFSStorage`, where the rendered
/// manifests mount the Dataset's declared host paths and claims), `pvc://` claims only inside
/// their own folder there; no `.` or `..` in either. Other schemes reach their own services.
///
/// # Errors
/// A [`RefusalKind::Forbidden`] refusal (one line starting `forbidden:`), or an invalid one.
pub fn mount_policy(ufs: &str, root_ufs: &str) -> Result<(), Refusal> {
    if ufs.len() > MAX_PATH {
        return Err(Refusal::invalid(format!(
            "invalid: a UFS URI of {} bytes (at most {MAX_PATH})",
            ufs.len()
        )));
    }
    let forbidden = |why: &str| {
        Err(Refusal::new(
            RefusalKind::Forbidden,
            format!("forbidden: {} {why}", redact_uri(ufs)),
        ))
    };
    let local_dir = |uri: &str| -> Option<String> {
        let (scheme, rest) = uri.split_once("://").unwrap_or(("file", uri));
        let local = scheme.eq_ignore_ascii_case("local") || scheme.eq_ignore_ascii_case("file");
        (local && (rest.starts_with('/') || uri.contains("://"))).then(|| format!("/{}", rest.trim_matches('/')))
    };
    let escapes = |path: &str| path.split('/').any(|p| p == "." || p == "..");
    let scheme = ufs.split_once("://").map_or("file", |(s, _)| s).to_ascii_lowercase();
    match scheme.as_str() {
        "local" | "file" => {
            let (Some(dir), Some(root)) = (local_dir(ufs), local_dir(root_ufs)) else {
                return forbidden("is not below the runtime's local storage (its root UFS is not local)");
            };
            let below = dir == root || dir.starts_with(&format!("{}/", root.trim_end_matches('/')));
            if escapes(&dir) || !below {
                return forbidden(&format!(
                    "is not below the runtime's local storage {root} (where its declared volumes are)"
                ));
            }
            Ok(())
        }
        "pvc" if escapes(ufs) => forbidden("leaves its claim ('.' or '..')"),
        _ => Ok(()),
    }
}

/// `uri` as it may be shown: a password in its user info (`http://user:pass@host/`) becomes
/// `***`. Every message, log line and table that names a UFS URI shows it through this.
pub fn redact_uri(uri: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{scheme}://{shown}@{host}{}", &rest[authority_end..]).into()
        }
        None => uri.into(),
    }
}

/// Words of option keys whose values are secrets: never sent back nor logged.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "accesskey", "credential"]
        .iter()
        .any(|w| k.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BlockRequest {
        BlockRequest {
            id: 7,
            mount: "/hbase".to_owned(),
            ufs: "http://h/a b/".to_owned(),
            path: "dir/x&y=1.bin".to_owned(),
            block_offset: 1 << 20,
            block_length: 1 << 20,
            offset: 5,
            len: 100,
            load: false,
            local: false,
        }
    }

    #[test]
    fn block_requests_round_trip_and_out_of_bounds_ones_are_refused() {
        let r = request();
        assert_eq!(BlockRequest::decode(r.to_query().as_bytes()), Ok(r.clone()));
        let refused = |edit: &dyn Fn(&mut BlockRequest)| {
            let mut bad = r.clone();
            edit(&mut bad);
            BlockRequest::decode(bad.to_query().as_bytes())
                .err()
                .unwrap_or_default()
        };
        assert!(refused(&|b| b.block_length = u64::MAX).contains("over the limit"));
        assert!(refused(&|b| b.block_offset = u64::MAX).contains("overflows"));
        assert!(refused(&|b| b.offset = b.block_length + 1).contains("past the block"));
        assert!(refused(&|b| b.len = MAX_READ + 1).contains("a read of"));
        assert!(refused(&|b| b.path = "x".repeat(MAX_PATH + 1)).contains("a path over"));
        // A load or a local open sends no bytes: the whole block may be named.
        let mut load = r.clone();
        load.load = true;
        load.len = MAX_BLOCK_LENGTH;
        load.block_length = MAX_BLOCK_LENGTH;
        load.block_offset = 0;
        assert!(BlockRequest::decode(load.to_query().as_bytes()).is_ok());
        for junk in [&b"\xff\xfe"[..], b"id=x", b"", b"id=1&len=-1"] {
            assert_eq!(
                BlockRequest::decode(junk).err().as_deref(),
                Some("invalid: malformed block request")
            );
        }
    }

    #[test]
    fn paths_over_the_limits_are_refused() {
        assert!(check_path("/a/b").is_ok());
        assert!(check_path(&format!("/{}", "x".repeat(MAX_PATH))).is_err());
        let long_name = check_path(&format!("/{}", "n".repeat(MAX_NAME + 1))).err();
        assert!(long_name.map(|r| r.message).unwrap_or_default().contains("over 255"));
        let deep = "/d".repeat(MAX_DEPTH + 1);
        assert_eq!(
            check_path(&deep).err().map(|r| r.message).as_deref(),
            Some("invalid: a path 257 levels deep (at most 256)")
        );
        assert!(check_path(&"/d".repeat(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn local_mounts_stay_below_the_declared_storage() {
        let root = "/underFSStorage";
        for ok in [
            "local:///underFSStorage/data",
            "/underFSStorage/x/",
            "pvc://claim/sub",
            "http://h/",
            "s3://b/p",
        ] {
            assert_eq!(mount_policy(ok, root), Ok(()), "{ok}");
        }
        for bad in [
            "local:///",
            "local:///etc",
            "file:///underFSStorageX",
            "local:///underFSStorage/../etc",
            "/etc/passwd",
            "pvc://claim/../../etc",
        ] {
            let refused = mount_policy(bad, root).err();
            assert_eq!(refused.as_ref().map(|r| r.kind), Some(RefusalKind::Forbidden), "{bad}");
            assert!(
                refused
                    .map(|r| r.message)
                    .unwrap_or_default()
                    .starts_with("forbidden: "),
                "{bad}"
            );
        }
        // A root UFS that is not local: no local mount at all.
        assert!(mount_policy("local:///underFSStorage", "s3://bucket/").is_err());
    }

    #[test]
    fn passwords_in_uris_are_never_shown() {
        assert_eq!(
            redact_uri("https://me:s3cr3t@h.example/a@b/"),
            "https://me:***@h.example/a@b/"
        );
        assert_eq!(redact_uri("http://token@h/x"), "http://***@h/x");
        for plain in ["http://h/a@b", "s3://bucket/p", "/local/path", "local:///x"] {
            assert_eq!(redact_uri(plain), plain);
        }
    }

    #[test]
    fn secret_option_keys_are_recognised() {
        for key in [
            "fs.cosn.userinfo.secretKey",
            "aws.accessKeyId",
            "fs.oss.accessKeySecret",
            "x.password",
        ] {
            assert!(super::is_secret_key(key), "{key}");
        }
        assert!(!super::is_secret_key("fs.cosn.bucket.region"));
    }
}
