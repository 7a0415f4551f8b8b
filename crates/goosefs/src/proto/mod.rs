//! The runtime's wire, in one place: the RPC ports' routes ([`paths`]), every request and reply
//! type, the block protocol's framing ([`block`]), path bounds and the mount policy ([`path`]) and
//! typed refusals ([`Refusal`]). Servers ([`crate::master`], [`crate::worker`]) and clients
//! ([`crate::client`], [`crate::reader`]) both import it; it imports no other module of the
//! runtime. JSON messages over HTTP; every answer is an [`Answer`]: a follower says who leads
//! instead of serving.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod block;
pub mod path;
mod refusal;

pub use refusal::{Refusal, RefusalKind};

/// Paths of the RPC port.
pub mod paths {
    /// `GET`: [`super::MasterInfo`] (any master answers).
    pub const INFO: &str = "/api/v1/master/info";
    /// `POST` a [`super::Write`]: `()` once journaled and applied.
    pub const WRITE: &str = "/api/v1/master/write";
    /// `POST` a `Vec<`[`super::Write`]`>` of directories to make (at most
    /// [`super::MAX_BATCHED_WRITES`]), applied in order: one answer per write, in order.
    pub const WRITES: &str = "/api/v1/master/writes";
    /// `GET`: the mount table, `Vec<super::MountEntry>`.
    pub const MOUNTS: &str = "/api/v1/fs/mounts";
    /// `GET ?path=`: [`super::FileInfo`].
    pub const STAT: &str = "/api/v1/fs/stat";
    /// `GET ?path=[&after=NAME][&limit=N]`: a [`super::ListPage`], the entries whose names sort
    /// after `after`, at most `limit` (and at most [`super::LIST_PAGE`]).
    pub const LIST: &str = "/api/v1/fs/list";
    /// `GET`: [`super::Report`].
    pub const REPORT: &str = "/api/v1/master/report";
    /// `GET` (admin): a [`super::BackupReply`], the leader's metadata backup.
    pub const BACKUP: &str = "/api/v1/master/backup";
    /// `POST` a [`super::Rejoin`]: `()` once the master is a voter again.
    pub const REJOIN: &str = "/api/v1/master/rejoin";
    /// `GET ?path=`: a [`super::Lookup`], the path's metadata and a file's blocks.
    pub const LOOKUP: &str = "/api/v1/fs/lookup";
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
    /// The leader's block grant key (workers only; see [`crate::grant`]).
    pub const GRANT_KEY: &str = "/api/v1/worker/grant-key";
    /// `POST ?path=`: the leader forgets its listing of that directory (a file was written
    /// there through FUSE), so the next `ls` loads it again.
    pub const SYNC: &str = "/api/v1/fs/sync";
    /// `POST` block ids: the leader has every live worker drop them; how many were dropped.
    pub const FREE_BLOCKS: &str = "/api/v1/fs/free";
    /// Embedded journal port (masters only), `POST` openraft's `AppendEntriesRequest`.
    pub const RAFT_APPEND: &str = "/raft/append";
    /// Embedded journal port, `POST` openraft's `VoteRequest`.
    pub const RAFT_VOTE: &str = "/raft/vote";
    /// Embedded journal port, `POST` one chunk of a snapshot, binary: a big-endian `u32` length,
    /// that many bytes of JSON (the request without its data), then the chunk's bytes.
    pub const RAFT_SNAPSHOT: &str = "/raft/snapshot";
    /// Embedded journal port, `GET`: a master's `PeerState` (membership's survey at start).
    pub const RAFT_STATE: &str = "/raft/state";
    /// Worker RPC port, `POST` block ids: how many were dropped (the leading master's call).
    pub const FREE: &str = "/api/v1/block/free";
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

/// The most writes one request to [`paths::WRITES`] carries.
pub const MAX_BATCHED_WRITES: usize = 1_000;

/// The most entries one answer to [`paths::LIST`] carries: a directory of any size is listed in
/// pages, so neither side builds or copies a whole directory per request.
pub const LIST_PAGE: usize = 5_000;

/// One page of a directory listing, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    /// The entries (a file listed is its own only entry).
    pub entries: Vec<FileInfo>,
    /// The name to pass as `after` for the next page; `None` at the end.
    pub next: Option<String>,
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

/// `fsadmin backup`: the leader's metadata backup (`master::backup`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupReply {
    /// The leader that took it.
    pub host: String,
    /// When (ms since the epoch).
    pub created_ms: i64,
    /// Mounts plus inodes.
    pub entries: u64,
    /// The gzip'd backup file, base64.
    pub data: String,
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
    /// Block reads answered from its cache since it started (the runtime's cache hit ratio).
    #[serde(default)]
    pub hits: u64,
    /// Block reads it had to fetch from the UFS since it started.
    #[serde(default)]
    pub misses: u64,
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
    /// The leader's grant for this block's binding ([`crate::grant`]), which a worker checks
    /// instead of asking the leader; empty when the leader issues none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grant: String,
}

/// A path's metadata and, for a file, its blocks ([`paths::LOOKUP`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Lookup {
    /// A directory.
    Directory(FileInfo),
    /// A file: its blocks, which carry its metadata.
    File(FileBlocks),
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
    /// Unix seconds until which the blocks' grants hold (0: none).
    #[serde(default)]
    pub granted_until: u64,
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

/// A client's change to the namespace (`POST` to [`paths::WRITE`]). The leader checks it, fixes
/// its time and journals it as its own command: clients never send the journal's types (a field
/// this type does not have is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Write {
    /// `fs mount`: mounts `ufs` at `path` (which must not exist; its parent must). Admin only.
    Mount {
        /// GooseFS path.
        path: String,
        /// UFS URI.
        ufs: String,
        /// Read-only mount.
        read_only: bool,
        /// Shared mount.
        shared: bool,
        /// Mount options (`--option k=v`).
        options: BTreeMap<String, String>,
    },
    /// `fs unmount`: removes the mount at `path` and everything below it. Admin only.
    Unmount {
        /// GooseFS path.
        path: String,
    },
    /// `fs mkdir`, and FUSE's `mkdir`.
    Mkdir {
        /// GooseFS path.
        path: String,
        /// Create missing parents too.
        recursive: bool,
        /// An existing directory is no error.
        exist_ok: bool,
    },
}

impl Write {
    /// The GooseFS path it changes.
    pub fn path(&self) -> &str {
        match self {
            Write::Mount { path, .. } | Write::Unmount { path } | Write::Mkdir { path, .. } => path,
        }
    }
}

/// Milliseconds since the epoch: every time on the wire.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
