//! The tiered block store: the directories of `goosefs.worker.tieredstore.level*`, each with its
//! quota and watermarks, holding block files ([`crate::blockfile`]). A torn or corrupt block
//! fails its checks at start or at read, is dropped, and is read again from the UFS.
//!
//! Space: a new block goes to the top level with room (within a level, the directory with the
//! most free space, like GooseFS's `MaxFreeAllocator`). When it would take a directory above its
//! high watermark, the least recently read blocks there are evicted until the directory is at
//! its low watermark; blocks being read are never evicted. An evicted block moves down to the
//! next level with room (GooseFS's tiers: MEM → SSD → HDD), which evicts in turn, and is dropped
//! only from the bottom. No directory ever holds more than its quota: when nothing more can be
//! evicted the block is served without being cached.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use goosefs_conf::tier::Level;

use crate::blockfile::{BLOCK_DIR, BlockError, BlockFile, SUMS, block_path, file_size, move_block, remove_block};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A tier directory cannot be used.
    #[error("tier directory {path}: {source}")]
    Dir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A block's files.
    #[error(transparent)]
    Block(#[from] BlockError),
}

/// One tier directory.
#[derive(Debug)]
pub struct Dir {
    /// Level index (0 = top).
    pub level: usize,
    /// Level alias.
    pub alias: String,
    /// Path (the block files are in its `goosefsworker/`).
    pub path: PathBuf,
    /// Quota in bytes.
    pub quota: u64,
    high: u64,
    low: u64,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    dir: usize,
    length: u64,
    last_read: u64,
    readers: u32,
}

#[derive(Default)]
struct Inner {
    blocks: HashMap<u64, Meta>,
    /// Bytes on disk (blocks and reservations) per directory.
    used: Vec<u64>,
    tick: u64,
    added: Vec<u64>,
    removed: Vec<u64>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Reads served from the cache.
    pub hits: AtomicU64,
    /// Reads that went to the UFS.
    pub misses: AtomicU64,
    /// Blocks evicted (dropped from the store).
    pub evictions: AtomicU64,
    /// Bytes of the blocks evicted (dropped).
    pub evicted_bytes: AtomicU64,
    /// Time spent moving and dropping evicted blocks, in nanoseconds.
    pub eviction_nanos: AtomicU64,
    /// Blocks moved down a level by eviction.
    pub demotions: AtomicU64,
    /// Blocks not cached because a tier directory failed a write (a full file system).
    pub tier_write_errors: AtomicU64,
    /// Corrupt blocks dropped.
    pub corrupt: AtomicU64,
    /// Bytes read from UFSes.
    pub ufs_bytes: AtomicU64,
    /// Bytes sent to readers.
    pub served_bytes: AtomicU64,
    /// Of those, bytes sent with `sendfile(2)` (never copied through the worker).
    pub zero_copy_bytes: AtomicU64,
    /// Blocks opened by FUSE on this host for passthrough (the kernel reads them itself).
    pub local_opens: AtomicU64,
    /// Fetches vouched for by the leader's grant.
    pub granted_fetches: AtomicU64,
    /// Fetches checked with the leader.
    pub binding_checks: AtomicU64,
}

/// The store.
pub struct Store {
    /// Directories, top level first.
    pub dirs: Vec<Dir>,
    inner: Mutex<Inner>,
    /// Counters.
    pub counters: Counters,
}

/// A block held open for reading: it cannot be evicted until dropped.
pub struct Pinned {
    store: Arc<Store>,
    /// Block id.
    pub id: u64,
    /// Its file.
    pub path: PathBuf,
    /// Its data length.
    pub length: u64,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(m) = self.store.lock().blocks.get_mut(&self.id) {
            m.readers = m.readers.saturating_sub(1);
        }
    }
}

/// Space set aside in a directory for a block being fetched.
pub struct Reservation {
    store: Arc<Store>,
    /// Directory index.
    pub dir: usize,
    size: u64,
    done: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            let mut inner = self.store.lock();
            inner.used[self.dir] = inner.used[self.dir].saturating_sub(self.size);
        }
    }
}

impl Store {
    /// Opens the tier directories (creating `goosefsworker/` in each), finds the blocks a
    /// previous run left, drops temporary and torn files, and evicts any directory left above
    /// its quota.
    ///
    /// # Errors
    /// [`StoreError::Dir`].
    pub fn open(levels: &[Level]) -> Result<Arc<Store>, StoreError> {
        let mut dirs = Vec::new();
        for level in levels {
            for d in &level.dirs {
                let ratio = |r: f64| {
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_precision_loss
                    )]
                    let v = (d.quota as f64 * r) as u64;
                    v
                };
                dirs.push(Dir {
                    level: level.index,
                    alias: level.alias.clone(),
                    path: PathBuf::from(&d.path),
                    quota: d.quota,
                    high: ratio(level.high),
                    low: ratio(level.low.min(level.high)),
                });
            }
        }
        let store = Arc::new(Store {
            inner: Mutex::new(Inner {
                used: vec![0; dirs.len()],
                ..Inner::default()
            }),
            dirs,
            counters: Counters::default(),
        });
        for (i, dir) in store.dirs.iter().enumerate() {
            let blocks = dir.path.join(BLOCK_DIR);
            std::fs::create_dir_all(&blocks).map_err(|source| StoreError::Dir {
                path: blocks.clone(),
                source,
            })?;
            let entries = std::fs::read_dir(&blocks).map_err(|source| StoreError::Dir {
                path: blocks.clone(),
                source,
            })?;
            let mut inner = store.lock();
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_str().unwrap_or_default();
                // A checksum file stays with its block, and goes when it has none.
                if let Some(stem) = name.strip_suffix(SUMS)
                    && stem.parse::<u64>().is_ok()
                {
                    if !path.with_file_name(stem).exists() {
                        let _ = std::fs::remove_file(&path);
                    }
                    continue;
                }
                let id = name.parse::<u64>().ok();
                let length = id.and_then(|id| BlockFile::open(&path, id).ok()).map(|b| b.length);
                match (id, length) {
                    (Some(id), Some(length)) if !inner.blocks.contains_key(&id) => {
                        inner.used[i] += file_size(length);
                        inner.blocks.insert(
                            id,
                            Meta {
                                dir: i,
                                length,
                                last_read: 0,
                                readers: 0,
                            },
                        );
                    }
                    _ => {
                        tracing::info!(file = %path.display(), "removing a temporary or torn block file");
                        remove_block(&path);
                    }
                }
            }
            drop(inner);
            tracing::info!(dir = %dir.path.display(), tier = %dir.alias, quota = dir.quota, "tier directory ready");
        }
        // Only once every directory is known: an eviction may move blocks into a lower one.
        for (i, dir) in store.dirs.iter().enumerate() {
            store.evict(i, 0, dir.quota);
        }
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pins block `id` if cached (and counts a hit).
    pub fn pin(self: &Arc<Self>, id: u64) -> Option<Pinned> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let m = inner.blocks.get_mut(&id)?;
        m.readers += 1;
        m.last_read = tick;
        let (dir, length) = (m.dir, m.length);
        Some(Pinned {
            store: self.clone(),
            id,
            path: block_path(&self.dirs[dir].path, id),
            length,
        })
    }

    /// Evicts least recently read, unpinned blocks of directory `dir` until `incoming` more
    /// bytes fit under `target`: each moves down a level if one has room, else is dropped.
    fn evict(&self, dir: usize, incoming: u64, target: u64) {
        let victims = {
            let mut inner = self.lock();
            if inner.used[dir] + incoming <= target {
                return;
            }
            let mut candidates: Vec<(u64, u64)> = inner
                .blocks
                .iter()
                .filter(|(_, m)| m.dir == dir && m.readers == 0)
                .map(|(id, m)| (m.last_read, *id))
                .collect();
            candidates.sort_unstable();
            let mut victims = Vec::new();
            for (_, id) in candidates {
                if inner.used[dir] + incoming <= target {
                    break;
                }
                // Out of the map while it moves: no reader can pin it (they read it from the
                // UFS meanwhile), and the directory's room is free at once.
                if let Some(m) = inner.blocks.remove(&id) {
                    inner.used[dir] = inner.used[dir].saturating_sub(file_size(m.length));
                    victims.push((id, m));
                }
            }
            victims
        };
        for (id, m) in victims {
            self.demote_or_drop(dir, id, m);
        }
    }

    /// Moves evicted block `id` from directory `from` to the first lower level with room
    /// (evicting there first if it is above its high watermark), or drops it.
    fn demote_or_drop(&self, from: usize, id: u64, m: Meta) {
        let size = file_size(m.length);
        let src = block_path(&self.dirs[from].path, id);
        let level = self.dirs[from].level;
        let mut lower: Vec<usize> = (0..self.dirs.len())
            .filter(|&j| self.dirs[j].level > level && self.dirs[j].quota >= size)
            .collect();
        {
            let inner = self.lock();
            lower.sort_by_key(|&j| {
                (
                    self.dirs[j].level,
                    std::cmp::Reverse(self.dirs[j].quota.saturating_sub(inner.used[j])),
                )
            });
        }
        for j in lower {
            let to = &self.dirs[j];
            if self.lock().used[j] + size > to.high {
                self.evict(j, size, to.low.max(size));
            }
            {
                let mut inner = self.lock();
                if inner.used[j] + size > to.quota {
                    continue;
                }
                inner.used[j] += size;
            }
            let moved = self.timed(|| move_block(&src, &to.path, id));
            match moved {
                Ok(()) => {
                    let mut inner = self.lock();
                    match inner.blocks.entry(id) {
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert(Meta { dir: j, ..m });
                        }
                        std::collections::hash_map::Entry::Occupied(o) => {
                            // Fetched again while it moved: keep that copy. If it landed in the
                            // same directory, the file there is that copy (same bytes): keep it.
                            let same_dir = o.get().dir == j;
                            inner.used[j] = inner.used[j].saturating_sub(size);
                            drop(inner);
                            if !same_dir {
                                remove_block(&block_path(&to.path, id));
                            }
                        }
                    }
                    self.counters.demotions.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(block = id, from = %self.dirs[from].alias, to = %to.alias, "block moved down");
                    return;
                }
                Err(e) => {
                    tracing::warn!(block = id, to = %to.path.display(), error = %e, "cannot move a block down; dropping it");
                    let mut inner = self.lock();
                    inner.used[j] = inner.used[j].saturating_sub(size);
                    break;
                }
            }
        }
        self.timed(|| remove_block(&src));
        let mut inner = self.lock();
        if !inner.blocks.contains_key(&id) {
            inner.removed.push(id);
        }
        self.counters.evictions.fetch_add(1, Ordering::Relaxed);
        self.counters.evicted_bytes.fetch_add(m.length, Ordering::Relaxed);
    }

    /// Runs an eviction's file work, adding its time to the counters.
    fn timed<T>(&self, work: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let out = work();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters.eviction_nanos.fetch_add(nanos, Ordering::Relaxed);
        out
    }

    /// Sets aside room for a block of `length` bytes, evicting as the watermarks say; `None`
    /// when no directory can take it without passing its quota.
    pub fn reserve(self: &Arc<Self>, length: u64) -> Option<Reservation> {
        let size = file_size(length);
        let mut order: Vec<usize> = (0..self.dirs.len()).collect();
        {
            let inner = self.lock();
            // Top level first; in a level, the most free space first.
            order.sort_by_key(|&i| {
                (
                    self.dirs[i].level,
                    std::cmp::Reverse(self.dirs[i].quota.saturating_sub(inner.used[i])),
                )
            });
        }
        for i in order {
            let dir = &self.dirs[i];
            if size > dir.quota {
                continue;
            }
            let over_high = self.lock().used[i] + size > dir.high;
            if over_high {
                self.evict(i, size, dir.low.max(size));
            }
            let mut inner = self.lock();
            if inner.used[i] + size <= dir.quota {
                inner.used[i] += size;
                return Some(Reservation {
                    store: self.clone(),
                    dir: i,
                    size,
                    done: false,
                });
            }
        }
        None
    }

    /// Records a block written into its reservation's directory.
    pub fn commit(&self, mut reservation: Reservation, id: u64, length: u64) {
        reservation.done = true;
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let dir = reservation.dir;
        if let Some(old) = inner.blocks.insert(
            id,
            Meta {
                dir,
                length,
                last_read: tick,
                readers: 0,
            },
        ) {
            // Written twice (after a drop raced a fetch): keep the accounting right.
            inner.used[old.dir] = inner.used[old.dir].saturating_sub(file_size(old.length));
        }
        inner.added.push(id);
    }

    /// Drops block `id` (freed, or found corrupt). Readers holding it open keep their bytes.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let Some(m) = inner.blocks.remove(&id) else {
            return false;
        };
        inner.used[m.dir] = inner.used[m.dir].saturating_sub(file_size(m.length));
        inner.removed.push(id);
        remove_block(&block_path(&self.dirs[m.dir].path, id));
        true
    }

    /// Every cached block id.
    pub fn block_ids(&self) -> Vec<u64> {
        self.lock().blocks.keys().copied().collect()
    }

    /// Blocks added and removed since the last call.
    pub fn take_changes(&self) -> (Vec<u64>, Vec<u64>) {
        let mut inner = self.lock();
        (std::mem::take(&mut inner.added), std::mem::take(&mut inner.removed))
    }

    /// Capacity and usage per tier alias, top first.
    pub fn usage(&self) -> Vec<crate::proto::TierUsage> {
        let inner = self.lock();
        let mut out: Vec<crate::proto::TierUsage> = Vec::new();
        for (i, dir) in self.dirs.iter().enumerate() {
            match out.iter_mut().find(|t| t.alias == dir.alias) {
                Some(t) => {
                    t.capacity += dir.quota;
                    t.used += inner.used[i];
                }
                None => out.push(crate::proto::TierUsage {
                    alias: dir.alias.clone(),
                    capacity: dir.quota,
                    used: inner.used[i],
                }),
            }
        }
        out
    }

    /// Checks that every tier directory takes a write (a small file, written and removed).
    ///
    /// # Errors
    /// The first directory that does not, and why.
    pub fn writable(&self) -> Result<(), String> {
        for dir in &self.dirs {
            let probe = dir.path.join(BLOCK_DIR).join(format!(".ready-{}", std::process::id()));
            let written = std::fs::write(&probe, b"ready");
            let _ = std::fs::remove_file(&probe);
            written.map_err(|e| format!("tier directory {} takes no write: {e}", dir.path.display()))?;
        }
        Ok(())
    }

    /// Bytes used in directory `i`.
    pub fn used(&self, i: usize) -> u64 {
        self.lock().used[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockfile::{BlockWriter, CHUNK, SUMS_XATTR};
    use goosefs_conf::tier::{Dir as ConfDir, Medium};
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    fn level(path: &Path, quota: u64, high: f64, low: f64) -> Vec<Level> {
        vec![Level {
            index: 0,
            alias: "HDD".into(),
            dirs: vec![ConfDir {
                path: path.display().to_string(),
                medium: Medium::Hdd,
                quota,
            }],
            high,
            low,
        }]
    }

    fn put(store: &Arc<Store>, id: u64, data: &[u8]) -> bool {
        let Some(r) = store.reserve(data.len() as u64) else {
            return false;
        };
        let dir = store.dirs[r.dir].path.clone();
        let mut w = BlockWriter::create(&dir, id, data.len() as u64).expect("create");
        w.write(data).expect("write");
        w.finish(&block_path(&dir, id)).expect("finish");
        store.commit(r, id, data.len() as u64);
        true
    }

    fn read(store: &Arc<Store>, id: u64, offset: u64, len: u64) -> Result<Vec<u8>, BlockError> {
        let p = store.pin(id).expect("cached");
        BlockFile::open(&p.path, id)?.read(offset, len)
    }

    #[test]
    fn blocks_round_trip_across_chunks_and_survive_a_restart() {
        let tmp = tempfile::tempdir().expect("tmp");
        let levels = level(tmp.path(), 100 << 20, 0.9, 0.5);
        let data: Vec<u8> = (0..(2 * CHUNK + 123)).map(|i| (i % 251) as u8).collect();
        {
            let store = Store::open(&levels).expect("open");
            assert!(put(&store, 42, &data));
            BlockFile::open(&block_path(tmp.path(), 42), 42)
                .expect("open")
                .verify()
                .expect("sound");
            assert_eq!(
                read(&store, 42, CHUNK - 5, 10).expect("read"),
                &data[(CHUNK - 5) as usize..(CHUNK + 5) as usize]
            );
            assert_eq!(
                read(&store, 42, 2 * CHUNK, 1000).expect("tail"),
                &data[(2 * CHUNK) as usize..]
            );
            assert_eq!(store.take_changes(), (vec![42], vec![]));
        }
        // A torn temporary file and a truncated block are dropped at start; the good one stays.
        std::fs::write(tmp.path().join(BLOCK_DIR).join(".tmp-7-1-1"), b"partial").expect("tmp");
        // So are bytes without checksums, checksums without bytes, and a pair that disagrees.
        let blocks = tmp.path().join(BLOCK_DIR);
        let sums = sums_of(&blocks.join("42"));
        std::fs::write(blocks.join("7"), &data[..100]).expect("torn");
        std::fs::write(blocks.join("8.crc"), &sums).expect("orphan");
        std::fs::write(blocks.join("9"), &data[..100]).expect("short");
        std::fs::write(blocks.join("9.crc"), &sums).expect("other sums");
        let store = Store::open(&levels).expect("reopen");
        assert_eq!(store.block_ids(), vec![42]);
        assert_eq!(store.used(0), file_size(data.len() as u64));
        assert_eq!(read(&store, 42, 0, data.len() as u64).expect("all"), data);
        assert_eq!(block_files_in(tmp.path()), 1);
        // The block file is exactly the bytes (FUSE passthrough hands it to the kernel as is).
        assert_eq!(std::fs::read(blocks.join("42")).expect("bytes"), data);
    }

    #[test]
    fn a_block_file_is_allocated_whole_up_front_and_ends_at_its_last_written_byte() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(tmp.path().join(BLOCK_DIR)).expect("dir");
        let mut w = BlockWriter::create(tmp.path(), 5, 3 * CHUNK).expect("create");
        let allocated = std::fs::metadata(w.path()).expect("tmp");
        assert_eq!(allocated.len(), 3 * CHUNK, "the whole block's room");
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&allocated) * 512 >= 3 * CHUNK,
            "allocated, not sparse"
        );
        // Fewer bytes than allocated (not what a fetch commits, which checks the count): the
        // file still holds exactly what was written.
        w.write(&[9; 1000]).expect("write");
        let path = block_path(tmp.path(), 5);
        let stamp = w.finish(&path).expect("finish");
        assert_eq!(stamp.1, 1000, "the stamp of the 1,000 bytes written");
        let renamed = crate::proto::block::file_stamp(&std::fs::metadata(&path).expect("stat"));
        assert_eq!(
            stamp, renamed,
            "the stamp is the renamed file's (what vouching compares)"
        );
        assert_eq!(std::fs::read(&path).expect("bytes"), vec![9; 1000]);
        BlockFile::open(&path, 5).expect("open").verify().expect("sound");
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let tmp = tempfile::tempdir().expect("tmp");
        let store = Store::open(&level(tmp.path(), 10 << 20, 0.9, 0.5)).expect("open");
        let data = vec![7u8; 5000];
        assert!(put(&store, 1, &data));
        let path = block_path(tmp.path(), 1);
        let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
        f.write_all_at(b"X", 4000).expect("flip");
        let err = read(&store, 1, 0, 10).expect_err("corrupt");
        assert!(matches!(err, BlockError::Corrupt { .. }), "{err}");
        let whole = BlockFile::open(&path, 1).expect("open").verify().expect_err("corrupt");
        assert!(whole.to_string().contains("chunk 0 differs"), "{whole}");
    }

    #[test]
    fn eviction_keeps_a_directory_under_quota_down_to_the_low_watermark_and_spares_readers() {
        let tmp = tempfile::tempdir().expect("tmp");
        let block = 1000u64;
        let quota = 10 * file_size(block);
        let store = Store::open(&level(tmp.path(), quota, 0.8, 0.5)).expect("open");
        let data = vec![1u8; block as usize];
        for id in 0..8 {
            assert!(put(&store, id, &data));
        }
        assert_eq!(store.used(0), 8 * file_size(block));
        // Block 0 is being read: it must survive; 1 is the least recently used otherwise.
        let reader = store.pin(0).expect("pinned");
        assert!(put(&store, 100, &data));
        let ids = store.block_ids();
        assert!(ids.contains(&0) && ids.contains(&100) && !ids.contains(&1), "{ids:?}");
        assert!(
            store.used(0) <= quota / 2,
            "down to the low watermark: {}",
            store.used(0)
        );
        drop(reader);
        for id in 200..260 {
            assert!(put(&store, id, &data));
            assert!(store.used(0) <= quota);
        }
        let evictions = store.counters.evictions.load(Ordering::Relaxed);
        assert!(evictions > 0);
        assert_eq!(store.counters.evicted_bytes.load(Ordering::Relaxed), evictions * block);
        assert!(
            store.counters.eviction_nanos.load(Ordering::Relaxed) > 0,
            "eviction time is counted"
        );
        // Bigger than the quota: not cached.
        assert!(store.reserve(quota).is_none());
    }

    #[test]
    fn evicted_blocks_move_down_a_level_and_are_dropped_only_from_the_bottom() {
        // MEM on tmpfs when there is one, so moving down copies across file systems.
        let mem = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("mem");
        let hdd = tempfile::tempdir().expect("hdd");
        let block = 3000u64;
        let dir = |path: &Path, quota: u64| ConfDir {
            path: path.display().to_string(),
            medium: Medium::Hdd,
            quota,
        };
        let levels = vec![
            Level {
                index: 0,
                alias: "MEM".into(),
                dirs: vec![dir(mem.path(), 4 * file_size(block))],
                high: 0.75,
                low: 0.5,
            },
            Level {
                index: 1,
                alias: "HDD".into(),
                dirs: vec![dir(hdd.path(), 8 * file_size(block))],
                high: 1.0,
                low: 0.75,
            },
        ];
        let data = |id: u64| -> Vec<u8> { (0..block).map(|i| ((i + id * 7) % 251) as u8).collect() };
        let store = Store::open(&levels).expect("open");
        for id in 0..8 {
            assert!(put(&store, id, &data(id)));
            assert!(store.used(0) <= store.dirs[0].quota && store.used(1) <= store.dirs[1].quota);
        }
        // Nothing dropped yet: MEM's least recently read blocks went to HDD, whole.
        assert_eq!(store.counters.evictions.load(Ordering::Relaxed), 0);
        assert!(store.counters.demotions.load(Ordering::Relaxed) >= 4);
        assert_eq!(store.block_ids().len(), 8);
        for id in 0..8 {
            assert_eq!(read(&store, id, 0, block).expect("read"), data(id), "block {id}");
        }
        assert!(block_path(hdd.path(), 0).exists() && !block_path(mem.path(), 0).exists());
        assert!(store.take_changes().1.is_empty(), "the leader hears of no removal");
        // HDD fills up in turn: the bottom level drops its least recently read blocks.
        for id in 8..20 {
            assert!(put(&store, id, &data(id)));
            assert!(store.used(0) <= store.dirs[0].quota && store.used(1) <= store.dirs[1].quota);
        }
        assert!(store.counters.evictions.load(Ordering::Relaxed) > 0);
        let removed = store.take_changes().1;
        assert!(!removed.is_empty() && removed.iter().all(|id| !store.block_ids().contains(id)));
        let on_disk = |p: &Path| block_files_in(p);
        assert_eq!(
            on_disk(mem.path()) + on_disk(hdd.path()),
            store.block_ids().len(),
            "no block file left behind or lost"
        );
        // A restart finds every block where it was moved.
        let ids = {
            let mut ids = store.block_ids();
            ids.sort_unstable();
            ids
        };
        drop(store);
        let store = Store::open(&levels).expect("reopen");
        let mut again = store.block_ids();
        again.sort_unstable();
        assert_eq!(again, ids);
        for id in ids {
            assert_eq!(read(&store, id, 0, block).expect("read"), data(id), "block {id}");
        }
    }

    /// The checksums of block file `path`, from its attribute or its checksum file.
    fn sums_of(path: &Path) -> Vec<u8> {
        match xattr::get(path, SUMS_XATTR).expect("attribute") {
            Some(raw) => raw,
            None => std::fs::read(crate::blockfile::sums_path(path)).expect("checksum file"),
        }
    }

    /// The blocks in tier directory `dir`, each checked to have its checksums (in an attribute,
    /// or in a checksum file), and no other file there.
    fn block_files_in(dir: &Path) -> usize {
        let names: Vec<String> = std::fs::read_dir(dir.join(BLOCK_DIR)).map_or(Vec::new(), |d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        });
        let blocks: Vec<&String> = names.iter().filter(|n| n.parse::<u64>().is_ok()).collect();
        let sums_files = names.iter().filter(|n| n.ends_with(SUMS)).count();
        assert_eq!(names.len(), blocks.len() + sums_files, "{names:?}");
        for b in &blocks {
            let path = dir.join(BLOCK_DIR).join(b);
            let in_attribute = xattr::get(&path, SUMS_XATTR).expect("attribute").is_some();
            assert!(in_attribute != names.contains(&format!("{b}{SUMS}")), "{b}: {names:?}");
        }
        blocks.len()
    }

    #[test]
    fn checksums_live_in_an_attribute_and_a_checksum_file_is_still_read() {
        let tmp = tempfile::tempdir().expect("tmp");
        let levels = level(tmp.path(), 10 << 20, 0.9, 0.5);
        let data: Vec<u8> = (0..(CHUNK + 77)).map(|i| (i % 13) as u8).collect();
        let store = Store::open(&levels).expect("open");
        assert!(put(&store, 3, &data));
        let path = block_path(tmp.path(), 3);
        // ext4 and tmpfs (Linux 6.6 and later) keep user attributes: one file per block.
        let Some(sums) = xattr::get(&path, SUMS_XATTR).expect("attribute") else {
            panic!(
                "{} keeps no user attributes: this test needs a file system that does",
                tmp.path().display()
            );
        };
        assert_eq!(sums.len() as u64, file_size(data.len() as u64) - data.len() as u64);
        assert!(!crate::blockfile::sums_path(&path).exists());
        // The same checksums in a file beside the block (a file system without attributes, or
        // a tier written before): read, verified, and moved with the block.
        xattr::remove(&path, SUMS_XATTR).expect("remove");
        std::fs::write(crate::blockfile::sums_path(&path), &sums).expect("sums file");
        drop(store);
        let store = Store::open(&levels).expect("reopen");
        assert_eq!(read(&store, 3, 0, data.len() as u64).expect("read"), data);
        // Moved to tmpfs when there is one: copied across file systems, its checksums read from
        // their file and set as the copy's attribute.
        let below = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("below");
        std::fs::create_dir(below.path().join(BLOCK_DIR)).expect("dir");
        crate::blockfile::move_block(&path, below.path(), 3).expect("move");
        let moved = BlockFile::open(&block_path(below.path(), 3), 3).expect("moved");
        moved.verify().expect("sound");
        assert_eq!(block_files_in(below.path()), 1);
        assert_eq!(block_files_in(tmp.path()), 0);
        // Checksums of the wrong size, in either home, make the block corrupt.
        let moved_path = block_path(below.path(), 3);
        xattr::set(&moved_path, SUMS_XATTR, &sums[4..]).expect("short attribute");
        let err = BlockFile::open(&moved_path, 3).expect_err("corrupt");
        assert!(err.to_string().contains("bytes of checksums"), "{err}");
    }
}
