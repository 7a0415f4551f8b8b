//! GFS106: ports the user fixes. Fluid ignores `spec.<component>.ports` and allocates every port
//! itself, but lets a port's property in `spec.properties` (and the embedded journal addresses)
//! win over the allocated one, so its containers and Services expose a port the process does not
//! listen on. kubectl-goosefs honours both, so they must name real ports, be port numbers, agree
//! with each other, and not collide (within a runtime here, across runtimes in `validate`'s
//! pairing).

use std::collections::BTreeMap;

use goosefs_conf::journal;
use goosefs_conf::keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES;
use goosefs_conf::ports::PortRole;

use crate::model::GooseFsRuntime;
use crate::model::runtime::{PinSource, PortPin};
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// The YAML path of a pinned port.
pub fn port_path(component: &str, name: &str) -> FieldPath {
    FieldPath::parse(&format!("spec.{component}.ports")).key(name)
}

/// The YAML path where `pin` is written.
pub fn pin_path(pin: &PortPin) -> FieldPath {
    match pin.source {
        PinSource::Ports => port_path(pin.role.component(), pin.role.name()),
        PinSource::Property(key) => FieldPath::parse("spec.properties").key(key),
        PinSource::JournalAddresses => FieldPath::parse("spec.properties").key(MASTER_EMBEDDED_JOURNAL_ADDRESSES),
    }
}

fn describe(pin: &PortPin) -> String {
    match pin.source {
        PinSource::Ports => format!("spec.{}.ports.{}", pin.role.component(), pin.role.name()),
        PinSource::Property(key) => format!("property {key}"),
        PinSource::JournalAddresses => format!("property {MASTER_EMBEDDED_JOURNAL_ADDRESSES}"),
    }
}

/// Checks the ports one runtime fixes.
pub fn check(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    for (component, name, _) in runtime.pinned_port_entries() {
        if PortRole::of_pin(component, name).is_none() {
            let known: Vec<&str> = PortRole::ALL
                .iter()
                .filter(|r| r.component() == component)
                .map(|r| r.name())
                .collect();
            ctx.report_as(
                Code::GFS106,
                Severity::Warning,
                &port_path(component, name),
                true,
                format!("{component} has no port named {name:?}; it is ignored"),
                Some(format!("{component} ports: {}", known.join(", "))),
            );
        }
    }
    check_properties(runtime, ctx);
    let mut by_role: BTreeMap<PortRole, PortPin> = BTreeMap::new();
    let mut by_port: BTreeMap<i64, PortPin> = BTreeMap::new();
    for pin in runtime.port_pins() {
        let path = pin_path(&pin);
        if pin.port().is_none() {
            ctx.report(
                Code::GFS106,
                &path,
                false,
                format!("port {} is not a port number (1-65535)", pin.value),
                None,
            );
            continue;
        }
        if let Some(first) = by_role.get(&pin.role) {
            if first.value != pin.value {
                ctx.report(
                    Code::GFS106,
                    &path,
                    false,
                    format!(
                        "{} sets port {} where {} sets {}; the process and its Services would disagree",
                        describe(&pin),
                        pin.value,
                        describe(first),
                        first.value
                    ),
                    Some("set the port in one place only".to_owned()),
                );
            }
            continue;
        }
        if let Some(other) = by_port.get(&pin.value) {
            ctx.report(
                Code::GFS106,
                &path,
                false,
                format!(
                    "port {} is already fixed for {} by {}; with host networking both cannot bind it",
                    pin.value,
                    other.role.property(),
                    describe(other)
                ),
                Some("give each port its own number, or remove the pin to have one allocated".to_owned()),
            );
            continue;
        }
        by_role.insert(pin.role, pin.clone());
        by_port.insert(pin.value, pin);
    }
}

/// Port properties that are not numbers, and journal addresses that cannot be the runtime's.
fn check_properties(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let properties = runtime.spec.properties.clone().unwrap_or_default();
    for role in PortRole::ALL {
        if let Some(value) = properties.get(role.property())
            && value.trim().parse::<i64>().is_err()
        {
            ctx.report(
                Code::GFS106,
                &FieldPath::parse("spec.properties").key(role.property()),
                false,
                format!("{} is {value:?}, not a port number", role.property()),
                None,
            );
        }
    }
    let Some(text) = runtime.user_journal_addresses() else {
        return;
    };
    let path = FieldPath::parse("spec.properties").key(MASTER_EMBEDDED_JOURNAL_ADDRESSES);
    let masters = runtime.master_replicas().max(1);
    match journal::parse_list(text) {
        Err(e) => ctx.report(
            Code::GFS106,
            &path,
            false,
            format!("{MASTER_EMBEDDED_JOURNAL_ADDRESSES}: {e}"),
            Some("list every master as host:port, comma-separated".to_owned()),
        ),
        Ok(addresses) if addresses.iter().any(|a| a.port != addresses[0].port) => ctx.report(
            Code::GFS106,
            &path,
            false,
            "the embedded journal addresses use different ports; every master listens on the one embedded journal port"
                .to_owned(),
            Some("use one port for every address".to_owned()),
        ),
        Ok(addresses) if masters > 1 && i32::try_from(addresses.len()).ok() != Some(masters) => ctx.report(
            Code::GFS106,
            &path,
            false,
            format!(
                "{} embedded journal addresses for {masters} masters; Raft needs every master listed once",
                addresses.len()
            ),
            Some("list each master pod (<name>-master-<i>:<port>) once".to_owned()),
        ),
        Ok(_) => {}
    }
}
