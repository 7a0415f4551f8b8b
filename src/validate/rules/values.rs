//! GFS107: string fields with a fixed set of values that Fluid's CRD leaves open (image pull
//! policies, FUSE clean policy, access modes). A typo passes the API server for the GooseFS
//! objects and only fails when the pods or the PV are created, or is never acted upon.

use crate::model::{Dataset, GooseFsRuntime};
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
const CLEAN_POLICIES: [&str; 2] = ["OnDemand", "OnRuntimeDeleted"];
const ACCESS_MODES: [&str; 4] = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

fn one_of(value: Option<&str>, allowed: &[&str], path: &str, severity: Severity, effect: &str, ctx: &mut DocCtx<'_>) {
    let Some(value) = value else { return };
    if allowed.contains(&value) {
        return;
    }
    let help = allowed.iter().find(|a| a.eq_ignore_ascii_case(value)).map_or_else(
        || format!("use one of {}", allowed.join(", ")),
        |a| format!("did you mean {a:?}?"),
    );
    ctx.report_as(
        Code::GFS107,
        severity,
        &FieldPath::parse(path),
        false,
        format!("{value:?} is not one of {}: {effect}", allowed.join(", ")),
        Some(help),
    );
}

/// Checks a runtime's pull policies and FUSE clean policy.
pub fn check_runtime(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let spec = &runtime.spec;
    let pull = "the pods are rejected when created";
    one_of(
        spec.goosefs_version
            .as_ref()
            .and_then(|v| v.image_pull_policy.as_deref()),
        &PULL_POLICIES,
        "spec.goosefsVersion.imagePullPolicy",
        Severity::Error,
        pull,
        ctx,
    );
    let fuse = spec.fuse.as_ref();
    one_of(
        fuse.and_then(|f| f.image_pull_policy.as_deref()),
        &PULL_POLICIES,
        "spec.fuse.imagePullPolicy",
        Severity::Error,
        pull,
        ctx,
    );
    one_of(
        spec.init_users.as_ref().and_then(|i| i.image_pull_policy.as_deref()),
        &PULL_POLICIES,
        "spec.initUsers.imagePullPolicy",
        Severity::Error,
        pull,
        ctx,
    );
    one_of(
        fuse.and_then(|f| f.clean_policy.as_deref()),
        &CLEAN_POLICIES,
        "spec.fuse.cleanPolicy",
        Severity::Warning,
        "Fluid knows only these two",
        ctx,
    );
}

/// Checks a Dataset's access modes.
pub fn check_dataset(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    for (i, mode) in dataset.spec.access_modes.iter().flatten().enumerate() {
        one_of(
            Some(mode),
            &ACCESS_MODES,
            &format!("spec.accessModes[{i}]"),
            Severity::Error,
            "the dataset's PersistentVolume and claim are rejected",
            ctx,
        );
    }
}
