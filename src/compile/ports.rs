//! Host ports. GooseFS runs on host networking, so every runtime needs its own host ports.
//! Fluid draws them at random from `26000-32000`; we allocate them sequentially from the range
//! in Fluid's order, so output is deterministic, the reference case gets master RPC 26000, and
//! several runtimes rendered together never overlap. Ports pinned in `spec.<component>.ports`
//! are honoured (Fluid ignores them) and skipped by the allocator.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::model::GooseFsRuntime;

/// Fluid's GooseFS port range.
pub const DEFAULT_RANGE: RangeInclusive<u16> = 26000..=32000;

/// The ports of one runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ports {
    /// Master RPC.
    pub master_rpc: u16,
    /// Master web UI.
    pub master_web: u16,
    /// Worker RPC.
    pub worker_rpc: u16,
    /// Worker web.
    pub worker_web: u16,
    /// Job master RPC.
    pub job_master_rpc: u16,
    /// Job master web.
    pub job_master_web: u16,
    /// Job worker RPC.
    pub job_worker_rpc: u16,
    /// Job worker web.
    pub job_worker_web: u16,
    /// Job worker data.
    pub job_worker_data: u16,
    /// API gateway REST (when enabled).
    pub api_gateway_rest: Option<u16>,
    /// Master embedded journal (HA only).
    pub master_embedded: Option<u16>,
    /// Job master embedded journal (HA only).
    pub job_master_embedded: Option<u16>,
}

/// Why ports cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The range has no free port left.
    #[error("the port range {start}-{end} has no free port left for {runtime}; widen --port-range")]
    Exhausted {
        /// Range start.
        start: u16,
        /// Range end.
        end: u16,
        /// `namespace/name` of the runtime that did not fit.
        runtime: String,
    },
    /// A pinned port is not a valid port number.
    #[error("{runtime}: spec.{component}.ports.{name} is {port}, not a port number (1-65535)")]
    Invalid {
        /// `namespace/name`.
        runtime: String,
        /// Component, e.g. `master`.
        component: &'static str,
        /// Port name.
        name: String,
        /// The value.
        port: i64,
    },
}

/// The slots in Fluid's allocation order: (component, port name).
const ORDER: [(&str, &str); 12] = [
    ("master", "rpc"),
    ("master", "web"),
    ("worker", "rpc"),
    ("worker", "web"),
    ("jobMaster", "rpc"),
    ("jobMaster", "web"),
    ("jobWorker", "rpc"),
    ("jobWorker", "web"),
    ("jobWorker", "data"),
    ("apiGateway", "rest"),
    ("master", "embedded"),
    ("jobMaster", "embedded"),
];

/// The ports pinned by a runtime, by (component, name).
pub fn pinned(runtime: &GooseFsRuntime) -> BTreeMap<(&'static str, String), i64> {
    let spec = &runtime.spec;
    let components = [
        ("master", &spec.master),
        ("worker", &spec.worker),
        ("jobMaster", &spec.job_master),
        ("jobWorker", &spec.job_worker),
        ("apiGateway", &spec.api_gateway),
    ];
    let mut out = BTreeMap::new();
    for (component, comp) in components {
        for (name, port) in comp.iter().flat_map(|c| c.ports.iter().flatten()) {
            out.insert((component, name.clone()), *port);
        }
    }
    out
}

/// Allocates ports for `runtimes` (in the order given) from `range`, skipping every port pinned
/// by any of them.
///
/// # Errors
/// [`PortError`] when a pinned port is invalid or the range runs out.
pub fn allocate(runtimes: &[&GooseFsRuntime], range: &RangeInclusive<u16>) -> Result<Vec<Ports>, PortError> {
    let id = |r: &GooseFsRuntime| {
        format!(
            "{}/{}",
            r.metadata.namespace.as_deref().unwrap_or("default"),
            r.metadata.name.as_deref().unwrap_or_default()
        )
    };
    let mut taken = BTreeSet::new();
    for runtime in runtimes {
        for ((component, name), port) in pinned(runtime) {
            let valid = u16::try_from(port).ok().filter(|p| *p > 0);
            let Some(port) = valid else {
                return Err(PortError::Invalid {
                    runtime: id(runtime),
                    component,
                    name,
                    port,
                });
            };
            taken.insert(port);
        }
    }
    // u32, so the cursor can step past 65535 and the range end is always reached (a u16 that
    // saturates at 65535 would spin forever on a range ending there once it is used up).
    let end = u32::from(*range.end());
    let mut next = u32::from(*range.start());
    let mut result = Vec::with_capacity(runtimes.len());
    for runtime in runtimes {
        let ha = runtime.master_replicas() > 1;
        let gateway = runtime
            .spec
            .api_gateway
            .as_ref()
            .and_then(|g| g.enabled)
            .unwrap_or(false);
        let pins = pinned(runtime);
        let mut slot = |component: &'static str, name: &str| -> Result<u16, PortError> {
            if let Some(port) = pins.get(&(component, name.to_owned())) {
                return Ok(u16::try_from(*port).unwrap_or_default());
            }
            while next <= end && u16::try_from(next).is_ok_and(|p| taken.contains(&p)) {
                next += 1;
            }
            let Some(port) = u16::try_from(next).ok().filter(|_| next <= end) else {
                return Err(PortError::Exhausted {
                    start: *range.start(),
                    end: *range.end(),
                    runtime: id(runtime),
                });
            };
            taken.insert(port);
            next += 1;
            Ok(port)
        };
        let mut values = [0u16; 12];
        for (i, (component, name)) in ORDER.iter().enumerate() {
            let wanted = match i {
                9 => gateway,
                10 | 11 => ha,
                _ => true,
            };
            if wanted {
                values[i] = slot(component, name)?;
            }
        }
        let opt = |i: usize| (values[i] != 0).then_some(values[i]);
        result.push(Ports {
            master_rpc: values[0],
            master_web: values[1],
            worker_rpc: values[2],
            worker_web: values[3],
            job_master_rpc: values[4],
            job_master_web: values[5],
            job_worker_rpc: values[6],
            job_worker_web: values[7],
            job_worker_data: values[8],
            api_gateway_rest: opt(9),
            master_embedded: opt(10),
            job_master_embedded: opt(11),
        });
    }
    Ok(result)
}

/// Whether `(component, name)` is a port the runtime uses.
pub fn is_known(component: &str, name: &str) -> bool {
    ORDER.iter().any(|(c, n)| *c == component && *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(masters: u32, pinned: &str) -> GooseFsRuntime {
        let text = format!(
            "apiVersion: data.fluid.io/v1alpha1\nkind: GooseFSRuntime\nmetadata: {{name: rt}}\nspec:\n  master: {{replicas: {masters}{pinned}}}\n"
        );
        serde_saphyr::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn ranges_ending_at_65535_fail_at_once_when_used_up() {
        let hbase = runtime(3, "");
        // 11 ports wanted, 10 available: an error, not a spin at 65535.
        let err = allocate(&[&hbase], &(65526..=65535)).map(|_| ());
        assert!(
            matches!(
                err,
                Err(PortError::Exhausted {
                    start: 65526,
                    end: 65535,
                    ..
                })
            ),
            "{err:?}"
        );
        // Exactly enough: the last port is 65535.
        let ports = allocate(&[&hbase], &(65525..=65535)).unwrap_or_default();
        assert_eq!(ports[0].job_master_embedded, Some(65535));
        assert_eq!(ports[0].master_rpc, 65525);
        // A pinned port at the very end is skipped by the allocator without wrapping.
        let pinned = runtime(1, ", ports: {rpc: 65535}");
        let ports = allocate(&[&pinned], &(65526..=65535)).unwrap_or_default();
        assert_eq!((ports[0].master_rpc, ports[0].master_web), (65535, 65526));
        assert!(allocate(&[&pinned, &hbase], &(65526..=65535)).is_err());
    }

    #[test]
    fn ranges_at_the_low_end() {
        let single = runtime(1, "");
        let ports = allocate(&[&single], &(1..=9)).unwrap_or_default();
        assert_eq!((ports[0].master_rpc, ports[0].job_worker_data), (1, 9));
        assert!(allocate(&[&single], &(1..=8)).is_err());
        assert!(allocate(&[&single], &(1..=1)).is_err());
    }
}
