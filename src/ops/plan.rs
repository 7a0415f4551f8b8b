//! `plan` (and the plan `apply` carries out): render, then one server-side-apply dry run per
//! object compared with the live cluster, covering what the scope adds (namespaces, Fluid's CRDs
//! and objects).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::OpsError;
use super::render::{Prepared, RenderOptions, prepare};
use super::session::Session;
use crate::cluster::capacity::Footprint;
use crate::cluster::client::{ClusterError, is_fluid_kind};
use crate::cluster::credential;
use crate::cluster::plan::{Change, ChangeOp, PlanError, PlanOptions, plan};
use crate::cluster::{Plan, ResourceKey};
use crate::model::Kind;
use crate::model::schema::crd;
use crate::validate::Report;

/// What an apply covers besides the rendered objects, and what it may change; `plan` takes the
/// same scope so that it shows what `apply` with it does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Create the runtimes' namespaces first.
    pub create_namespace: bool,
    /// Install Fluid's Dataset and GooseFSRuntime CRDs first.
    pub install_crds: bool,
    /// Take over fields another field manager owns.
    pub force_conflicts: bool,
    /// Allow master-count changes that lower the Raft quorum's fault tolerance.
    pub allow_quorum_loss: bool,
}

/// Validates, compiles, dry-runs and diffs. `render.namespace` empty means the kubeconfig
/// context's namespace. Findings go to `findings`.
///
/// # Errors
/// [`OpsError`] from validation, compilation, the cluster, or a refused plan.
pub fn make_plan(
    session: &Session,
    render: &RenderOptions,
    scope: Scope,
    verb: &'static str,
    findings: &mut dyn FnMut(&Report),
) -> Result<Plan, OpsError> {
    let mut render = render.clone();
    if render.namespace.is_empty() {
        render.namespace = session.cluster.default_namespace().to_owned();
    }
    let prepared = prepare(&render, verb, findings)?;
    plan_prepared(session, &prepared, &render.namespace, scope)
}

fn plan_prepared(session: &Session, prepared: &Prepared, namespace: &str, scope: Scope) -> Result<Plan, OpsError> {
    let compiled = prepared.compile_all()?;
    let cluster = &session.cluster;
    let mut objects: Vec<Value> = Vec::new();
    // With Fluid's CRDs served (or installed now), the Dataset and GooseFSRuntime objects are
    // applied too, first, so `kubectl get goosefsruntime` works as under Fluid.
    let fluid_served = session.block_on(cluster.fluid_crds_installed())?;
    let with_fluid = scope.install_crds || fluid_served;
    // A missing namespace is created first (--create-namespace), or refused now: a list in it
    // answers empty, so nothing else would notice before the first write.
    let mut absent_namespaces: Vec<String> = Vec::new();
    let mut namespaces: Vec<&str> = compiled.values.iter().map(|v| v.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for ns in namespaces {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let exists = session.block_on(cluster.get(&ResourceKey::of(&object)))?.is_some();
        match (exists, scope.create_namespace) {
            (true, _) => {}
            (false, true) => absent_namespaces.push(ns.to_owned()),
            (false, false) => return Err(ClusterError::missing_namespace(ns).into()),
        }
        if scope.create_namespace {
            objects.push(object);
        }
    }
    if with_fluid && !compiled.values.is_empty() {
        if scope.install_crds {
            objects.extend(Kind::ALL.map(crd));
        }
        let fluid = |object: serde_json::Result<Value>| {
            let mut object = object.map_err(|e| OpsError::Invalid(e.to_string()))?;
            if object["metadata"]["namespace"].as_str().is_none_or(str::is_empty) {
                object["metadata"]["namespace"] = namespace.into();
            }
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
            Ok::<_, OpsError>(object)
        };
        for dataset in &prepared.outcome.datasets {
            objects.push(fluid(serde_json::to_value(dataset))?);
        }
        for runtime in &prepared.outcome.runtimes {
            objects.push(fluid(serde_json::to_value(runtime))?);
        }
        // A cluster with Fluid's older CRDs may serve no DataLoad: its loader Jobs still run.
        if !prepared.outcome.dataloads.is_empty()
            && (scope.install_crds || session.block_on(cluster.crd_installed("dataloads.data.fluid.io"))?)
        {
            for load in &prepared.outcome.dataloads {
                objects.push(fluid(serde_json::to_value(load))?);
            }
        }
        if !prepared.outcome.databackups.is_empty()
            && (scope.install_crds || session.block_on(cluster.crd_installed("databackups.data.fluid.io"))?)
        {
            for backup in &prepared.outcome.databackups {
                objects.push(fluid(serde_json::to_value(backup))?);
            }
        }
    }
    for manifest in &compiled.manifests {
        objects.push(manifest.object()?);
    }
    let runtimes: Vec<(String, String)> = compiled
        .values
        .iter()
        .map(|v| (v.namespace.clone(), v.name.clone()))
        .collect();
    let as_rendered = |object: &Value| {
        (is_fluid_kind(object) && !fluid_served)
            || object["metadata"]["namespace"]
                .as_str()
                .is_some_and(|ns| absent_namespaces.iter().any(|a| a == ns))
    };
    let (desired, live) = session.block_on(cluster.gather(&objects, &runtimes, &as_rendered, scope.force_conflicts))?;
    let mut plan = plan(
        &desired,
        &live,
        PlanOptions {
            allow_quorum_loss: scope.allow_quorum_loss,
        },
    )?;
    // The workloads' needs, from the objects already parsed (the capacity checks below).
    let footprints: Vec<Footprint> = objects.iter().filter_map(Footprint::of).collect();
    let mut by_key: HashMap<ResourceKey, Value> = objects.into_iter().map(|o| (ResourceKey::of(&o), o)).collect();
    for change in &mut plan.changes {
        change.object = by_key.remove(&change.key);
    }
    // The credential Secrets our images need and the cluster lacks: created first (after
    // namespaces and CRDs), so no pod waits for its volume.
    let first = plan
        .changes
        .iter()
        .position(|c| c.key.kind != "Namespace" && c.key.kind != "CustomResourceDefinition")
        .unwrap_or(plan.changes.len());
    let mut secrets = Vec::new();
    for v in compiled.values.iter().filter(|v| v.credential.is_some()) {
        let object = credential::placeholder(&v.namespace, &v.name);
        let key = ResourceKey::of(&object);
        if session.block_on(cluster.get(&key))?.is_none() {
            secrets.push(Change {
                key,
                op: ChangeOp::Create,
                before: None,
                after: Some(object.clone()),
                live_resource_version: None,
                notes: vec![credential::NOTE.to_owned()],
                diff: Vec::new(),
                object: Some(object),
            });
        }
    }
    plan.changes.splice(first..first, secrets);
    check_capacity(session, &compiled, &footprints, &mut plan)?;
    Ok(plan)
}

/// The rendered workloads against the live nodes and pods: refuses host ports held by others'
/// pods, adds the warnings and the cost lines. A cluster that lists no node (an API server
/// alone, as in CI dry runs) is not checked; a user who may not list nodes or pods is told the
/// checks were skipped.
fn check_capacity(
    session: &Session,
    compiled: &crate::compile::Compiled,
    footprints: &[Footprint],
    plan: &mut Plan,
) -> Result<(), OpsError> {
    use crate::cluster::capacity::{Cache, check, summaries};
    let caches: Vec<Cache> = compiled
        .values
        .iter()
        .map(|v| {
            let quota = |mem: bool| -> i128 {
                (v.levels.iter().filter(|l| !mem || l.alias == "MEM"))
                    .flat_map(|l| &l.dirs)
                    .map(|d| d.bytes)
                    .sum()
            };
            Cache {
                runtime: format!("{}/{}", v.namespace, v.name),
                workers: i64::from(v.workers),
                per_worker: quota(false),
                mem_per_worker: quota(true),
            }
        })
        .collect();
    plan.costs = summaries(footprints, &caches);
    if footprints.is_empty() {
        return Ok(());
    }
    match session.block_on(session.cluster.capacity_facts())? {
        Ok((nodes, _)) if nodes.is_empty() => {}
        Ok((nodes, held)) => {
            let findings = check(footprints, &caches, &nodes, &held);
            if !findings.refusals.is_empty() {
                return Err(PlanError::HostPortsHeld(findings.refusals).into());
            }
            plan.warnings = findings.warnings;
        }
        Err(why) => plan
            .warnings
            .push(format!("host port, memory and node checks skipped: {why}")),
    }
    Ok(())
}

/// Reads a plan saved by `plan --out`.
///
/// # Errors
/// [`OpsError::Read`] or [`OpsError::Invalid`] (located at the JSON error).
pub fn read_plan(path: &std::path::Path) -> Result<Plan, OpsError> {
    let text = std::fs::read_to_string(path).map_err(|source| OpsError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        OpsError::Invalid(format!(
            "{}:{}:{}: not a plan saved by `kubectl goosefs plan --out`: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if plan
        .changes
        .iter()
        .any(|c| c.op != crate::cluster::ChangeOp::Delete && c.object.is_none())
    {
        return Err(OpsError::Invalid(format!(
            "{}: the plan lacks the objects to apply (saved by an older version?); run plan --out again",
            path.display()
        )));
    }
    Ok(plan)
}

/// Whether `paths` is a single JSON file that is a plan saved by `plan --out` (a JSON object
/// with `changes` and no `kind`): `apply plan.json` then applies it as `--plan` would.
pub fn is_saved_plan(paths: &[std::path::PathBuf]) -> bool {
    let [path] = paths else {
        return false;
    };
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    // Plans are small; a large JSON input is manifests, not worth reading twice.
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < 64 << 20);
    if !is_json || !small {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    serde_json::from_str::<Value>(&text)
        .is_ok_and(|v| v.get("changes").is_some_and(Value::is_array) && v.get("kind").is_none())
}
