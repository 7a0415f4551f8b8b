//! GFS101: `spec.master.replicas` must be a positive odd number (Raft quorum).

use crate::model::GooseFsRuntime;
use crate::validate::codes::Code;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Reports an even master count; non-positive counts are the schema's `minimum: 1` (GFS002).
pub fn check(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let Some(replicas) = runtime.spec.master.as_ref().and_then(|m| m.replicas) else {
        return;
    };
    if replicas <= 0 || replicas % 2 == 1 {
        return;
    }
    let tolerated = (replicas - 1) / 2;
    let quorum = replicas / 2 + 1;
    ctx.report(
        Code::GFS101,
        &FieldPath::parse("spec.master.replicas"),
        false,
        format!(
            "spec.master.replicas is {replicas}, but must be a positive odd number: a Raft quorum of {quorum} out of \
             {replicas} masters tolerates {tolerated} failure(s), the same as {} masters, so the extra master adds no \
             fault tolerance",
            replicas - 1
        ),
        Some(format!("use {} (or {})", replicas - 1, replicas + 1)),
    );
}
