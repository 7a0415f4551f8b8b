//! Every process's `/metrics` in Prometheus' text format, written one way: each family with its
//! `# HELP` and `# TYPE`, names in Prometheus' conventions (base units: `_bytes`, `_seconds`;
//! counters end in `_total`), and on every sample the labels that say whose it is: `runtime` and
//! `namespace` (the rendered ConfigMap's `GOOSEFS_RUNTIME_NAME` and `GOOSEFS_RUNTIME_NAMESPACE`)
//! and `role` (`master`, `worker`, `fuse`, `job_worker`). A cluster's Prometheus then tells runtimes
//! apart without relabelling, and `docs/grafana-dashboard.json` selects on them.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The variable naming the runtime (set by the render in the runtime's ConfigMap).
pub const RUNTIME_NAME_ENV: &str = "GOOSEFS_RUNTIME_NAME";

/// The variable naming the runtime's namespace.
pub const RUNTIME_NAMESPACE_ENV: &str = "GOOSEFS_RUNTIME_NAMESPACE";

/// A label value with Prometheus' escapes (backslash, double quote, newline).
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `runtime="...",namespace="..."` of this process (empty values outside a rendered pod).
fn identity() -> &'static str {
    static IDENTITY: OnceLock<String> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        format!(
            "runtime=\"{}\",namespace=\"{}\"",
            escaped(&var(RUNTIME_NAME_ENV)),
            escaped(&var(RUNTIME_NAMESPACE_ENV))
        )
    })
}

/// A metric family's type.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only goes up (the name ends in `_total`).
    Counter,
    /// Buckets, sum and count.
    Histogram,
}

/// One `/metrics` answer being written.
pub struct Exposition {
    out: String,
    labels: String,
}

impl Exposition {
    /// An answer of a process in `role`.
    #[must_use]
    pub fn new(role: &str) -> Exposition {
        Exposition {
            out: String::new(),
            labels: format!("{},role=\"{}\"", identity(), escaped(role)),
        }
    }

    /// Starts a family: its help and type.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        let _ = write!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    /// One sample of the current family, with `extra` labels besides the process's.
    pub fn sample(&mut self, name: &str, extra: &[(&str, &str)], value: impl std::fmt::Display) {
        let mut labels = self.labels.clone();
        for (k, v) in extra {
            let _ = write!(labels, ",{k}=\"{}\"", escaped(v));
        }
        let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
    }

    /// A gauge family with one sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, Kind::Gauge, help);
        self.sample(name, &[], value);
    }

    /// A counter family with one sample (`name` ends in `_total`).
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, Kind::Counter, help);
        self.sample(name, &[], value);
    }

    /// A histogram family (`name` without the `_bucket`/`_sum`/`_count` suffixes).
    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, Kind::Histogram, help);
        let mut cumulative = 0;
        for (bound, n) in h.bounds.iter().zip(&h.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            self.sample(&format!("{name}_bucket"), &[("le", &bound.to_string())], cumulative);
        }
        let count = h.count.load(Ordering::Relaxed);
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], count);
        #[allow(clippy::cast_precision_loss)] // seconds from nanoseconds, for a sum
        let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], count);
    }

    /// Appends text already in the format (the authentication counters).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// The answer.
    #[must_use]
    pub fn finish(self) -> String {
        self.out
    }

    /// The process's labels, for code that writes samples itself.
    #[must_use]
    pub fn labels(&self) -> &str {
        &self.labels
    }
}

/// A latency histogram with fixed bounds, updated without locks.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

/// Bounds for a read's latency, in seconds: 50 µs (a page-cache hit) to 10 s (a cold UFS fetch).
pub const READ_SECONDS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

impl Histogram {
    /// Empty, with `bounds` (ascending, seconds).
    #[must_use]
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every metric family the runtime's processes export, by family name (`# TYPE`): what a
/// dashboard may query. Process tests check that every family a running master, worker, job
/// worker and FUSE serves is listed; a unit test that `docs/grafana-dashboard.json` uses no other.
pub const EXPORTED: &[&str] = &[
    // Every process's authentication.
    "goosefs_auth_refused_total",
    // Masters.
    "goosefs_master_is_leader",
    "goosefs_master_raft_term",
    "goosefs_master_raft_applied_index",
    "goosefs_master_raft_last_log_index",
    "goosefs_master_raft_quorum_contact_age_seconds",
    "goosefs_master_journal_entries",
    "goosefs_master_votes_allowed",
    "goosefs_master_raft_state",
    "goosefs_master_workers",
    "goosefs_master_cached_blocks",
    // Workers.
    "goosefs_worker_tier_capacity_bytes",
    "goosefs_worker_tier_used_bytes",
    "goosefs_worker_eviction_seconds_total",
    "goosefs_worker_cache_hits_total",
    "goosefs_worker_cache_misses_total",
    "goosefs_worker_evictions_total",
    "goosefs_worker_evicted_bytes_total",
    "goosefs_worker_demotions_total",
    "goosefs_worker_tier_write_errors_total",
    "goosefs_worker_corrupt_blocks_total",
    "goosefs_worker_ufs_read_bytes_total",
    "goosefs_worker_served_bytes_total",
    "goosefs_worker_zero_copy_bytes_total",
    "goosefs_worker_local_opens_total",
    "goosefs_worker_granted_fetches_total",
    "goosefs_worker_binding_checks_total",
    "goosefs_worker_blocks",
    // Job workers.
    "goosefs_job_worker_blocks_loaded_total",
    // FUSE.
    "goosefs_fuse_reads_total",
    "goosefs_fuse_read_bytes_total",
    "goosefs_fuse_opens_total",
    "goosefs_fuse_errors_total",
    "goosefs_fuse_read_seconds",
];

/// The metric names a text exposition defines (its `# TYPE` lines), for tests and the dashboard's.
#[must_use]
pub fn families(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_carry_the_process_labels_and_families_their_type() {
        let mut e = Exposition::new("fuse");
        e.counter("goosefs_fuse_reads_total", "Reads.", 3);
        e.family("goosefs_fuse_errors_total", Kind::Counter, "Errors by errno.");
        e.sample("goosefs_fuse_errors_total", &[("errno", "ENOENT")], 2);
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(1));
        e.histogram("goosefs_fuse_read_seconds", "Read latency.", &h);
        let text = e.finish();
        assert!(text.contains("# TYPE goosefs_fuse_reads_total counter\n"), "{text}");
        assert!(
            text.contains("goosefs_fuse_reads_total{runtime=\"\",namespace=\"\",role=\"fuse\"} 3\n"),
            "{text}"
        );
        assert!(text.contains(",role=\"fuse\",errno=\"ENOENT\"} 2\n"), "{text}");
        assert!(
            text.contains(
                "goosefs_fuse_read_seconds_bucket{runtime=\"\",namespace=\"\",role=\"fuse\",le=\"0.001\"} 1\n"
            )
        );
        assert!(
            text.contains(",le=\"0.01\"} 2\n") && text.contains(",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("goosefs_fuse_read_seconds_count{runtime=\"\",namespace=\"\",role=\"fuse\"} 3\n"));
        assert_eq!(
            families(&text),
            [
                "goosefs_fuse_reads_total",
                "goosefs_fuse_errors_total",
                "goosefs_fuse_read_seconds"
            ]
        );
        assert_eq!(escaped("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        for name in EXPORTED {
            assert!(name.starts_with("goosefs_"), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
            // Base units only: no milliseconds, kilobytes or percentages in a name.
            for unit in ["_ms", "_millis", "_kb", "_mb", "_percent"] {
                assert!(!name.contains(unit), "{name} is not in base units");
            }
        }
        let mut sorted = EXPORTED.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EXPORTED.len(), "listed once each");
    }

    #[test]
    fn the_dashboard_queries_only_exported_metrics_of_one_runtime() {
        let text = include_str!("../../../docs/grafana-dashboard.json");
        let dashboard: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
        let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
        for topic in [
            "Cache hit ratio",
            "Bytes served vs fetched",
            "Tier usage per worker",
            "Leader and term",
        ] {
            assert!(
                titles.iter().any(|t| t.starts_with(topic)),
                "no panel on {topic}: {titles:?}"
            );
        }
        let mut queries: Vec<String> = Vec::new();
        for panel in &panels {
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{panel}");
            for t in targets {
                let expr = t["expr"].as_str().unwrap_or_default().to_owned();
                // Every series is the chosen runtime's.
                assert!(
                    expr.contains("runtime=\"$runtime\"") && expr.contains("namespace=\"$namespace\""),
                    "{expr}"
                );
                queries.push(expr);
            }
        }
        for v in dashboard["templating"]["list"].as_array().into_iter().flatten() {
            queries.extend(v["query"].as_str().map(str::to_owned));
        }
        let mut used = std::collections::BTreeSet::new();
        for q in &queries {
            let mut rest = q.as_str();
            while let Some(at) = rest.find("goosefs_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                // A histogram's series name its family.
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| EXPORTED.contains(f)))
                    .unwrap_or(&name)
                    .to_owned();
                used.insert(family);
            }
        }
        let unknown: Vec<&String> = used.iter().filter(|m| !EXPORTED.contains(&m.as_str())).collect();
        assert!(
            unknown.is_empty(),
            "the dashboard queries metrics no process exports: {unknown:?}"
        );
        assert!(used.len() >= 10, "{used:?}");
    }
}
