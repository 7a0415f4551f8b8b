//! Block reads on the worker's RPC port without copying the bytes through the worker:
//! `sendfile(2)` from the block file to the socket. Fluid renders no separate data port (GooseFS
//! serves data on the RPC port), so both protocols share it: a connection whose first four bytes
//! are [`crate::proto::block::BLOCK_MAGIC`] speaks this one, any other is HTTP (axum).
//!
//! Its framing is [`crate::proto::block`]'s: a [`BlockRequest`] query string in, the bytes or a
//! one-line refusal out. Connections are kept for the next request.
//!
//! A request with `local` set is FUSE on this host asking for a block file to hand to the kernel
//! (passthrough): the block is fetched if need be, and the answer is a [`LocalBlock`] (JSON).
//!
//! Checksums: neither `sendfile` nor passthrough shows the bytes to the worker, so a block file is
//! verified whole (every CRC-32C) before its first such use and remembered by its inode, size,
//! modification and change times (a block the worker has just written is remembered as written:
//! it computed the checksums from those bytes); a file changed since (a flipped byte is a write)
//! is verified again, and a corrupt one is dropped and fetched anew as on any read. Reads of
//! blocks not cached, or still being fetched, go through [`Worker::serve`].

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::Worker;
use super::store::{Pinned, StoreError};
use crate::blockfile::{BlockError, BlockFile};
use crate::proto::block::{self, BlockRequest, FileStamp, LocalBlock, file_stamp};

/// The most blocks [`Verified`] remembers (a few MiB).
const MAX_VERIFIED: usize = 1 << 16;

/// Block files verified whole since they last changed, by block id.
#[derive(Default)]
pub struct Verified(Mutex<HashMap<u64, FileStamp>>);

impl Verified {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, FileStamp>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records block `id`'s file as sound while `stamp` still describes it. Bounded: past
    /// [`MAX_VERIFIED`] blocks (evicted ones stay listed) it starts again, which costs only a
    /// verification at the next `sendfile` or passthrough open of each block.
    pub fn insert(&self, id: u64, stamp: FileStamp) {
        let mut map = self.map();
        if map.len() >= MAX_VERIFIED {
            map.clear();
        }
        map.insert(id, stamp);
    }
}

impl Worker {
    /// Opens a pinned block for a reader that never shows its bytes to the worker (`sendfile`,
    /// FUSE passthrough): verified whole first unless unchanged since it last was.
    /// A file unchanged since verified needs no checksums: they are read only to verify it.
    ///
    /// The usual case, an open and an `fstat` of a file this worker wrote or checked (its inode in
    /// memory), runs on the calling runtime thread: handing the thread's core to another for it
    /// (`block_in_place`) cost more than the calls (measured: a tenth of the worker's CPU per cold
    /// small file). Only a verification, which reads every chunk, goes to a blocking thread. A tier
    /// disk that hangs then holds the runtime's threads, and the worker's probes fail with them:
    /// not Ready while its cache cannot serve, where a blocking thread per hung call would have
    /// kept it Ready.
    fn checked(&self, pinned: &Pinned) -> Result<(File, FileStamp), StoreError> {
        let io = |source| BlockError::Io { id: pinned.id, source };
        let file = File::open(&pinned.path).map_err(io)?;
        let now = file.metadata().map(|m| file_stamp(&m)).map_err(io)?;
        if self.verified.map().get(&pinned.id) == Some(&now) {
            return Ok((file, now));
        }
        tokio::task::block_in_place(|| {
            let block = BlockFile::with_file(file, &pinned.path, pinned.id)?;
            block.verify()?;
            self.verified.insert(pinned.id, now);
            Ok((block.file, now))
        })
    }

    /// The stamp to vouch for a pinned block with: its file's, verified whole first unless
    /// unchanged since it last was. A `stat`, not an open, when it was (the usual case: every
    /// fetch records the file it wrote); the opener checks the stamp against the file it opens.
    fn vouched(&self, pinned: &Pinned) -> Result<FileStamp, StoreError> {
        if let Ok(m) = std::fs::metadata(&pinned.path) {
            let now = file_stamp(&m);
            if self.verified.map().get(&pinned.id) == Some(&now) {
                return Ok(now);
            }
        }
        self.checked(pinned).map(|(_, stamp)| stamp)
    }

    /// Drops a block found bad, to be fetched anew.
    fn drop_bad(&self, pinned: Pinned, e: &StoreError) {
        tracing::warn!(error = %e, "dropping a bad block");
        self.store.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        self.verified.map().remove(&pinned.id);
        let id = pinned.id;
        drop(pinned);
        self.store.remove(id);
    }

    /// Makes sure block `r.id` is cached here and vouches for its file, for FUSE on this host
    /// to hand to the kernel (passthrough).
    async fn vouch(self: &Arc<Self>, r: &BlockRequest) -> Result<LocalBlock, String> {
        // Counted once: a hit if the block was here, else by the load below (a miss when it
        // fetched, a hit when another reader's fetch had just finished).
        for round in 0..3 {
            if let Some(pinned) = self.store.pin(r.id) {
                match self.vouched(&pinned) {
                    Ok(stamp) => {
                        if round == 0 {
                            self.store.counters.hits.fetch_add(1, Ordering::Relaxed);
                        }
                        self.store.counters.local_opens.fetch_add(1, Ordering::Relaxed);
                        return Ok(LocalBlock {
                            path: pinned.path.display().to_string(),
                            stamp,
                        });
                    }
                    Err(e) => self.drop_bad(pinned, &e),
                }
            }
            let load = BlockRequest {
                load: true,
                local: false,
                ..r.clone()
            };
            self.serve(&load).await?;
        }
        Err(format!(
            "block {}: evicted or dropped while being opened three times",
            r.id
        ))
    }
}

/// Serves a connection of the block protocol (after [`crate::net::serve`] saw its magic and
/// authenticated it): block reads need a role [`crate::auth::authorize`] allows.
pub async fn serve_blocks(worker: &Arc<Worker>, mut stream: TcpStream, caller: crate::auth::Caller) {
    if let Err(refusal) = crate::auth::authorize(crate::auth::Port::WorkerRpc, crate::auth::BLOCK_READ, caller) {
        let _ = failure(&mut stream, &refusal.message).await;
        return;
    }
    if let Err(e) = connection(worker, stream).await {
        tracing::debug!(error = %e, "block connection closed");
    }
}

/// Serves the requests of one connection until the client closes it.
async fn connection(worker: &Arc<Worker>, mut stream: TcpStream) -> std::io::Result<()> {
    while let Some(query) = block::read_request(&mut stream).await? {
        let r = match BlockRequest::decode(&query) {
            Ok(r) => r,
            Err(why) => {
                failure(&mut stream, &why).await?;
                continue;
            }
        };
        if r.local {
            match worker.vouch(&r).await {
                Ok(local) => {
                    let body = serde_json::to_vec(&local).unwrap_or_default();
                    stream.write_all(&block::encode_data_head(body.len() as u64)).await?;
                    stream.write_all(&body).await?;
                }
                Err(e) => {
                    tracing::error!(block = r.id, path = %r.path, error = %e, "local open failed");
                    failure(&mut stream, &e).await?;
                }
            }
            continue;
        }
        if !r.load && send_cached(worker, &r, &mut stream).await? {
            continue;
        }
        match worker.serve(&r).await {
            Ok(data) => {
                worker
                    .store
                    .counters
                    .served_bytes
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                stream.write_all(&block::encode_data_head(data.len() as u64)).await?;
                stream.write_all(&data).await?;
            }
            Err(e) => {
                tracing::error!(block = r.id, path = %r.path, error = %e, "read failed");
                failure(&mut stream, &e).await?;
            }
        }
    }
    Ok(())
}

async fn failure(stream: &mut TcpStream, why: &str) -> std::io::Result<()> {
    stream.write_all(&block::encode_refusal(why)).await
}

/// Sends a cached block's range with `sendfile(2)`; `false` when the block is not cached (or
/// was found corrupt and dropped), for the caller to serve it the ordinary way.
async fn send_cached(worker: &Arc<Worker>, r: &BlockRequest, stream: &mut TcpStream) -> std::io::Result<bool> {
    let Some(pinned) = worker.store.pin(r.id) else {
        return Ok(false);
    };
    let offset = r.offset.min(pinned.length);
    let len = r.len.min(pinned.length - offset);
    let file = match worker.checked(&pinned) {
        Ok((file, _)) => file,
        Err(e) => {
            worker.drop_bad(pinned, &e);
            return Ok(false);
        }
    };
    worker.store.counters.hits.fetch_add(1, Ordering::Relaxed);
    stream.write_all(&block::encode_data_head(len)).await?;
    let mut at = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut left = len;
    while left > 0 {
        stream.writable().await?;
        let count = usize::try_from(left).unwrap_or(usize::MAX);
        let sent = stream.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile64(&*stream, &file, Some(&mut at), count).map_err(std::io::Error::from)
        });
        match sent {
            Ok(0) => {
                // The file is shorter than its footer said: the connection cannot carry on.
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "block file shorter than its length",
                ));
            }
            Ok(n) => left -= n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    let counters = &worker.store.counters;
    counters.served_bytes.fetch_add(len, Ordering::Relaxed);
    counters.zero_copy_bytes.fetch_add(len, Ordering::Relaxed);
    Ok(true)
}
