//! The stable rule codes, their default severities and the text `kubectl goosefs explain CODE`
//! prints (what the rule checks, why, a wrong and a right example).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::diagnostic::Severity;

/// A stable rule code. Codes never change meaning; retired codes are not reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Code {
    /// YAML syntax error, binary or non-UTF-8 file.
    GFS001,
    /// Schema: wrong type, missing required field, enum, pattern or range violation.
    GFS002,
    /// Unknown field.
    GFS003,
    /// Duplicate key.
    GFS004,
    /// Input over a safety limit (file size, alias expansion, nesting depth).
    GFS005,
    /// Master replicas must be a positive odd number.
    GFS101,
    /// Tier quota / quotaList.
    GFS102,
    /// Tier watermarks.
    GFS103,
    /// Tier paths and media.
    GFS104,
    /// Names and derived names.
    GFS105,
    /// Pinned ports.
    GFS106,
    /// Fields with a fixed set of values.
    GFS107,
    /// User volumes, their mounts, and where the masters' journal lives.
    GFS108,
    /// Dataset mount points, names and paths.
    GFS201,
    /// Runtime without Dataset, or Dataset without runtime.
    GFS202,
    /// Credential-looking key in plain options.
    GFS203,
    /// Option set both plainly and as an encrypted option.
    GFS204,
    /// DataLoad: its Dataset, paths, replicas, policy and schedule.
    GFS301,
    /// DataBackup: its Dataset and backup path.
    GFS302,
}

/// The documentation of one code.
#[derive(Debug, Clone, Copy)]
pub struct CodeDoc {
    /// The code.
    pub code: Code,
    /// One-line title.
    pub title: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it checks.
    pub what: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// A wrong example.
    pub wrong: &'static str,
    /// The same, fixed.
    pub right: &'static str,
}

/// Every code, in order.
pub const ALL: [Code; 19] = [
    Code::GFS001,
    Code::GFS002,
    Code::GFS003,
    Code::GFS004,
    Code::GFS005,
    Code::GFS101,
    Code::GFS102,
    Code::GFS103,
    Code::GFS104,
    Code::GFS105,
    Code::GFS106,
    Code::GFS107,
    Code::GFS108,
    Code::GFS201,
    Code::GFS202,
    Code::GFS203,
    Code::GFS204,
    Code::GFS301,
    Code::GFS302,
];

impl Code {
    /// `GFS101` etc.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::GFS001 => "GFS001",
            Code::GFS002 => "GFS002",
            Code::GFS003 => "GFS003",
            Code::GFS004 => "GFS004",
            Code::GFS005 => "GFS005",
            Code::GFS101 => "GFS101",
            Code::GFS102 => "GFS102",
            Code::GFS103 => "GFS103",
            Code::GFS104 => "GFS104",
            Code::GFS105 => "GFS105",
            Code::GFS106 => "GFS106",
            Code::GFS107 => "GFS107",
            Code::GFS108 => "GFS108",
            Code::GFS201 => "GFS201",
            Code::GFS202 => "GFS202",
            Code::GFS203 => "GFS203",
            Code::GFS204 => "GFS204",
            Code::GFS301 => "GFS301",
            Code::GFS302 => "GFS302",
        }
    }

    /// The default severity of findings with this code.
    pub fn severity(self) -> Severity {
        self.doc().severity
    }

    /// The documentation printed by `explain`.
    pub fn doc(self) -> CodeDoc {
        let (title, severity, what, why, wrong, right) = match self {
            Code::GFS001 => (
                "YAML syntax error",
                Severity::Error,
                "The file is not valid YAML (or JSON), is binary, or is not UTF-8 text. The finding points at \
                 the place where the parser stopped; the rest of that file is not checked.",
                "kubectl and the API server cannot read the file either; nothing after the error is deployed.",
                "spec:\n  replicas: 3\n   master:\n    replicas: 3",
                "spec:\n  replicas: 3\n  master:\n    replicas: 3",
            ),
            Code::GFS002 => (
                "Schema violation: wrong type, missing field, enum, pattern or range",
                Severity::Error,
                "The value does not match Fluid's CRD schema (as generated in schemas/): a string where a \
                 number is expected or the reverse, a missing required field, a value outside an enum, a \
                 quantity that does not parse, a number below its minimum. Scalars are read as kubectl reads \
                 them (YAML 1.1), so unquoted 0.8 is a number and yes/on are booleans.",
                "The API server rejects the object (or, for quotas, Fluid's controller fails to transform it).",
                "tieredstore:\n  levels:\n    - mediumtype: HDD\n      path: /mnt/disk1\n      quota: 2G\n      high: 0.8     # a number, the CRD wants a string\n      low: 0.7",
                "tieredstore:\n  levels:\n    - mediumtype: HDD\n      path: /mnt/disk1\n      quota: 2G\n      high: \"0.8\"\n      low: \"0.7\"",
            ),
            Code::GFS003 => (
                "Unknown field",
                Severity::Error,
                "A field that Fluid's CRD does not define. The finding suggests the closest known field.",
                "With strict field validation (kubectl's default since 1.27 for apply) the API server rejects \
                 the object; without it the field is silently dropped and the setting never takes effect.",
                "master:\n  replica: 3",
                "master:\n  replicas: 3",
            ),
            Code::GFS004 => (
                "Duplicate key",
                Severity::Error,
                "The same key appears twice in one mapping.",
                "YAML forbids it; kubectl's strict decoding rejects it, and lenient tools keep only one of \
                 the values, so one of your settings is silently lost.",
                "master:\n  replicas: 3\n  replicas: 5",
                "master:\n  replicas: 3",
            ),
            Code::GFS005 => (
                "Input over a safety limit",
                Severity::Error,
                "The file is larger than --max-file-size, nests deeper than 64 levels, or expands YAML aliases \
                 beyond the limits (a \"billion laughs\" alias bomb).",
                "Such input exhausts memory or CPU in every consumer; Kubernetes objects never need it.",
                "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
                "# write the values out, or split the file",
            ),
            Code::GFS101 => (
                "Master replicas must be a positive odd number",
                Severity::Error,
                "spec.master.replicas must be 1, 3, 5, ... With more than one master GooseFS runs an embedded \
                 Raft journal, which needs a majority (quorum) of masters to make progress.",
                "A quorum of N masters is N/2+1, so 4 masters tolerate one failure exactly like 3, and 2 \
                 masters tolerate none (like 1) while doubling the chance of losing quorum. Even counts cost \
                 a master and add no fault tolerance. Fluid itself does not check this; GooseFS' \
                 documentation requires a positive odd number.",
                "master:\n  replicas: 2",
                "master:\n  replicas: 3",
            ),
            Code::GFS102 => (
                "Tier quota",
                Severity::Error,
                "Each tier level needs quota or quotaList; quotaList must have as many entries as the level \
                 has comma-separated paths; every quantity must parse and be greater than zero. quota next \
                 to quotaList is a warning: quotaList wins.",
                "Fluid's controller fails with \"either quota or quotaList must be set\" or \"length of \
                 quotaList must be consistent with length of paths\" and the runtime never starts; a zero \
                 quota gives workers no cache.",
                "levels:\n  - mediumtype: SSD\n    path: /mnt/ssd1,/mnt/ssd2\n    quotaList: 100Gi,100Gi,50Gi",
                "levels:\n  - mediumtype: SSD\n    path: /mnt/ssd1,/mnt/ssd2\n    quotaList: 100Gi,100Gi",
            ),
            Code::GFS103 => (
                "Tier watermarks",
                Severity::Error,
                "high and low are decimal strings in (0, 1], and low is below high.",
                "GooseFS evicts from high down to low; with low >= high eviction never stops or never starts, \
                 and values outside (0, 1] make the worker fail at start-up. Fluid passes them through \
                 unchecked.",
                "levels:\n  - mediumtype: HDD\n    path: /mnt/disk1\n    quota: 2G\n    high: \"0.6\"\n    low: \"0.9\"",
                "levels:\n  - mediumtype: HDD\n    path: /mnt/disk1\n    quota: 2G\n    high: \"0.8\"\n    low: \"0.7\"",
            ),
            Code::GFS104 => (
                "Tier paths and media",
                Severity::Error,
                "Every tier path is absolute and non-empty, no path is used twice (within or across levels), \
                 and no medium type appears in two levels.",
                "Relative paths become hostPath volumes the kubelet rejects; a path used twice is counted \
                 twice against the disk; Fluid gives two levels of the same medium the same level index, so \
                 one silently shadows the other.",
                "levels:\n  - mediumtype: HDD\n    path: mnt/disk1\n    quota: 2G\n  - mediumtype: HDD\n    path: /mnt/disk2\n    quota: 2G",
                "levels:\n  - mediumtype: HDD\n    path: /mnt/disk1,/mnt/disk2\n    quotaList: 2G,2G",
            ),
            Code::GFS105 => (
                "Names and derived names",
                Severity::Error,
                "metadata.name is set and is a DNS-1035 label, the namespace is a DNS-1123 label, and every \
                 name derived from them fits Kubernetes' limits: Services <name>-master-<i> (63), the \
                 StatefulSets <name>-master / <name>-worker and DaemonSet <name>-fuse (52, so that the \
                 controller-revision-hash label fits), the label value <ns>-<name> (63) and the FUSE node \
                 label key f-<ns>-<name> (63).",
                "Fluid's controller refuses names that are not DNS-1035 labels (\"Failed to create ddc engine\"), \
                 and over-long derived names make the API server reject the generated objects after the \
                 runtime was accepted.",
                "metadata:\n  name: 20-hbase",
                "metadata:\n  name: hbase-20",
            ),
            Code::GFS106 => (
                "Ports the user fixes",
                Severity::Error,
                "Ports pinned in spec.master/jobMaster/worker/jobWorker/apiGateway.ports, and ports set by their \
                 property in spec.properties (goosefs.master.rpc.port, ...; goosefs.master.embedded.journal.addresses \
                 gives the embedded journal port), are valid port numbers, agree where a port is set twice, are \
                 not used by two ports (within a runtime or across the runtimes of the input), and name a port \
                 the component has (master: rpc, web, embedded; jobMaster: rpc, web, embedded; worker: rpc, web; \
                 jobWorker: rpc, web, data; apiGateway: rest; an unknown name is a warning). The journal \
                 addresses list every master once, on one port.",
                "Fluid ignores the ports maps and draws every port at random from 26000-32000, and lets a port \
                 property win over the drawn port while its containers and Services still expose the drawn \
                 one. kubectl-goosefs honours both (allocating the others sequentially around them), so a typo, \
                 a disagreement or a collision would make two host-network processes fight for one port, or a \
                 Service point at a port nothing listens on.",
                "master:\n  ports:\n    rpc: 19998\nproperties:\n  goosefs.master.rpc.port: \"29998\"",
                "master:\n  ports:\n    rpc: 19998\n    web: 19999",
            ),
            Code::GFS107 => (
                "Fields with a fixed set of values",
                Severity::Error,
                "imagePullPolicy (spec.goosefsVersion, spec.fuse, spec.initUsers) is Always, IfNotPresent or Never; \
                 a Dataset's accessModes are ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod; \
                 spec.fuse.cleanPolicy is OnDemand or OnRuntimeDeleted (a warning).",
                "Fluid's CRD declares these as free strings, so the API server accepts a typo in the GooseFSRuntime \
                 or Dataset; it surfaces only when the pods or the PersistentVolume are created (rejected), or \
                 never (Fluid acts only on the two clean policies it knows).",
                "goosefsVersion:\n  imagePullPolicy: ifNotPresent",
                "goosefsVersion:\n  imagePullPolicy: IfNotPresent",
            ),
            Code::GFS108 => (
                "Volumes and the masters' journal",
                Severity::Error,
                "spec.volumes and the volumeMounts of master, jobMaster, worker and jobWorker (AlluxioRuntime's \
                 fields; Fluid's GooseFSRuntime lacks them): every mount names a volume of spec.volumes, volume \
                 names are unique and not one the render uses itself (goosefs-journal, backup, tier and ufs- \
                 volumes, ...), and no mount takes a path the render mounts (/journal excepted: a volume there \
                 holds the journal). The API gateway is rendered without volumes: its volumeMounts are refused. Warnings: goosefs.master.journal.folder on no volume at all (the \
                 container's own file system), and a journal on a hostPath volume with several masters.",
                "A mount of an unknown volume or a duplicate name makes the API server reject the StatefulSet \
                 after everything else was created. A journal outside any volume is lost whenever the container \
                 restarts. Each master keeps its journal in <folder>/<its pod name>, so masters can share one \
                 volume, but a hostPath is per node: a master rescheduled onto another node finds no journal \
                 there unless the path is shared storage or the masters are pinned to their nodes.",
                "volumes:\n  - name: journal\n    persistentVolumeClaim: {claimName: goosefs-journal}\nmaster:\n  volumeMounts:\n    - {name: jornal, mountPath: /journal}",
                "volumes:\n  - name: journal\n    persistentVolumeClaim: {claimName: goosefs-journal}\nmaster:\n  volumeMounts:\n    - {name: journal, mountPath: /journal}",
            ),
            Code::GFS201 => (
                "Dataset mounts",
                Severity::Error,
                "Each mountPoint is well formed (a scheme; local:// takes an absolute host path, pvc:// a claim \
                 name, others a host or bucket) and has a scheme the bundled goosefs runtime reads (http, https, \
                 s3, s3a, cos, cosn, oss, hdfs, local, pvc; s3n is read as S3 but is not a GooseFS scheme: a \
                 warning). Mount names and effective paths (path, else /<name>) are unique. A Dataset's only \
                 mount at / (the root UFS) has no encrypted options, and dataRestoreLocation is pvc://<claim>/... \
                 or local://... with nodeName. Datasets bound to another Fluid runtime kind in the same input \
                 are not checked against GooseFS.",
                "Fluid passes any scheme to `goosefs fs mount`, which fails at run time, after the cluster was \
                 created; two mounts on one path shadow each other; root-UFS options become goosefs-site \
                 properties, so secrets would land in a ConfigMap (render refuses); a restore location Fluid \
                 cannot read is ignored, so the masters start empty.",
                "mounts:\n  - mountPoint: ftp://example.com/data\n    name: data\n  - mountPoint: https://example.com/other\n    name: data",
                "mounts:\n  - mountPoint: https://example.com/data\n    name: data\n  - mountPoint: https://example.com/other\n    name: other",
            ),
            Code::GFS202 => (
                "Runtime without Dataset, or Dataset without runtime",
                Severity::Warning,
                "A GooseFSRuntime needs a Dataset of the same name and namespace, and a Dataset is served by a \
                 runtime of the same name and namespace. Checked within the input given.",
                "Fluid waits forever (\"No dataset can be bound to the runtime, waiting.\"); render has \
                 nothing to compile. It is a warning because the partner may already be in the cluster.",
                "kind: GooseFSRuntime\nmetadata:\n  name: hbase\n---\nkind: Dataset\nmetadata:\n  name: hbase-data",
                "kind: GooseFSRuntime\nmetadata:\n  name: hbase\n---\nkind: Dataset\nmetadata:\n  name: hbase",
            ),
            Code::GFS203 => (
                "Credential in plain options",
                Severity::Warning,
                "A key of options or sharedOptions looks like a credential (secret, password, token, \
                 accessKey, credential, private key). The value is never printed.",
                "Plain options are stored in the Dataset and copied into ConfigMaps and pod arguments, \
                 readable by anyone who can read those objects. encryptOptions reads them from a Secret.",
                "options:\n  fs.cos.accessKeySecret: abc123",
                "encryptOptions:\n  - name: fs.cos.accessKeySecret\n    valueFrom:\n      secretKeyRef:\n        name: cos-secret\n        key: secretKey",
            ),
            Code::GFS204 => (
                "Option set twice",
                Severity::Error,
                "An option name appears both in options/sharedOptions and in encryptOptions/sharedEncryptOptions.",
                "Fluid fails the mount with \"the option ... is set more than one times, please double check \
                 the dataset's option and encryptOptions\".",
                "options:\n  fs.cos.accessKeyId: id\nencryptOptions:\n  - name: fs.cos.accessKeyId\n    valueFrom: {secretKeyRef: {name: s, key: id}}",
                "encryptOptions:\n  - name: fs.cos.accessKeyId\n    valueFrom: {secretKeyRef: {name: s, key: id}}",
            ),
            Code::GFS301 => (
                "DataLoad",
                Severity::Error,
                "A DataLoad's Dataset and its GooseFSRuntime are in the input, in the DataLoad's namespace; \
                 target paths are absolute and clean (no . or .., no //, no ':'); replicas are at least 1; \
                 policy Cron has a schedule Kubernetes accepts (five fields or a descriptor such as @daily, \
                 optionally after TZ=). Warnings: a schedule without policy Cron, policy OnEvent (Fluid accepts \
                 it and runs nothing), and loader options GooseFS does not read (it reads atomicCache and \
                 expireTime).",
                "Fluid reports these only once the DataLoad runs (a Failed phase, or a CronJob the API server \
                 rejects); kubectl-goosefs compiles the load into its runtime's objects, so it needs the \
                 runtime in the same input.",
                "kind: DataLoad\nspec:\n  dataset: {name: hbase}\n  policy: Cron\n  schedule: \"0 2 * *\"\n  target:\n    - path: hbase/stable",
                "kind: DataLoad\nspec:\n  dataset: {name: hbase}\n  policy: Cron\n  schedule: \"0 2 * * *\"\n  target:\n    - path: /hbase/stable",
            ),
            Code::GFS302 => (
                "DataBackup",
                Severity::Error,
                "A DataBackup names a Dataset that is in the input with its GooseFSRuntime, in the \
                 DataBackup's namespace, and its backupPath is pvc://<claim>/<path> or local://<path> \
                 (no whitespace, no ..).",
                "Fluid fails such a backup only when it runs; the file lands where a Dataset's \
                 dataRestoreLocation with the same path finds it, so the path must be one it can read.",
                "kind: DataBackup\nspec:\n  dataset: hbase\n  backupPath: /backups/hbase",
                "kind: DataBackup\nspec:\n  dataset: hbase\n  backupPath: pvc://backups/hbase/",
            ),
        };
        CodeDoc {
            code: self,
            title,
            severity,
            what,
            why,
            wrong,
            right,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = String;
    fn from_str(s: &str) -> Result<Code, String> {
        ALL.iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown rule code {s:?}; known codes: {}",
                    ALL.map(Code::as_str).join(", ")
                )
            })
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
