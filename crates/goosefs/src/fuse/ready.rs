//! FUSE readiness: `/ready` on `goosefs.fuse.web.port`, the pod's readiness probe. A FUSE pod
//! serves reads when (1) its mount point is this process's FUSE mount and answers a `stat`,
//! (2) the leader answers, and (3) the leader has heard from a worker lately: every byte comes
//! through a worker (or its tier directories), so with no worker left a mount that still lists
//! directories serves no file. One live worker is enough: a block is read from whichever worker
//! holds it or maps to it, so a FUSE pod whose own node's worker is gone still serves through
//! the others.
//!
//! The web port answers anyone, so a check is shared: callers within [`FRESH`] of the last one
//! get its answer, and one check runs at a time, so probes cannot be turned into load on the
//! masters. A `stat` that hangs (a wedged mount) is waited for once, not once per probe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::MasterClient;
use crate::proto::WorkerReport;

/// How long a check's answer is reused.
const FRESH: Duration = Duration::from_secs(1);
/// How long a `stat` of the mount point or the leader's answer may take (the probe's own
/// timeout is 5 s).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// The fewest heartbeat intervals a worker may be silent and still count.
const MISSED_HEARTBEATS: u32 = 5;
/// A silence that always counts as gone, whatever the heartbeat interval.
const MIN_SILENCE: Duration = Duration::from_secs(5);

/// The shared state of FUSE's readiness checks.
pub struct Readiness {
    client: MasterClient,
    mount_point: String,
    /// A worker silent longer than this does not count.
    worker_silence: Duration,
    /// The last answer and when it was found; the lock makes checks run one at a time.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    /// A `stat` of the mount point that has not returned yet.
    stat_pending: Arc<AtomicBool>,
}

impl Readiness {
    /// Checks for the mount at `mount_point`, asking the leader through `client`.
    /// `heartbeat` is the workers' `goosefs.worker.block.heartbeat.interval`.
    pub fn new(client: MasterClient, mount_point: &str, heartbeat: Duration) -> Readiness {
        Readiness {
            client,
            mount_point: mount_point.to_owned(),
            worker_silence: (heartbeat * MISSED_HEARTBEATS).max(MIN_SILENCE),
            last: tokio::sync::Mutex::new(None),
            stat_pending: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `Ok` when this FUSE pod serves reads; else why not, in words for `status --explain`.
    ///
    /// # Errors
    /// The first check that failed.
    pub async fn check(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = last.as_ref()
            && at.elapsed() < FRESH
        {
            return answer.clone();
        }
        let answer = match self.mount_answers().await {
            Ok(()) => self.worker_answers().await,
            Err(why) => Err(why),
        };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }

    async fn mount_answers(&self) -> Result<(), String> {
        let mounts = tokio::fs::read_to_string("/proc/self/mounts")
            .await
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        if !is_fuse_mount(&mounts, &self.mount_point) {
            return Err(format!("{} is not mounted (yet)", self.mount_point));
        }
        if self.stat_pending.swap(true, Ordering::AcqRel) {
            return Err(format!(
                "a stat of {} has not returned: the mount is wedged",
                self.mount_point
            ));
        }
        let (pending, path) = (Arc::clone(&self.stat_pending), self.mount_point.clone());
        let stat = tokio::task::spawn_blocking(move || {
            let answer = std::fs::metadata(&path);
            pending.store(false, Ordering::Release);
            answer
        });
        match tokio::time::timeout(ANSWER_WITHIN, stat).await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("stat {}: {e}", self.mount_point)),
            Ok(Err(e)) => Err(format!("stat {}: {e}", self.mount_point)),
            Err(_) => Err(format!(
                "a stat of {} took over {} s: the mount is wedged",
                self.mount_point,
                ANSWER_WITHIN.as_secs()
            )),
        }
    }

    async fn worker_answers(&self) -> Result<(), String> {
        let workers = match tokio::time::timeout(ANSWER_WITHIN, crate::fsdata::workers(&self.client)).await {
            Ok(Ok(workers)) => workers,
            Ok(Err(e)) => return Err(format!("the leader does not answer: {e}")),
            Err(_) => {
                return Err(format!(
                    "no leader answered within {} s (tried {})",
                    ANSWER_WITHIN.as_secs(),
                    self.client.masters().join(", ")
                ));
            }
        };
        serving_workers(&workers, self.worker_silence)
    }
}

/// `Ok` when one of the leader's `workers` has reported within `silence`.
fn serving_workers(workers: &[WorkerReport], silence: Duration) -> Result<(), String> {
    let silence_ms = u64::try_from(silence.as_millis()).unwrap_or(u64::MAX);
    if workers.iter().any(|w| w.last_heartbeat_ms <= silence_ms) {
        return Ok(());
    }
    Err(match workers.iter().min_by_key(|w| w.last_heartbeat_ms) {
        None => "the leader knows no worker: no file can be read".to_owned(),
        Some(w) => format!(
            "no worker has reported to the leader for {} s (the latest: {}, {} s ago): no file can be read",
            silence.as_secs(),
            w.address.host,
            w.last_heartbeat_ms / 1000
        ),
    })
}

/// Whether `mounts` (the text of `/proc/self/mounts`) has a FUSE mount at `mount_point`. The
/// kernel writes a space, tab, newline and backslash in a path as octal escapes.
fn is_fuse_mount(mounts: &str, mount_point: &str) -> bool {
    let wanted = mount_point.trim_end_matches('/');
    mounts.lines().any(|line| {
        let mut fields = line.split(' ');
        let (Some(_source), Some(target), Some(kind)) = (fields.next(), fields.next(), fields.next()) else {
            return false;
        };
        (kind == "fuse" || kind.starts_with("fuse.")) && unescape(target) == wanted
    })
}

/// A `/proc/self/mounts` path with its octal escapes (`\040`) decoded.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                let value = d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "overlay / overlay rw,relatime 0 0\n\
        goosefs /runtime-mnt/goosefs/default/hbase/goosefs-fuse fuse.goosefs rw,nosuid,nodev 0 0\n\
        goosefs /mnt/with\\040space fuse rw 0 0\n\
        tmpfs /mnt/not-fuse tmpfs rw 0 0\n";

    #[test]
    fn a_fuse_mount_is_found_by_its_decoded_path_and_type() {
        assert!(is_fuse_mount(MOUNTS, "/runtime-mnt/goosefs/default/hbase/goosefs-fuse"));
        assert!(is_fuse_mount(
            MOUNTS,
            "/runtime-mnt/goosefs/default/hbase/goosefs-fuse/"
        ));
        assert!(is_fuse_mount(MOUNTS, "/mnt/with space"));
        assert!(!is_fuse_mount(MOUNTS, "/mnt/not-fuse"), "a tmpfs is not the mount");
        assert!(!is_fuse_mount(MOUNTS, "/runtime-mnt/goosefs/default/hbase"));
        assert!(!is_fuse_mount("garbage\n\n", "/x"));
    }

    #[test]
    fn escapes_decode_and_malformed_ones_stay() {
        assert_eq!(unescape("a\\011b\\134c"), "a\tb\\c");
        assert_eq!(unescape("a\\09b\\"), "a\\09b\\");
    }

    #[test]
    fn one_worker_that_reported_lately_is_enough() {
        let report = |host: &str, ms: u64| WorkerReport {
            address: crate::proto::WorkerAddress {
                id: 1,
                host: host.to_owned(),
                rpc_port: 1,
                web_port: 2,
            },
            tiers: Vec::new(),
            last_heartbeat_ms: ms,
            blocks: 0,
        };
        let silence = Duration::from_secs(5);
        assert_eq!(
            serving_workers(&[], silence),
            Err("the leader knows no worker: no file can be read".to_owned())
        );
        let gone = [report("w0", 61_000), report("w1", 7_500)];
        assert_eq!(
            serving_workers(&gone, silence),
            Err(
                "no worker has reported to the leader for 5 s (the latest: w1, 7 s ago): no file can be read"
                    .to_owned()
            )
        );
        assert_eq!(
            serving_workers(&[report("w0", 61_000), report("w2", 5_000)], silence),
            Ok(())
        );
    }

    #[tokio::test]
    async fn not_ready_without_its_mount_and_the_answer_is_reused() {
        let config = crate::config::ClientConfig {
            masters: vec!["127.0.0.1:1".to_owned()],
            retry_for: Duration::from_millis(100),
        };
        let r = Readiness::new(
            MasterClient::new(&config),
            "/definitely/not/mounted",
            Duration::from_secs(1),
        );
        assert_eq!(r.worker_silence, MIN_SILENCE);
        let first = r.check().await;
        assert_eq!(first, Err("/definitely/not/mounted is not mounted (yet)".to_owned()));
        assert_eq!(r.check().await, first);
        let slow = Readiness::new(MasterClient::new(&config), "/", Duration::from_secs(3));
        assert_eq!(slow.worker_silence, Duration::from_secs(15));
    }
}
