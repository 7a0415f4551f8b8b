//! The GooseFSRuntime's and its Dataset's Fluid status, kept current by the leading master: there
//! is no operator, and a status written once by `apply` goes stale the moment a pod dies.
//!
//! Every [`PERIOD`] the leader reads its runtime's StatefulSets and DaemonSet (the phases and
//! counts, with Fluid's rules in [`goosefs_conf::fluid_status`]), adds what only it knows (the
//! workers' capacity and cached bytes, the block hit ratio over the last minute, whether the
//! declared mounts are mounted and why not, the Dataset's size and file count) and patches the two
//! status subresources when, and only when, something changed. A new leader reads the live status
//! first, so conditions keep their transition times across a change of leader; a master that is
//! not the leader writes nothing.
//!
//! Enabled by `GOOSEFS_RUNTIME_NAME` and `GOOSEFS_RUNTIME_NAMESPACE` (the render puts them in the
//! runtime's ConfigMap for our images, and gives the masters a service account whose Role allows
//! exactly these reads and writes). Without Fluid's CRDs served, or without the rights, it says so once in its log
//! and writes nothing.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use goosefs_conf::fluid_status::{self, CALCULATING, CacheStates, DatasetFacts};
use serde_json::Value;

use super::Master;
use super::declared::Outcome;
use crate::kubeapi::{KubeApi, KubeError};

use crate::metrics::{RUNTIME_NAME_ENV, RUNTIME_NAMESPACE_ENV};

/// How often the leader looks (and at most how often it writes).
pub const PERIOD: Duration = Duration::from_secs(2);

/// The hit ratio's window, as Fluid's (reads over the last minute).
const HIT_WINDOW: Duration = Duration::from_secs(60);

/// How long a failed size walk waits before it is tried again.
const SIZE_RETRY: Duration = Duration::from_secs(60);

/// Keeps the status while this master leads; returns at once when not configured.
pub async fn run(master: Arc<Master>) {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(name), Some(namespace)) = (env(RUNTIME_NAME_ENV), env(RUNTIME_NAMESPACE_ENV)) else {
        return;
    };
    let api = match KubeApi::from_env(&env) {
        Ok(Some(api)) => api,
        Ok(None) => {
            tracing::info!(
                "no Kubernetes API server named (KUBERNETES_SERVICE_HOST): the runtime's status is not kept"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the runtime's status is not kept");
            return;
        }
    };
    let mut keeper = Keeper::new(name, namespace);
    loop {
        tokio::time::sleep(PERIOD).await;
        if !leads(&master) {
            keeper.leave();
            continue;
        }
        let result = keeper.pass(&master, &api).await;
        keeper.report(result);
    }
}

fn leads(master: &Master) -> bool {
    let leader = master.raft.metrics().borrow().state == openraft::ServerState::Leader;
    leader && master.leader_id() == Some(master.cfg.id)
}

/// What one pass did.
enum Pass {
    /// Objects written (0: nothing changed).
    Written(usize),
    /// The GooseFSRuntime is not served: why.
    Absent(String),
}

/// A size walk's outcome: bytes and files, or why it failed; `None` while it runs.
type Walked = Arc<Mutex<Option<Result<(u64, u64), String>>>>;

/// The Dataset's size, walked in the background once per set of mounts.
#[derive(Default)]
struct Sizes {
    /// The mounts walked: (path, UFS).
    key: Vec<(String, String)>,
    /// The walk's outcome.
    result: Walked,
    failed_at: Option<Instant>,
}

struct Keeper {
    name: String,
    namespace: String,
    /// (when, hits, misses) samples, oldest first, the first at least a window old when possible.
    reads: VecDeque<(Instant, u64, u64)>,
    sizes: Sizes,
    /// Problems already logged while in office (each is logged once).
    logged: BTreeSet<String>,
}

impl Keeper {
    fn new(name: String, namespace: String) -> Keeper {
        Keeper {
            name,
            namespace,
            reads: VecDeque::new(),
            sizes: Sizes::default(),
            logged: BTreeSet::new(),
        }
    }

    /// Out of office: what was learnt in office is stale by the next term.
    fn leave(&mut self) {
        self.reads.clear();
        self.sizes = Sizes::default();
        self.logged.clear();
    }

    fn report(&mut self, result: Result<Pass, KubeError>) {
        let problem = match result {
            Ok(Pass::Written(n)) => {
                if n > 0 {
                    tracing::debug!(objects = n, "runtime status written");
                }
                if !self.logged.is_empty() {
                    tracing::info!("the runtime's status is kept again");
                    self.logged.clear();
                }
                return;
            }
            Ok(Pass::Absent(why)) => why,
            Err(e) if e.code() == Some(403) => format!(
                "{e} (the master's service account needs the rendered Role {}-status)",
                self.name
            ),
            Err(e) => e.to_string(),
        };
        if self.logged.insert(problem.clone()) {
            tracing::warn!("the runtime's status is not written: {problem}");
        }
    }

    async fn pass(&mut self, master: &Arc<Master>, api: &KubeApi) -> Result<Pass, KubeError> {
        let (name, ns) = (self.name.clone(), self.namespace.clone());
        let fluid = format!("/apis/data.fluid.io/v1alpha1/namespaces/{ns}");
        let runtime_path = format!("{fluid}/goosefsruntimes/{name}/status");
        let Some(runtime) = api.get(&runtime_path).await? else {
            return Ok(Pass::Absent(format!(
                "GooseFSRuntime {ns}/{name} is not served (Fluid's CRDs are not installed, or the runtime was applied without them)"
            )));
        };
        let apps = format!("/apis/apps/v1/namespaces/{ns}");
        let masters = api.get(&format!("{apps}/statefulsets/{name}-master")).await?;
        let workers = api.get(&format!("{apps}/statefulsets/{name}-worker")).await?;
        let fuses = api.get(&format!("{apps}/daemonsets/{name}-fuse")).await?;
        let status = fluid_status::runtime_status(&ns, &name, masters.as_ref(), workers.as_ref(), fuses.as_ref());

        let (capacity, cached) = master
            .data
            .reports()
            .iter()
            .flat_map(|r| &r.tiers)
            .fold((0u64, 0u64), |(c, u), t| {
                (c.saturating_add(t.capacity), u.saturating_add(t.used))
            });
        let outcome = master.declared.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (mounted, failure) = mount_state(master, &outcome);
        let size = self.size(master);
        let hit_ratio = self.hit_ratio(master.data.read_counts(), Instant::now());
        let cache = CacheStates::of(capacity, cached, size.map(|s| s.0), hit_ratio);
        let now = now_seconds();

        let mut patch = fluid_status::runtime_status_patch(&status, now);
        patch["status"]["cacheStates"] = cache.to_patch();
        if let Some(at) = outcome.mounted_at {
            patch["status"]["mountTime"] = fluid_status::rfc3339(at).into();
        }
        let mut written = usize::from(write(api, &runtime_path, patch, &runtime["status"]).await?);

        let dataset_path = format!("{fluid}/datasets/{name}/status");
        if let Some(dataset) = api.get(&dataset_path).await? {
            let replicas = runtime["spec"]["master"]["replicas"]
                .as_i64()
                .filter(|n| *n > 0)
                .unwrap_or(1);
            let facts = DatasetFacts {
                ufs_total: Some(size.map_or_else(|| CALCULATING.to_owned(), |s| fluid_status::bytes_size(s.0))),
                file_num: Some(size.map_or_else(|| CALCULATING.to_owned(), |s| s.1.to_string())),
                cache: Some(cache),
                mount_failure: failure,
            };
            let patch =
                fluid_status::dataset_status_patch(&status, mounted, &dataset["spec"]["mounts"], replicas, &facts, now);
            written += usize::from(write(api, &dataset_path, patch, &dataset["status"]).await?);
        }
        Ok(Pass::Written(written))
    }

    /// The declared mounts' total bytes and files, once walked (walks start in the background).
    fn size(&mut self, master: &Arc<Master>) -> Option<(u64, u64)> {
        let points: Vec<(String, super::namespace::MountPoint)> = {
            let state = master.journal.applied.read().unwrap_or_else(PoisonError::into_inner);
            let table = &state.namespace.mounts;
            master
                .cfg
                .declared
                .iter()
                .filter_map(|d| table.get(&d.path).map(|p| (d.path.clone(), p.clone())))
                .collect()
        };
        // Sized only once every declared mount is mounted: a partial sum would be a wrong size.
        if points.len() < master.cfg.declared.len() {
            return None;
        }
        let key: Vec<(String, String)> = points.iter().map(|(p, m)| (p.clone(), m.ufs.clone())).collect();
        let done = self.sizes.result.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let retry = matches!(done, Some(Err(_))) && self.sizes.failed_at.is_none_or(|at| at.elapsed() >= SIZE_RETRY);
        if let Some(Err(why)) = &done
            && self.sizes.failed_at.is_none()
        {
            tracing::warn!(error = %why, "the Dataset's size cannot be computed yet: will try again");
            self.sizes.failed_at = Some(Instant::now());
        }
        if key != self.sizes.key || retry {
            self.sizes = Sizes {
                key,
                ..Sizes::default()
            };
            tokio::spawn(walk(master.clone(), points, self.sizes.result.clone()));
            return None;
        }
        match done {
            Some(Ok(size)) => Some(size),
            _ => None,
        }
    }

    /// Block reads answered from cache over the last minute, from cumulative counts; `None`
    /// until a minute of samples exists (Fluid's `cacheHitRatio` is empty until then too).
    fn hit_ratio(&mut self, (hits, misses): (u64, u64), now: Instant) -> Option<f64> {
        // Counts that went down: a worker restarted or left. Start the window again.
        if self.reads.back().is_some_and(|&(_, h, m)| hits < h || misses < m) {
            self.reads.clear();
        }
        self.reads.push_back((now, hits, misses));
        while self.reads.len() > 2 && self.reads[1].0 + HIT_WINDOW <= now {
            self.reads.pop_front();
        }
        let &(at, h0, m0) = self.reads.front()?;
        if at + HIT_WINDOW > now {
            return None;
        }
        let (h, m) = (hits - h0, misses - m0);
        #[allow(clippy::cast_precision_loss)] // a percentage to one decimal
        Some(if h + m == 0 { 0.0 } else { h as f64 / (h + m) as f64 })
    }
}

/// Whether every declared mount is in the table, and why one is not (the last failure).
fn mount_state(master: &Master, outcome: &Outcome) -> (bool, Option<String>) {
    let state = master.journal.applied.read().unwrap_or_else(PoisonError::into_inner);
    let missing: Vec<&str> = master
        .cfg
        .declared
        .iter()
        .map(|d| d.path.as_str())
        .filter(|p| !state.namespace.mounts.contains_key(*p))
        .collect();
    let failure = missing
        .iter()
        .find_map(|p| outcome.failures.get(*p))
        .cloned()
        .or_else(|| {
            missing
                .first()
                .map(|p| format!("the declared mount {p} is not mounted yet"))
        });
    (missing.is_empty(), failure)
}

/// Writes `patch` unless the live status already says all of it.
async fn write(api: &KubeApi, path: &str, mut patch: Value, live: &Value) -> Result<bool, KubeError> {
    if fluid_status::keep_transition_times(&mut patch["status"], live) {
        return Ok(false);
    }
    api.merge_patch(path, &patch).await?;
    Ok(true)
}

/// Walks the mounts' UFS trees (through the leader's listing cache, as `fs count` would).
async fn walk(master: Arc<Master>, points: Vec<(String, super::namespace::MountPoint)>, out: Walked) {
    let mut total = (0u64, 0u64);
    let mut result = Ok(());
    'mounts: for (path, point) in &points {
        let ufs = match master.data.ufs(path, &point.ufs, &point.options) {
            Ok(ufs) => ufs,
            Err(e) => {
                result = Err(e.to_string());
                break;
            }
        };
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            let entries = match master.data.list(path, &ufs, &dir).await {
                Ok(entries) => entries,
                Err(e) => {
                    result = Err(e.to_string());
                    break 'mounts;
                }
            };
            for entry in entries.iter() {
                if entry.dir {
                    dirs.push(if dir.is_empty() {
                        entry.name.clone()
                    } else {
                        format!("{dir}/{}", entry.name)
                    });
                } else {
                    total = (total.0.saturating_add(entry.length), total.1 + 1);
                }
            }
        }
    }
    *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(result.map(|()| total));
}

/// Seconds since the epoch, as Fluid's timestamps count them.
pub(super) fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hit_ratio_covers_the_last_minute() {
        let mut k = Keeper::new("a".into(), "ns".into());
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(k.hit_ratio((0, 0), at(0)), None, "no minute of samples yet");
        assert_eq!(k.hit_ratio((10, 10), at(30)), None);
        // Over 0..60: 30 hits of 40 reads.
        assert_eq!(k.hit_ratio((30, 10), at(60)), Some(0.75));
        // Over 30..90 (from the newest sample at least a minute old): 20 hits, no miss.
        assert_eq!(k.hit_ratio((30, 10), at(90)), Some(1.0));
        assert_eq!(k.hit_ratio((30, 10), at(200)), Some(0.0), "no reads in the last minute");
        // A worker restarted: its counts start again, and so does the window.
        assert_eq!(k.hit_ratio((1, 0), at(201)), None);
        assert_eq!(k.hit_ratio((5, 0), at(261)), Some(1.0));
        k.leave();
        assert!(k.reads.is_empty());
    }
}
