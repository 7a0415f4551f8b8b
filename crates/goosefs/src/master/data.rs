//! The leader's view of the data: what the UFSes hold (listings loaded on demand and kept for
//! `goosefs.user.file.metadata.sync.interval`), the live workers and the blocks each caches.
//! None of it is journaled, as in GooseFS: a new leader reloads listings when asked and hears
//! from every worker at its next heartbeat (a worker unknown to the leader re-registers with all
//! its blocks).
//!
//! Block ids derive from the UFS file's identity (mount UFS, path, length, time, ETag) and the
//! block's index, so every leader computes the same ids and a file changed in the UFS gets new
//! blocks: the cache never serves bytes of an older version.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use goosefs_conf::duration::Interval;

use crate::proto::block::fnv64;
use crate::proto::{BlockInfo, Heartbeat, HeartbeatReply, Registration, WorkerAddress, WorkerReport};
use crate::ufs::{Entry, Ufs, UfsError, UfsSettings};

/// Blocks per file are numbered in the low bits of a block id.
const INDEX_BITS: u32 = 24;

/// The id of a UFS file version: high bits of a block id, never 0.
pub fn file_id(ufs: &str, path: &str, fingerprint: &str) -> u64 {
    (fnv64(&[ufs, path, fingerprint]) | (1 << 63)) & !((1 << INDEX_BITS) - 1)
}

/// The blocks of a file of `length` bytes.
///
/// # Errors
/// When the file has more blocks than an id can number.
pub fn blocks_of(file_id: u64, length: u64, block_size: u64) -> Result<Vec<BlockInfo>, String> {
    let block_size = block_size.max(1);
    let count = length.div_ceil(block_size);
    if count >= 1 << INDEX_BITS {
        return Err(format!(
            "a file of {length} bytes has {count} blocks of {block_size} bytes: more than {} (raise goosefs.user.block.size.bytes.default)",
            (1u64 << INDEX_BITS) - 1
        ));
    }
    Ok((0..count)
        .map(|i| BlockInfo {
            id: file_id | i,
            offset: i * block_size,
            length: block_size.min(length - i * block_size),
            workers: Vec::new(),
            grant: String::new(),
        })
        .collect())
}

struct Listing {
    at: Instant,
    entries: Arc<Vec<Entry>>,
}

/// The most UFS entries the leader keeps listed (about 150 bytes each): past it the oldest
/// listings are dropped and loaded again when next asked, so a `find` over a Dataset of many
/// millions of files runs in bounded memory. A single larger directory is still kept whole.
const MAX_LISTED_ENTRIES: usize = 2_000_000;

/// The listings by (mount point, directory inside the mount), with their total entry count and
/// their order of arrival (oldest dropped first).
struct Listings {
    map: HashMap<(String, String), Listing>,
    /// The most entries kept ([`MAX_LISTED_ENTRIES`]).
    cap: usize,
    entries: usize,
    arrivals: std::collections::VecDeque<((String, String), Instant)>,
}

impl Listings {
    fn new(cap: usize) -> Listings {
        Listings {
            map: HashMap::new(),
            cap,
            entries: 0,
            arrivals: std::collections::VecDeque::new(),
        }
    }

    fn insert(&mut self, key: (String, String), listing: Listing) {
        self.arrivals.push_back((key.clone(), listing.at));
        self.entries += listing.entries.len();
        if let Some(old) = self.map.insert(key, listing) {
            self.entries -= old.entries.len();
        }
        while self.entries > self.cap && self.map.len() > 1 {
            let Some((key, at)) = self.arrivals.pop_front() else {
                break;
            };
            // An arrival whose listing was replaced or forgotten since is stale: skipped.
            if self.map.get(&key).is_some_and(|l| l.at == at) {
                self.remove(&key);
            }
        }
        // Stale arrivals are dropped once they outnumber the listings.
        if self.arrivals.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.arrivals.retain(|(k, at)| map.get(k).is_some_and(|l| l.at == *at));
        }
    }

    fn remove(&mut self, key: &(String, String)) {
        if let Some(old) = self.map.remove(key) {
            self.entries -= old.entries.len();
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&(String, String)) -> bool) {
        let mut dropped = 0;
        self.map.retain(|k, l| {
            let kept = keep(k);
            if !kept {
                dropped += l.entries.len();
            }
            kept
        });
        self.entries -= dropped;
    }
}

struct WorkerState {
    address: WorkerAddress,
    tiers: Vec<crate::proto::TierUsage>,
    last: Instant,
    blocks: BTreeSet<u64>,
    /// Its block reads from cache and from the UFS since it started (its last heartbeat's).
    reads: (u64, u64),
}

#[derive(Default)]
struct Workers {
    by_id: BTreeMap<u64, WorkerState>,
    /// Block -> workers holding it.
    locations: HashMap<u64, BTreeSet<u64>>,
}

impl Workers {
    fn forget(&mut self, id: u64) {
        if let Some(old) = self.by_id.remove(&id) {
            for block in old.blocks {
                self.drop_location(block, id);
            }
        }
    }

    fn drop_location(&mut self, block: u64, worker: u64) {
        if let Some(set) = self.locations.get_mut(&block) {
            set.remove(&worker);
            if set.is_empty() {
                self.locations.remove(&block);
            }
        }
    }
}

/// The leader's data-plane state.
pub struct Data {
    settings: UfsSettings,
    sync: Interval,
    worker_timeout: Duration,
    /// Operators by mount point, with the URI and options they were made for.
    ufses: Mutex<HashMap<String, (u64, Ufs)>>,
    /// Listings by (mount point, directory inside the mount).
    listings: Mutex<Listings>,
    workers: Mutex<Workers>,
}

impl Data {
    /// Empty state.
    pub fn new(settings: UfsSettings, sync: Interval, worker_timeout: Duration) -> Data {
        Data {
            settings,
            sync,
            worker_timeout,
            ufses: Mutex::default(),
            listings: Mutex::new(Listings::new(MAX_LISTED_ENTRIES)),
            workers: Mutex::default(),
        }
    }

    /// The operator of the mount at `mount` (made once per URI and options).
    ///
    /// # Errors
    /// [`UfsError`] when the URI or options cannot make one.
    pub fn ufs(&self, mount: &str, uri: &str, options: &BTreeMap<String, String>) -> Result<Ufs, UfsError> {
        let mut parts = vec![uri];
        for (k, v) in options {
            parts.push(k);
            parts.push(v);
        }
        let key = fnv64(&parts);
        let mut ufses = self.ufses.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((k, ufs)) = ufses.get(mount)
            && *k == key
        {
            return Ok(ufs.clone());
        }
        let ufs = Ufs::open(uri, options, &self.settings)?;
        ufses.insert(mount.to_owned(), (key, ufs.clone()));
        // A mount replaced at the same path: its listings are stale.
        self.listings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(m, _)| m != mount);
        Ok(ufs)
    }

    /// Forgets what was loaded of the mount at `mount` (after an unmount).
    pub fn forget_mount(&self, mount: &str) {
        self.ufses.lock().unwrap_or_else(PoisonError::into_inner).remove(mount);
        self.listings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(m, _)| m != mount);
    }

    /// Forgets the listing of directory `dir` of the mount (and, `recursive`, of every directory
    /// below it).
    pub fn forget_listing(&self, mount: &str, dir: &str, recursive: bool) {
        let mut listings = self.listings.lock().unwrap_or_else(PoisonError::into_inner);
        if recursive {
            let below = |d: &str| dir.is_empty() || d == dir || d.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
            listings.retain(|(m, d)| m != mount || !below(d));
        } else {
            listings.remove(&(mount.to_owned(), dir.to_owned()));
        }
    }

    /// The entries of directory `dir` of the mount, from the cache while the sync interval allows.
    ///
    /// # Errors
    /// [`UfsError`].
    pub async fn list(&self, mount: &str, ufs: &Ufs, dir: &str) -> Result<Arc<Vec<Entry>>, UfsError> {
        let key = (mount.to_owned(), dir.to_owned());
        let fresh = |at: Instant| match self.sync {
            Interval::Never => true,
            Interval::After(d) => at.elapsed() < d,
        };
        if let Some(l) = self
            .listings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .get(&key)
            && fresh(l.at)
        {
            return Ok(l.entries.clone());
        }
        let mut entries = ufs.list(dir).await?;
        // Name order (bytes, as paths sort): a lookup is a search and a page starts with one.
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|a, b| a.name == b.name);
        let entries = Arc::new(entries);
        self.listings.lock().unwrap_or_else(PoisonError::into_inner).insert(
            key,
            Listing {
                at: Instant::now(),
                entries: entries.clone(),
            },
        );
        Ok(entries)
    }

    /// Records a worker's registration and returns its id.
    pub fn register(&self, r: &Registration) -> u64 {
        let id = fnv64(&[&r.host, &r.rpc_port.to_string()]) >> 1;
        let mut w = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        w.forget(id);
        for block in &r.blocks {
            w.locations.entry(*block).or_default().insert(id);
        }
        w.by_id.insert(
            id,
            WorkerState {
                address: WorkerAddress {
                    id,
                    host: r.host.clone(),
                    rpc_port: r.rpc_port,
                    web_port: r.web_port,
                },
                tiers: r.tiers.clone(),
                last: Instant::now(),
                blocks: r.blocks.iter().copied().collect(),
                reads: (0, 0),
            },
        );
        tracing::info!(worker = %format!("{}:{}", r.host, r.rpc_port), id, blocks = r.blocks.len(), "worker registered");
        id
    }

    /// Records a heartbeat.
    pub fn heartbeat(&self, h: &Heartbeat) -> HeartbeatReply {
        let mut w = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(state) = w.by_id.get_mut(&h.id) else {
            return HeartbeatReply::Register;
        };
        state.last = Instant::now();
        state.tiers.clone_from(&h.tiers);
        state.reads = (h.hits, h.misses);
        for b in &h.added {
            state.blocks.insert(*b);
        }
        for b in &h.removed {
            state.blocks.remove(b);
        }
        for b in &h.added {
            w.locations.entry(*b).or_default().insert(h.id);
        }
        for b in &h.removed {
            w.drop_location(*b, h.id);
        }
        HeartbeatReply::Recorded
    }

    /// Drops workers silent for longer than the timeout; returns the live ones.
    fn live(&self) -> std::sync::MutexGuard<'_, Workers> {
        let mut w = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let lost: Vec<u64> = w
            .by_id
            .iter()
            .filter(|(_, s)| s.last.elapsed() > self.worker_timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            tracing::warn!(id, "worker lost: no heartbeat within goosefs.master.worker.timeout");
            w.forget(id);
        }
        w
    }

    /// The live workers' addresses.
    pub fn worker_addresses(&self) -> Vec<WorkerAddress> {
        self.live().by_id.values().map(|s| s.address.clone()).collect()
    }

    /// Fills in the workers holding each block.
    pub fn locate(&self, blocks: &mut [BlockInfo]) {
        let w = self.live();
        for block in blocks {
            block.workers = w
                .locations
                .get(&block.id)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
        }
    }

    /// The live workers' block reads from cache and from the UFS, summed (each since its start).
    pub fn read_counts(&self) -> (u64, u64) {
        self.live()
            .by_id
            .values()
            .fold((0, 0), |(h, m), s| (h + s.reads.0, m + s.reads.1))
    }

    /// The live workers for `fsadmin report capacity`.
    pub fn reports(&self) -> Vec<WorkerReport> {
        self.live()
            .by_id
            .values()
            .map(|s| WorkerReport {
                address: s.address.clone(),
                tiers: s.tiers.clone(),
                last_heartbeat_ms: u64::try_from(s.last.elapsed().as_millis()).unwrap_or(u64::MAX),
                blocks: s.blocks.len(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::TierUsage;

    #[test]
    fn listings_past_their_cap_drop_the_oldest_and_count_right() {
        let listing = |n: usize| Listing {
            at: Instant::now(),
            entries: Arc::new(
                (0..n)
                    .map(|i| Entry {
                        name: i.to_string(),
                        dir: false,
                        length: 0,
                        mtime_ms: 0,
                        fingerprint: String::new(),
                    })
                    .collect(),
            ),
        };
        let key = |d: &str| ("/m".to_owned(), d.to_owned());
        let mut l = Listings::new(10);
        l.insert(key("a"), listing(4));
        l.insert(key("b"), listing(4));
        l.insert(key("a"), listing(3)); // replaced: the count follows
        assert_eq!((l.entries, l.map.len()), (7, 2));
        l.insert(key("c"), listing(5)); // 12 > 10: "b" (the oldest still current) goes
        assert_eq!((l.entries, l.map.len()), (8, 2));
        assert!(!l.map.contains_key(&key("b")));
        l.insert(key("huge"), listing(50)); // alone above the cap: kept, the others go
        assert_eq!((l.entries, l.map.len()), (50, 1));
        l.retain(|_| false);
        assert_eq!(l.entries, 0);
    }

    #[test]
    fn block_ids_follow_the_file_version_and_index() {
        let a = file_id("http://h/", "x", "10:1:");
        assert_eq!(a, file_id("http://h/", "x", "10:1:"), "stable across processes");
        assert_ne!(a, file_id("http://h/", "x", "11:2:"), "a changed file gets new blocks");
        let blocks = blocks_of(a, 10, 4).expect("blocks");
        let shape: Vec<_> = blocks.iter().map(|b| (b.id - a, b.offset, b.length)).collect();
        assert_eq!(shape, [(0, 0, 4), (1, 4, 4), (2, 8, 2)]);
        assert!(blocks_of(a, 0, 4).expect("empty").is_empty());
        assert!(blocks_of(a, u64::MAX, 1).is_err());
    }

    #[test]
    fn workers_register_report_blocks_and_are_forgotten_when_silent() {
        let data = Data::new(UfsSettings::default(), Interval::Never, Duration::from_millis(200));
        let tiers = vec![TierUsage {
            alias: "HDD".into(),
            capacity: 100,
            used: 0,
        }];
        let id = data.register(&Registration {
            host: "w0".into(),
            rpc_port: 1,
            web_port: 2,
            tiers: tiers.clone(),
            blocks: vec![7],
        });
        let unknown = Heartbeat {
            id: id + 1,
            tiers: tiers.clone(),
            added: vec![],
            removed: vec![],
            hits: 0,
            misses: 0,
        };
        assert_eq!(data.heartbeat(&unknown), HeartbeatReply::Register);
        let beat = Heartbeat {
            id,
            tiers,
            added: vec![8],
            removed: vec![7],
            hits: 9,
            misses: 3,
        };
        assert_eq!(data.heartbeat(&beat), HeartbeatReply::Recorded);
        assert_eq!(data.read_counts(), (9, 3), "the hit ratio's counts");
        let mut blocks = vec![
            BlockInfo {
                id: 7,
                offset: 0,
                length: 1,
                workers: vec![],
                grant: String::new(),
            },
            BlockInfo {
                id: 8,
                offset: 1,
                length: 1,
                workers: vec![],
                grant: String::new(),
            },
        ];
        data.locate(&mut blocks);
        assert_eq!((blocks[0].workers.len(), blocks[1].workers.clone()), (0, vec![id]));
        std::thread::sleep(Duration::from_millis(300));
        data.locate(&mut blocks);
        assert!(blocks[1].workers.is_empty() && data.worker_addresses().is_empty());
    }
}
