//! Property names both sides use. Ports have their own table in [`crate::ports`]; tier-level
//! keys are built by [`crate::tier::level_key`].

/// Host name a master advertises (and, with several masters, its own entry in the journal
/// addresses).
pub const MASTER_HOSTNAME: &str = "goosefs.master.hostname";
/// Address servers bind (default `0.0.0.0`): lets several masters share one machine.
pub const MASTER_BIND_HOST: &str = "goosefs.master.bind.host";
/// `EMBEDDED` (Raft between the masters) or `UFS` (one master, journal in a folder).
pub const MASTER_JOURNAL_TYPE: &str = "goosefs.master.journal.type";
/// Where a master keeps its journal.
pub const MASTER_JOURNAL_FOLDER: &str = "goosefs.master.journal.folder";
/// `host:port,...` of every master's embedded-journal (Raft) endpoint.
pub const MASTER_EMBEDDED_JOURNAL_ADDRESSES: &str = "goosefs.master.embedded.journal.addresses";
/// The UFS mounted at `/` of the GooseFS namespace.
pub const MASTER_MOUNT_TABLE_ROOT_UFS: &str = "goosefs.master.mount.table.root.ufs";
/// `host:port,...` of the masters' RPC endpoints, for clients (overrides the derived list).
pub const MASTER_RPC_ADDRESSES: &str = "goosefs.master.rpc.addresses";
/// How many journal entries a master keeps before it snapshots and compacts its log.
pub const MASTER_JOURNAL_CHECKPOINT_PERIOD_ENTRIES: &str = "goosefs.master.journal.checkpoint.period.entries";
/// Host name a worker registers with.
pub const WORKER_HOSTNAME: &str = "goosefs.worker.hostname";
/// Memory the worker may use (Fluid: the worker's `requests.memory`).
pub const WORKER_MEMORY_SIZE: &str = "goosefs.worker.memory.size";
/// Number of tier levels.
pub const WORKER_TIEREDSTORE_LEVELS: &str = "goosefs.worker.tieredstore.levels";
/// Host name clients (FUSE, `goosefs fs`) report.
pub const USER_HOSTNAME: &str = "goosefs.user.hostname";
/// Block size of new files.
pub const USER_BLOCK_SIZE_BYTES_DEFAULT: &str = "goosefs.user.block.size.bytes.default";
/// How long UFS metadata a master has loaded stays fresh (`-1`: never reloaded, `0`: always).
pub const USER_FILE_METADATA_SYNC_INTERVAL: &str = "goosefs.user.file.metadata.sync.interval";
/// Whether clients (FUSE) keep the metadata they were given (Fluid's render: `true`).
pub const USER_METADATA_CACHE_ENABLED: &str = "goosefs.user.metadata.cache.enabled";
/// The FUSE process's web port (`/metrics`, `/health`); none when unset (GooseFS's
/// `goosefs.fuse.web.enabled` defaults to off). The render allocates it for our images.
pub const FUSE_WEB_PORT: &str = "goosefs.fuse.web.port";
/// The address the FUSE web port binds (default every address, as the other web ports).
pub const FUSE_WEB_BIND_HOST: &str = "goosefs.fuse.web.bind.host";
/// How long a client keeps metadata it was given (Fluid's render: `2day`).
pub const USER_METADATA_CACHE_EXPIRATION_TIME: &str = "goosefs.user.metadata.cache.expiration.time";
/// Replicas of each block across workers.
pub const USER_FILE_REPLICATION_MAX: &str = "goosefs.user.file.replication.max";
/// Read type: `CACHE` (cache what is read) or `NO_CACHE`.
pub const USER_FILE_READTYPE_DEFAULT: &str = "goosefs.user.file.readtype.default";
/// Write type: `MUST_CACHE`, `CACHE_THROUGH`, `THROUGH`.
pub const USER_FILE_WRITETYPE_DEFAULT: &str = "goosefs.user.file.writetype.default";
/// How long a client keeps retrying a master call.
pub const USER_RPC_RETRY_MAX_DURATION: &str = "goosefs.user.rpc.retry.max.duration";
/// Timeout of web UFS (http/https) requests. The three `n`s are GooseFS's (and Alluxio's) own
/// spelling of the key.
pub const UNDERFS_WEB_CONNECTION_TIMEOUT: &str = "goosefs.underfs.web.connnection.timeout";
/// Link texts that name the parent directory in a web UFS index page (skipped when listing).
pub const UNDERFS_WEB_PARENT_NAMES: &str = "goosefs.underfs.web.parent.names";
/// Page titles that mark a web UFS page as a directory index.
pub const UNDERFS_WEB_TITLES: &str = "goosefs.underfs.web.titles";
/// Hadoop configuration files for hdfs:// mounts.
pub const UNDERFS_HDFS_CONFIGURATION: &str = "goosefs.underfs.hdfs.configuration";
/// How long the leader waits for a worker's heartbeat before it is lost.
pub const MASTER_WORKER_TIMEOUT: &str = "goosefs.master.worker.timeout";
