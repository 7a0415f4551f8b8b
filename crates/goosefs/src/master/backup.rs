//! Metadata backups and their restore.
//!
//! `goosefs fsadmin backup` asks the leader for its journaled state (mount table and namespace),
//! which it sends as one gzip'd JSON document; the CLI writes it where it is told
//! (Fluid's DataBackup then renames it `metadata-backup-<name>-<ns>.gz`).
//!
//! A master started with `JOURNAL_BACKUP` (Fluid's restore variable, from the Dataset's
//! `dataRestoreLocation`) restores that file once it leads, before it reconciles the declared
//! mounts: in parts of at most [`PART_BYTES`] journaled through Raft, so that every master
//! applies the same state. A namespace takes a restore only while it holds nothing (an empty
//! journal) and only once (it remembers the backup); on an existing journal the variable is
//! ignored, with one log line. A file that cannot be read or decoded is retried and the
//! declared mounts wait for it: mounting first would make the journal non-empty and lose the
//! backup for good.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::Master;
use super::namespace::{Command, Inode, MountPoint, Namespace, Reply};

/// What a backup file says it is.
pub const FORMAT: &str = "kubectl-goosefs/metadata-backup/1";
/// The largest backup file read, and the most it may inflate to (against a gzip bomb).
pub const MAX_BACKUP: u64 = 2 << 30;
/// Journal bytes per restore part (a Raft entry holds at most 1 MiB).
pub const PART_BYTES: usize = 512 << 10;

/// A backup as stored (gzip'd JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    /// [`FORMAT`].
    pub format: String,
    /// When the leader took it (ms since the epoch).
    pub created_ms: i64,
    /// The leader that took it.
    pub host: String,
    /// Mounts by GooseFS path.
    pub mounts: BTreeMap<String, MountPoint>,
    /// Inodes by path.
    pub inodes: BTreeMap<String, Inode>,
    /// The next inode id.
    pub next_id: u64,
}

impl Backup {
    /// The journaled state of `namespace` (what membership records it holds is left out: it
    /// belongs to the masters that wrote it).
    pub fn of(namespace: &Namespace, host: &str, created_ms: i64) -> Backup {
        Backup {
            format: FORMAT.to_owned(),
            created_ms,
            host: host.to_owned(),
            mounts: namespace.mounts.clone(),
            inodes: namespace.inodes.clone(),
            next_id: namespace.next_id,
        }
    }

    /// Mounts plus inodes: what GooseFS prints as the entry count.
    pub fn entries(&self) -> usize {
        self.mounts.len() + self.inodes.len()
    }

    /// The gzip'd file.
    ///
    /// # Errors
    /// Only from the encoder's writer, which writes to memory.
    pub fn encode(&self) -> std::io::Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, self)?;
        gz.flush()?;
        gz.finish()
    }

    /// Reads a backup file: gzip'd JSON of [`FORMAT`], at most [`MAX_BACKUP`] bytes inflated.
    ///
    /// # Errors
    /// Why the bytes are not a backup.
    pub fn decode(bytes: &[u8]) -> Result<Backup, String> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_BACKUP + 1)
            .read_to_end(&mut json)
            .map_err(|e| format!("not a gzip file: {e}"))?;
        if json.len() as u64 > MAX_BACKUP {
            return Err(format!("inflates to more than {MAX_BACKUP} bytes"));
        }
        let backup: Backup = serde_json::from_slice(&json).map_err(|e| format!("not a metadata backup: {e}"))?;
        if backup.format != FORMAT {
            return Err(format!("format {:?}, not {FORMAT:?}", backup.format));
        }
        Ok(backup)
    }

    /// The journal commands that restore it, named `id`: the mounts with the first inodes, then
    /// parts of at most about [`PART_BYTES`] each; the last one completes the restore.
    pub fn parts(&self, id: &str) -> Vec<Command> {
        let mut parts = Vec::new();
        let mut inodes = BTreeMap::new();
        let mut bytes = 0usize;
        let mut mounts = Some(self.mounts.clone());
        let part =
            |inodes: BTreeMap<String, Inode>, mounts: Option<BTreeMap<String, MountPoint>>, last| Command::Restore {
                backup: id.to_owned(),
                mounts: mounts.unwrap_or_default(),
                inodes,
                next_id: self.next_id,
                last,
            };
        for (path, inode) in &self.inodes {
            // By the journal's own measure: the part stays well within an entry.
            let size = super::namespace::inode_weight(path, inode);
            if bytes + size > PART_BYTES && !inodes.is_empty() {
                parts.push(part(std::mem::take(&mut inodes), mounts.take(), false));
                bytes = 0;
            }
            bytes += size;
            inodes.insert(path.clone(), inode.clone());
        }
        parts.push(part(inodes, mounts.take(), true));
        parts
    }
}

/// Logged once: the variable is set but the journal already holds a namespace.
static IGNORED: AtomicBool = AtomicBool::new(false);

/// Restores `JOURNAL_BACKUP` if this leader should: `true` when there is nothing (more) to
/// restore, `false` when the restore must be tried again (the file unreadable, a part not
/// committed), in which case the declared mounts wait.
pub async fn restore(master: &Arc<Master>) -> bool {
    let Some(path) = std::env::var_os("JOURNAL_BACKUP").filter(|p| !p.is_empty()) else {
        return true;
    };
    let path = std::path::PathBuf::from(path);
    let (restored, empty) = {
        let applied = master
            .journal
            .applied
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ns = &applied.namespace;
        (ns.restored.clone(), ns.mounts.is_empty() && ns.inodes.is_empty())
    };
    let ignored = |why: String| {
        if !IGNORED.swap(true, Ordering::Relaxed) {
            tracing::info!(backup = %path.display(), "JOURNAL_BACKUP ignored: {why}");
        }
        true
    };
    match restored {
        Some(r) if r.complete => return ignored(format!("the journal was restored from {} already", r.backup)),
        None if !empty => return ignored("the journal already holds a namespace".to_owned()),
        _ => {}
    }
    let read = tokio::fs::metadata(&path).await.and_then(|m| {
        if m.len() > MAX_BACKUP {
            Err(std::io::Error::other(format!("larger than {MAX_BACKUP} bytes")))
        } else {
            Ok(())
        }
    });
    let bytes = match read {
        Ok(()) => tokio::fs::read(&path).await,
        Err(e) => Err(e),
    };
    let backup = match bytes.map_err(|e| e.to_string()).and_then(|b| Backup::decode(&b)) {
        Ok(backup) => backup,
        Err(e) => {
            tracing::error!(
                backup = %path.display(),
                error = %e,
                "cannot restore the metadata backup (JOURNAL_BACKUP); trying again, the declared mounts wait"
            );
            return false;
        }
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let id = format!("{name}@{}", backup.created_ms);
    for part in backup.parts(&id) {
        match master.raft.client_write(part).await {
            Ok(r) if r.data == Reply::Done => {}
            Ok(r) => {
                // Another leader restored it meanwhile, or the journal was written to first.
                tracing::warn!(backup = %path.display(), reply = ?r.data, "metadata backup not restored");
                return true;
            }
            Err(e) => {
                tracing::warn!(error = %e, "restore of the metadata backup interrupted; trying again");
                return false;
            }
        }
    }
    tracing::info!(
        backup = %path.display(),
        mounts = backup.mounts.len(),
        inodes = backup.inodes.len(),
        "metadata backup restored"
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::namespace::Kind;

    fn namespace(dirs: usize) -> Namespace {
        let mut ns = Namespace::default();
        let mut mounts = BTreeMap::new();
        mounts.insert(
            "/hbase".to_owned(),
            MountPoint {
                ufs: "http://h/".into(),
                read_only: true,
                shared: false,
                options: BTreeMap::new(),
                declared: true,
            },
        );
        let inodes = (0..dirs)
            .map(|i| {
                let inode = Inode {
                    id: i as u64 + 1,
                    kind: Kind::Directory,
                    length: 0,
                    blocks: Vec::new(),
                    mtime_ms: 7,
                };
                (format!("/d/{i:06}"), inode)
            })
            .collect();
        let backup = Backup {
            format: FORMAT.into(),
            created_ms: 1,
            host: "m".into(),
            mounts,
            inodes,
            next_id: dirs as u64 + 1,
        };
        for part in backup.parts("b@1") {
            assert_eq!(ns.apply(&part), Reply::Done);
        }
        ns
    }

    #[test]
    fn a_backup_round_trips_and_restores_in_parts_once_into_an_empty_namespace_only() {
        let source = namespace(20_000);
        let backup = Backup::of(&source, "hbase-master-0", 42);
        let bytes = backup.encode().expect("encodes");
        let read = Backup::decode(&bytes).expect("decodes");
        assert_eq!(read, backup);
        let parts = read.parts("x@42");
        assert!(parts.len() > 1, "20,000 inodes take more than one entry");
        for part in &parts {
            assert!(serde_json::to_vec(part).expect("json").len() < 1 << 20);
        }
        let mut restored = Namespace::default();
        for part in &parts {
            assert_eq!(restored.apply(part), Reply::Done);
        }
        assert_eq!(restored.mounts, source.mounts);
        assert_eq!(restored.inodes, source.inodes);
        assert_eq!(restored.next_id, source.next_id);
        // Once: the same or another backup is refused afterwards.
        assert!(matches!(restored.apply(&parts[0]), Reply::Refused(_)));
        // An existing journal takes none.
        let mut used = Namespace::default();
        let mkdir = Command::Mkdir {
            path: "/x".into(),
            recursive: false,
            exist_ok: false,
            mtime_ms: 1,
        };
        assert_eq!(used.apply(&mkdir), Reply::Done);
        assert!(matches!(used.apply(&parts[0]), Reply::Refused(_)));
        assert!(!used.inodes.contains_key("/d/000000"));
    }

    #[test]
    fn junk_and_bombs_are_refused() {
        assert!(Backup::decode(b"not gzip").is_err());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"format":"other"}"#).expect("write");
        let other = gz.finish().expect("gz");
        assert!(
            Backup::decode(&other)
                .expect_err("format")
                .contains("not a metadata backup")
        );
        let truncated = Backup::of(&namespace(10), "m", 1).encode().expect("gz");
        assert!(Backup::decode(&truncated[..truncated.len() - 9]).is_err());
    }
}
