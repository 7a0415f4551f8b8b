//! Fluid's status of a GooseFSRuntime and its Dataset, computed from the runtime's live
//! workloads with Fluid's rules (FACTS.md, "status"), and the merge patches that write it in
//! Fluid's formats (`2.00GiB`, `35.3%`). Both the plugin (`status`, `apply --wait`, and the status
//! it writes for Fluid's images) and the runtime's leading master (which keeps the status of our
//! images current) use it, so the two writers cannot disagree on a phase or a format.

use serde::Serialize;
use serde_json::Value;

/// A component's phase, spelled as Fluid spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// The workload does not exist (Fluid's `""`).
    #[serde(rename = "")]
    None,
    /// No replica is ready.
    NotReady,
    /// Some, not all, replicas are ready.
    PartialReady,
    /// All replicas ready (or none wanted).
    Ready,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::None => "-",
            Phase::NotReady => "NotReady",
            Phase::PartialReady => "PartialReady",
            Phase::Ready => "Ready",
        })
    }
}

/// One component's counts and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Phase.
    pub phase: Phase,
    /// Replicas wanted (`spec.replicas`, or the DaemonSet's desired number scheduled).
    pub desired: i64,
    /// Replicas that exist (`status.replicas` / current number scheduled).
    pub current: i64,
    /// Ready replicas.
    pub ready: i64,
}

/// The three phases of one runtime, as `kubectl get goosefsruntime -o wide` would show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeStatus {
    /// Namespace.
    pub namespace: String,
    /// Runtime name.
    pub name: String,
    /// `{name}-master`.
    pub master: Component,
    /// `{name}-worker`.
    pub worker: Component,
    /// `{name}-fuse`.
    pub fuse: Component,
    /// When the master StatefulSet was created (RFC 3339), for AGE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The Raft embedded-journal addresses the masters were configured with (`host:port,...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_addresses: Option<String>,
    /// The master pods, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub master_pods: Vec<PodStatus>,
    /// The worker pods that are not ready, by name (`status --explain` asks them why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unready_workers: Vec<PodStatus>,
    /// The FUSE pods that are not ready, by name (`status --explain` asks them why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unready_fuses: Vec<PodStatus>,
    /// The live GooseFSRuntime's `.status.cacheStates` (kept by its leading master).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheStates>,
    /// The live Dataset's phase (`Bound`, `NotBound`...), when there is a Dataset with a status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_phase: Option<String>,
    /// The live GooseFSRuntime's and Dataset's conditions that do not hold, as
    /// `Kind type: message` (what `status --explain` names first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Fluid's `cacheStates` (the four fields its printer columns show), in its formats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStates {
    /// The workers' tier capacity, summed (`2.00GiB`).
    pub cache_capacity: String,
    /// Bytes cached, summed over the workers (`512.00MiB`).
    pub cached: String,
    /// `cached` of the Dataset's UFS total (`25.0%`); empty while the total is not known.
    pub cached_percentage: String,
    /// Block reads answered from cache over the last minute (`92.5%`; `0.0%` without reads);
    /// empty until a minute of reads has been seen.
    pub cache_hit_ratio: String,
}

impl CacheStates {
    /// As a merge patch's `cacheStates`: an empty figure removes the key (`null`) rather than
    /// writing `""`, which API servers reject in a map of strings (1.20 reads it as null).
    pub fn to_patch(&self) -> Value {
        let figure = |text: &str| {
            if text.is_empty() {
                Value::Null
            } else {
                Value::from(text)
            }
        };
        serde_json::json!({
            "cacheCapacity": figure(&self.cache_capacity),
            "cached": figure(&self.cached),
            "cachedPercentage": figure(&self.cached_percentage),
            "cacheHitRatio": figure(&self.cache_hit_ratio),
        })
    }

    /// A live status's `cacheStates` (absent or null figures read as empty), if it has one.
    pub fn from_live(value: &Value) -> Option<CacheStates> {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        value.is_object().then(|| CacheStates {
            cache_capacity: text("cacheCapacity"),
            cached: text("cached"),
            cached_percentage: text("cachedPercentage"),
            cache_hit_ratio: text("cacheHitRatio"),
        })
    }

    /// From byte counts: `ufs_total` the Dataset's size when known, `hit_ratio` 0..=1 when known.
    pub fn of(capacity: u64, cached: u64, ufs_total: Option<u64>, hit_ratio: Option<f64>) -> CacheStates {
        #[allow(clippy::cast_precision_loss)] // a percentage to one decimal
        let percent = |part: u64, whole: u64| {
            if whole == 0 {
                "0.0%".to_owned()
            } else {
                percentage(part as f64 / whole as f64)
            }
        };
        CacheStates {
            cache_capacity: bytes_size(capacity),
            cached: bytes_size(cached),
            cached_percentage: ufs_total.map(|total| percent(cached, total)).unwrap_or_default(),
            cache_hit_ratio: hit_ratio.map(percentage).unwrap_or_default(),
        }
    }
}

/// Fluid's byte size (its `utils.BytesSize`: two decimals and binary units, `B` to `EiB`):
/// `2.00GiB`, `100.00KiB`, `0.00B`.
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    #[allow(clippy::cast_precision_loss)] // shown to two decimals
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2}{}", UNITS[unit])
}

/// Fluid's percentage of a ratio (`%.1f%%`): `0.353` is `35.3%`.
pub fn percentage(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// One pod, as `kubectl get pods -o wide` would summarise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// Name.
    pub name: String,
    /// `status.phase` (`Pending`, `Running`...).
    pub phase: String,
    /// Whether its `Ready` condition is true.
    pub ready: bool,
    /// The node it runs on, if scheduled.
    pub node: Option<String>,
    /// The port its readiness probe asks (`/ready` over HTTP), if it has one.
    #[serde(skip)]
    pub probe_port: Option<u16>,
    /// What its readiness endpoint answers, when asked (`status --explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_answer: Option<String>,
}

impl PodStatus {
    /// From a live Pod.
    pub fn of(pod: &Value) -> PodStatus {
        let probe_port = pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok());
        let ready = pod["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
        PodStatus {
            name: pod["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            phase: pod["status"]["phase"].as_str().unwrap_or("Unknown").to_owned(),
            ready,
            node: pod["spec"]["nodeName"].as_str().map(str::to_owned),
            probe_port,
            ready_answer: None,
        }
    }
}

impl RuntimeStatus {
    /// Whether every pod of the runtime is ready: what `apply --wait` waits for (a FUSE pod on
    /// every node it is scheduled to, every worker, every master).
    pub fn all_ready(&self) -> bool {
        self.is_ready() && self.worker.ready == self.worker.desired && self.fuse.ready == self.fuse.desired
    }

    /// Fluid's phases all ready: masters all ready (Fluid's master check is
    /// `readyReplicas == replicas`), workers Ready or PartialReady, FUSE present
    /// (`apply --wait=partial`), and the Dataset, when its phase is known, `Bound` (its mounts
    /// mounted).
    pub fn is_ready(&self) -> bool {
        self.dataset_phase.as_deref().is_none_or(|phase| phase == "Bound")
            && self.master.phase == Phase::Ready
            && self.master.ready == self.master.desired
            && matches!(self.worker.phase, Phase::Ready | Phase::PartialReady)
            && self.fuse.phase == Phase::Ready
    }
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

/// Fluid's StatefulSet phase rule: none wanted → Ready; some ready and at least as many as
/// wanted → Ready; some ready → PartialReady; none ready → NotReady.
fn statefulset(object: Option<&Value>) -> Component {
    let Some(object) = object else {
        return Component {
            phase: Phase::None,
            desired: 0,
            current: 0,
            ready: 0,
        };
    };
    // `spec.replicas` defaults to 1 when omitted, as the API server defaults it.
    let desired = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = int(&object["status"]["readyReplicas"]);
    let phase = if desired == 0 || (ready > 0 && desired <= ready) {
        Phase::Ready
    } else if ready > 0 {
        Phase::PartialReady
    } else {
        Phase::NotReady
    };
    Component {
        phase,
        desired,
        current: int(&object["status"]["replicas"]),
        ready,
    }
}

/// Fluid copies the DaemonSet's counts and always calls FUSE `Ready` once it exists.
fn daemonset(object: Option<&Value>) -> Component {
    let Some(object) = object else {
        return statefulset(None);
    };
    let status = &object["status"];
    Component {
        phase: Phase::Ready,
        desired: int(&status["desiredNumberScheduled"]),
        current: int(&status["currentNumberScheduled"]),
        ready: int(&status["numberReady"]),
    }
}

/// The status of runtime `name` from its live master/worker StatefulSets and FUSE DaemonSet.
pub fn runtime_status(
    namespace: &str,
    name: &str,
    master: Option<&Value>,
    worker: Option<&Value>,
    fuse: Option<&Value>,
) -> RuntimeStatus {
    RuntimeStatus {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        master: statefulset(master),
        worker: statefulset(worker),
        fuse: daemonset(fuse),
        created: master.and_then(|m| m["metadata"]["creationTimestamp"].as_str().map(str::to_owned)),
        journal_addresses: None,
        master_pods: Vec::new(),
        unready_workers: Vec::new(),
        unready_fuses: Vec::new(),
        cache: None,
        dataset_phase: None,
        problems: Vec::new(),
    }
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp as the API server writes them
/// (`2026-01-01T00:00:00Z`); `None` for anything else.
pub fn epoch_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (proleptic Gregorian), with March as the first month of the year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// An RFC 3339 UTC timestamp (`2026-01-01T00:00:00Z`) of seconds since the epoch.
pub fn rfc3339(seconds: i64) -> String {
    let (days, rem) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // The inverse of `epoch_seconds`.
    let (y, m, d) = crate::duration::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Fluid's spelling of a phase in `.status` (`""` before the workload exists).
fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::None => "",
        Phase::NotReady => "NotReady",
        Phase::PartialReady => "PartialReady",
        Phase::Ready => "Ready",
    }
}

/// A runtime condition (Fluid's `RuntimeCondition`: probe and transition times).
fn condition(kind: &str, ok: bool, reason: &str, message: &str, now: &str) -> Value {
    serde_json::json!({"type": kind, "status": if ok { "True" } else { "False" }, "reason": reason,
                       "message": message, "lastProbeTime": now, "lastTransitionTime": now})
}

/// A Dataset condition (Fluid's `DatasetCondition` has update and transition times; a real API
/// server prunes any other field from the stored status).
fn dataset_condition(ok: bool, reason: &str, message: &str, now: &str) -> Value {
    serde_json::json!({"type": "Ready", "status": if ok { "True" } else { "False" }, "reason": reason,
                       "message": message, "lastUpdateTime": now, "lastTransitionTime": now})
}

/// The `.status` Fluid's controller would write on the GooseFSRuntime (FACTS.md: phases,
/// counts, conditions with Fluid's exact reasons and messages), as a merge patch body.
pub fn runtime_status_patch(status: &RuntimeStatus, now: i64) -> Value {
    let now = rfc3339(now);
    let (master, worker, fuse) = (&status.master, &status.worker, &status.fuse);
    let ready_message = |who: &str, phase: Phase| match phase {
        Phase::Ready => format!("The {who} ready."),
        Phase::PartialReady => format!("The {who} partially ready."),
        Phase::NotReady | Phase::None => format!("The {who} not ready."),
    };
    let is_up = |phase: Phase| matches!(phase, Phase::Ready | Phase::PartialReady);
    let mut conditions = vec![];
    if master.phase != Phase::None {
        conditions.push(condition(
            "MasterInitialized",
            true,
            "Master is initialized",
            "The master is initialized.",
            &now,
        ));
        conditions.push(condition(
            "MasterReady",
            is_up(master.phase),
            "Master is ready",
            &ready_message("master is", master.phase),
            &now,
        ));
    }
    if worker.phase != Phase::None {
        conditions.push(condition(
            "WorkersInitialized",
            true,
            "Workers are initialized",
            "The workers are initialized.",
            &now,
        ));
        conditions.push(condition(
            "WorkersReady",
            is_up(worker.phase),
            "Workers are ready",
            &ready_message("workers are", worker.phase),
            &now,
        ));
    }
    if fuse.phase != Phase::None {
        conditions.push(condition(
            "FusesReady",
            true,
            "Fuses are ready",
            "The fuses are ready.",
            &now,
        ));
    }
    serde_json::json!({"status": {
        "valueFile": format!("{}-config", status.name),
        "masterPhase": phase_text(master.phase),
        "workerPhase": phase_text(worker.phase),
        "fusePhase": phase_text(fuse.phase),
        "desiredMasterNumberScheduled": master.desired,
        "currentMasterNumberScheduled": master.current,
        "masterNumberReady": master.ready,
        "desiredWorkerNumberScheduled": worker.desired,
        "currentWorkerNumberScheduled": worker.current,
        "workerNumberReady": worker.ready,
        "desiredFuseNumberScheduled": fuse.desired,
        "currentFuseNumberScheduled": fuse.current,
        "fuseNumberReady": fuse.ready,
        "conditions": conditions,
    }})
}

/// What the runtime knows of its Dataset beyond the phases (the runtime's leading master
/// fills it; the plugin, writing the status for Fluid's images, knows none of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetFacts {
    /// `ufsTotal`: the mounts' total size ([`bytes_size`]), or Fluid's `[Calculating]`.
    pub ufs_total: Option<String>,
    /// `fileNum`: how many files the mounts hold (or `[Calculating]`).
    pub file_num: Option<String>,
    /// `cacheStates`.
    pub cache: Option<CacheStates>,
    /// Why a declared mount is not mounted (the UFS's own answer), when one is not.
    pub mount_failure: Option<String>,
}

/// Fluid's text while the Dataset's size is being computed.
pub const CALCULATING: &str = "[Calculating]";

/// The Dataset's `.status` once its runtime is ready and its mounts are mounted (`Bound`: Fluid's
/// controller binds after mounting) or not yet (`NotBound`), as a merge patch body. `mounts` is
/// the Dataset's `spec.mounts`. A mount that failed is named in the `Ready` condition's message
/// (Fluid has no reason for it: its controller only retries).
pub fn dataset_status_patch(
    status: &RuntimeStatus,
    mounted: bool,
    mounts: &Value,
    masters: i64,
    facts: &DatasetFacts,
    now: i64,
) -> Value {
    let now = rfc3339(now);
    let bound = status.is_ready() && mounted;
    let condition = if bound {
        dataset_condition(true, "DatasetReady", "The ddc runtime is ready.", &now)
    } else if let (true, Some(failure)) = (status.is_ready(), &facts.mount_failure) {
        dataset_condition(false, "DatasetNotReady", failure, &now)
    } else {
        dataset_condition(false, "DatasetNotReady", "The ddc runtime is not ready.", &now)
    };
    let mut patch = serde_json::json!({"status": {
        "phase": if bound { "Bound" } else { "NotBound" },
        "conditions": [condition],
        "runtimes": [{"name": status.name, "namespace": status.namespace, "category": "Accelerate",
                      "type": "goosefs", "masterReplicas": masters}],
        "mounts": mounts,
    }});
    let fields = [
        ("ufsTotal", facts.ufs_total.as_ref().map(|t| Value::from(t.as_str()))),
        ("fileNum", facts.file_num.as_ref().map(|n| Value::from(n.as_str()))),
        ("cacheStates", facts.cache.as_ref().map(CacheStates::to_patch)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            patch["status"][key] = value;
        }
    }
    patch
}

/// The conditions of a live Fluid object (`kind` names it) that do not hold, as
/// `Kind type: message`, in the object's order.
pub fn failing_conditions(kind: &str, object: &Value) -> Vec<String> {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "False")
        .map(|c| {
            format!(
                "{kind} {}: {}",
                c["type"].as_str().unwrap_or("?"),
                c["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Gives each condition of `new` whose type and status are unchanged in `live` the live
/// condition's times (as Fluid's controller keeps a transition time). Returns whether `live`
/// then already holds everything `new` says: a writer that gets `true` has nothing to write.
pub fn keep_transition_times(new: &mut Value, live: &Value) -> bool {
    let live_conditions = live["conditions"].as_array().cloned().unwrap_or_default();
    for condition in new["conditions"].as_array_mut().into_iter().flatten() {
        let same = live_conditions
            .iter()
            .find(|c| c["type"] == condition["type"] && c["status"] == condition["status"]);
        if let Some(same) = same {
            for time in ["lastProbeTime", "lastUpdateTime", "lastTransitionTime"] {
                if condition.get(time).is_some() && same[time].is_string() {
                    condition[time] = same[time].clone();
                }
            }
        }
    }
    holds(live, new)
}

/// Whether a JSON merge patch of `patch` would leave `live` as it is: objects are merged (so
/// `live` may have more keys), anything else replaced.
fn holds(live: &Value, patch: &Value) -> bool {
    match (live, patch) {
        (Value::Object(live), Value::Object(patch)) => patch
            .iter()
            .all(|(k, v)| live.get(k).is_some_and(|l| holds(l, v)) || (v.is_null() && !live.contains_key(k))),
        _ => live == patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(replicas: i64, ready: i64) -> Value {
        json!({"spec": {"replicas": replicas}, "status": {"replicas": replicas, "readyReplicas": ready}})
    }

    #[test]
    fn phases_follow_fluid() {
        assert_eq!(statefulset(Some(&sts(0, 0))).phase, Phase::Ready);
        assert_eq!(statefulset(Some(&sts(3, 3))).phase, Phase::Ready);
        assert_eq!(statefulset(Some(&sts(3, 1))).phase, Phase::PartialReady);
        assert_eq!(statefulset(Some(&sts(3, 0))).phase, Phase::NotReady);
        assert_eq!(statefulset(None).phase, Phase::None);
        assert_eq!(daemonset(Some(&json!({"status": {}}))).phase, Phase::Ready);
        assert_eq!(daemonset(None).phase, Phase::None);
    }

    #[test]
    fn readiness_needs_every_master_and_some_worker() {
        let ds = json!({"status": {"desiredNumberScheduled": 2, "numberReady": 0}});
        let ready = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 1)), Some(&ds));
        assert!(ready.is_ready());
        assert!(
            !ready.all_ready(),
            "Fluid's phases say Ready with 1 of 3 workers and no FUSE pod ready"
        );
        let ds_ready = json!({"status": {"desiredNumberScheduled": 2, "numberReady": 2}});
        let all = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 3)), Some(&ds_ready));
        assert!(all.all_ready(), "every pod ready");
        assert!(!runtime_status("ns", "a", Some(&sts(3, 2)), Some(&sts(3, 3)), Some(&ds)).is_ready());
        assert!(!runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 0)), Some(&ds)).is_ready());
        assert!(!runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 3)), None).is_ready());
    }

    #[test]
    fn status_patches_say_what_fluid_says() {
        let ds = json!({"status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2}});
        let ready = runtime_status("ns", "hbase", Some(&sts(3, 3)), Some(&sts(3, 2)), Some(&ds));
        let patch = runtime_status_patch(&ready, 0);
        let status = &patch["status"];
        assert_eq!(
            (status["masterPhase"].as_str(), status["workerPhase"].as_str()),
            (Some("Ready"), Some("PartialReady"))
        );
        assert_eq!(status["workerNumberReady"], 2);
        assert_eq!(status["conditions"][3]["message"], "The workers are partially ready.");
        assert_eq!(status["conditions"][4]["type"], "FusesReady");
        assert_eq!(status["conditions"][0]["lastProbeTime"], "1970-01-01T00:00:00Z");
        let bound = dataset_status_patch(
            &ready,
            true,
            &json!([{"name": "hbase"}]),
            3,
            &DatasetFacts::default(),
            0,
        );
        assert_eq!(bound["status"]["phase"], "Bound");
        assert_eq!(bound["status"]["conditions"][0]["message"], "The ddc runtime is ready.");
        assert_eq!(
            dataset_status_patch(
                &ready,
                false,
                &json!([{"name": "hbase"}]),
                3,
                &DatasetFacts::default(),
                0
            )["status"]["phase"],
            "NotBound",
            "not bound before its mounts are mounted"
        );
        let absent = runtime_status("ns", "hbase", None, None, None);
        assert_eq!(runtime_status_patch(&absent, 0)["status"]["masterPhase"], "");
        assert_eq!(
            dataset_status_patch(&absent, true, &json!([]), 3, &DatasetFacts::default(), 0)["status"]["phase"],
            "NotBound"
        );
    }

    #[test]
    fn pods_are_read_from_the_live_objects() {
        let pod = json!({"metadata": {"name": "a-master-0"}, "spec": {"nodeName": "n1"},
                         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(
            PodStatus::of(&pod),
            PodStatus {
                name: "a-master-0".into(),
                phase: "Running".into(),
                ready: true,
                node: Some("n1".into()),
                probe_port: None,
                ready_answer: None,
            }
        );
        assert_eq!(
            PodStatus::of(&json!({"metadata": {"name": "a-master-1"}})).phase,
            "Unknown"
        );
    }

    #[test]
    fn numbers_are_formatted_as_fluid_formats_them() {
        // Fluid's utils.BytesSize ("%.2f" of binary units) and "%.1f%%".
        assert_eq!(bytes_size(0), "0.00B");
        assert_eq!(bytes_size(1023), "1023.00B");
        assert_eq!(bytes_size(1024), "1.00KiB");
        assert_eq!(bytes_size(2 * 1024 * 1024 * 1024), "2.00GiB");
        assert_eq!(bytes_size(1_000_000), "976.56KiB");
        assert_eq!(bytes_size(1536 * 1024 * 1024), "1.50GiB");
        assert_eq!(bytes_size(u64::MAX), "16.00EiB");
        assert_eq!(percentage(0.353), "35.3%");
        assert_eq!(percentage(1.0), "100.0%");
        assert_eq!(percentage(0.0), "0.0%");
        let gib = 1024 * 1024 * 1024;
        let states = CacheStates::of(6 * gib, gib, Some(4 * gib), Some(0.925));
        assert_eq!(
            (states.cache_capacity.as_str(), states.cached.as_str()),
            ("6.00GiB", "1.00GiB")
        );
        assert_eq!(
            (states.cached_percentage.as_str(), states.cache_hit_ratio.as_str()),
            ("25.0%", "92.5%")
        );
        let unknown = CacheStates::of(gib, 0, None, None);
        assert_eq!(
            (unknown.cached_percentage.as_str(), unknown.cache_hit_ratio.as_str()),
            ("", "")
        );
        assert_eq!(CacheStates::of(gib, 0, Some(0), None).cached_percentage, "0.0%");
        let json = serde_json::to_value(&states).unwrap_or_default();
        assert_eq!(json["cacheCapacity"], "6.00GiB", "Fluid's keys");
        assert_eq!(json["cachedPercentage"], "25.0%");
        let patch = unknown.to_patch();
        assert_eq!(
            CacheStates::from_live(&patch),
            Some(unknown.clone()),
            "nulls read as empty"
        );
        assert_eq!(CacheStates::from_live(&Value::Null), None);
        assert_eq!(patch["cachedPercentage"], Value::Null, "removed, never written empty");
        assert_eq!(patch["cacheCapacity"], "1.00GiB");
    }

    #[test]
    fn the_dataset_status_names_a_failed_mount_and_carries_its_sizes() {
        let ds = json!({"status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1}});
        let ready = runtime_status("ns", "hbase", Some(&sts(1, 1)), Some(&sts(1, 1)), Some(&ds));
        let facts = DatasetFacts {
            ufs_total: Some("2.00GiB".into()),
            file_num: Some("12".into()),
            cache: Some(CacheStates::of(1024, 0, Some(2048), None)),
            mount_failure: Some("mount /hbase: 403 Forbidden from http://ufs/".into()),
        };
        let patch = dataset_status_patch(&ready, false, &json!([]), 1, &facts, 0);
        assert_eq!(patch["status"]["phase"], "NotBound");
        assert_eq!(
            patch["status"]["conditions"][0]["message"],
            "mount /hbase: 403 Forbidden from http://ufs/"
        );
        assert_eq!(patch["status"]["ufsTotal"], "2.00GiB");
        assert_eq!(patch["status"]["fileNum"], "12");
        assert_eq!(patch["status"]["cacheStates"]["cachedPercentage"], "0.0%");
        let bound = dataset_status_patch(&ready, true, &json!([]), 1, &facts, 0);
        assert_eq!(bound["status"]["phase"], "Bound");
        assert_eq!(bound["status"]["conditions"][0]["reason"], "DatasetReady");
    }

    #[test]
    fn failing_conditions_are_named_with_their_message() {
        let object = json!({"status": {"conditions": [
            {"type": "MasterReady", "status": "True", "message": "The master is ready."},
            {"type": "Ready", "status": "False", "message": "mount /hbase: 403 Forbidden from http://u/"}]}});
        assert_eq!(
            failing_conditions("Dataset", &object),
            ["Dataset Ready: mount /hbase: 403 Forbidden from http://u/"]
        );
        assert!(failing_conditions("Dataset", &json!({})).is_empty());
    }

    #[test]
    fn an_unchanged_status_is_not_written_again() {
        let ds = json!({"status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1}});
        let ready = runtime_status("ns", "hbase", Some(&sts(1, 1)), Some(&sts(1, 1)), Some(&ds));
        let written = runtime_status_patch(&ready, 100);
        let mut later = runtime_status_patch(&ready, 200);
        assert!(keep_transition_times(&mut later["status"], &written["status"]));
        assert_eq!(later["status"]["conditions"][0]["lastTransitionTime"], rfc3339(100));
        let partial = runtime_status("ns", "hbase", Some(&sts(1, 1)), Some(&sts(2, 1)), Some(&ds));
        let mut changed = runtime_status_patch(&partial, 300);
        assert!(!keep_transition_times(&mut changed["status"], &written["status"]));
        let workers_ready = &changed["status"]["conditions"][3];
        assert_eq!(workers_ready["type"], "WorkersReady");
        assert_eq!(workers_ready["message"], "The workers are partially ready.");
        assert_eq!(
            workers_ready["lastTransitionTime"],
            rfc3339(100),
            "still True: Fluid keeps the transition time"
        );
        let none = runtime_status("ns", "hbase", Some(&sts(1, 1)), Some(&sts(1, 0)), Some(&ds));
        let mut down = runtime_status_patch(&none, 400);
        assert!(!keep_transition_times(&mut down["status"], &written["status"]));
        assert_eq!(down["status"]["conditions"][3]["lastTransitionTime"], rfc3339(400));
    }

    #[test]
    fn a_status_holds_a_patch_as_a_merge_patch_would_apply_it() {
        let live = json!({"a": 1, "m": {"x": "1", "y": "2"}, "l": [1, 2]});
        assert!(holds(&live, &json!({"m": {"x": "1"}})), "more keys live");
        assert!(holds(&live, &json!({"gone": null})), "removing an absent key");
        assert!(!holds(&live, &json!({"l": [1]})), "lists are replaced");
        assert!(!holds(&live, &json!({"m": {"z": "3"}})));
        assert!(!holds(&Value::Null, &json!({"a": 1})));
    }

    #[test]
    fn timestamps_read_like_kubectl() {
        for t in [0, 951_868_801, 1_795_000_000, 4_102_444_800] {
            assert_eq!(epoch_seconds(&rfc3339(t)), Some(t), "{}", rfc3339(t));
        }
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:01Z"), Some(951_868_801));
        assert_eq!(epoch_seconds("2026-01-01T00:00:00+01:00"), None);
        assert_eq!(epoch_seconds("yesterday"), None);
    }
}
