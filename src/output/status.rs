//! `status` as people read it: `kubectl get goosefsruntime`'s table (`-o wide` too), the
//! journal and master pods under it, and `--explain`'s walk to the first broken link. Pure:
//! takes the statuses the cluster layer read.

use crate::cluster::status::{Phase, PodStatus, RuntimeStatus, epoch_seconds};

/// A table with `kubectl get goosefsruntime`'s columns (NAME, the three phases, AGE); `wide`
/// adds ready and desired counts in Fluid's `-o wide` order and the cache columns of the live
/// status. `now` is seconds since the epoch.
pub fn table(statuses: &[RuntimeStatus], wide: bool, now: i64) -> String {
    table_of(statuses, wide, false, now)
}

/// [`table`], with a NAMESPACE column first when `namespaces` (`-A`, as kubectl does).
pub fn table_of(statuses: &[RuntimeStatus], wide: bool, namespaces: bool, now: i64) -> String {
    // The cache columns only where a live status carries them (Fluid's CRDs served and kept).
    let cache_columns = wide && statuses.iter().any(|s| s.cache.is_some());
    const WIDE: [&str; 10] = [
        "NAME",
        "READY MASTERS",
        "DESIRED MASTERS",
        "MASTER PHASE",
        "READY WORKERS",
        "DESIRED WORKERS",
        "WORKER PHASE",
        "READY FUSES",
        "DESIRED FUSES",
        "FUSE PHASE",
    ];
    const CACHE: [&str; 4] = ["CACHED", "CAPACITY", "CACHED %", "HIT RATIO"];
    let mut columns: Vec<&str> = if wide {
        WIDE.to_vec()
    } else {
        vec!["NAME", "MASTER PHASE", "WORKER PHASE", "FUSE PHASE"]
    };
    if cache_columns {
        columns.extend(CACHE);
    }
    columns.push("AGE");
    let header: Vec<&str> = namespaces
        .then_some("NAMESPACE")
        .into_iter()
        .chain(columns.iter().copied())
        .collect();
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for s in statuses {
        let age = s
            .created
            .as_deref()
            .and_then(epoch_seconds)
            .map_or_else(|| "<unknown>".to_owned(), |t| human_age(now - t));
        let mut row: Vec<String> = namespaces.then(|| s.namespace.clone()).into_iter().collect();
        row.push(s.name.clone());
        for c in [&s.master, &s.worker, &s.fuse] {
            if wide {
                row.push(c.ready.to_string());
                row.push(c.desired.to_string());
            }
            row.push(c.phase.to_string());
        }
        if cache_columns {
            // The live status's strings as Fluid writes them; `-` where none is kept yet.
            let cache = s.cache.clone().unwrap_or_default();
            for cell in [
                cache.cached,
                cache.cache_capacity,
                cache.cached_percentage,
                cache.cache_hit_ratio,
            ] {
                row.push(if cell.is_empty() { "-".to_owned() } else { cell });
            }
        }
        row.push(age);
        rows.push(row);
    }
    let mut widths = vec![0usize; header.len()];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// An age as kubectl prints it (`45s`, `5m30s`, `15m`, `3h20m`, `20h`, `3d4h`, `300d`, `2y30d`).
pub fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        format!("{m}m{}s", s % 60)
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        format!("{h}h{}m", m % 60)
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        format!("{d}d{}h", h % 24)
    } else if d < 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        format!("{}y{}d", d / 365, d % 365)
    } else {
        format!("{}y", d / 365)
    }
}

/// The lines `status` prints under the table: each runtime's journal and master pods.
pub fn details(statuses: &[RuntimeStatus], namespaces: bool) -> String {
    let mut out = String::new();
    for s in statuses {
        if let Some(addresses) = &s.journal_addresses {
            let name = if namespaces {
                format!("{}/{}", s.namespace, s.name)
            } else {
                s.name.clone()
            };
            out.push_str(&format!("{name}: Raft embedded journal {addresses}\n"));
        }
        for pod in &s.master_pods {
            let node = pod.node.as_deref().unwrap_or("<unscheduled>");
            let ready = if pod.ready { "ready" } else { "not ready" };
            out.push_str(&format!("  {} {} {ready} on {node}\n", pod.name, pod.phase));
        }
    }
    out
}

/// Walks runtime -> workloads -> master pods and names the first broken link, with what to look
/// at next (for `status --explain`).
pub fn explain(s: &RuntimeStatus) -> String {
    let name = &s.name;
    let (master, worker, fuse) = (&s.master, &s.worker, &s.fuse);
    if master.phase == Phase::None {
        return format!("{name}: the master StatefulSet {name}-master does not exist: run `kubectl goosefs apply`");
    }
    if master.ready < master.desired {
        let Some(pod) = s.master_pods.iter().find(|p| !p.ready) else {
            return format!(
                "{name}: {}/{} masters ready and no master pod found: the StatefulSet controller has not made them; see `kubectl describe statefulset {name}-master`",
                master.ready, master.desired
            );
        };
        let pod_name = &pod.name;
        let why = match (&pod.node, pod.phase.as_str()) {
            (None, _) => format!(
                "is not scheduled (host ports, node selector or resources fit no node); see `kubectl describe pod {pod_name}`"
            ),
            (Some(_), "Pending") => {
                format!("is Pending (image pull or volumes); see `kubectl describe pod {pod_name}`")
            }
            (Some(_), phase) => match &pod.ready_answer {
                Some(answer) => format!(
                    "is {phase} but not ready: its readiness probe answers \"{answer}\"; see `kubectl logs {pod_name} -c goosefs-master`"
                ),
                None => format!(
                    "is {phase} but not ready (master not serving, or the Raft quorum not formed); see `kubectl logs {pod_name} -c goosefs-master`"
                ),
            },
        };
        return format!(
            "{name}: {}/{} masters ready: pod {pod_name} {why}",
            master.ready, master.desired
        );
    }
    if worker.phase == Phase::None {
        return format!("{name}: the worker StatefulSet {name}-worker does not exist: run `kubectl goosefs apply`");
    }
    // A worker that runs but is not ready says why (the leader has not registered it, a tier
    // directory takes no write).
    let worker_answer = s.unready_workers.iter().find_map(|p| {
        p.ready_answer
            .as_ref()
            .map(|a| format!("; pod {} runs but its readiness probe answers \"{a}\"", p.name))
    });
    if worker.phase == Phase::NotReady {
        return format!(
            "{name}: no worker of {} is ready{}; see `kubectl describe statefulset {name}-worker`",
            worker.desired,
            worker_answer.unwrap_or_default()
        );
    }
    if fuse.phase == Phase::None {
        return format!("{name}: the FUSE DaemonSet {name}-fuse does not exist: run `kubectl goosefs apply`");
    }
    if fuse.desired == 0 {
        return format!(
            "{name}: the FUSE DaemonSet {name}-fuse matches no node: check spec.fuse.nodeSelector against the node labels"
        );
    }
    if let Some(answer) = worker_answer {
        return format!("{name}: {}/{} workers ready{answer}", worker.ready, worker.desired);
    }
    // Fluid calls FUSE Ready once it exists; its pods' readiness says whether they serve.
    if fuse.ready < fuse.desired {
        let why = match s.unready_fuses.first() {
            Some(PodStatus {
                name: pod,
                ready_answer: Some(answer),
                ..
            }) => format!(": pod {pod} runs but its readiness probe answers \"{answer}\""),
            Some(pod) => format!(": pod {} is {}", pod.name, pod.phase),
            None => String::new(),
        };
        return format!(
            "{name}: {}/{} FUSE pods ready{why}; see `kubectl describe daemonset {name}-fuse`",
            fuse.ready, fuse.desired
        );
    }
    // The runtime's own word (its leading master keeps these conditions): a mount that failed,
    // a component its status calls not ready.
    if let Some(problem) = s.problems.first() {
        return format!("{name}: {problem}");
    }
    if let Some(phase) = s.dataset_phase.as_deref().filter(|p| *p != "Bound") {
        return format!(
            "{name}: the Dataset is {phase}: its mounts are not all mounted yet; see `kubectl describe dataset {name}`"
        );
    }
    format!("{name}: masters, workers and FUSE are up; nothing is broken")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::status::runtime_status;
    use serde_json::{Value, json};

    fn sts(replicas: i64, ready: i64) -> Value {
        json!({"spec": {"replicas": replicas}, "status": {"replicas": replicas, "readyReplicas": ready}})
    }

    #[test]
    fn tables_read_like_kubectl_get() {
        let ds = json!({"status": {"desiredNumberScheduled": 2, "numberReady": 0}});
        let ready = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(3, 1)), Some(&ds));
        let text = table(std::slice::from_ref(&ready), false, 0);
        assert_eq!(
            text,
            "NAME   MASTER PHASE   WORKER PHASE   FUSE PHASE   AGE\na      Ready          PartialReady   Ready        <unknown>\n"
        );
        let mut aged = ready;
        aged.created = Some("2026-11-26T03:00:00Z".to_owned());
        let wide = table(&[aged], true, epoch_seconds("2026-11-26T03:15:00Z").unwrap_or(0));
        assert!(
            wide.starts_with("NAME   READY MASTERS   DESIRED MASTERS   MASTER PHASE"),
            "{wide}"
        );
        assert!(
            wide.contains("\na      3               3                 Ready"),
            "{wide}"
        );
        assert!(wide.trim_end().ends_with("15m"), "{wide}");
        let ages: Vec<String> = [45, 330, 900, 12_000, 72_000, 270_000, 300 * 86_400, 800 * 86_400]
            .map(human_age)
            .to_vec();
        assert_eq!(ages, ["45s", "5m30s", "15m", "3h20m", "20h", "3d3h", "300d", "2y70d"]);
    }

    #[test]
    fn details_list_the_journal_and_master_pods() {
        let pod = json!({"metadata": {"name": "a-master-0"}, "spec": {"nodeName": "n1"},
                         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        let mut status = runtime_status("ns", "a", None, None, None);
        status.journal_addresses = Some("a-0:26009,a-1:26009".to_owned());
        status.master_pods = vec![
            PodStatus::of(&pod),
            PodStatus::of(&json!({"metadata": {"name": "a-master-1"}})),
        ];
        assert_eq!(
            details(&[status], false),
            "a: Raft embedded journal a-0:26009,a-1:26009\n  a-master-0 Running ready on n1\n  a-master-1 Unknown not ready on <unscheduled>\n"
        );
    }

    #[test]
    fn explain_names_the_first_broken_link() {
        let ds = |n: i64| json!({"status": {"desiredNumberScheduled": n, "numberReady": n}});
        let pod = |name: &str, node: Option<&str>, phase: &str| PodStatus {
            name: name.to_owned(),
            phase: phase.to_owned(),
            ready: false,
            node: node.map(str::to_owned),
            probe_port: Some(26001),
            ready_answer: None,
        };
        let mut s = runtime_status("ns", "a", None, None, None);
        assert!(explain(&s).contains("a-master does not exist"));
        s = runtime_status("ns", "a", Some(&sts(3, 1)), None, None);
        assert!(
            explain(&s).contains("1/3 masters ready and no master pod found"),
            "{}",
            explain(&s)
        );
        s.master_pods = vec![pod("a-master-1", None, "Pending")];
        assert!(
            explain(&s).contains("pod a-master-1 is not scheduled"),
            "{}",
            explain(&s)
        );
        s.master_pods = vec![pod("a-master-1", Some("n"), "Pending")];
        assert!(explain(&s).contains("is Pending (image pull"), "{}", explain(&s));
        s.master_pods = vec![pod("a-master-1", Some("n"), "Running")];
        assert!(
            explain(&s).contains("kubectl logs a-master-1 -c goosefs-master"),
            "{}",
            explain(&s)
        );
        s.master_pods[0].ready_answer = Some("no leader known".to_owned());
        assert!(
            explain(&s).contains("not ready: its readiness probe answers \"no leader known\""),
            "{}",
            explain(&s)
        );
        s = runtime_status("ns", "a", Some(&sts(3, 3)), None, None);
        assert!(explain(&s).contains("a-worker does not exist"));
        s = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(2, 0)), None);
        assert!(explain(&s).contains("no worker of 2 is ready"));
        let mut worker = pod("a-worker-1", Some("n"), "Running");
        worker.ready_answer = Some("not registered with the leader".to_owned());
        s.unready_workers = vec![worker];
        assert!(
            explain(&s).contains(
                "no worker of 2 is ready; pod a-worker-1 runs but its readiness probe answers \"not registered with the leader\""
            ),
            "{}",
            explain(&s)
        );
        let ds2 = json!({"status": {"desiredNumberScheduled": 2}});
        let mut partial = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(2, 1)), Some(&ds2));
        partial.unready_workers.clone_from(&s.unready_workers);
        assert!(
            explain(&partial).starts_with("a: 1/2 workers ready; pod a-worker-1 runs"),
            "{}",
            explain(&partial)
        );
        s = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(2, 1)), Some(&ds(0)));
        assert!(explain(&s).contains("matches no node"));
        let one_fuse = json!({"status": {"desiredNumberScheduled": 2, "numberReady": 1}});
        s = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(2, 2)), Some(&one_fuse));
        assert_eq!(
            explain(&s),
            "a: 1/2 FUSE pods ready; see `kubectl describe daemonset a-fuse`"
        );
        let mut fuse = pod("a-fuse-x", Some("n"), "Running");
        fuse.ready_answer = Some("the leader knows no worker: no file can be read".to_owned());
        s.unready_fuses = vec![fuse];
        assert_eq!(
            explain(&s),
            "a: 1/2 FUSE pods ready: pod a-fuse-x runs but its readiness probe answers \"the leader knows no worker: no file can be read\"; see `kubectl describe daemonset a-fuse`"
        );
        s = runtime_status("ns", "a", Some(&sts(3, 3)), Some(&sts(2, 1)), Some(&ds(2)));
        assert!(explain(&s).ends_with("nothing is broken"));
        s.dataset_phase = Some("NotBound".to_owned());
        assert!(explain(&s).contains("the Dataset is NotBound"), "{}", explain(&s));
        s.problems = vec!["Dataset Ready: mount /d: 403 Forbidden from http://u/".to_owned()];
        assert_eq!(explain(&s), "a: Dataset Ready: mount /d: 403 Forbidden from http://u/");
    }

    #[test]
    fn the_wide_table_has_the_live_cache_columns() {
        let ds = json!({"status": {"desiredNumberScheduled": 2, "numberReady": 2}});
        let mut s = runtime_status("ns", "a", Some(&sts(1, 1)), Some(&sts(1, 1)), Some(&ds));
        let without = table(std::slice::from_ref(&s), true, 0);
        assert!(
            !without.contains("CACHED"),
            "no live status, no cache columns: {without}"
        );
        let mut other = s.clone();
        other.name = "b".to_owned();
        let gib = 1 << 30;
        s.cache = Some(goosefs_conf::fluid_status::CacheStates::of(
            2 * gib,
            gib / 2,
            Some(gib),
            Some(0.5),
        ));
        let with = table(&[s, other], true, 0);
        assert!(
            with.contains("CACHED      CAPACITY   CACHED %   HIT RATIO   AGE"),
            "{with}"
        );
        assert!(with.contains("512.00MiB   2.00GiB    50.0%      50.0%"), "{with}");
        assert!(
            with.contains("Ready        -           -          -          -           <unknown>"),
            "{with}"
        );
    }
}
