//! GFS108: `spec.volumes` and the components' `volumeMounts` (AlluxioRuntime's fields, which we
//! accept on a GooseFSRuntime so the masters' journal can outlive its pod), and where the journal
//! lives. The render adds the volumes and mounts to the pods; what the API server would reject
//! only after the other objects were created is found here.

use std::collections::BTreeSet;

use crate::compile::volumes::{DEFAULT_JOURNAL_FOLDER, RENDERED_PATHS, is_rendered_name, is_under};
use crate::model::GooseFsRuntime;
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Checks the volumes, the mounts, and the journal folder's volume.
pub fn check(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let spec = &runtime.spec;
    let mut names = BTreeSet::new();
    for (i, volume) in spec.volumes.iter().flatten().enumerate() {
        let at = FieldPath::parse(&format!("spec.volumes[{i}].name"));
        if is_rendered_name(&volume.name) {
            ctx.report(
                Code::GFS108,
                &at,
                false,
                format!("volume name {:?} is one the rendered pods use themselves", volume.name),
                Some("choose another name, e.g. journal".to_owned()),
            );
        } else if !names.insert(volume.name.as_str()) {
            ctx.report(
                Code::GFS108,
                &at,
                false,
                format!("volume {:?} is declared twice", volume.name),
                None,
            );
        }
    }
    let components = [
        ("master", &spec.master),
        ("jobMaster", &spec.job_master),
        ("worker", &spec.worker),
        ("jobWorker", &spec.job_worker),
    ];
    for (component, comp) in components {
        let mut paths = BTreeSet::new();
        for (i, mount) in comp.iter().flat_map(|c| c.volume_mounts.iter().flatten()).enumerate() {
            let base = format!("spec.{component}.volumeMounts[{i}]");
            if !names.contains(mount.name.as_str()) {
                let known: Vec<&str> = names.iter().copied().collect();
                ctx.report(
                    Code::GFS108,
                    &FieldPath::parse(&format!("{base}.name")),
                    false,
                    format!(
                        "volumeMount names volume {:?}, which spec.volumes does not declare",
                        mount.name
                    ),
                    Some(if known.is_empty() {
                        "declare it in spec.volumes".to_owned()
                    } else {
                        format!("spec.volumes declares {}", known.join(", "))
                    }),
                );
            }
            let path = mount.mount_path.trim_end_matches('/');
            let taken = RENDERED_PATHS.contains(&path);
            if taken || !paths.insert(path.to_owned()) {
                ctx.report(
                    Code::GFS108,
                    &FieldPath::parse(&format!("{base}.mountPath")),
                    false,
                    if taken {
                        format!("{path} is a path the rendered {component} container mounts itself")
                    } else {
                        format!("{path} is mounted twice in {component}")
                    },
                    None,
                );
            }
        }
    }
    // The API gateway shares the components' type but is rendered without volumes.
    if spec
        .api_gateway
        .as_ref()
        .is_some_and(|g| g.volume_mounts.as_ref().is_some_and(|m| !m.is_empty()))
    {
        ctx.report(
            Code::GFS108,
            &FieldPath::parse("spec.apiGateway.volumeMounts"),
            true,
            "the API gateway is rendered without volumes: these mounts would never be made".to_owned(),
            Some("mount the volume in master, jobMaster, worker or jobWorker".to_owned()),
        );
    }
    journal(runtime, ctx);
}

/// Warns when the journal is on no volume, or on a host path several masters may move between.
fn journal(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let folder = runtime.journal_folder();
    let mounts = runtime.spec.master.as_ref().and_then(|m| m.volume_mounts.as_ref());
    let on = mounts
        .into_iter()
        .flatten()
        .filter(|m| is_under(folder, &m.mount_path))
        .max_by_key(|m| m.mount_path.len());
    let path = if runtime.spec.master.as_ref().is_some_and(|m| m.properties.is_some()) {
        "spec.master.properties"
    } else {
        "spec.properties"
    };
    let Some(mount) = on else {
        if !is_under(folder, DEFAULT_JOURNAL_FOLDER) {
            ctx.report_as(
                Code::GFS108,
                Severity::Warning,
                &FieldPath::parse(&format!("{path}[\"goosefs.master.journal.folder\"]")),
                false,
                format!(
                    "the masters' journal folder {folder} is on no volume: it lives in the container's own file \
                     system and is lost whenever the container restarts"
                ),
                Some(
                    "mount a volume there (spec.volumes and spec.master.volumeMounts), or leave the folder at /journal"
                        .to_owned(),
                ),
            );
        }
        return;
    };
    let volume = runtime.spec.volumes.iter().flatten().find(|v| v.name == mount.name);
    if runtime.master_replicas() > 1 && volume.is_some_and(|v| v.host_path.is_some()) {
        let i = runtime
            .spec
            .volumes
            .iter()
            .flatten()
            .position(|v| v.name == mount.name)
            .unwrap_or(0);
        ctx.report_as(
            Code::GFS108,
            Severity::Warning,
            &FieldPath::parse(&format!("spec.volumes[{i}].hostPath")),
            true,
            format!(
                "the journal is on hostPath volume {:?}: a master rescheduled onto another node finds no journal \
                 there (each master keeps its own in {folder}/<pod name>)",
                mount.name
            ),
            Some(
                "use a shared volume (a ReadWriteMany claim), or pin the masters to their nodes; without either, \
                 losing every master at once loses what only the journal holds"
                    .to_owned(),
            ),
        );
    }
}
