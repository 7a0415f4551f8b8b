//! What each process reads from its configuration ([`goosefs_conf::Conf`], built from the
//! rendered ConfigMap's `GOOSEFS_*_JAVA_OPTS` and the container's environment): the master's
//! identity, ports and journal, and the addresses clients try.

use std::path::PathBuf;
use std::time::Duration;

use goosefs_conf::duration::Interval;
use goosefs_conf::journal::Address;
use goosefs_conf::ports::PortRole;
use goosefs_conf::{Conf, keys};

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A property is set to something unusable.
    #[error(transparent)]
    Property(#[from] goosefs_conf::opts::ConfError),
    /// A property needed here is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// This master is not in the journal addresses.
    #[error(
        "goosefs.master.hostname={host} with journal port {port} is not in goosefs.master.embedded.journal.addresses ({list})"
    )]
    NotAMember {
        /// Own host name.
        host: String,
        /// Own journal port.
        port: u16,
        /// The list.
        list: String,
    },
    /// The declared mounts cannot be read.
    #[error(transparent)]
    Declared(#[from] goosefs_conf::mounts::DeclaredError),
}

/// The journal kinds GooseFS knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalType {
    /// Raft between the masters.
    Embedded,
    /// One master, its journal in a folder.
    Ufs,
}

/// A master's settings.
#[derive(Debug, Clone)]
pub struct MasterConfig {
    /// `goosefs.master.hostname`.
    pub hostname: String,
    /// `goosefs.master.bind.host` (default 0.0.0.0).
    pub bind_host: String,
    /// RPC port.
    pub rpc_port: u16,
    /// Web port.
    pub web_port: u16,
    /// Journal type.
    pub journal_type: JournalType,
    /// Journal folder.
    pub journal_folder: PathBuf,
    /// Embedded journal port.
    pub journal_port: u16,
    /// Every master's journal address, in order; this master is `members[id]`.
    pub members: Vec<Address>,
    /// This master's Raft id.
    pub id: u64,
    /// The root mount's UFS.
    pub root_ufs: String,
    /// Entries between snapshots.
    pub snapshot_entries: u64,
    /// A follower hearing nothing for a random time in `election_timeout` campaigns (ms); the
    /// leader's lease is the max.
    pub election_timeout: (u64, u64),
    /// `goosefs.user.block.size.bytes.default`: block size of files loaded from UFSes.
    pub block_size: u64,
    /// `goosefs.user.file.metadata.sync.interval`: how long a UFS listing is trusted (`-1`:
    /// loaded once).
    pub metadata_sync: Interval,
    /// `goosefs.master.worker.timeout`: a worker silent this long is lost.
    pub worker_timeout: Duration,
    /// UFS call settings.
    pub ufs: crate::ufs::UfsSettings,
    /// The runtime's declared mounts ([`goosefs_conf::mounts::ENV`]), which the leader keeps
    /// mounted.
    pub declared: Vec<goosefs_conf::mounts::Declared>,
}

/// GooseFS's (Alluxio's) block size default.
pub const DEFAULT_BLOCK_SIZE: u64 = 64 << 20;
/// GooseFS's `goosefs.master.worker.timeout` default.
const DEFAULT_WORKER_TIMEOUT: Duration = Duration::from_secs(300);

/// `goosefs.master.embedded.journal.election.timeout.min`/`.max`. GooseFS's (Alluxio's) defaults are
/// 10 s and 20 s; ours are 1 s and 2 s, so that a failover takes seconds (Alluxio's own failover
/// tests set 750 ms and 1.5 s).
const ELECTION_MIN: (&str, Duration) = (
    "goosefs.master.embedded.journal.election.timeout.min",
    Duration::from_secs(1),
);
const ELECTION_MAX: (&str, Duration) = (
    "goosefs.master.embedded.journal.election.timeout.max",
    Duration::from_secs(2),
);

/// GooseFS's default journal folder when nothing sets it.
const DEFAULT_JOURNAL_FOLDER: &str = "/opt/goosefs/journal";
/// GooseFS's `goosefs.master.journal.checkpoint.period.entries` default.
const DEFAULT_SNAPSHOT_ENTRIES: i64 = 2_000_000;

/// Where this master keeps its journal. With several masters it is `<folder>/<hostname>`, so
/// masters whose folder is one shared volume (an RWX claim, a host path on nodes that share a
/// disk) never open each other's journal, and a master rescheduled anywhere finds its own.
fn journal_folder(conf: &Conf, journal_type: JournalType, hostname: &str) -> Result<PathBuf, ConfigError> {
    let folder = PathBuf::from(conf.get_or(keys::MASTER_JOURNAL_FOLDER, DEFAULT_JOURNAL_FOLDER));
    if journal_type == JournalType::Ufs {
        return Ok(folder);
    }
    // The host name becomes a path component: a DNS name or an address, nothing that climbs.
    let safe = !hostname.is_empty()
        && !hostname.starts_with('.')
        && hostname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if !safe {
        return Err(goosefs_conf::opts::ConfError {
            key: keys::MASTER_HOSTNAME.to_owned(),
            value: hostname.to_owned(),
            reason: "not a host name or address (it names this master's journal folder)".to_owned(),
        }
        .into());
    }
    Ok(folder.join(hostname))
}

impl MasterConfig {
    /// Reads a master's settings.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn from_conf(conf: &Conf) -> Result<MasterConfig, ConfigError> {
        let hostname = conf
            .get(keys::MASTER_HOSTNAME)
            .ok_or(ConfigError::Missing(keys::MASTER_HOSTNAME))?
            .to_owned();
        let journal_port = conf.port(PortRole::MasterEmbedded)?;
        let journal_type = match conf
            .get_or(keys::MASTER_JOURNAL_TYPE, "UFS")
            .to_ascii_uppercase()
            .as_str()
        {
            "EMBEDDED" => JournalType::Embedded,
            "UFS" => JournalType::Ufs,
            _ => {
                return Err(goosefs_conf::opts::ConfError {
                    key: keys::MASTER_JOURNAL_TYPE.to_owned(),
                    value: conf.get_or(keys::MASTER_JOURNAL_TYPE, "").to_owned(),
                    reason: "not EMBEDDED or UFS".to_owned(),
                }
                .into());
            }
        };
        let own = Address {
            host: hostname.clone(),
            port: journal_port,
        };
        let members = match (journal_type, conf.addresses(keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES)?) {
            (JournalType::Embedded, Some(list)) => list,
            _ => vec![own.clone()],
        };
        // This master is the entry with its host name; the port must match too when several
        // masters share a host (tests, one node).
        let id = members
            .iter()
            .position(|a| a == &own)
            .or_else(|| {
                let same_host: Vec<usize> = (0..members.len()).filter(|i| members[*i].host == own.host).collect();
                (same_host.len() == 1).then(|| same_host[0])
            })
            .ok_or_else(|| ConfigError::NotAMember {
                host: hostname.clone(),
                port: journal_port,
                list: members.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            })?;
        let snapshot_entries =
            conf.integer(keys::MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES, DEFAULT_SNAPSHOT_ENTRIES)?;
        let ms = |(key, default): (&str, Duration)| -> Result<u64, ConfigError> {
            match conf.interval(key, Interval::After(default))? {
                Interval::After(d) if d >= Duration::from_millis(100) => {
                    Ok(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                }
                _ => Err(goosefs_conf::opts::ConfError {
                    key: key.to_owned(),
                    value: conf.get_or(key, "").to_owned(),
                    reason: "must be at least 100ms".to_owned(),
                }
                .into()),
            }
        };
        let election_timeout = (ms(ELECTION_MIN)?, ms(ELECTION_MAX)?);
        if election_timeout.1 <= election_timeout.0 {
            return Err(goosefs_conf::opts::ConfError {
                key: ELECTION_MAX.0.to_owned(),
                value: conf.get_or(ELECTION_MAX.0, "").to_owned(),
                reason: format!("must be more than the min ({} ms)", election_timeout.0),
            }
            .into());
        }
        let block_size = conf
            .bytes(keys::USER_BLOCK_SIZE_BYTES_DEFAULT, DEFAULT_BLOCK_SIZE)?
            .max(1);
        let metadata_sync = conf.interval(keys::USER_FILE_METADATA_SYNC_INTERVAL, Interval::Never)?;
        let worker_timeout = conf.period(keys::MASTER_WORKER_TIMEOUT, DEFAULT_WORKER_TIMEOUT)?;
        Ok(MasterConfig {
            block_size,
            metadata_sync,
            worker_timeout,
            ufs: crate::ufs::UfsSettings::from_conf(conf)?,
            declared: Vec::new(),
            bind_host: conf.get_or(keys::MASTER_BIND_HOST, "0.0.0.0").to_owned(),
            rpc_port: conf.port(PortRole::MasterRpc)?,
            web_port: conf.port(PortRole::MasterWeb)?,
            journal_type,
            journal_folder: journal_folder(conf, journal_type, &hostname)?,
            journal_port,
            id: id as u64,
            root_ufs: conf
                .get_or(keys::MASTER_MOUNT_TABLE_ROOT_UFS, goosefs_conf::fluid::UNDER_FS_STORAGE)
                .to_owned(),
            snapshot_entries: u64::try_from(snapshot_entries.max(1)).unwrap_or(1),
            election_timeout,
            members,
            hostname,
        })
    }

    /// The RPC address of member `i` (its journal host, this configuration's RPC port).
    pub fn rpc_address(&self, i: usize) -> String {
        format!("{}:{}", self.members[i].host, self.rpc_port)
    }
}

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `goosefs.worker.hostname` (the launcher sets it from `GOOSEFS_WORKER_HOSTNAME`).
    pub hostname: String,
    /// `goosefs.worker.bind.host` (default 0.0.0.0).
    pub bind_host: String,
    /// RPC port: block reads.
    pub rpc_port: u16,
    /// Web port.
    pub web_port: u16,
    /// The tiered store.
    pub levels: Vec<goosefs_conf::tier::Level>,
    /// How often the worker reports to the leader (`goosefs.worker.block.heartbeat.interval`).
    pub heartbeat: Duration,
    /// Its client of the masters.
    pub client: ClientConfig,
    /// UFS call settings.
    pub ufs: crate::ufs::UfsSettings,
}

impl WorkerConfig {
    /// Reads a worker's settings.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn from_conf(conf: &Conf) -> Result<WorkerConfig, ConfigError> {
        let hostname = conf
            .get(keys::WORKER_HOSTNAME)
            .filter(|h| !h.is_empty())
            .ok_or(ConfigError::Missing(keys::WORKER_HOSTNAME))?
            .to_owned();
        let heartbeat = conf.period("goosefs.worker.block.heartbeat.interval", Duration::from_secs(1))?;
        Ok(WorkerConfig {
            hostname,
            bind_host: conf.get_or("goosefs.worker.bind.host", "0.0.0.0").to_owned(),
            rpc_port: conf.port(PortRole::WorkerRpc)?,
            web_port: conf.port(PortRole::WorkerWeb)?,
            levels: goosefs_conf::tier::levels(conf)?,
            heartbeat,
            client: ClientConfig::from_conf(conf)?,
            ufs: crate::ufs::UfsSettings::from_conf(conf)?,
        })
    }
}

/// Where clients find the job masters: `goosefs.job.master.rpc.addresses`, else the masters'
/// hosts (the job master runs beside each master) with `goosefs.job.master.rpc.port`.
///
/// # Errors
/// [`ConfigError`].
pub fn job_masters(conf: &Conf, client: &ClientConfig) -> Result<Vec<String>, ConfigError> {
    if let Some(list) = conf.addresses("goosefs.job.master.rpc.addresses")? {
        return Ok(list.iter().map(ToString::to_string).collect());
    }
    let port = conf.port(PortRole::JobMasterRpc)?;
    Ok(client
        .masters
        .iter()
        .map(|m| format!("{}:{port}", m.rsplit_once(':').map_or(m.as_str(), |(h, _)| h)))
        .collect())
}

/// Where clients find the masters.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Master RPC addresses, in order.
    pub masters: Vec<String>,
    /// How long a request is retried (leader changes, no leader yet).
    pub retry_for: Duration,
}

/// GooseFS's `goosefs.user.rpc.retry.max.duration` default.
const DEFAULT_RETRY: Duration = Duration::from_secs(120);

impl ClientConfig {
    /// The master addresses: `goosefs.master.rpc.addresses`, else the journal addresses' hosts
    /// with the RPC port, else the one master's host name.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn from_conf(conf: &Conf) -> Result<ClientConfig, ConfigError> {
        let rpc_port = conf.port(PortRole::MasterRpc)?;
        let masters = if let Some(list) = conf.addresses(keys::MASTER_RPC_ADDRESSES)? {
            list.iter().map(ToString::to_string).collect()
        } else if let Some(list) = conf.addresses(keys::MASTER_EMBEDDED_JOURNAL_ADDRESSES)? {
            list.iter().map(|a| format!("{}:{rpc_port}", a.host)).collect()
        } else {
            let host = conf.get_or(keys::MASTER_HOSTNAME, "localhost");
            vec![format!("{host}:{rpc_port}")]
        };
        let retry_for = match conf.interval(keys::USER_RPC_RETRY_MAX_DURATION, Interval::After(DEFAULT_RETRY))? {
            Interval::After(d) => d,
            Interval::Never => Duration::from_secs(u64::from(u32::MAX)),
        };
        Ok(ClientConfig { masters, retry_for })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Conf {
        Conf::from_properties(pairs.iter().copied())
    }

    #[test]
    fn a_master_finds_itself_in_the_journal_addresses() {
        let c = conf(&[
            ("goosefs.master.hostname", "hbase-master-1"),
            ("goosefs.master.journal.type", "EMBEDDED"),
            ("goosefs.master.embedded.journal.port", "26009"),
            ("goosefs.master.rpc.port", "26000"),
            (
                "goosefs.master.embedded.journal.addresses",
                "hbase-master-0:26009,hbase-master-1:26009,hbase-master-2:26009",
            ),
        ]);
        let m = MasterConfig::from_conf(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.id, 1);
        assert_eq!(m.rpc_address(2), "hbase-master-2:26000");
        assert_eq!(m.bind_host, "0.0.0.0");
        assert_eq!(m.election_timeout, (1000, 2000));
        let mut fast = c.clone();
        fast.set("goosefs.master.embedded.journal.election.timeout.min", "750ms");
        fast.set("goosefs.master.embedded.journal.election.timeout.max", "1500ms");
        assert_eq!(
            MasterConfig::from_conf(&fast).map(|m| m.election_timeout).ok(),
            Some((750, 1500))
        );
        fast.set("goosefs.master.embedded.journal.election.timeout.max", "500ms");
        let e = MasterConfig::from_conf(&fast)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("must be more than the min (750 ms)"), "{e}");
        let client = ClientConfig::from_conf(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            client.masters,
            ["hbase-master-0:26000", "hbase-master-1:26000", "hbase-master-2:26000"]
        );
    }

    #[test]
    fn masters_of_a_quorum_keep_their_journals_apart_in_one_folder() {
        let mut c = conf(&[
            ("goosefs.master.hostname", "hbase-master-1"),
            ("goosefs.master.journal.type", "EMBEDDED"),
            ("goosefs.master.journal.folder", "/journal"),
            (
                "goosefs.master.embedded.journal.addresses",
                "hbase-master-0:1,hbase-master-1:1",
            ),
        ]);
        let folder = |c: &Conf| MasterConfig::from_conf(c).map(|m| m.journal_folder);
        assert_eq!(folder(&c).ok(), Some(PathBuf::from("/journal/hbase-master-1")));
        c.set("goosefs.master.hostname", "..");
        c.set("goosefs.master.embedded.journal.addresses", "..:1");
        assert!(folder(&c).is_err(), "a host name that climbs out of the folder");
        // One master: the folder itself, as GooseFS keeps it.
        let solo = conf(&[
            ("goosefs.master.hostname", "10.0.0.7"),
            ("goosefs.master.journal.folder", "/j"),
        ]);
        assert_eq!(folder(&solo).ok(), Some(PathBuf::from("/j")));
    }

    #[test]
    fn a_stranger_is_refused_with_the_list() {
        let c = conf(&[
            ("goosefs.master.hostname", "other"),
            ("goosefs.master.journal.type", "EMBEDDED"),
            ("goosefs.master.embedded.journal.addresses", "a:1,b:1"),
        ]);
        let e = MasterConfig::from_conf(&c)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("goosefs.master.hostname=other") && e.contains("a:1,b:1"),
            "{e}"
        );
    }

    #[test]
    fn a_single_ufs_journal_master_is_member_zero() {
        let c = conf(&[("goosefs.master.hostname", "one-master-0")]);
        let m = MasterConfig::from_conf(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((m.id, m.journal_type, m.members.len()), (0, JournalType::Ufs, 1));
        assert!(MasterConfig::from_conf(&conf(&[])).is_err());
        let client = ClientConfig::from_conf(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.masters, ["one-master-0:19998"]);
    }
}
