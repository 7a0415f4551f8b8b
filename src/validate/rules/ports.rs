//! GFS106: ports pinned in `spec.<component>.ports`. Fluid ignores these maps and allocates
//! every port itself; kubectl-goosefs honours them, so they must name real ports, be valid port
//! numbers, and not collide (within a runtime here, across runtimes in `validate`'s pairing).

use std::collections::BTreeMap;

use crate::compile::ports::{is_known, pinned};
use crate::model::GooseFsRuntime;
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// The YAML path of a pinned port.
pub fn port_path(component: &str, name: &str) -> FieldPath {
    FieldPath::parse(&format!("spec.{component}.ports")).key(name)
}

/// Checks the pinned ports of one runtime.
pub fn check(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let mut used: BTreeMap<i64, (&'static str, String)> = BTreeMap::new();
    for ((component, name), port) in pinned(runtime) {
        let path = port_path(component, &name);
        if !is_known(component, &name) {
            let known: Vec<&str> = ["rpc", "web", "embedded", "data", "rest"]
                .into_iter()
                .filter(|n| is_known(component, n))
                .collect();
            ctx.report_as(
                Code::GFS106,
                Severity::Warning,
                &path,
                true,
                format!("{component} has no port named {name:?}; it is ignored"),
                Some(format!("{component} ports: {}", known.join(", "))),
            );
            continue;
        }
        if !(1..=65535).contains(&port) {
            ctx.report(
                Code::GFS106,
                &path,
                false,
                format!("port {port} is not a port number (1-65535)"),
                None,
            );
            continue;
        }
        if let Some((c, n)) = used.get(&port) {
            ctx.report(
                Code::GFS106,
                &path,
                false,
                format!(
                    "port {port} is already pinned for spec.{c}.ports.{n}; with host networking both cannot bind it"
                ),
                Some("give each port its own number, or remove the pin to have one allocated".to_owned()),
            );
            continue;
        }
        used.insert(port, (component, name));
    }
}
