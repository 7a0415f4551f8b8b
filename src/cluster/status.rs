//! A runtime's phases computed from its live workloads, with Fluid's rules (FACTS.md, section
//! "status"): there is no operator to write `GooseFSRuntime.status`, so `status` and
//! `apply --wait` derive it from the master and worker StatefulSets and the FUSE DaemonSet.

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
}

impl RuntimeStatus {
    /// Whether `apply --wait` may stop waiting: masters all ready (Fluid's master check is
    /// `readyReplicas == replicas`), workers Ready or PartialReady, FUSE present.
    pub fn is_ready(&self) -> bool {
        self.master.phase == Phase::Ready
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
    }
}

/// A `kubectl get`-style table (wide columns).
pub fn table(statuses: &[RuntimeStatus]) -> String {
    let mut rows = vec![[
        "NAMESPACE".to_owned(),
        "NAME".to_owned(),
        "MASTERS".to_owned(),
        "MASTER PHASE".to_owned(),
        "WORKERS".to_owned(),
        "WORKER PHASE".to_owned(),
        "FUSES".to_owned(),
        "FUSE PHASE".to_owned(),
    ]];
    for s in statuses {
        let count = |c: &Component| format!("{}/{}", c.ready, c.desired);
        rows.push([
            s.namespace.clone(),
            s.name.clone(),
            count(&s.master),
            s.master.phase.to_string(),
            count(&s.worker),
            s.worker.phase.to_string(),
            count(&s.fuse),
            s.fuse.phase.to_string(),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
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
        assert!(!runtime_status("ns", "a", Some(&sts(3, 2)), Some(&sts(3, 3)), Some(&ds)).is_ready());
        assert!(!runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 0)), Some(&ds)).is_ready());
        assert!(!runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 3)), None).is_ready());
        let text = table(&[ready]);
        assert!(text.contains("a      3/3       Ready"), "{text}");
        assert!(text.contains("1/3       PartialReady"), "{text}");
    }
}
