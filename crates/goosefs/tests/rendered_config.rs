//! Every golden render case's ConfigMap, read by the runtime exactly as a pod reads it: each
//! master of the runtime finds itself in the journal addresses, clients derive the masters' RPC
//! addresses, and every port role parses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use goosefs::config::{ClientConfig, JournalType, MasterConfig};
use goosefs_conf::ports::PortRole;
use goosefs_conf::{Conf, Role};

/// `(runtime name, ConfigMap data)` of every GooseFS ConfigMap in a rendered file.
fn config_maps(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    text.split("\n---\n")
        .filter(|doc| doc.contains("kind: ConfigMap") && doc.contains("GOOSEFS_JAVA_OPTS"))
        .map(|doc| {
            let name = doc
                .lines()
                .find_map(|l| l.strip_prefix("  name: "))
                .and_then(|n| n.strip_suffix("-config"))
                .expect("a <runtime>-config name")
                .to_owned();
            let data = doc
                .lines()
                .filter_map(|line| {
                    let (key, value) = line.trim_start().split_once(": ")?;
                    key.starts_with("GOOSEFS_")
                        // JSON-quoted by the render's `y` filter, or a plain scalar (a name).
                        .then(|| {
                            let text = serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned());
                            (key.to_owned(), text)
                        })
                })
                .collect();
            (name, data)
        })
        .collect()
}

#[test]
fn every_rendered_config_map_configures_every_master_and_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/render");
    let mut runtimes = 0;
    for case in std::fs::read_dir(&root).expect("testdata/render") {
        let case = case.expect("entry").path();
        let text = std::fs::read_to_string(case.join("expected.yaml")).expect("expected.yaml");
        for (name, data) in config_maps(&text) {
            runtimes += 1;
            let where_ = format!("{} ({name})", case.display());
            let env_of = |pod: String| {
                let data = data.clone();
                move |var: &str| match var {
                    "GOOSEFS_MASTER_HOSTNAME" => Some(pod.clone()),
                    "GOOSEFS_WORKER_HOSTNAME" | "GOOSEFS_CLIENT_HOSTNAME" => Some("10.0.0.1".to_owned()),
                    other => data.get(other).cloned(),
                }
            };
            let client = ClientConfig::from_conf(&Conf::from_env(Role::Client, &env_of(String::new()), &[]))
                .unwrap_or_else(|e| panic!("{where_}: client: {e}"));
            assert!(!client.masters.is_empty(), "{where_}");
            for (i, address) in client.masters.iter().enumerate() {
                let pod = address.rsplit_once(':').map(|(h, _)| h.to_owned()).expect("host:port");
                assert_eq!(pod, format!("{name}-master-{i}"), "{where_}: master order");
                let conf = Conf::from_env(Role::Master, &env_of(pod.clone()), &[]);
                let master = MasterConfig::from_conf(&conf).unwrap_or_else(|e| panic!("{where_}: {pod}: {e}"));
                assert_eq!(master.id, i as u64, "{where_}: {pod} finds itself");
                assert_eq!(master.rpc_address(i), *address, "{where_}");
                let embedded = client.masters.len() > 1;
                assert_eq!(master.journal_type == JournalType::Embedded, embedded, "{where_}");
                for role in PortRole::ALL {
                    conf.port(role).unwrap_or_else(|e| panic!("{where_}: {e}"));
                }
            }
        }
    }
    assert!(runtimes >= 20, "read {runtimes} runtimes");
}
