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
    Refused(String),
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

/// A master that lost its journal asks to be re-admitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejoin {
    /// Its Raft id.
    pub node: u64,
    /// A random id of this life of its journal.
    pub incarnation: String,
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
