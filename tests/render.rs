//! Render golden cases (`testdata/render/<case>/input.yaml` → `expected.yaml`, optional
//! `options.json`), strict round trips of every object through its k8s-openapi type,
//! determinism, and the FACTS-derived properties of the reference case.
//! `BLESS=1 cargo test --test render` rewrites the expected files.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};

use kubectl_goosefs::compile::{self, Catalog, CompileOptions, Compiled, CsiMode, Templates};
use kubectl_goosefs::output::manifests::{ManifestFormat, StreamWriter, render};
use kubectl_goosefs::validate::{ValidateOptions, validate};
use serde_json::Value;

fn cases() -> Vec<PathBuf> {
    common::case_dirs("testdata/render")
}

/// The case's catalog: `"images": "fluid"` in options.json picks Fluid's, else the default.
fn catalog(options: &Value) -> Catalog {
    match options["images"].as_str() {
        Some(name) => Catalog::named(name).expect("a catalog name").expect("catalog"),
        None => Catalog::embedded().expect("catalog"),
    }
}

fn compile_paths(paths: Vec<PathBuf>, csi: CsiMode, options: &Value) -> Compiled {
    let outcome = validate(&ValidateOptions {
        paths,
        keep_objects: true,
        ..ValidateOptions::default()
    });
    assert!(!outcome.report.has_errors(), "{:#?}", outcome.report.diagnostics);
    let options = CompileOptions {
        namespace: "default".into(),
        port_range: compile::ports::DEFAULT_RANGE,
        csi,
        monitoring: options["monitoring"] == true,
        catalog: catalog(options),
        templates: Templates::embedded(),
    };
    compile::compile(
        &outcome.runtimes,
        &outcome.datasets,
        &outcome.dataloads,
        &outcome.databackups,
        &options,
    )
    .expect("compiles")
}

fn compile_case(dir: &Path) -> Compiled {
    let options: Value = std::fs::read_to_string(dir.join("options.json"))
        .map(|t| serde_json::from_str(&t).expect("options.json"))
        .unwrap_or(Value::Null);
    let csi = if options["csi"] == "fluid" {
        CsiMode::Fluid
    } else {
        CsiMode::Standalone
    };
    compile_paths(vec![dir.join("input.yaml")], csi, &options)
}

/// What `render` prints for a case: runtime after runtime, each in apply order.
fn rendered_stream(dir: &Path) -> String {
    let outcome = validate(&ValidateOptions {
        paths: vec![dir.join("input.yaml")],
        keep_objects: true,
        ..ValidateOptions::default()
    });
    let options: Value = std::fs::read_to_string(dir.join("options.json"))
        .map(|t| serde_json::from_str(&t).expect("options.json"))
        .unwrap_or(Value::Null);
    let options = CompileOptions {
        namespace: "default".into(),
        port_range: compile::ports::DEFAULT_RANGE,
        csi: if options["csi"] == "fluid" {
            CsiMode::Fluid
        } else {
            CsiMode::Standalone
        },
        monitoring: options["monitoring"] == true,
        catalog: catalog(&options),
        templates: Templates::embedded(),
    };
    let mut text = Vec::new();
    let mut stream = StreamWriter::new(&mut text, ManifestFormat::Yaml);
    compile::compile_each(
        &outcome.runtimes,
        &outcome.datasets,
        &outcome.dataloads,
        &outcome.databackups,
        &options,
        &mut |(_, objects)| stream.add(&objects),
    )
    .expect("compiles");
    stream.finish().expect("flush");
    String::from_utf8(text).expect("UTF-8")
}

#[test]
fn render_golden_cases() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 10, "expected the full set of render cases");
    let mut failures = Vec::new();
    for dir in cases {
        let actual = rendered_stream(&dir);
        let path = dir.join("expected.yaml");
        if bless {
            std::fs::write(&path, &actual).expect("write");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let first = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{}: differs from line {} (BLESS=1 to accept)",
                path.display(),
                first + 1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Deserialises an object into its k8s-openapi type and serialises it back: any field the type
/// does not know (a typo in a template) is lost and the comparison fails.
fn round_trip(object: &Value) -> Value {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core, rbac::v1 as rbac};
    fn via<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
        let typed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
        serde_json::to_value(typed).expect("serialises")
    }
    match object["kind"].as_str().unwrap_or_default() {
        "ConfigMap" => via::<core::ConfigMap>(object),
        "Service" => via::<core::Service>(object),
        "PersistentVolume" => via::<core::PersistentVolume>(object),
        "PersistentVolumeClaim" => via::<core::PersistentVolumeClaim>(object),
        "StatefulSet" => via::<apps::StatefulSet>(object),
        "DaemonSet" => via::<apps::DaemonSet>(object),
        "Job" => via::<batch::Job>(object),
        "CronJob" => via::<batch::CronJob>(object),
        "ServiceAccount" => via::<core::ServiceAccount>(object),
        "Role" => via::<rbac::Role>(object),
        "RoleBinding" => via::<rbac::RoleBinding>(object),
        // The Prometheus Operator's kind: no k8s-openapi type (its ports are checked by
        // `the_pod_monitor_scrapes_ports_the_runtimes_pods_name`).
        "PodMonitor" => object.clone(),
        other => panic!("unexpected kind {other}"),
    }
}

/// Removes empty maps and lists, which k8s-openapi omits when serialising.
fn prune(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), prune(v)))
                .filter(|(_, v)| {
                    !matches!(v, Value::Object(m) if m.is_empty()) && !matches!(v, Value::Array(a) if a.is_empty())
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(prune).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_object_is_a_valid_kubernetes_type() {
    for dir in cases() {
        for m in compile_case(&dir).manifests {
            // An independent parser that keeps nulls: a stray key (say, from an unquoted
            // `a:b,c:d` in a flow mapping) must not vanish before the comparison.
            let object: Value = serde_saphyr::from_str(&m.text).expect("parses");
            assert_eq!(
                prune(&round_trip(&object)),
                prune(&object),
                "{}: {} {}",
                dir.display(),
                m.kind,
                m.name
            );
        }
    }
}

#[test]
fn every_service_port_sets_protocol_tcp() {
    for dir in cases() {
        for m in compile_case(&dir).manifests.iter().filter(|m| m.kind == "Service") {
            let object = m.object().expect("parses");
            for port in object["spec"]["ports"].as_array().expect("ports") {
                assert_eq!(port["protocol"], "TCP", "{} {}", m.name, port);
            }
        }
    }
}

#[test]
fn output_is_deterministic_and_independent_of_input_order() {
    let dir = Path::new("testdata/render/two-runtimes");
    let a = render(&compile_case(dir).manifests, ManifestFormat::Yaml).expect("yaml");
    let b = render(&compile_case(dir).manifests, ManifestFormat::Yaml).expect("yaml");
    assert_eq!(a, b);
    // The same objects split over two files given in the other order.
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(dir.join("input.yaml")).expect("input");
    let docs: Vec<&str> = text.split("---\n").collect();
    std::fs::write(tmp.path().join("a.yaml"), docs[2..].join("---\n")).expect("write");
    std::fs::write(tmp.path().join("b.yaml"), docs[..2].join("---\n")).expect("write");
    let c = render(
        &compile_paths(
            vec![tmp.path().join("a.yaml"), tmp.path().join("b.yaml")],
            CsiMode::Standalone,
            &Value::Null,
        )
        .manifests,
        ManifestFormat::Yaml,
    )
    .expect("yaml");
    assert_eq!(a, c);
}

fn find(c: &Compiled, kind: &str, name: &str) -> Value {
    c.manifests
        .iter()
        .find(|m| m.kind == kind && m.name == name)
        .unwrap_or_else(|| panic!("{kind} {name}"))
        .object()
        .expect("parses")
}

fn java_opts(c: &Compiled, name: &str) -> String {
    find(c, "ConfigMap", &format!("{name}-config"))["data"]["GOOSEFS_JAVA_OPTS"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn hbase_reference_case_matches_fluid() {
    let c = compile_case(Path::new("testdata/render/hbase-3-masters"));
    let opts = java_opts(&c, "hbase");
    for flag in [
        "-Dgoosefs.master.journal.type=EMBEDDED ",
        "-Dgoosefs.master.embedded.journal.addresses=hbase-master-0:26009,hbase-master-1:26009,hbase-master-2:26009 ",
        "-Dgoosefs.master.rpc.port=26000 ",
        "-Dgoosefs.worker.tieredstore.levels=1 ",
        "-Dgoosefs.worker.tieredstore.level0.alias=HDD ",
        "-Dgoosefs.worker.tieredstore.level0.dirs.path=/mnt/disk1/default/hbase ",
        "-Dgoosefs.worker.tieredstore.level0.dirs.quota=1953125KB ",
        "-Dgoosefs.worker.tieredstore.level0.watermark.high.ratio=0.8 ",
        "-Dgoosefs.worker.tieredstore.level0.watermark.low.ratio=0.7 ",
        "-Dgoosefs.user.block.size.bytes.default=256MB ",
        "-Dgoosefs.master.mount.table.root.ufs=/underFSStorage ",
    ] {
        assert!(opts.contains(flag), "missing {flag} in {opts}");
    }
    assert!(
        !opts.contains("-Dgoosefs.master.hostname="),
        "HA masters take their hostname from the pod name"
    );
    let masters = find(&c, "StatefulSet", "hbase-master");
    assert_eq!(masters["spec"]["replicas"], 3);
    let containers: Vec<&str> = masters["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["goosefs-master", "goosefs-job-master"]);
    assert_eq!(masters["spec"]["template"]["spec"]["hostNetwork"], true);
    for i in 0..3 {
        let svc = find(&c, "Service", &format!("hbase-master-{i}"));
        assert_eq!(svc["spec"]["clusterIP"], "None");
        assert_eq!(svc["spec"]["publishNotReadyAddresses"], true);
        assert_eq!(
            svc["spec"]["selector"]["statefulset.kubernetes.io/pod-name"],
            format!("hbase-master-{i}")
        );
    }
    assert_eq!(find(&c, "StatefulSet", "hbase-worker")["spec"]["replicas"], 3);
    let fuse = &find(&c, "DaemonSet", "hbase-fuse")["spec"]["template"]["spec"];
    assert_eq!(
        fuse["containers"][0]["args"],
        serde_json::json!(["fuse", "--fuse-opts=ro,direct_io,allow_other,max_readahead=0"])
    );
    assert_eq!(fuse["containers"][0]["securityContext"]["privileged"], true);
    let mount = fuse["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "goosefs-fuse-mount")
        .unwrap();
    assert_eq!(mount["mountPath"], "/runtime-mnt/goosefs/default/hbase");
    assert_eq!(mount["mountPropagation"], "Bidirectional");
    assert_eq!(
        find(&c, "PersistentVolume", "default-hbase")["spec"]["hostPath"]["path"],
        "/runtime-mnt/goosefs/default/hbase/goosefs-fuse"
    );
    let kinds: Vec<&str> = c.manifests.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "ConfigMap",
            "Role",
            "RoleBinding",
            "ServiceAccount",
            "Service",
            "Service",
            "Service",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "StatefulSet",
            "Job",
            "StatefulSet",
            "DaemonSet"
        ]
    );
}

#[test]
fn single_master_uses_ufs_journal_and_a_master_hostname() {
    let c = compile_case(Path::new("testdata/render/one-master"));
    let opts = java_opts(&c, "hbase");
    assert!(opts.contains("-Dgoosefs.master.hostname=hbase-master-0 "));
    assert!(opts.contains("-Dgoosefs.master.journal.type=UFS "));
    assert!(!opts.contains("embedded.journal.addresses"));
    assert_eq!(c.manifests.iter().filter(|m| m.kind == "Service").count(), 1);
}

#[test]
fn tiers_quotas_and_memory_limits() {
    let c = compile_case(Path::new("testdata/render/tiers-mem-ssd-hdd"));
    let opts = java_opts(&c, "imagenet");
    // Level indexes follow MEM < SSD < HDD whatever the spec order.
    assert!(opts.contains("-Dgoosefs.worker.tieredstore.level0.alias=MEM "));
    assert!(opts.contains("-Dgoosefs.worker.tieredstore.level1.dirs.quota=50GB,50GB "));
    assert!(opts.contains("-Dgoosefs.worker.tieredstore.level2.dirs.quota=100GB,200GB "));
    assert!(opts.contains("-Dgoosefs.worker.tieredstore.level2.dirs.mediumtype=HDD,HDD "));
    let worker = find(&c, "StatefulSet", "imagenet-worker");
    assert_eq!(
        worker["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "12Gi"
    );
    let fuse = find(&c, "DaemonSet", "imagenet-fuse");
    assert_eq!(
        fuse["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "6Gi"
    );
    assert_eq!(
        fuse["spec"]["template"]["spec"]["containers"][0]["args"][1],
        "--fuse-opts=rw,direct_io,allow_other"
    );
}

#[test]
fn two_runtimes_never_share_ports() {
    let c = compile_case(Path::new("testdata/render/two-runtimes"));
    let ports = |ns: &str| -> Vec<u16> {
        let v = c.values.iter().find(|v| v.namespace == ns).expect("values");
        let p = &v.ports;
        [
            p.master_rpc,
            p.master_web,
            p.worker_rpc,
            p.worker_web,
            p.job_master_rpc,
            p.job_master_web,
            p.job_worker_rpc,
            p.job_worker_web,
            p.job_worker_data,
        ]
        .into_iter()
        .chain(p.master_embedded)
        .chain(p.job_master_embedded)
        .collect()
    };
    let (a, b) = (ports("team-a"), ports("team-b"));
    assert_eq!(a[0], 26000);
    assert!(a.iter().all(|p| !b.contains(p)), "{a:?} {b:?}");
}

#[test]
fn pinned_ports_images_and_user_properties_are_honoured() {
    let c = compile_case(Path::new("testdata/render/pinned-ports-and-images"));
    let opts = java_opts(&c, "hbase");
    assert!(opts.contains("-Dgoosefs.master.rpc.port=19998 "));
    assert!(
        opts.contains("-Dgoosefs.worker.rpc.port=26000 "),
        "allocation starts at the range for unpinned ports"
    );
    assert!(opts.contains("-Dgoosefs.user.file.writetype.default=CACHE_THROUGH "));
    assert!(opts.contains("-Dgoosefs.fuse.jnifuse.enabled=false "));
    assert!(
        opts.contains("-Dgoosefs.underfs.hdfs.configuration=/hdfs-config/hdfs-site.xml:/hdfs-config/core-site.xml ")
    );
    let master = find(&c, "StatefulSet", "hbase-master");
    assert_eq!(
        master["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/goosefs:v1.2.1"
    );
    assert_eq!(
        master["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    let fuse = find(&c, "DaemonSet", "hbase-fuse");
    assert_eq!(
        fuse["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/goosefs-fuse:v1.2.1"
    );
    assert!(
        find(&c, "Service", "hbase-master-0")["metadata"]["labels"]
            .get("monitor")
            .is_none()
    );
}

#[test]
fn mounts_secrets_and_volumes() {
    let c = compile_case(Path::new("testdata/render/local-and-pvc-mounts"));
    let job = c
        .manifests
        .iter()
        .find(|m| m.kind == "Job")
        .expect("mount job")
        .object()
        .expect("parses");
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    // Our runtime's leader mounts the declared mounts itself: the Job only waits for them, and
    // carries no secret.
    assert!(script.contains("until mounted '/"), "{script}");
    assert!(!script.contains("goosefs fs mount -"), "{script}");
    assert!(
        !script.contains("local://") && !script.contains("pvc://"),
        "volumes are not mounted by the Job"
    );
    let job_env = job["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(job_env.iter().all(|e| e["valueFrom"].get("secretKeyRef").is_none()));
    // The masters get the declaration, and the secret option by variable name from its Secret.
    let master = find(&c, "StatefulSet", "mixed-master");
    let master_env = master["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    let declared = master_env
        .iter()
        .find(|e| e["name"] == "GOOSEFS_DECLARED_MOUNTS")
        .and_then(|e| e["value"].as_str())
        .expect("declared mounts");
    let declared = goosefs_conf::mounts::decode(Some(declared)).expect("a list of mounts");
    assert_eq!(declared.len(), 1, "{declared:?}");
    assert!(declared[0].read_only);
    assert_eq!(
        declared[0].options.get("aws.region").map(String::as_str),
        Some("us-east-1")
    );
    let var = declared[0].option_env.get("aws.secretKey").expect("a secret option");
    assert!(var.starts_with("GOOSEFS_MOUNT_SECRET_"));
    let secret = master_env.iter().find(|e| &e["name"] == var).expect("its variable");
    assert_eq!(
        secret["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "s3-credentials", "key": "secret"})
    );
    let master = find(&c, "StatefulSet", "mixed-master");
    let volumes = master["spec"]["template"]["spec"]["volumes"].as_array().unwrap();
    assert!(volumes.iter().any(|v| v["hostPath"]["path"] == "/mnt/data"));
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "training-data")
    );
    assert!(
        master["spec"]["template"]["spec"]["affinity"]["nodeAffinity"].is_object(),
        "local:// pins masters to the Dataset's nodes"
    );
    // Root UFS: no Job, the mount point is the root property.
    let root = compile_case(Path::new("testdata/render/root-ufs-single-mount"));
    assert!(root.manifests.iter().all(|m| m.kind != "Job"));
    let opts = java_opts(&root, "hbase");
    assert!(opts.contains("-Dgoosefs.master.mount.table.root.ufs=cos://bucket-1250000000/data "));
    assert!(opts.contains("-Dfs.cos.endpoint=cos.ap-guangzhou.myqcloud.com "));
}

#[test]
fn quota_change_touches_only_configmap_and_workers() {
    let dir = Path::new("testdata/render/hbase-3-masters");
    let before = compile_case(dir);
    let tmp = tempfile::tempdir().expect("tmp");
    let changed = std::fs::read_to_string(dir.join("input.yaml"))
        .expect("input")
        .replace("quota: 2G", "quota: 4G");
    std::fs::write(tmp.path().join("in.yaml"), changed).expect("write");
    let after = compile_paths(vec![tmp.path().join("in.yaml")], CsiMode::Standalone, &Value::Null);
    let differing: Vec<String> = before
        .manifests
        .iter()
        .zip(&after.manifests)
        .filter(|(a, b)| a.text != b.text)
        .map(|(a, _)| format!("{}/{}", a.kind, a.name))
        .collect();
    assert_eq!(differing, ["ConfigMap/hbase-config", "StatefulSet/hbase-worker"]);
}

#[test]
fn every_template_file_is_embedded_and_used() {
    let mut files: Vec<String> = std::fs::read_dir("templates")
        .expect("templates/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".j2"))
        .collect();
    files.sort();
    let mut embedded: Vec<String> = compile::templates::EMBEDDED
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    embedded.sort();
    assert_eq!(files, embedded, "templates/ and the embedded table differ");
    for (name, source) in compile::templates::EMBEDDED {
        assert_eq!(
            std::fs::read_to_string(Path::new("templates").join(name)).expect("read"),
            *source
        );
        if name.starts_with('_') {
            let included = compile::templates::EMBEDDED
                .iter()
                .any(|(_, s)| s.contains(&format!("\"{name}\"")));
            assert!(included, "partial {name} is never included");
        } else {
            assert!(
                compile::templates::OBJECT_TEMPLATES.contains(name),
                "{name} is never rendered"
            );
        }
    }
}

/// The pure core of `plan` on rendered objects: a quota change updates exactly the ConfigMap
/// (with a cache-rebuild note) and the worker StatefulSet (restart note); nothing else changes.
#[test]
fn plan_of_a_quota_change() {
    use kubectl_goosefs::cluster::ChangeOp;
    use kubectl_goosefs::cluster::plan::{PlanOptions, plan};
    let dir = Path::new("testdata/render/hbase-3-masters");
    let objects = |c: &Compiled| {
        c.manifests
            .iter()
            .map(|m| m.object().expect("parses"))
            .collect::<Vec<_>>()
    };
    let live = objects(&compile_case(dir));
    let tmp = tempfile::tempdir().expect("tmp");
    let changed = std::fs::read_to_string(dir.join("input.yaml"))
        .expect("input")
        .replace("quota: 2G", "quota: 4G");
    std::fs::write(tmp.path().join("in.yaml"), changed).expect("write");
    let desired = objects(&compile_paths(
        vec![tmp.path().join("in.yaml")],
        CsiMode::Standalone,
        &Value::Null,
    ));
    let p = plan(&desired, &live, PlanOptions::default()).expect("plan");
    assert_eq!(
        p.summary(),
        "Plan: 0 to create, 2 to update, 0 to delete, 12 unchanged."
    );
    let updates: Vec<(String, Vec<String>)> = p
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Update)
        .map(|c| (c.key.to_string(), c.notes.clone()))
        .collect();
    assert_eq!(
        updates,
        [
            (
                "ConfigMap/default/hbase-config".to_owned(),
                vec!["tiered store settings change: the worker cache will be rebuilt".to_owned()]
            ),
            (
                "StatefulSet/default/hbase-worker".to_owned(),
                vec!["restarts the workers".to_owned()]
            ),
        ]
    );
    let unchanged = plan(&live, &live, PlanOptions::default()).expect("plan");
    assert!(!unchanged.has_changes());
}

/// The plugin and the runtime read one configuration model: every rendered ConfigMap, expanded
/// as the pods' launcher would expand it, parses with the runtime's reader (goosefs-conf) for
/// every role, with no stray word, every port and the tiered store readable, and (with several
/// masters) the embedded journal listing each master once.
#[test]
fn every_rendered_configmap_parses_with_the_runtime_reader() {
    use goosefs_conf::opts::{Conf, Role};
    use goosefs_conf::ports::PortRole;
    let mut checked = 0;
    for dir in cases() {
        let compiled = compile_case(&dir);
        for values in &compiled.values {
            let config = find(&compiled, "ConfigMap", &format!("{}-config", values.name));
            let data = config["data"].as_object().expect("data").clone();
            let env = |name: &str| -> Option<String> {
                match name {
                    "GOOSEFS_MASTER_HOSTNAME" => Some(format!("{}-master-1", values.name)),
                    "GOOSEFS_WORKER_HOSTNAME" | "GOOSEFS_CLIENT_HOSTNAME" => Some("10.0.0.2".to_owned()),
                    _ => data.get(name).and_then(Value::as_str).map(str::to_owned),
                }
            };
            for role in [
                Role::Master,
                Role::JobMaster,
                Role::Worker,
                Role::JobWorker,
                Role::Fuse,
                Role::Client,
            ] {
                let conf = Conf::from_env(role, &env, &[]);
                let at = format!("{}: {role:?}", dir.display());
                assert!(conf.unknown.is_empty(), "{at}: stray words {:?}", conf.unknown);
                for port in PortRole::ALL {
                    assert!(conf.port(port).is_ok(), "{at}: {:?}", conf.port(port));
                }
                let levels = goosefs_conf::tier::levels(&conf).unwrap_or_else(|e| panic!("{at}: {e}"));
                let dirs: usize = values.levels.iter().map(|l| l.dirs.len()).sum();
                assert_eq!(levels.iter().map(|l| l.dirs.len()).sum::<usize>(), dirs, "{at}");
                let addresses = conf
                    .addresses(goosefs_conf::keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                if values.ha {
                    let addresses = addresses.expect("HA lists its masters");
                    assert_eq!(addresses.len(), usize::try_from(values.masters).unwrap_or(0), "{at}");
                    assert_eq!(Some(addresses[0].port), values.ports.master_embedded, "{at}");
                }
                assert_eq!(
                    conf.port(PortRole::MasterRpc).ok(),
                    Some(values.ports.master_rpc),
                    "{at}"
                );
                if role == Role::Master {
                    let host = conf.get(goosefs_conf::keys::MASTER_HOSTNAME);
                    assert_eq!(host, Some(format!("{}-master-1", values.name).as_str()), "{at}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20 * 6, "only {checked} role configurations checked");
}

/// The inventory lists, and the ApplySet parent names, exactly the kinds in one table; every
/// object any case renders is of one of them.
#[test]
fn every_rendered_kind_is_in_the_managed_kinds_table() {
    use kubectl_goosefs::model::kinds::RENDERED;
    for dir in cases() {
        for m in &compile_case(&dir).manifests {
            let object = m.object().expect("object");
            let found = RENDERED
                .iter()
                .find(|k| k.kind == m.kind && object["apiVersion"] == k.api_version);
            let found =
                found.unwrap_or_else(|| panic!("{}: {} is not in model::kinds::RENDERED", dir.display(), m.kind));
            assert_eq!(
                found.cluster_scoped,
                m.namespace.is_empty(),
                "{}: {}",
                dir.display(),
                m.kind
            );
        }
    }
}

#[test]
fn the_pod_monitor_scrapes_ports_the_runtimes_pods_name() {
    let c = compile_case(Path::new("testdata/render/monitoring"));
    let monitor = find(&c, "PodMonitor", "hbase-goosefs");
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("selector");
    // The pod templates it selects, and the container port names they carry.
    let mut named: Vec<(String, String)> = Vec::new();
    for m in &c.manifests {
        let object = m.object().expect("parses");
        let labels = &object["spec"]["template"]["metadata"]["labels"];
        if !selector.iter().all(|(k, v)| &labels[k] == v) {
            continue;
        }
        for container in object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for port in container["ports"].as_array().into_iter().flatten() {
                named.push((
                    m.kind.clone() + "/" + &m.name,
                    port["name"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let selected: std::collections::BTreeSet<&str> = named.iter().map(|(o, _)| o.as_str()).collect();
    assert!(
        selected.contains("StatefulSet/hbase-master")
            && selected.contains("StatefulSet/hbase-worker")
            && selected.contains("DaemonSet/hbase-fuse"),
        "{selected:?}"
    );
    let endpoints = monitor["spec"]["podMetricsEndpoints"].as_array().expect("endpoints");
    let ports: Vec<&str> = endpoints.iter().filter_map(|e| e["port"].as_str()).collect();
    assert_eq!(ports, ["web", "metrics"]);
    for port in &ports {
        let carriers: Vec<&str> = named
            .iter()
            .filter(|(_, p)| p == port)
            .map(|(o, _)| o.as_str())
            .collect();
        assert!(!carriers.is_empty(), "no selected pod names a port {port}");
    }
    // Masters and workers on `web`, FUSE on `metrics`: every process with metrics is scraped.
    for (object, port) in [
        ("StatefulSet/hbase-master", "web"),
        ("StatefulSet/hbase-worker", "web"),
        ("DaemonSet/hbase-fuse", "metrics"),
    ] {
        assert!(
            named.iter().any(|(o, p)| o == object && p == port),
            "{object} has no port {port}"
        );
    }
    assert!(
        endpoints
            .iter()
            .all(|e| e["path"] == "/metrics" && e["honorLabels"] == true)
    );
    // Without --monitoring: none.
    let plain = compile_case(Path::new("testdata/render/one-master"));
    assert!(plain.manifests.iter().all(|m| m.kind != "PodMonitor"));
}

/// A Role rule with an empty `resourceNames` grants every object of its resources: no rendered
/// Role has one, whatever mix of loads a runtime has (Cron loads alone have no Job to name).
#[test]
fn no_role_rule_grants_every_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let cron = dir.path().join("cron.yaml");
    std::fs::write(
        &cron,
        "apiVersion: data.fluid.io/v1alpha1\nkind: DataLoad\nmetadata: {name: nightly}\nspec:\n  dataset: {name: hbase}\n  policy: Cron\n  schedule: \"@daily\"\n",
    )
    .expect("write");
    let compiled = compile_paths(
        vec![PathBuf::from("testdata/hbase/hbase.yaml"), cron],
        CsiMode::Standalone,
        &Value::Null,
    );
    let roles: Vec<Value> = compiled
        .manifests
        .iter()
        .filter(|m| m.kind == "Role")
        .map(|m| m.object().expect("a role"))
        .collect();
    assert_eq!(roles.len(), 2, "the masters' and the loaders'");
    for role in &roles {
        for rule in role["rules"].as_array().expect("rules") {
            let names = rule["resourceNames"].as_array().expect("every rule names its objects");
            assert!(!names.is_empty(), "{role}");
        }
    }
    let loader = roles
        .iter()
        .find(|r| r["metadata"]["name"] == "hbase-loader")
        .expect("loader role");
    assert_eq!(
        loader["rules"].as_array().map(Vec::len),
        Some(1),
        "no Job rule without a Once load"
    );
}
