//! Host-port roles. GooseFS runs on host networking, so every runtime gets its own ports: Fluid
//! allocates them in the order of [`PortRole::ALL`], writes each into its property, and the
//! containers and Services expose them under the names given here.

/// A port a GooseFS runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortRole {
    /// Master RPC (clients, workers).
    MasterRpc,
    /// Master web (health, metrics).
    MasterWeb,
    /// Worker RPC (block reads and writes).
    WorkerRpc,
    /// Worker web.
    WorkerWeb,
    /// Job master RPC.
    JobMasterRpc,
    /// Job master web.
    JobMasterWeb,
    /// Job worker RPC.
    JobWorkerRpc,
    /// Job worker web.
    JobWorkerWeb,
    /// Job worker data.
    JobWorkerData,
    /// API gateway (proxy) REST, only when the gateway is enabled.
    ApiGatewayRest,
    /// Master embedded journal (Raft), only with several masters.
    MasterEmbedded,
    /// Job master embedded journal, only with several masters.
    JobMasterEmbedded,
}

impl PortRole {
    /// Every role, in Fluid's allocation order.
    pub const ALL: [PortRole; 12] = [
        PortRole::MasterRpc,
        PortRole::MasterWeb,
        PortRole::WorkerRpc,
        PortRole::WorkerWeb,
        PortRole::JobMasterRpc,
        PortRole::JobMasterWeb,
        PortRole::JobWorkerRpc,
        PortRole::JobWorkerWeb,
        PortRole::JobWorkerData,
        PortRole::ApiGatewayRest,
        PortRole::MasterEmbedded,
        PortRole::JobMasterEmbedded,
    ];

    /// The `spec.<component>` of a GooseFSRuntime whose `ports` map may pin this port.
    pub fn component(self) -> &'static str {
        match self {
            PortRole::MasterRpc | PortRole::MasterWeb | PortRole::MasterEmbedded => "master",
            PortRole::WorkerRpc | PortRole::WorkerWeb => "worker",
            PortRole::JobMasterRpc | PortRole::JobMasterWeb | PortRole::JobMasterEmbedded => "jobMaster",
            PortRole::JobWorkerRpc | PortRole::JobWorkerWeb | PortRole::JobWorkerData => "jobWorker",
            PortRole::ApiGatewayRest => "apiGateway",
        }
    }

    /// The key in `spec.<component>.ports` (and the chart's values).
    pub fn name(self) -> &'static str {
        match self {
            PortRole::MasterRpc | PortRole::WorkerRpc | PortRole::JobMasterRpc | PortRole::JobWorkerRpc => "rpc",
            PortRole::MasterWeb | PortRole::WorkerWeb | PortRole::JobMasterWeb | PortRole::JobWorkerWeb => "web",
            PortRole::JobWorkerData => "data",
            PortRole::ApiGatewayRest => "rest",
            PortRole::MasterEmbedded | PortRole::JobMasterEmbedded => "embedded",
        }
    }

    /// The goosefs-site property carrying the port.
    pub fn property(self) -> &'static str {
        match self {
            PortRole::MasterRpc => "goosefs.master.rpc.port",
            PortRole::MasterWeb => "goosefs.master.web.port",
            PortRole::WorkerRpc => "goosefs.worker.rpc.port",
            PortRole::WorkerWeb => "goosefs.worker.web.port",
            PortRole::JobMasterRpc => "goosefs.job.master.rpc.port",
            PortRole::JobMasterWeb => "goosefs.job.master.web.port",
            PortRole::JobWorkerRpc => "goosefs.job.worker.rpc.port",
            PortRole::JobWorkerWeb => "goosefs.job.worker.web.port",
            PortRole::JobWorkerData => "goosefs.job.worker.data.port",
            PortRole::ApiGatewayRest => "goosefs.proxy.web.port",
            PortRole::MasterEmbedded => "goosefs.master.embedded.journal.port",
            PortRole::JobMasterEmbedded => "goosefs.job.master.embedded.journal.port",
        }
    }

    /// The port when nothing sets it (the goosefs chart's defaults).
    pub fn default_port(self) -> u16 {
        match self {
            PortRole::MasterRpc => 19998,
            PortRole::MasterWeb => 19999,
            PortRole::WorkerRpc => 29999,
            PortRole::WorkerWeb => 30000,
            PortRole::JobMasterRpc => 20001,
            PortRole::JobMasterWeb => 20002,
            PortRole::JobWorkerRpc => 30001,
            PortRole::JobWorkerWeb => 30003,
            PortRole::JobWorkerData => 30002,
            PortRole::ApiGatewayRest => 39999,
            PortRole::MasterEmbedded => 19200,
            PortRole::JobMasterEmbedded => 20003,
        }
    }

    /// The role whose `spec.<component>.ports.<name>` this is, if any.
    pub fn of_pin(component: &str, name: &str) -> Option<PortRole> {
        PortRole::ALL
            .into_iter()
            .find(|r| r.component() == component && r.name() == name)
    }

    /// The role whose property `key` is, if any.
    pub fn of_property(key: &str) -> Option<PortRole> {
        PortRole::ALL.into_iter().find(|r| r.property() == key)
    }

    /// Whether a runtime with these settings uses the port at all.
    pub fn used(self, masters: u32, api_gateway: bool) -> bool {
        match self {
            PortRole::ApiGatewayRest => api_gateway,
            PortRole::MasterEmbedded | PortRole::JobMasterEmbedded => masters > 1,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_properties_are_unique_and_found_back() {
        for role in PortRole::ALL {
            assert_eq!(PortRole::of_pin(role.component(), role.name()), Some(role));
            assert_eq!(PortRole::of_property(role.property()), Some(role));
        }
        assert_eq!(PortRole::of_pin("master", "data"), None);
        let defaults: std::collections::BTreeSet<u16> = PortRole::ALL.iter().map(|r| r.default_port()).collect();
        assert_eq!(defaults.len(), 12);
    }

    #[test]
    fn fluid_counts_nine_ports_plus_gateway_plus_two_for_ha() {
        let count = |masters, gateway| PortRole::ALL.iter().filter(|r| r.used(masters, gateway)).count();
        assert_eq!(count(1, false), 9);
        assert_eq!(count(1, true), 10);
        assert_eq!(count(3, false), 11);
        assert_eq!(count(3, true), 12);
    }
}
