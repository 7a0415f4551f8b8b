//! Reading files, as `goosefs fs cat` and FUSE do: the leader says which blocks make the file
//! and who holds them; each block is read from the local tier directories when this host's
//! worker has it (GooseFS's short-circuit read: the fuse container mounts the tier
//! directories), else from a worker holding it, else from the worker the block maps to (so
//! blocks spread over the workers and a block is fetched from the UFS by one worker). A worker
//! that fails is skipped; when none can serve, the read fails with the last cause: never with
//! wrong bytes, since every cached byte is checksummed and every block id names one UFS version.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::blockfile::{BlockFile, block_path};
use crate::client::{ClientError, MasterClient};
use crate::net::Http;
use crate::proto::block::{BlockRequest, LocalBlock};
use crate::proto::{BlockInfo, FileBlocks, WorkerAddress, paths};

/// How long a reader waits for a leader that knows no worker to hear from them.
const WORKERS_WAIT: Duration = Duration::from_secs(10);

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The masters refused or did not answer.
    #[error(transparent)]
    Master(#[from] ClientError),
    /// No worker could serve a block.
    #[error("{path}: block {block} could not be read: {cause}")]
    Block {
        /// GooseFS path.
        path: String,
        /// Block id.
        block: u64,
        /// The last failure.
        cause: String,
    },
}

/// Where a client reads from besides workers.
#[derive(Debug, Clone, Default)]
pub struct Locality {
    /// This host's name (`goosefs.user.hostname`): its worker is preferred.
    pub host: Option<String>,
    /// Tier directories of this host's worker, read directly when they hold a block.
    pub dirs: Vec<PathBuf>,
    /// A block read's time limit (`goosefs.user.streaming.data.timeout`).
    pub timeout: Duration,
}

impl Locality {
    /// This host's name and its worker's tier directories, from the client's configuration.
    ///
    /// # Errors
    /// A property that does not parse.
    pub fn from_conf(conf: &goosefs_conf::Conf) -> Result<Locality, goosefs_conf::opts::ConfError> {
        // Not filtered by what exists now: a FUSE pod may start before its node's worker has
        // made its directories. A directory not mounted here just never holds the block.
        let dirs = goosefs_conf::tier::levels(conf)
            .map(|levels| {
                levels
                    .iter()
                    .flat_map(|l| l.dirs.iter().map(|d| PathBuf::from(&d.path)))
                    .collect()
            })
            .unwrap_or_default();
        let timeout = conf.period("goosefs.user.streaming.data.timeout", Duration::from_secs(300))?;
        Ok(Locality {
            host: conf
                .get(goosefs_conf::keys::USER_HOSTNAME)
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            dirs,
            timeout,
        })
    }
}

/// An open file.
pub struct FileReader {
    client: MasterClient,
    http: Http,
    locality: Locality,
    path: String,
    blocks: tokio::sync::RwLock<FileBlocks>,
    local_file: LocalFile,
}

/// The block file a reader has open in a local tier directory.
type LocalFile = Arc<Mutex<Option<Arc<BlockFile>>>>;

/// SplitMix64's finaliser: every input bit moves every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A read of `len` bytes at `offset` in block `b` of the file `fb` lists, with the grant `fb`
/// holds for that block now (the list may have been asked for again since `b` was taken from it).
fn block_request(fb: &FileBlocks, b: &BlockInfo, offset: u64, len: u64, load: bool) -> BlockRequest {
    // Empty (never checked by a worker) when the list no longer has the block.
    let grant = fb.blocks.iter().find(|x| x.id == b.id).map(|x| x.grant.clone());
    BlockRequest {
        id: b.id,
        file: fb.info.path.clone(),
        mount: fb.mount.clone(),
        ufs: fb.ufs.clone(),
        path: fb.ufs_path.clone(),
        block_offset: b.offset,
        block_length: b.length,
        offset,
        len,
        load,
        local: false,
        until: fb.granted_until,
        grant: grant.unwrap_or_default(),
    }
}

/// A stable order of the workers for a block (rendezvous hashing).
fn ranked(block: u64, workers: &[WorkerAddress]) -> Vec<WorkerAddress> {
    let mut w: Vec<_> = workers
        .iter()
        .map(|w| (mix(crate::proto::block::fnv64(&[&w.rpc()]) ^ block), w.clone()))
        .collect();
    w.sort_by_key(|(h, _)| *h);
    w.into_iter().map(|(_, w)| w).collect()
}

impl FileReader {
    /// Opens `path`.
    ///
    /// # Errors
    /// [`ReadError::Master`] (no such file, a directory, no leader).
    pub async fn open(
        client: &MasterClient,
        http: &Http,
        path: &str,
        locality: &Locality,
    ) -> Result<FileReader, ReadError> {
        let blocks = client
            .call::<(), FileBlocks>(&crate::proto::path::query(paths::BLOCKS, path), None)
            .await?;
        Ok(FileReader::with_blocks(client, http, path, locality, blocks))
    }

    /// A reader of a file whose block list the caller kept (FUSE's metadata cache): no request.
    /// A list gone stale (a worker gone, the file changed) is asked for again on the first read
    /// that fails, as for any reader.
    pub fn with_blocks(
        client: &MasterClient,
        http: &Http,
        path: &str,
        locality: &Locality,
        blocks: FileBlocks,
    ) -> FileReader {
        FileReader {
            client: client.clone(),
            http: http.clone(),
            locality: locality.clone(),
            path: path.to_owned(),
            blocks: tokio::sync::RwLock::new(blocks),
            local_file: LocalFile::default(),
        }
    }

    /// The file's block list as this reader knows it now.
    pub async fn file_blocks(&self) -> FileBlocks {
        self.blocks.read().await.clone()
    }

    /// The file's length.
    pub async fn length(&self) -> u64 {
        self.blocks.read().await.info.length
    }

    /// The file's blocks.
    pub async fn blocks(&self) -> Vec<BlockInfo> {
        self.blocks.read().await.blocks.clone()
    }

    /// Up to `len` bytes from `offset` (fewer at the end of the file).
    ///
    /// # Errors
    /// [`ReadError`].
    pub async fn read(&self, offset: u64, len: u64) -> Result<Bytes, ReadError> {
        let blocks = self.blocks().await;
        let length = self.length().await;
        let end = offset.saturating_add(len).min(length);
        // One block's bytes go out as they came (no copy); a read across blocks is joined.
        let mut parts: Vec<Bytes> = Vec::new();
        for (i, b) in blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.offset < end && b.offset + b.length > offset)
        {
            let from = offset.max(b.offset) - b.offset;
            let to = end.min(b.offset + b.length) - b.offset;
            // A read from the start of a block looks sequential: have the next block fetched
            // meanwhile, so the UFS transfer overlaps this block's delivery.
            if from == 0
                && let Some(next) = blocks.get(i + 1)
                && next.workers.is_empty()
            {
                self.prefetch(next.clone()).await;
            }
            parts.push(self.read_block(b, from, to - from, false).await?);
        }
        Ok(match parts.len() {
            0 => Bytes::new(),
            1 => parts.remove(0),
            _ => Bytes::from(parts.concat()),
        })
    }

    /// Loads block `b` in the background (its worker fetches it once, however many ask).
    async fn prefetch(&self, b: BlockInfo) {
        let reader = FileReader {
            client: self.client.clone(),
            http: self.http.clone(),
            locality: self.locality.clone(),
            path: self.path.clone(),
            blocks: tokio::sync::RwLock::new(self.blocks.read().await.clone()),
            local_file: LocalFile::default(),
        };
        tokio::spawn(async move {
            if let Err(e) = reader.load(&b).await {
                tracing::debug!(error = %e, "prefetch failed; the read will fetch the block itself");
            }
        });
    }

    /// For FUSE passthrough: the block file of a one-block file, from this host's worker, which
    /// holds the block or, when no worker does, fetches it whole first (GooseFS's local-first
    /// read policy) and vouches for the file. `None` when the file is not like that: several
    /// blocks or none, held by another worker, or no worker on this host.
    ///
    /// # Errors
    /// [`ReadError::Block`]: the local worker failed (the caller reads the ordinary way).
    pub async fn local_block(&self) -> Result<Option<LocalBlock>, ReadError> {
        let (request, worker) = {
            let fb = self.blocks.read().await;
            let ([b], Some(host)) = (fb.blocks.as_slice(), &self.locality.host) else {
                return Ok(None);
            };
            let Some(local) = fb.workers.iter().find(|w| &w.host == host) else {
                return Ok(None);
            };
            let held_elsewhere = b
                .workers
                .iter()
                .any(|id| *id != local.id && fb.workers.iter().any(|w| w.id == *id));
            if b.length == 0 || self.locality.dirs.is_empty() || (held_elsewhere && !b.workers.contains(&local.id)) {
                return Ok(None);
            }
            let request = BlockRequest {
                local: true,
                ..block_request(&fb, b, 0, b.length, false)
            };
            (request, local.rpc())
        };
        let failed = |cause: String| ReadError::Block {
            path: self.path.clone(),
            block: request.id,
            cause,
        };
        let answer = self
            .http
            .local_block(&worker, &request.to_query(), self.locality.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        // This process opens what the worker names, and may be root: only a block file in one
        // of this host's tier directories is taken.
        if !self
            .locality
            .dirs
            .iter()
            .any(|d| block_path(d, request.id).as_os_str() == std::ffi::OsStr::new(&answer.path))
        {
            return Err(failed(format!("{worker} named {} as the block's file", answer.path)));
        }
        Ok(Some(answer))
    }

    /// The blocks no worker holds yet, each with the worker it belongs on (the first by
    /// rendezvous hashing: where readers look first), or `None` when no worker is live.
    pub async fn missing(&self) -> Vec<(BlockInfo, Option<WorkerAddress>)> {
        let fb = self.blocks.read().await;
        fb.blocks
            .iter()
            .filter(|b| !b.workers.iter().any(|id| fb.workers.iter().any(|w| w.id == *id)))
            .map(|b| (b.clone(), ranked(b.id, &fb.workers).into_iter().next()))
            .collect()
    }

    /// Makes sure block `b` is cached by a worker (`fs load`; a job worker's task).
    ///
    /// # Errors
    /// [`ReadError`].
    pub async fn load(&self, b: &BlockInfo) -> Result<(), ReadError> {
        self.read_block(b, 0, b.length, true).await.map(drop)
    }

    /// A short-circuit read from this host's tier directories. The last block file opened is
    /// kept open for the next read (the worker may evict it meanwhile: the open file keeps its
    /// bytes, which the checksums still vouch for).
    fn local(dirs: &[PathBuf], open: &LocalFile, b: &BlockInfo, offset: u64, len: u64) -> Option<Vec<u8>> {
        let mut cached = open.lock().unwrap_or_else(PoisonError::into_inner);
        let file = match &*cached {
            Some(file) if file.id == b.id => file.clone(),
            _ => {
                let found = dirs.iter().find_map(|dir| {
                    let file = BlockFile::open(&block_path(dir, b.id), b.id).ok()?;
                    (file.length == b.length).then(|| Arc::new(file))
                })?;
                *cached = Some(found.clone());
                found
            }
        };
        drop(cached);
        let read = file.read(offset, len);
        if read.is_err() {
            // Corrupt or gone: forget it; the worker reads the block again.
            *open.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        read.ok()
    }

    async fn read_block(&self, b: &BlockInfo, offset: u64, len: u64, load: bool) -> Result<Bytes, ReadError> {
        if !load && !self.locality.dirs.is_empty() {
            let (dirs, open, block) = (self.locality.dirs.clone(), self.local_file.clone(), b.clone());
            let local = tokio::task::spawn_blocking(move || Self::local(&dirs, &open, &block, offset, len));
            if let Ok(Some(data)) = local.await {
                return Ok(Bytes::from(data));
            }
        }
        let mut cause = String::from("no live worker");
        // Two rounds over the workers; and while the leader knows none (it just took over and
        // the workers register at their next heartbeat), a few seconds of waiting for them.
        let mut rounds = 2;
        let wait_until = std::time::Instant::now() + WORKERS_WAIT;
        while rounds > 0 {
            let (request, candidates) = {
                let fb = self.blocks.read().await;
                let mut order: Vec<WorkerAddress> = fb
                    .workers
                    .iter()
                    .filter(|w| b.workers.contains(&w.id))
                    .cloned()
                    .collect();
                if let Some(host) = &self.locality.host {
                    order.extend(fb.workers.iter().filter(|w| &w.host == host).cloned());
                }
                order.extend(ranked(b.id, &fb.workers));
                let mut seen = std::collections::HashSet::new();
                order.retain(|w| seen.insert(w.id));
                (block_request(&fb, b, offset, len, load), order)
            };
            let query = request.to_query();
            let max = if load { 0 } else { len };
            for worker in &candidates {
                match self
                    .http
                    .get_block(&worker.rpc(), &query, max, self.locality.timeout)
                    .await
                {
                    Ok(bytes) if load || bytes.len() as u64 == len => return Ok(bytes),
                    Ok(bytes) => cause = format!("{} sent {} bytes, not {len}", worker.rpc(), bytes.len()),
                    Err(e) => cause = e.to_string(),
                }
                tracing::debug!(worker = %worker.rpc(), %cause, "block read failed; trying the next worker");
            }
            if candidates.is_empty() && std::time::Instant::now() < wait_until {
                tokio::time::sleep(Duration::from_millis(250)).await;
            } else {
                rounds -= 1;
            }
            if rounds > 0 {
                // The workers may have changed: ask the leader again.
                let fresh = self
                    .client
                    .call::<(), FileBlocks>(&crate::proto::path::query(paths::BLOCKS, &self.path), None)
                    .await?;
                if fresh.blocks.iter().all(|f| f.id != b.id) {
                    return Err(ReadError::Block {
                        path: self.path.clone(),
                        block: b.id,
                        cause: "the file changed in the UFS while it was read".to_owned(),
                    });
                }
                *self.blocks.write().await = fresh;
            }
        }
        Err(ReadError::Block {
            path: self.path.clone(),
            block: b.id,
            cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_rank_workers_stably_and_spread() {
        let workers: Vec<WorkerAddress> = (0..3)
            .map(|i| WorkerAddress {
                id: i,
                host: format!("w{i}"),
                rpc_port: 1,
                web_port: 2,
            })
            .collect();
        assert_eq!(ranked(5, &workers), ranked(5, &workers));
        let firsts: std::collections::HashSet<u64> = (0..64).map(|b| ranked(b, &workers)[0].id).collect();
        assert_eq!(firsts.len(), 3, "64 blocks use every worker first");
    }
}
