//! Any bytes as an application's YAML, injected: never a panic or a hang, and whatever is returned
//! (edited in place or written anew) reads back as exactly the objects it reports.
#![no_main]

use kubectl_goosefs::inject::{Target, inject};
use kubectl_goosefs::load::for_each_document;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let target = Target {
        name: "hbase".into(),
        namespace: "default".into(),
        volume: json!({"name": "goosefs-hbase", "hostPath": {"path": "/runtime-mnt/goosefs/default/hbase/goosefs-fuse", "type": "Directory"}}),
        mount: json!({"name": "goosefs-hbase", "mountPath": "/data", "mountPropagation": "HostToContainer"}),
        near_workers: json!({"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"role": "goosefs-worker"}}, "topologyKey": "kubernetes.io/hostname"}}),
        fuse_nodes: if text.len() % 2 == 0 { vec![json!({"key": "fuse", "operator": "In", "values": ["true"]})] } else { Vec::new() },
        claim: text.len() % 3 == 0,
        containers: Vec::new(),
    };
    if let Ok(injected) = inject(text, "fuzz.yaml", &target) {
        let mut docs = Vec::new();
        let failure = for_each_document(&injected.text, |n| docs.push(n.to_json()));
        assert!(failure.is_none(), "the output parses");
        assert_eq!(docs, injected.documents, "the output reads as the objects reported");
    }
});
