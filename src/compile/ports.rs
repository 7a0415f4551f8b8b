//! Host ports. GooseFS runs on host networking, so every runtime needs its own host ports.
//! Fluid draws them at random from `26000-32000`; we allocate them sequentially from the range
//! in Fluid's order, so output is deterministic, the reference case gets master RPC 26000, and
//! several runtimes rendered together never overlap. Ports the user fixes are honoured and
//! skipped by the allocator: pinned in `spec.<component>.ports` (Fluid ignores these) or set by
//! their property in `spec.properties` (Fluid lets the property win but still allocates, so its
//! containers and Services expose another port; ours agree with the property).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use serde::Serialize;

use goosefs_conf::ports::PortRole;

use crate::model::GooseFsRuntime;
use crate::model::runtime::PinSource;

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
    /// The FUSE process's metrics port (our images only; Fluid's chart has none). Allocated
    /// after Fluid's roles, so those keep Fluid's numbers.
    pub fuse_web: Option<u16>,
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

impl Ports {
    /// The port of `role`, when the runtime uses it.
    pub fn get(&self, role: PortRole) -> Option<u16> {
        match role {
            PortRole::MasterRpc => Some(self.master_rpc),
            PortRole::MasterWeb => Some(self.master_web),
            PortRole::WorkerRpc => Some(self.worker_rpc),
            PortRole::WorkerWeb => Some(self.worker_web),
            PortRole::JobMasterRpc => Some(self.job_master_rpc),
            PortRole::JobMasterWeb => Some(self.job_master_web),
            PortRole::JobWorkerRpc => Some(self.job_worker_rpc),
            PortRole::JobWorkerWeb => Some(self.job_worker_web),
            PortRole::JobWorkerData => Some(self.job_worker_data),
            PortRole::ApiGatewayRest => self.api_gateway_rest,
            PortRole::MasterEmbedded => self.master_embedded,
            PortRole::JobMasterEmbedded => self.job_master_embedded,
        }
        .filter(|p| *p != 0)
    }

    fn from_map(ports: &BTreeMap<PortRole, u16>) -> Ports {
        let at = |role| ports.get(&role).copied().unwrap_or(0);
        Ports {
            master_rpc: at(PortRole::MasterRpc),
            master_web: at(PortRole::MasterWeb),
            worker_rpc: at(PortRole::WorkerRpc),
            worker_web: at(PortRole::WorkerWeb),
            job_master_rpc: at(PortRole::JobMasterRpc),
            job_master_web: at(PortRole::JobMasterWeb),
            job_worker_rpc: at(PortRole::JobWorkerRpc),
            job_worker_web: at(PortRole::JobWorkerWeb),
            job_worker_data: at(PortRole::JobWorkerData),
            api_gateway_rest: ports.get(&PortRole::ApiGatewayRest).copied(),
            master_embedded: ports.get(&PortRole::MasterEmbedded).copied(),
            job_master_embedded: ports.get(&PortRole::JobMasterEmbedded).copied(),
            fuse_web: None,
        }
    }
}

/// The ports a runtime fixes itself, by role: pinned in `spec.<component>.ports`, or set by
/// their property (which Fluid lets win) or the journal addresses in `spec.properties`. Where
/// two sources disagree validate refuses the input (GFS106); here the property wins, as in Fluid.
fn fixed(runtime: &GooseFsRuntime) -> Result<BTreeMap<PortRole, u16>, PortError> {
    let mut out = BTreeMap::new();
    for pin in runtime.port_pins() {
        let Some(port) = pin.port() else {
            return Err(PortError::Invalid {
                runtime: id(runtime),
                component: pin.role.component(),
                name: pin.role.name().to_owned(),
                port: pin.value,
            });
        };
        if pin.source == PinSource::Ports {
            out.entry(pin.role).or_insert(port);
        } else {
            out.insert(pin.role, port);
        }
    }
    Ok(out)
}

fn id(r: &GooseFsRuntime) -> String {
    format!(
        "{}/{}",
        r.metadata.namespace.as_deref().unwrap_or("default"),
        r.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Allocates ports for `runtimes` (in the order given) from `range`, in Fluid's order
/// ([`PortRole::ALL`]), skipping every port any of them fixes; then, with `fuse_web` (our
/// images), each runtime's FUSE metrics port.
///
/// # Errors
/// [`PortError`] when a fixed port is invalid or the range runs out.
pub fn allocate(
    runtimes: &[&GooseFsRuntime],
    range: &RangeInclusive<u16>,
    fuse_web: bool,
) -> Result<Vec<Ports>, PortError> {
    let fixed: Vec<BTreeMap<PortRole, u16>> = runtimes.iter().map(|r| fixed(r)).collect::<Result<_, _>>()?;
    let mut taken: BTreeSet<u16> = fixed.iter().flat_map(|f| f.values().copied()).collect();
    // u32, so the cursor can step past 65535 and the range end is always reached (a u16 that
    // saturates at 65535 would spin forever on a range ending there once it is used up).
    let end = u32::from(*range.end());
    let mut next = u32::from(*range.start());
    let mut result = Vec::with_capacity(runtimes.len());
    for (runtime, fixed) in runtimes.iter().zip(&fixed) {
        let masters = u32::try_from(runtime.master_replicas().max(1)).unwrap_or(1);
        let gateway = runtime.api_gateway_enabled();
        let mut ports = BTreeMap::new();
        let mut take = || {
            while next <= end && u16::try_from(next).is_ok_and(|p| taken.contains(&p)) {
                next += 1;
            }
            let port = u16::try_from(next)
                .ok()
                .filter(|_| next <= end)
                .ok_or_else(|| PortError::Exhausted {
                    start: *range.start(),
                    end: *range.end(),
                    runtime: id(runtime),
                })?;
            taken.insert(port);
            next += 1;
            Ok::<u16, PortError>(port)
        };
        for role in PortRole::ALL.into_iter().filter(|r| r.used(masters, gateway)) {
            let port = match fixed.get(&role) {
                Some(port) => *port,
                None => take()?,
            };
            ports.insert(role, port);
        }
        let mut allocated = Ports::from_map(&ports);
        if fuse_web {
            allocated.fuse_web = Some(take()?);
        }
        result.push(allocated);
    }
    Ok(result)
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
        let err = allocate(&[&hbase], &(65526..=65535), false).map(|_| ());
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
        let ports = allocate(&[&hbase], &(65525..=65535), false).unwrap_or_default();
        let ours = allocate(&[&hbase], &(26000..=32000), true).unwrap_or_default();
        assert_eq!(ours[0].master_rpc, 26000, "Fluid's roles keep their numbers");
        assert_eq!(ours[0].fuse_web, Some(26011), "the FUSE metrics port comes after them");
        assert!(
            allocate(&[&hbase], &(65525..=65535), true).is_err(),
            "one more port than fits"
        );
        assert_eq!(ports[0].job_master_embedded, Some(65535));
        assert_eq!(ports[0].master_rpc, 65525);
        // A pinned port at the very end is skipped by the allocator without wrapping.
        let pinned = runtime(1, ", ports: {rpc: 65535}");
        let ports = allocate(&[&pinned], &(65526..=65535), false).unwrap_or_default();
        assert_eq!((ports[0].master_rpc, ports[0].master_web), (65535, 65526));
        assert!(allocate(&[&pinned, &hbase], &(65526..=65535), false).is_err());
    }

    #[test]
    fn ranges_at_the_low_end() {
        let single = runtime(1, "");
        let ports = allocate(&[&single], &(1..=9), false).unwrap_or_default();
        assert_eq!((ports[0].master_rpc, ports[0].job_worker_data), (1, 9));
        assert!(allocate(&[&single], &(1..=8), false).is_err());
        assert!(allocate(&[&single], &(1..=1), false).is_err());
    }
}
