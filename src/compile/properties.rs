//! goosefs-site properties and the `GOOSEFS_*_JAVA_OPTS` strings, composed as Fluid's transform
//! (FACTS c.3) and the goosefs chart's ConfigMap (FACTS d.3) do.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use goosefs_conf::fluid::{DEFAULTS, NETWORK_READER_BUFFER, WEB_UFS_CHUNK_KEYS};
use goosefs_conf::journal;
use goosefs_conf::keys::{MASTER_EMBEDDED_JOURNAL_ADDRESSES, MASTER_JOURNAL_TYPE};
use goosefs_conf::ports::PortRole;

use super::ports::Ports;
use super::tiered::TierLevel;

/// What the property composition needs to know about the runtime and its Dataset.
#[derive(Debug, Clone)]
pub struct PropertyInputs<'a> {
    /// Runtime name.
    pub name: &'a str,
    /// `spec.properties`.
    pub user: &'a BTreeMap<String, String>,
    /// Master replicas.
    pub masters: i32,
    /// `goosefs.master.mount.table.root.ufs`.
    pub root_ufs: String,
    /// Root-mount options (written verbatim as properties, as Fluid does).
    pub root_options: BTreeMap<String, String>,
    /// `spec.data.replicas` (<= 0 → 1).
    pub replication: i32,
    /// Whether the Dataset sets an owner.
    pub has_owner: bool,
    /// Whether every mount is http(s): Fluid's web-UFS tuning.
    pub all_http: bool,
    /// Effective access modes include ReadOnlyMany and there is one tier with one path.
    pub direct_memory_io: bool,
    /// `goosefs.underfs.hdfs.configuration`, when hadoopConfig is set.
    pub hdfs_configuration: Option<String>,
    /// Allocated ports.
    pub ports: &'a Ports,
}

/// Properties by key, sorted (as Helm ranges over maps). Fluid's constant defaults are borrowed,
/// not copied, for each runtime.
pub type Properties = BTreeMap<Cow<'static, str>, Cow<'static, str>>;

/// The final properties.
pub fn properties(inputs: &PropertyInputs<'_>) -> Properties {
    let user = inputs.user;
    let mut props: Properties = user
        .iter()
        .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
        .collect();
    let mut set_default = |key: &'static str, value: &'static str| {
        if !user.contains_key(key) {
            props.insert(Cow::Borrowed(key), Cow::Borrowed(value));
        }
    };
    for (key, value) in DEFAULTS {
        set_default(key, value);
    }
    set_default(NETWORK_READER_BUFFER.0, NETWORK_READER_BUFFER.1);
    if inputs.all_http {
        // Fluid's optimisation for web UFS overrides the chunk sizes (user keys still win).
        for key in WEB_UFS_CHUNK_KEYS {
            if !user.contains_key(key) {
                props.insert(Cow::Borrowed(key), Cow::Borrowed("256MB"));
            }
        }
        if !user.contains_key("goosefs.user.streaming.data.timeout") {
            props.insert(
                Cow::Borrowed("goosefs.user.streaming.data.timeout"),
                Cow::Borrowed("300sec"),
            );
        }
    }
    let ha = inputs.masters > 1;
    if !user.contains_key(MASTER_JOURNAL_TYPE) {
        props.insert(
            Cow::Borrowed(MASTER_JOURNAL_TYPE),
            Cow::Borrowed(if ha { "EMBEDDED" } else { "UFS" }),
        );
    }
    if inputs.direct_memory_io && !user.contains_key("goosefs.user.direct.memory.io.enabled") {
        props.insert(
            Cow::Borrowed("goosefs.user.direct.memory.io.enabled"),
            Cow::Borrowed("true"),
        );
    }
    // Always written (overwriting the user's), as Fluid does.
    let mut always: Vec<(Cow<'static, str>, Cow<'static, str>)> = vec![
        (
            Cow::Borrowed("goosefs.master.mount.table.root.ufs"),
            Cow::Owned(inputs.root_ufs.clone()),
        ),
        (
            Cow::Borrowed("goosefs.user.file.replication.max"),
            Cow::Owned(inputs.replication.max(1).to_string()),
        ),
        (
            Cow::Borrowed("goosefs.master.security.impersonation.root.users"),
            Cow::Borrowed("*"),
        ),
        (
            Cow::Borrowed("goosefs.master.security.impersonation.root.groups"),
            Cow::Borrowed("*"),
        ),
    ];
    if !inputs.has_owner {
        always.push((
            Cow::Borrowed("goosefs.fuse.user.group.translation.enabled"),
            Cow::Borrowed("true"),
        ));
    }
    if let Some(conf) = &inputs.hdfs_configuration {
        always.push((
            Cow::Borrowed("goosefs.underfs.hdfs.configuration"),
            Cow::Owned(conf.clone()),
        ));
    }
    // Ports and the journal addresses: Fluid sets them only where the user did not
    // (setDefaultProperties), and our allocation honours the user's values (compile::ports).
    let p = inputs.ports;
    for role in PortRole::ALL {
        if let Some(port) = p.get(role)
            && !user.contains_key(role.property())
        {
            always.push((Cow::Borrowed(role.property()), Cow::Owned(port.to_string())));
        }
    }
    if let (true, Some(embedded)) = (ha, p.master_embedded)
        && !user.contains_key(MASTER_EMBEDDED_JOURNAL_ADDRESSES)
    {
        let masters = u32::try_from(inputs.masters).unwrap_or(1);
        always.push((
            Cow::Borrowed(MASTER_EMBEDDED_JOURNAL_ADDRESSES),
            Cow::Owned(journal::masters(inputs.name, masters, embedded)),
        ));
    }
    always.extend(
        inputs
            .root_options
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone()))),
    );
    props.extend(always);
    props
}

/// The six JVM option strings of the `<name>-config` ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JavaOpts {
    /// `GOOSEFS_JAVA_OPTS`: shared by every component.
    pub goosefs: String,
    /// `GOOSEFS_MASTER_JAVA_OPTS`.
    pub master: String,
    /// `GOOSEFS_JOB_MASTER_JAVA_OPTS`.
    pub job_master: String,
    /// `GOOSEFS_WORKER_JAVA_OPTS`.
    pub worker: String,
    /// `GOOSEFS_JOB_WORKER_JAVA_OPTS`.
    pub job_worker: String,
    /// `GOOSEFS_FUSE_JAVA_OPTS`.
    pub fuse: String,
}

/// Component-level inputs of [`java_opts`].
#[derive(Debug, Clone, Default)]
pub struct ComponentOpts<'a> {
    /// Component properties.
    pub properties: Option<&'a BTreeMap<String, String>>,
    /// Component JVM options.
    pub jvm_options: &'a [String],
    /// Workers only: `goosefs.worker.memory.size` (the worker's `requests.memory`).
    pub memory_size: Option<&'a str>,
}

/// Composes the ConfigMap strings in the chart's order. Every flag is followed by a space. The
/// job master and job worker get their leading flags only: Fluid copies neither the properties
/// nor the JVM options of `spec.jobMaster` / `spec.jobWorker` (FACTS c.3).
#[allow(clippy::too_many_arguments)]
pub fn java_opts(
    name: &str,
    masters: i32,
    levels: &[TierLevel],
    properties: &Properties,
    global_jvm: &[String],
    master: &ComponentOpts<'_>,
    worker: &ComponentOpts<'_>,
    fuse: &ComponentOpts<'_>,
    ports: &Ports,
) -> JavaOpts {
    let mut g = String::with_capacity(4096);
    if masters <= 1 {
        let _ = write!(g, "-Dgoosefs.master.hostname={name}-master-0 ");
    }
    g.push_str("-Dgoosefs.user.hostname=${GOOSEFS_CLIENT_HOSTNAME} ");
    let journal = properties.get(MASTER_JOURNAL_TYPE).map_or("EMBEDDED", |v| v.as_ref());
    let _ = write!(g, "-Dgoosefs.master.journal.type={journal} ");
    g.push_str("-Dgoosefs.master.journal.folder=/journal ");
    let _ = write!(g, "-Dgoosefs.worker.tieredstore.levels={} ", levels.len());
    for l in levels {
        let n = l.level;
        let _ = write!(g, "-Dgoosefs.worker.tieredstore.level{n}.alias={} ", l.alias);
        let _ = write!(
            g,
            "-Dgoosefs.worker.tieredstore.level{n}.dirs.mediumtype={} ",
            l.mediumtype
        );
        let _ = write!(g, "-Dgoosefs.worker.tieredstore.level{n}.dirs.path={} ", l.path);
        let _ = write!(g, "-Dgoosefs.worker.tieredstore.level{n}.dirs.quota={} ", l.quota);
        if let Some(high) = &l.high {
            let _ = write!(g, "-Dgoosefs.worker.tieredstore.level{n}.watermark.high.ratio={high} ");
        }
        if let Some(low) = &l.low {
            let _ = write!(g, "-Dgoosefs.worker.tieredstore.level{n}.watermark.low.ratio={low} ");
        }
    }
    for (k, v) in properties {
        let _ = write!(g, "-D{k}={v} ");
    }
    for opt in global_jvm {
        g.push_str(opt);
        g.push(' ');
    }
    let component = |lead: Vec<String>, c: &ComponentOpts<'_>| {
        let mut s = String::new();
        for flag in lead {
            s.push_str(&flag);
            s.push(' ');
        }
        for (k, v) in c.properties.into_iter().flatten() {
            let _ = write!(s, "-D{k}={v} ");
        }
        for opt in c.jvm_options {
            s.push_str(opt);
            s.push(' ');
        }
        s
    };
    let master_host = "-Dgoosefs.master.hostname=${GOOSEFS_MASTER_HOSTNAME}".to_owned();
    let mut worker_lead = vec![
        "-Dgoosefs.worker.hostname=${GOOSEFS_WORKER_HOSTNAME}".to_owned(),
        format!("-Dgoosefs.worker.rpc.port={}", ports.worker_rpc),
        format!("-Dgoosefs.worker.web.port={}", ports.worker_web),
    ];
    if let Some(size) = worker.memory_size {
        worker_lead.push(format!("-Dgoosefs.worker.memory.size={size}"));
    }
    JavaOpts {
        master: component(vec![master_host.clone()], master),
        job_master: component(vec![master_host], &ComponentOpts::default()),
        worker: component(worker_lead, worker),
        job_worker: component(
            vec![
                "-Dgoosefs.worker.hostname=${GOOSEFS_WORKER_HOSTNAME}".to_owned(),
                format!("-Dgoosefs.job.worker.rpc.port={}", ports.job_worker_rpc),
                format!("-Dgoosefs.job.worker.data.port={}", ports.job_worker_data),
                format!("-Dgoosefs.job.worker.web.port={}", ports.job_worker_web),
            ],
            &ComponentOpts::default(),
        ),
        // Our FUSE's metrics port goes to the FUSE alone (a change restarts no master or worker).
        fuse: component(
            ports
                .fuse_web
                .map(|p| format!("-D{}={p}", goosefs_conf::keys::FUSE_WEB_PORT))
                .into_iter()
                .collect(),
            fuse,
        ),
        goosefs: g,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(user: &'a BTreeMap<String, String>, masters: i32, ports: &'a Ports) -> PropertyInputs<'a> {
        PropertyInputs {
            name: "test-goosefs",
            user,
            masters,
            root_ufs: "/underFSStorage".into(),
            root_options: BTreeMap::new(),
            replication: 0,
            has_owner: false,
            all_http: false,
            direct_memory_io: false,
            hdfs_configuration: None,
            ports,
        }
    }

    #[test]
    fn journal_type_and_addresses_as_fluid_tests() {
        let user = BTreeMap::new();
        let ports = Ports {
            master_rpc: 26000,
            master_embedded: Some(19200),
            job_master_embedded: Some(19201),
            ..Ports::default()
        };
        let p = properties(&inputs(&user, 3, &ports));
        assert_eq!(p["goosefs.master.journal.type"], "EMBEDDED");
        assert_eq!(
            p["goosefs.master.embedded.journal.addresses"],
            "test-goosefs-master-0:19200,test-goosefs-master-1:19200,test-goosefs-master-2:19200"
        );
        assert_eq!(p["goosefs.master.embedded.journal.port"], "19200");
        assert_eq!(p["goosefs.job.master.embedded.journal.port"], "19201");
        assert_eq!(p["goosefs.master.rpc.port"], "26000");
        let single = Ports::default();
        let p = properties(&inputs(&user, 1, &single));
        assert_eq!(p["goosefs.master.journal.type"], "UFS");
        assert!(!p.contains_key("goosefs.master.embedded.journal.addresses"));
    }

    #[test]
    fn user_wins_over_defaults_but_not_over_forced_keys() {
        let mut user = BTreeMap::new();
        user.insert("goosefs.fuse.jnifuse.enabled".to_owned(), "false".to_owned());
        user.insert("goosefs.user.file.replication.max".to_owned(), "9".to_owned());
        let ports = Ports::default();
        let p = properties(&inputs(&user, 1, &ports));
        assert_eq!(p["goosefs.fuse.jnifuse.enabled"], "false");
        assert_eq!(p["goosefs.user.file.replication.max"], "1");
        assert_eq!(p["goosefs.master.security.impersonation.root.users"], "*");
    }

    #[test]
    fn web_ufs_tuning() {
        let user = BTreeMap::new();
        let ports = Ports::default();
        let mut i = inputs(&user, 1, &ports);
        i.all_http = true;
        let p = properties(&i);
        assert_eq!(p["goosefs.user.block.size.bytes.default"], "256MB");
        assert_eq!(p["goosefs.user.streaming.data.timeout"], "300sec");
    }
}
