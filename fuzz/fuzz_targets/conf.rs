//! The runtime's configuration reader on any environment text: `-D` options, `${VAR}`
//! expansion, sizes, durations, tier levels and journal addresses never panic.
#![no_main]

use goosefs_conf::opts::{Conf, Role};
use goosefs_conf::ports::PortRole;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (common, role) = text.split_once('\n').unwrap_or((text, ""));
    let env = |name: &str| match name {
        "GOOSEFS_JAVA_OPTS" => Some(common.to_owned()),
        "GOOSEFS_MASTER_JAVA_OPTS" | "GOOSEFS_WORKER_JAVA_OPTS" => Some(role.to_owned()),
        other => Some(other.chars().rev().collect()),
    };
    for r in [Role::Master, Role::Worker, Role::Client] {
        let conf = Conf::from_env(r, &env, &[]);
        for port in PortRole::ALL {
            let _ = conf.port(port);
        }
        let _ = goosefs_conf::tier::levels(&conf);
        let _ = conf.addresses(goosefs_conf::keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES);
        for value in conf.properties.values() {
            if let Ok(bytes) = goosefs_conf::size::parse(value) {
                assert_eq!(goosefs_conf::size::parse(&goosefs_conf::size::format(bytes)), Ok(bytes));
            }
            let _ = goosefs_conf::duration::parse(value);
        }
    }
});
