//! The embedded journal: openraft's log store and state machine on one redb file in
//! `goosefs.master.journal.folder` (`journal.redb`). Log entries are committed (fsync) by the
//! writer thread (`writer`) before openraft is told they are durable; the vote and the last
//! snapshot are written before their calls return; the committed log id rides along with the next
//! write (openraft uses it only to apply sooner after a restart). The state machine
//! ([`Namespace`]) lives in memory and is rebuilt on start from the last snapshot plus the
//! committed entries after it. The same store serves the UFS journal type (one master, no peers):
//! a single-member Raft group.

// openraft's storage traits fix the error type (`StorageError`, over 200 bytes); the helpers here
// return what the traits return.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, PoisonError, RwLock};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership, Vote,
};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::master::namespace::{Namespace, Reply};
use crate::master::raft::{NodeId, TypeConfig};

/// Log entries by index, serialized as JSON.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Single values: the vote, the committed and last purged log ids, the last snapshot, and this
/// member's rejoin state.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "purged";
const SNAPSHOT: &str = "snapshot";
/// Set once this member's log is known complete: it initialised the group, or rejoined it.
pub const MEMBER: &str = "member";

/// Why the journal cannot be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The folder cannot be created.
    #[error("journal folder {path}: {source}")]
    Folder {
        /// Folder.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// redb refused.
    #[error("journal {path}: {source}")]
    Store {
        /// File.
        path: String,
        /// Cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The state the masters share, as the RPC handlers read it.
#[derive(Debug, Default)]
pub struct Applied {
    /// Last applied log id.
    pub last_applied: Option<LogId<NodeId>>,
    /// Membership as of the last applied entry.
    pub membership: StoredMembership<NodeId, openraft::BasicNode>,
    /// Mount table and namespace.
    pub namespace: Namespace,
}

/// A snapshot as stored and sent: its metadata and the state.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, openraft::BasicNode>,
    namespace: Namespace,
}

mod writer;

/// The journal: both openraft stores share it (cheap clones).
#[derive(Clone)]
pub struct Journal {
    db: Arc<Database>,
    /// The in-memory state machine, shared with the RPC handlers.
    pub applied: Arc<RwLock<Applied>>,
    /// Appended entries not yet on disk (readers see them).
    unflushed: writer::Unflushed,
    /// The writer thread's queue.
    queue: Sender<writer::Op>,
    /// Size of the last snapshot built or installed (status, tests).
    snapshot_bytes: Arc<std::sync::atomic::AtomicU64>,
}

/// Turns any error into openraft's storage error of the kind `make` names.
trait Io<T> {
    fn io(self, make: impl FnOnce(AnyError) -> StorageIOError<NodeId>) -> Result<T, StorageError<NodeId>>;
}

impl<T, E: std::error::Error + 'static> Io<T> for Result<T, E> {
    fn io(self, make: impl FnOnce(AnyError) -> StorageIOError<NodeId>) -> Result<T, StorageError<NodeId>> {
        self.map_err(|e| make(AnyError::new(&e)).into())
    }
}

fn read_logs(e: AnyError) -> StorageIOError<NodeId> {
    StorageIOError::read_logs(e)
}

fn write_logs(e: AnyError) -> StorageIOError<NodeId> {
    StorageIOError::write_logs(e)
}

impl Journal {
    /// Opens (or creates) the journal in `folder`, loading the last snapshot into memory.
    ///
    /// # Errors
    /// [`JournalError`] when the folder or the file cannot be used.
    pub fn open(folder: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(folder).map_err(|source| JournalError::Folder {
            path: folder.display().to_string(),
            source,
        })?;
        let file = folder.join("journal.redb");
        let store = |source: Box<dyn std::error::Error + Send + Sync>| JournalError::Store {
            path: file.display().to_string(),
            source,
        };
        let db = Database::create(&file).map_err(|e| store(e.into()))?;
        // Create the tables once, so readers never meet a missing table.
        let tx = db.begin_write().map_err(|e| store(e.into()))?;
        tx.open_table(LOG).map_err(|e| store(e.into()))?;
        tx.open_table(META).map_err(|e| store(e.into()))?;
        tx.commit().map_err(|e| store(e.into()))?;
        let db = Arc::new(db);
        let unflushed = writer::Unflushed::default();
        let (queue, ops) = std::sync::mpsc::channel();
        let (thread_db, thread_unflushed) = (db.clone(), unflushed.clone());
        std::thread::Builder::new()
            .name("journal-writer".to_owned())
            .spawn(move || writer::run(thread_db, thread_unflushed, ops))
            .map_err(|e| store(e.into()))?;
        let journal = Journal {
            db,
            applied: Arc::default(),
            unflushed,
            queue,
            snapshot_bytes: Arc::default(),
        };
        if let Some(bytes) = journal.meta(SNAPSHOT).map_err(|e| store(e.into()))? {
            journal.note_snapshot(&bytes);
            let snapshot: StoredSnapshot = serde_json::from_slice(&bytes).map_err(|e| store(e.into()))?;
            let mut applied = journal
                .applied
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            applied.last_applied = snapshot.meta.last_log_id;
            applied.membership = snapshot.meta.last_membership;
            applied.namespace = snapshot.namespace;
        }
        Ok(journal)
    }

    /// Bytes of the last snapshot built or installed.
    pub fn snapshot_bytes(&self) -> u64 {
        self.snapshot_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn note_snapshot(&self, bytes: &[u8]) {
        self.snapshot_bytes
            .store(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// A single value of the meta table.
    ///
    /// # Errors
    /// redb's.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, redb::Error> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Whether the journal holds anything of a Raft group (a vote, a log entry or a snapshot).
    ///
    /// # Errors
    /// redb's.
    pub fn is_empty(&self) -> Result<bool, redb::Error> {
        let tx = self.db.begin_read()?;
        let log = tx.open_table(LOG)?;
        let meta = tx.open_table(META)?;
        Ok(log.first()?.is_none() && meta.get(VOTE)?.is_none() && meta.get(SNAPSHOT)?.is_none())
    }

    /// Entries in the log (those after the last purge), for metrics.
    pub fn log_entries(&self) -> u64 {
        self.db
            .begin_read()
            .ok()
            .and_then(|tx| tx.open_table(LOG).ok())
            .and_then(|t| t.len().ok())
            .unwrap_or(0)
    }

    fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<T>, StorageError<NodeId>> {
        let bytes = self.meta(key).io(StorageIOError::read)?;
        bytes
            .map(|b| serde_json::from_slice(&b))
            .transpose()
            .io(StorageIOError::read)
    }

    fn read_entries(&self, range: (Bound<u64>, Bound<u64>)) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        // What is not on disk yet first: the usual case for replication, and no decoding.
        let memory: BTreeMap<u64, Entry<TypeConfig>> = self
            .unflushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .range(range)
            .map(|(i, e)| (*i, e.clone()))
            .collect();
        let from_disk = match (memory.keys().next(), range.0) {
            // Everything from the first unflushed index on is in memory (no holes).
            (Some(first), Bound::Included(start)) if *first == start => return Ok(memory.into_values().collect()),
            (Some(first), _) => (range.0, Bound::Excluded(*first)),
            (None, _) => range,
        };
        let tx = self.db.begin_read().io(read_logs)?;
        let table = tx.open_table(LOG).io(read_logs)?;
        let mut out = Vec::new();
        for row in table.range::<u64>(from_disk).io(read_logs)? {
            let (_, value) = row.io(read_logs)?;
            out.push(serde_json::from_slice(value.value()).io(read_logs)?);
        }
        out.extend(memory.into_values());
        Ok(out)
    }

    /// Queues `op` for the writer thread and awaits its answer (the task yields; the writer
    /// thread does the disk work).
    async fn queue_and_wait(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<(), String>>) -> writer::Op,
        kind: fn(AnyError) -> StorageIOError<NodeId>,
    ) -> Result<(), StorageError<NodeId>> {
        let (done, reply) = tokio::sync::oneshot::channel();
        self.queue
            .send(make(done))
            .map_err(|_| kind(AnyError::error("the journal writer stopped")))?;
        match reply.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(kind(AnyError::error(e)).into()),
            Err(_) => Err(kind(AnyError::error("the journal writer stopped")).into()),
        }
    }

    /// Writes one value of the meta table durably, through the writer thread.
    ///
    /// # Errors
    /// The writer's, as a storage error of the kind `kind` names.
    pub async fn put_meta(
        &self,
        key: &'static str,
        value: Vec<u8>,
        kind: fn(AnyError) -> StorageIOError<NodeId>,
    ) -> Result<(), StorageError<NodeId>> {
        self.queue_and_wait(|done| writer::Op::Meta { key, value, done }, kind)
            .await
    }
}

impl RaftLogReader<TypeConfig> for Journal {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        self.read_entries((range.start_bound().cloned(), range.end_bound().cloned()))
    }
}

impl RaftLogStorage<TypeConfig> for Journal {
    type LogReader = Journal;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged: Option<LogId<NodeId>> = self.get_json(PURGED)?;
        // The newest entry is in memory when it is not on disk yet.
        let in_memory = self
            .unflushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_key_value()
            .map(|(_, e)| e.log_id);
        let last = match in_memory {
            Some(id) => Some(id),
            None => {
                let tx = self.db.begin_read().io(read_logs)?;
                let table = tx.open_table(LOG).io(read_logs)?;
                match table.last().io(read_logs)? {
                    Some((_, value)) => {
                        let entry: Entry<TypeConfig> = serde_json::from_slice(value.value()).io(read_logs)?;
                        Some(entry.log_id)
                    }
                    None => last_purged,
                }
            }
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let bytes = serde_json::to_vec(vote).io(StorageIOError::write_vote)?;
        self.put_meta(VOTE, bytes, StorageIOError::write_vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.get_json(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        // Through the writer (ordered, batched, no fsync of its own): openraft only uses it to
        // apply committed entries sooner after a restart.
        let record = serde_json::to_vec(&committed).io(StorageIOError::write)?;
        self.queue
            .send(writer::Op::Committed(record))
            .map_err(|_| StorageIOError::write(AnyError::error("the journal writer stopped")).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.get_json::<Option<LogId<NodeId>>>(COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = Vec::new();
        {
            let mut memory = self.unflushed.lock().unwrap_or_else(PoisonError::into_inner);
            for entry in entries {
                batch.push((entry.log_id, serde_json::to_vec(&entry).io(write_logs)?));
                memory.insert(entry.log_id.index, entry);
            }
        }
        // The writer thread commits it with whatever else is queued and then calls `callback`.
        self.queue
            .send(writer::Op::Append {
                entries: batch,
                done: callback,
            })
            .map_err(|_| StorageIOError::write_logs(AnyError::error("the journal writer stopped")).into())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.unflushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|i, _| *i < log_id.index);
        self.queue_and_wait(
            |done| writer::Op::Truncate {
                from: log_id.index,
                done,
            },
            StorageIOError::write_logs,
        )
        .await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let record = serde_json::to_vec(&Some(log_id)).io(write_logs)?;
        self.queue_and_wait(
            |done| writer::Op::Purge {
                upto: log_id.index,
                record,
                done,
            },
            StorageIOError::write_logs,
        )
        .await?;
        self.unflushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|i, _| *i > log_id.index);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for Journal {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let snapshot = {
            let applied = self.applied.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let id = applied
                .last_applied
                .map_or_else(|| "empty".to_owned(), |l| format!("{}-{}", l.leader_id, l.index));
            StoredSnapshot {
                meta: SnapshotMeta {
                    last_log_id: applied.last_applied,
                    last_membership: applied.membership.clone(),
                    snapshot_id: id,
                },
                namespace: applied.namespace.clone(),
            }
        };
        let bytes = serde_json::to_vec(&snapshot).io(|e| StorageIOError::write_snapshot(None, e))?;
        self.put_meta(SNAPSHOT, bytes.clone(), |e| StorageIOError::write_snapshot(None, e))
            .await?;
        self.note_snapshot(&bytes);
        Ok(Snapshot {
            meta: snapshot.meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for Journal {
    type SnapshotBuilder = Journal;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, openraft::BasicNode>), StorageError<NodeId>> {
        let applied = self.applied.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut applied = self.applied.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut replies = Vec::new();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            replies.push(match entry.payload {
                EntryPayload::Blank => Reply::Done,
                EntryPayload::Normal(command) => applied.namespace.apply(&command),
                EntryPayload::Membership(membership) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Reply::Done
                }
            });
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let stored: StoredSnapshot =
            serde_json::from_slice(&bytes).io(|e| StorageIOError::read_snapshot(Some(meta.signature()), e))?;
        // The snapshot is durable before the state it holds replaces the applied one.
        self.note_snapshot(&bytes);
        self.queue_and_wait(
            |done| writer::Op::Meta {
                key: SNAPSHOT,
                value: bytes,
                done,
            },
            StorageIOError::write,
        )
        .await?;
        let mut applied = self.applied.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        applied.namespace = stored.namespace;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let Some(bytes) = self.meta(SNAPSHOT).io(|e| StorageIOError::read_snapshot(None, e))? else {
            return Ok(None);
        };
        let stored: StoredSnapshot = serde_json::from_slice(&bytes).io(|e| StorageIOError::read_snapshot(None, e))?;
        Ok(Some(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
