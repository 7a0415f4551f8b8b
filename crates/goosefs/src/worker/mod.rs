//! `goosefs worker-only`: a worker. It opens the tiered store ([`store`]), registers with the
//! leading master and reports every `goosefs.worker.block.heartbeat.interval` (capacity and
//! usage per tier, blocks added and removed; again in full to a new leader), and serves block
//! reads on its RPC port: from the store (with `sendfile`, see [`data`]), else fetched once from
//! the mount's UFS (concurrent readers of a missing block share one fetch), cached within quota
//! and watermarks, and sent.
//! The web port serves `/health` and `/metrics`.

pub mod data;
pub mod store;

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;

use crate::auth::Port;
use crate::blockfile::{BlockFile, BlockWriter, block_path};
use crate::client::MasterClient;
use crate::config::WorkerConfig;
use crate::grant::{Binding, Grants};
use crate::net;
use crate::proto::block::BlockRequest;
use crate::proto::{Answer, FileBlocks, Heartbeat, HeartbeatReply, Registration, UfsMount, paths};
use crate::ufs::Ufs;
use store::{Store, StoreError};

/// Why a worker stops.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A port cannot be bound.
    #[error(transparent)]
    Listen(std::io::Error),
}

/// How a fetch ended.
#[derive(Debug, Clone)]
enum Fetched {
    /// In the store now.
    Cached,
    /// No room, or the tier directory failed a write (a full file system): read past the cache.
    NoRoom,
    /// As `NoRoom`, for a small block read whole: its bytes, which the readers are served from.
    Uncached(bytes::Bytes),
}

/// Blocks of at most this many bytes are fetched whole into memory and written in one step (see
/// [`Worker::fetch_small`]); larger ones are streamed to their file as they arrive.
const SMALL_BLOCK: u64 = crate::blockfile::CHUNK;

/// A fetch from the UFS in progress, watched by every reader of the block: readers of bytes
/// already written are served from the temporary file before the block is complete, so a cold
/// sequential read overlaps the UFS transfer instead of waiting for a whole block.
#[derive(Debug, Clone, Default)]
struct FetchState {
    /// Bytes of the block written to `tmp` so far.
    written: u64,
    /// The temporary file being written.
    tmp: Option<PathBuf>,
    /// The outcome, once over.
    done: Option<Result<Fetched, String>>,
}

/// One fetch, shared by every reader waiting for the block.
type Fetch = tokio::sync::watch::Sender<FetchState>;

/// Network reads of a fetch queued for its writer thread, at most: 16 of hyper's ~400 KiB reads
/// are ~6.5 MiB in flight per fetch, enough to ride out the writer's stalls (64 kept 25 MiB and
/// read no faster).
const WRITE_QUEUE: usize = 16;
/// How long a mount's UFS settings from the leader are reused.
const MOUNT_TTL: Duration = Duration::from_secs(30);

/// A running worker.
pub struct Worker {
    cfg: WorkerConfig,
    store: Arc<Store>,
    client: MasterClient,
    /// Fetches in progress, by block.
    fetching: Mutex<HashMap<u64, Arc<Fetch>>>,
    /// Mount UFSes by mount point.
    ufses: Mutex<HashMap<String, (Instant, Ufs)>>,
    /// Block files checked whole for zero-copy sends.
    verified: data::Verified,
    /// The leader has this worker's registration (its last report was recorded).
    registered: std::sync::atomic::AtomicBool,
    /// The key of the block grants of the leader this worker registered with, if it issues
    /// any (see [`crate::grant`]).
    grants: Mutex<Option<Grants>>,
}

impl Worker {
    /// The UFS of `mount`, which the reader says is `uri`.
    async fn ufs_of(&self, mount: &str, uri: &str) -> Result<Ufs, String> {
        if let Some((at, ufs)) = self.ufses.lock().unwrap_or_else(PoisonError::into_inner).get(mount)
            && at.elapsed() < MOUNT_TTL
            && ufs.uri() == uri
        {
            return Ok(ufs.clone());
        }
        let m: UfsMount = self
            .client
            .call::<(), UfsMount>(&crate::proto::path::query(paths::MOUNT_UFS, mount), None)
            .await
            .map_err(|e| format!("mount {mount}: {e}"))?;
        if m.ufs != uri {
            return Err(format!("mount {mount} is {} now, not {uri}: read again", m.ufs));
        }
        let ufs = Ufs::open(&m.ufs, &m.options, &self.cfg.ufs).map_err(|e| e.to_string())?;
        self.ufses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(mount.to_owned(), (Instant::now(), ufs.clone()));
        Ok(ufs)
    }

    /// Checks with the leader that block `r.id` is `r.file`'s block at `r`'s range, in `r`'s
    /// mount and UFS, before its bytes are cached under that id: a request only names a block,
    /// and an authenticated client must not be able to store one file's bytes under another's
    /// block id (cache poisoning). One request to the leader per fetch from the UFS.
    async fn check_binding(&self, r: &BlockRequest) -> Result<(), String> {
        let fb: FileBlocks = self
            .client
            .call::<(), FileBlocks>(&crate::proto::path::query(paths::BLOCKS, &r.file), None)
            .await
            .map_err(|e| format!("block {}: {e}", r.id))?;
        let named = fb.mount == r.mount && fb.ufs == r.ufs && fb.ufs_path == r.path;
        let block = fb.blocks.iter().find(|b| b.id == r.id);
        match block {
            Some(b) if named && b.offset == r.block_offset && b.length == r.block_length => Ok(()),
            _ => Err(format!(
                "invalid: block {} is not bytes {}+{} of {} as the leader knows it",
                r.id, r.block_offset, r.block_length, r.file
            )),
        }
    }

    /// Asks the leader it registered with for its block grant key (kept until the next
    /// registration; none if it issues no grants, and then every fetch asks it).
    async fn take_grant_key(&self) {
        let key = match self.client.call::<(), String>(paths::GRANT_KEY, None).await {
            Ok(hex) => Grants::from_hex(&hex),
            Err(e) => {
                tracing::info!(error = %e, "no block grants: every fetch asks the leader about its block");
                None
            }
        };
        *self.grants.lock().unwrap_or_else(PoisonError::into_inner) = key;
    }

    /// Whether `r` carries a grant of the leader this worker registered with, still valid, for
    /// exactly its binding.
    fn granted(&self, r: &BlockRequest) -> bool {
        if r.grant.is_empty() {
            return false;
        }
        let binding = Binding::of(r);
        let grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
        grants
            .as_ref()
            .is_some_and(|g| g.holds(&binding, &r.grant, crate::grant::now()))
    }

    /// A tier directory that cannot take block `id` (its file system full, or failing) does not
    /// fail the read: the block is read past the cache, the log names the directory, and the
    /// failure is counted.
    fn tier_write_failed(&self, id: u64, dir: &std::path::Path, e: &std::io::Error) {
        tracing::warn!(block = id, dir = %dir.display(), error = %e, "cannot write to the tier directory; reading past the cache");
        self.store.counters.tier_write_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the block's bytes from the UFS into the store (or not, without room).
    async fn fetch(&self, r: &BlockRequest, state: &Arc<Fetch>) -> Result<Fetched, String> {
        let counters = &self.store.counters;
        counters.misses.fetch_add(1, Ordering::Relaxed);
        // The leader's grant, or the leader asked: one request fewer per cold block when granted.
        if self.granted(r) {
            counters.granted_fetches.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.binding_checks.fetch_add(1, Ordering::Relaxed);
            self.check_binding(r).await?;
        }
        let ufs = self.ufs_of(&r.mount, &r.ufs).await?;
        if r.block_length <= SMALL_BLOCK {
            return self.fetch_small(r, &ufs).await;
        }
        // Eviction (demotion copies between tiers) and the block file's allocation are file
        // work: on a blocking thread, never on the runtime's.
        let (store, id, length) = (Arc::clone(&self.store), r.id, r.block_length);
        let prepared = tokio::task::spawn_blocking(move || {
            let reservation = store.reserve(length)?;
            let dir = store.dirs[reservation.dir].path.clone();
            let writer = BlockWriter::create(&dir, id, length);
            Some((reservation, dir, writer))
        })
        .await
        .map_err(|e| format!("block {id}: {e}"))?;
        let Some((reservation, dir, writer)) = prepared else {
            return Ok(Fetched::NoRoom);
        };
        let uncached = |e: std::io::Error| {
            self.tier_write_failed(r.id, &dir, &e);
            Fetched::NoRoom
        };
        let mut writer = match writer {
            Ok(w) => w,
            Err(e) => return Ok(uncached(e)),
        };
        state.send_modify(|s| s.tmp = Some(writer.path().to_owned()));
        // One streamed request for the whole block.
        let mut stream = match ufs.stream(&r.path, r.block_offset, r.block_length).await {
            Ok(s) => s,
            Err(e) => {
                writer.abort();
                return Err(e.to_string());
            }
        };
        // Received pieces go, uncopied, to a thread that writes and checksums them: the next
        // bytes arrive while the last are written (page-cache writes are most of a fetch's cost).
        let (pieces, mut to_write) = tokio::sync::mpsc::channel::<bytes::Bytes>(WRITE_QUEUE);
        let progress = Arc::clone(state);
        let written = tokio::task::spawn_blocking(move || {
            let mut unreported = 0;
            while let Some(piece) = to_write.blocking_recv() {
                if let Err(e) = writer.write(&piece) {
                    return (writer, Err(e));
                }
                // Readers of the partial file are woken per MiB, not per network read.
                unreported += piece.len() as u64;
                if unreported >= crate::blockfile::CHUNK {
                    progress.send_modify(|s| s.written += unreported);
                    unreported = 0;
                }
            }
            progress.send_modify(|s| s.written += unreported);
            (writer, Ok(()))
        });
        let mut done = 0;
        let mut failed = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    done += bytes.len() as u64;
                    self.store
                        .counters
                        .ufs_bytes
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    // Refused only when the writer stopped: its error says why.
                    if pieces.send(bytes).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(ufs.stream_error(&r.path, e).to_string());
                    break;
                }
            }
        }
        drop(pieces);
        let writer = match written.await {
            Ok((writer, Ok(()))) => writer,
            Ok((writer, Err(e))) => {
                writer.abort();
                return Ok(uncached(e));
            }
            Err(e) => return Err(format!("block {}: its writer failed: {e}", r.id)),
        };
        if let Some(e) = failed {
            writer.abort();
            return Err(e);
        }
        if done != r.block_length {
            writer.abort();
            return Err(format!(
                "{}: {} sent {done} bytes of block {} ({} expected): the file changed?",
                ufs.uri(),
                r.path,
                r.id,
                r.block_length
            ));
        }
        let path = block_path(&dir, r.id);
        match tokio::task::block_in_place(|| writer.finish(&path)) {
            // The checksums were computed from exactly these bytes: the file is sound as written.
            Ok(stamp) => self.verified.insert(r.id, stamp),
            Err(e) => return Ok(uncached(e)),
        }
        self.store.commit(reservation, r.id, r.block_length);
        Ok(Fetched::Cached)
    }

    /// Fetches a small block: one request for all of it, then one blocking step that reserves
    /// room, writes the file and its checksums and records it. A small file's cold read costs
    /// hand-offs between threads, not bytes: streaming it through a writer thread (as big blocks
    /// are, so that their readers need not wait for the whole) woke a thread per piece and took
    /// three steps on blocking threads.
    async fn fetch_small(&self, r: &BlockRequest, ufs: &Ufs) -> Result<Fetched, String> {
        let bytes = ufs
            .read(&r.path, r.block_offset, r.block_length)
            .await
            .map_err(|e| e.to_string())?;
        self.store
            .counters
            .ufs_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let (store, id, kept) = (Arc::clone(&self.store), r.id, bytes.clone());
        let written = tokio::task::spawn_blocking(move || {
            let reservation = store.reserve(kept.len() as u64)?;
            let dir = store.dirs[reservation.dir].path.clone();
            let path = block_path(&dir, id);
            let stamp = BlockWriter::whole(&dir, id, &kept).and_then(|writer| writer.finish(&path));
            if stamp.is_ok() {
                store.commit(reservation, id, kept.len() as u64);
            }
            Some((dir, stamp))
        })
        .await
        .map_err(|e| format!("block {id}: its writer failed: {e}"))?;
        match written {
            Some((_, Ok(stamp))) => {
                // The checksums were computed from exactly these bytes.
                self.verified.insert(id, stamp);
                Ok(Fetched::Cached)
            }
            Some((dir, Err(e))) => {
                self.tier_write_failed(id, &dir, &e);
                Ok(Fetched::Uncached(bytes))
            }
            None => Ok(Fetched::Uncached(bytes)),
        }
    }

    /// Serves a read: from the store, else after one shared fetch, else straight from the UFS.
    async fn serve(self: &Arc<Self>, r: &BlockRequest) -> Result<Vec<u8>, String> {
        if r.offset > r.block_length {
            return Err(format!(
                "offset {} is past block {} ({} bytes)",
                r.offset, r.id, r.block_length
            ));
        }
        let len = r.len.min(r.block_length - r.offset);
        // A read that had to wait for a fetch was a miss (counted by the fetch), not a hit too.
        for round in 0..3 {
            if let Some(pinned) = self.store.pin(r.id) {
                let read = tokio::task::block_in_place(|| {
                    let block = BlockFile::open(&pinned.path, r.id)?;
                    if r.load {
                        return Ok(Vec::new());
                    }
                    block.read(r.offset, len)
                });
                match read {
                    Ok(data) => {
                        if round == 0 {
                            self.store.counters.hits.fetch_add(1, Ordering::Relaxed);
                        }
                        return Ok(data);
                    }
                    Err(e) => {
                        // Corrupt or unreadable: drop it and read it again from the UFS.
                        tracing::warn!(error = %e, "dropping a bad block");
                        self.store.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                        drop(pinned);
                        self.store.remove(r.id);
                    }
                }
            }
            let (fetch, start) = {
                let mut fetching = self.fetching.lock().unwrap_or_else(PoisonError::into_inner);
                match fetching.get(&r.id) {
                    Some(f) => (f.clone(), false),
                    None => {
                        let f = Arc::new(Fetch::new(FetchState::default()));
                        fetching.insert(r.id, f.clone());
                        (f, true)
                    }
                }
            };
            if start {
                // The fetch runs on its own: it completes the block even when the reader that
                // started it is served early or goes away.
                let (worker, fetch, request) = (self.clone(), fetch.clone(), r.clone());
                tokio::spawn(async move {
                    let outcome = worker.fetch(&request, &fetch).await;
                    fetch.send_modify(|s| s.done = Some(outcome));
                    let mut fetching = worker.fetching.lock().unwrap_or_else(PoisonError::into_inner);
                    if fetching.get(&request.id).is_some_and(|f| Arc::ptr_eq(f, &fetch)) {
                        fetching.remove(&request.id);
                    }
                });
            }
            let mut watching = fetch.subscribe();
            let outcome = loop {
                let state = watching.borrow_and_update().clone();
                if let Some(done) = state.done {
                    break done;
                }
                if !r.load
                    && state.written >= r.offset + len
                    && let Some(tmp) = &state.tmp
                {
                    let read = tokio::task::block_in_place(|| {
                        let mut data = vec![0; usize::try_from(len).unwrap_or(0)];
                        File::open(tmp)
                            .and_then(|f| f.read_exact_at(&mut data, r.offset))
                            .map(|()| data)
                    });
                    // Renamed meanwhile: the next state says where it is.
                    if let Ok(data) = read {
                        return Ok(data);
                    }
                }
                if watching.changed().await.is_err() {
                    break Err(format!("block {}: its fetch was abandoned", r.id));
                }
            };
            match outcome {
                // Loaded: the fetch wrote and checksummed it just now (not opened again).
                Ok(Fetched::Cached) if r.load => return Ok(Vec::new()),
                Ok(Fetched::Cached) => {}
                Ok(Fetched::Uncached(_) | Fetched::NoRoom) if r.load => {
                    return Err(format!(
                        "block {}: no room in any tier (or a tier directory failed a write: see the worker log)",
                        r.id
                    ));
                }
                Ok(Fetched::Uncached(bytes)) => {
                    let at = usize::try_from(r.offset).unwrap_or(usize::MAX).min(bytes.len());
                    let end = at
                        .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                        .min(bytes.len());
                    return Ok(bytes[at..end].to_vec());
                }
                Ok(Fetched::NoRoom) => {
                    let ufs = self.ufs_of(&r.mount, &r.ufs).await?;
                    let bytes = ufs
                        .read(&r.path, r.block_offset + r.offset, len)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.store.counters.ufs_bytes.fetch_add(len, Ordering::Relaxed);
                    return Ok(bytes.to_vec());
                }
                Err(e) => return Err(e),
            }
        }
        Err(format!(
            "block {}: evicted or dropped while being read three times",
            r.id
        ))
    }
}

async fn free(State(worker): State<Arc<Worker>>, Json(ids): Json<Vec<u64>>) -> Json<Answer<usize>> {
    // Removing files is file work: on a blocking thread.
    let removed = tokio::task::spawn_blocking(move || ids.iter().filter(|id| worker.store.remove(**id)).count()).await;
    Json(match removed {
        Ok(count) => Answer::Ok(count),
        Err(e) => Answer::Refused(crate::proto::Refusal::failed(format!("free: {e}"))),
    })
}

async fn metrics(State(worker): State<Arc<Worker>>) -> String {
    use crate::metrics::Kind;
    let c = &worker.store.counters;
    let usage = worker.store.usage();
    let mut e = crate::metrics::Exposition::new("worker");
    for (name, help, used) in [
        ("goosefs_worker_tier_capacity_bytes", "Each tier's quota.", false),
        ("goosefs_worker_tier_used_bytes", "Bytes cached in each tier.", true),
    ] {
        e.family(name, Kind::Gauge, help);
        for t in &usage {
            e.sample(name, &[("tier", &t.alias)], if used { t.used } else { t.capacity });
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let eviction_seconds = c.eviction_nanos.load(Ordering::Relaxed) as f64 / 1e9;
    e.family(
        "goosefs_worker_eviction_seconds_total",
        Kind::Counter,
        "Time spent evicting.",
    );
    e.sample("goosefs_worker_eviction_seconds_total", &[], eviction_seconds);
    for (name, help, v) in [
        (
            "goosefs_worker_cache_hits_total",
            "Block reads answered from the cache.",
            &c.hits,
        ),
        (
            "goosefs_worker_cache_misses_total",
            "Block reads fetched from the UFS.",
            &c.misses,
        ),
        ("goosefs_worker_evictions_total", "Blocks evicted.", &c.evictions),
        ("goosefs_worker_evicted_bytes_total", "Bytes evicted.", &c.evicted_bytes),
        (
            "goosefs_worker_demotions_total",
            "Blocks moved to a lower tier.",
            &c.demotions,
        ),
        (
            "goosefs_worker_tier_write_errors_total",
            "Failed tier writes (a full or failing disk).",
            &c.tier_write_errors,
        ),
        (
            "goosefs_worker_corrupt_blocks_total",
            "Cached blocks whose checksum failed (dropped, fetched again).",
            &c.corrupt,
        ),
        (
            "goosefs_worker_ufs_read_bytes_total",
            "Bytes fetched from the UFS.",
            &c.ufs_bytes,
        ),
        (
            "goosefs_worker_served_bytes_total",
            "Bytes served to readers.",
            &c.served_bytes,
        ),
        (
            "goosefs_worker_zero_copy_bytes_total",
            "Bytes served with sendfile.",
            &c.zero_copy_bytes,
        ),
        (
            "goosefs_worker_local_opens_total",
            "Block files handed to a local reader (passthrough).",
            &c.local_opens,
        ),
        (
            "goosefs_worker_granted_fetches_total",
            "Fetches whose block the leader's grant vouched for.",
            &c.granted_fetches,
        ),
        (
            "goosefs_worker_binding_checks_total",
            "Fetches whose block was checked with the leader (no grant this worker could check).",
            &c.binding_checks,
        ),
    ] {
        e.counter(name, help, v.load(Ordering::Relaxed));
    }
    e.gauge(
        "goosefs_worker_blocks",
        "Blocks cached.",
        worker.store.block_ids().len(),
    );
    crate::auth::metrics(&mut e);
    e.finish()
}

/// Readiness (the pod's readiness probe): the leader has this worker's registration and every
/// tier directory takes a write. 503 with the reason otherwise.
async fn ready(State(worker): State<Arc<Worker>>) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    if !worker.registered.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not registered with the leader\n".to_owned(),
        );
    }
    let store = Arc::clone(&worker.store);
    match tokio::task::spawn_blocking(move || store.writable()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n".to_owned()),
        Ok(Err(why)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

/// Registers, then reports every interval; registers again in full when the leader does not
/// know this worker (it changed) or a report was lost.
async fn report(worker: Arc<Worker>) {
    let mut id: Option<u64> = None;
    loop {
        let usage = worker.store.usage();
        match id {
            None => {
                // A full registration reports everything: pending changes are moot.
                let _ = worker.store.take_changes();
                let registration = Registration {
                    host: worker.cfg.hostname.clone(),
                    rpc_port: worker.cfg.rpc_port,
                    web_port: worker.cfg.web_port,
                    tiers: usage,
                    blocks: worker.store.block_ids(),
                };
                match worker.client.call::<_, u64>(paths::REGISTER, Some(&registration)).await {
                    Ok(new) => {
                        tracing::info!(
                            id = new,
                            blocks = registration.blocks.len(),
                            "registered with the leader"
                        );
                        id = Some(new);
                        // Before it says ready: its first fetches can use the leader's grants.
                        worker.take_grant_key().await;
                        worker.registered.store(true, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot register yet"),
                }
            }
            Some(me) => {
                let (added, removed) = worker.store.take_changes();
                let beat = Heartbeat {
                    id: me,
                    tiers: usage,
                    added,
                    removed,
                    hits: worker.store.counters.hits.load(Ordering::Relaxed),
                    misses: worker.store.counters.misses.load(Ordering::Relaxed),
                };
                match worker
                    .client
                    .call::<_, HeartbeatReply>(paths::HEARTBEAT, Some(&beat))
                    .await
                {
                    Ok(HeartbeatReply::Recorded) => {}
                    Ok(HeartbeatReply::Register) => {
                        id = None;
                        worker.registered.store(false, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "heartbeat lost; registering again");
                        id = None;
                        worker.registered.store(false, Ordering::Relaxed);
                    }
                }
            }
        }
        tokio::time::sleep(worker.cfg.heartbeat).await;
    }
}

/// Runs a worker until SIGTERM or SIGINT.
///
/// # Errors
/// [`WorkerError`].
pub async fn run(cfg: WorkerConfig) -> Result<(), WorkerError> {
    let store = Store::open(&cfg.levels)?;
    let rpc = net::listen(&cfg.bind_host, cfg.rpc_port, "goosefs.worker.rpc.port")
        .await
        .map_err(WorkerError::Listen)?;
    let web = net::listen(&cfg.bind_host, cfg.web_port, "goosefs.worker.web.port")
        .await
        .map_err(WorkerError::Listen)?;
    let worker = Arc::new(Worker {
        client: MasterClient::new(&cfg.client),
        cfg,
        store,
        fetching: Mutex::default(),
        ufses: Mutex::default(),
        verified: data::Verified::default(),
        registered: std::sync::atomic::AtomicBool::new(false),
        grants: Mutex::default(),
    });
    tracing::info!(host = %worker.cfg.hostname, rpc = worker.cfg.rpc_port, "worker starting");
    let rpc_routes = Router::new()
        .route(paths::FREE, post(free))
        .route("/health", get(|| async { "ok\n" }))
        .with_state(worker.clone());
    let web_routes = Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(worker.clone());
    let mut servers = tokio::task::JoinSet::new();
    let data_worker = worker.clone();
    let blocks: net::BlockServer = Arc::new(move |stream, caller| {
        let worker = data_worker.clone();
        Box::pin(async move { data::serve_blocks(&worker, stream, caller).await })
    });
    servers.spawn(net::serve(rpc, Port::WorkerRpc, rpc_routes, Some(blocks)));
    servers.spawn(net::serve(web, Port::Web, web_routes, None));
    tokio::spawn(report(worker.clone()));
    tokio::select! {
        () = crate::signal::terminated() => {}
        Some(ended) = servers.join_next() => tracing::error!(?ended, "a server stopped"),
    }
    tracing::info!("worker stopped");
    Ok(())
}
