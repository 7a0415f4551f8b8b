//! A runtime's phases and Fluid's status, from its live workloads: the shared rules live in
//! [`goosefs_conf::fluid_status`] (the runtime's leading master writes the same status); this
//! module adds what only the plugin reads.

use serde_json::Value;

pub use goosefs_conf::fluid_status::*;

/// The embedded-journal addresses in the runtime's ConfigMap (`GOOSEFS_JAVA_OPTS`).
pub fn journal_addresses(config: &Value) -> Option<String> {
    let options = config["data"]["GOOSEFS_JAVA_OPTS"].as_str()?;
    options.split_whitespace().find_map(|option| {
        option
            .strip_prefix("-Dgoosefs.master.embedded.journal.addresses=")
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn journal_addresses_are_read_from_the_config_map() {
        let config = json!({"data": {"GOOSEFS_JAVA_OPTS":
            "-Dgoosefs.master.journal.type=EMBEDDED -Dgoosefs.master.embedded.journal.addresses=a-0:26009,a-1:26009 -Dx=y"}});
        assert_eq!(journal_addresses(&config).as_deref(), Some("a-0:26009,a-1:26009"));
        assert_eq!(journal_addresses(&json!({"data": {}})), None);
    }
}
