//! The journal's writer thread: group commit. openraft hands the log store one batch of entries
//! per call, and on the leader one call per client write; committing (fsync) each on the
//! caller's task would serialise every write behind the disk. Instead `append` puts the entries
//! in memory (readers see them at once, as openraft requires) and queues them; this thread takes
//! everything queued, writes it in one redb transaction, commits once, and only then tells
//! openraft that the entries are durable. Truncations and purges go through the same queue, so
//! the file sees every operation in the order openraft issued it. Votes and snapshots go through
//! it too: no journal write, and no wait for one, ever blocks an async runtime thread (callers
//! await a oneshot answer).

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};

use openraft::storage::LogFlushed;
use openraft::{Entry, LogId};
use redb::Database;
use tokio::sync::oneshot::Sender;

use super::{COMMITTED, LOG, META, PURGED};
use crate::master::raft::{NodeId, TypeConfig};

/// Entries appended and not yet known to be on disk, by index.
pub type Unflushed = Arc<Mutex<BTreeMap<u64, Entry<TypeConfig>>>>;

/// An operation on the log, in openraft's order.
pub enum Op {
    /// Entries to write; `done` once they are on disk.
    Append {
        entries: Vec<(LogId<NodeId>, Vec<u8>)>,
        done: LogFlushed<TypeConfig>,
    },
    /// Delete entries from this index on.
    Truncate {
        from: u64,
        done: Sender<Result<(), String>>,
    },
    /// Delete entries up to this index, and record the purged log id (JSON).
    Purge {
        upto: u64,
        record: Vec<u8>,
        done: Sender<Result<(), String>>,
    },
    /// Record the committed log id (JSON; no waiting: openraft treats it as a hint).
    Committed(Vec<u8>),
    /// Write one value of the meta table (the vote, a snapshot, membership records).
    Meta {
        key: &'static str,
        value: Vec<u8>,
        done: Sender<Result<(), String>>,
    },
}

/// At most this many operations per transaction, so one commit does not grow unbounded.
const MAX_BATCH: usize = 4096;

/// Runs until every sender is gone.
pub fn run(db: Arc<Database>, unflushed: Unflushed, queue: Receiver<Op>) {
    while let Ok(first) = queue.recv() {
        let mut ops = vec![first];
        while ops.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let result = write(&db, &ops).map_err(|e| e.to_string());
        for op in ops {
            match op {
                Op::Append { entries, done } => {
                    if result.is_ok() {
                        let mut memory = unflushed.lock().unwrap_or_else(PoisonError::into_inner);
                        for (id, _) in &entries {
                            // A later append may already have replaced this index: keep that one.
                            if memory.get(&id.index).is_some_and(|e| e.log_id == *id) {
                                memory.remove(&id.index);
                            }
                        }
                    }
                    done.log_io_completed(result.clone().map_err(std::io::Error::other));
                }
                Op::Truncate { done, .. } | Op::Purge { done, .. } | Op::Meta { done, .. } => {
                    let _ = done.send(result.clone());
                }
                Op::Committed(_) => {}
            }
        }
    }
}

fn write(db: &Database, ops: &[Op]) -> Result<(), redb::Error> {
    let tx = db.begin_write()?;
    {
        let mut log = tx.open_table(LOG)?;
        let mut meta = tx.open_table(META)?;
        for op in ops {
            match op {
                Op::Append { entries, .. } => {
                    for (id, bytes) in entries {
                        log.insert(id.index, bytes.as_slice())?;
                    }
                }
                Op::Truncate { from, .. } => {
                    log.retain_in(*from.., |_, _| false)?;
                }
                Op::Purge { upto, record, .. } => {
                    meta.insert(PURGED, record.as_slice())?;
                    log.retain_in(..=*upto, |_, _| false)?;
                }
                Op::Committed(record) => {
                    meta.insert(COMMITTED, record.as_slice())?;
                }
                Op::Meta { key, value, .. } => {
                    meta.insert(*key, value.as_slice())?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}
