//! Arguments as the manifests and GooseFS's own CLI write them; every failure maps to one
//! [`ExitStatus`].

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::exit::ExitStatus;

use clap::{Parser, Subcommand};
use goosefs_conf::{Conf, Role};

use crate::client::{ClientError, MasterClient};
use crate::config::{ClientConfig, MasterConfig};
use crate::proto::RefusalKind;

#[derive(Parser)]
#[command(
    name = "goosefs",
    version,
    about = "GooseFS runtime: masters, job services and the goosefs CLI"
)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Runs a master (Raft member of the embedded journal, or alone with the UFS journal).
    #[command(name = "master-only")]
    MasterOnly {
        /// Accepted for the manifests: the journal is never formatted over existing state.
        #[arg(long)]
        no_format: bool,
    },
    /// Runs the job master.
    #[command(name = "job-master")]
    JobMaster,
    /// Runs a worker.
    #[command(name = "worker-only")]
    WorkerOnly {
        /// Accepted for the manifests.
        #[arg(long)]
        no_format: bool,
    },
    /// Runs the job worker.
    #[command(name = "job-worker")]
    JobWorker,
    /// Runs the API gateway.
    Proxy,
    /// Mounts the namespace with FUSE at $MOUNT_POINT (`fuse unmount <path>` detaches one).
    Fuse {
        /// The rendered mount options and arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// File system commands.
    Fs {
        #[command(subcommand)]
        command: FsCommand,
    },
    /// Administration commands.
    Fsadmin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Runs a DataLoad (the pod of its rendered Job: paths and options from the environment)
    /// and writes its status.
    Dataload,
    /// Runs a DataBackup (the pod of its rendered Job: where the file goes from the environment)
    /// and writes its status.
    Databackup,
}

#[derive(Subcommand)]
enum FsCommand {
    /// Prints the leading master and all masters.
    #[command(name = "masterInfo")]
    MasterInfo,
    /// Without arguments, prints the mount table; else mounts a UFS at a path.
    Mount {
        /// Mount read-only.
        #[arg(long)]
        readonly: bool,
        /// Mount shared.
        #[arg(long)]
        shared: bool,
        /// A mount option, `key=value` (repeatable).
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// A mount option whose value is environment variable VAR's (repeatable): the mount Job
        /// passes secret options so, never as process arguments.
        #[arg(long = "option-env", value_name = "KEY=VAR")]
        option_env: Vec<String>,
        /// GooseFS path.
        path: Option<String>,
        /// UFS URI.
        ufs: Option<String>,
    },
    /// Removes a mount.
    Unmount {
        /// GooseFS path.
        path: String,
    },
    /// Creates directories (and their parents).
    Mkdir {
        /// GooseFS paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Lists a directory.
    Ls {
        /// Everything below the directory too.
        #[arg(short = 'R')]
        recursive: bool,
        /// GooseFS path.
        path: String,
    },
    /// Prints the number of files and directories below a path and their bytes.
    Count {
        /// GooseFS path.
        path: String,
    },
    /// Loads a path's metadata from its UFS.
    #[command(name = "loadMetadata")]
    LoadMetadata {
        /// Everything below the path too.
        #[arg(short = 'R')]
        recursive: bool,
        /// Load again what the masters hold, whatever the sync interval.
        #[arg(short = 'F')]
        force: bool,
        /// GooseFS path.
        path: String,
    },
    /// Prints a path's metadata.
    Stat {
        /// GooseFS path.
        path: String,
    },
    /// Prints a file's bytes.
    Cat {
        /// GooseFS path.
        path: String,
    },
    /// Prints the first bytes of a file.
    Head {
        /// Bytes (default 1KB).
        #[arg(short = 'c', default_value = "1KB", value_parser = parse_size)]
        bytes: u64,
        /// GooseFS path.
        path: String,
    },
    /// Prints the last bytes of a file.
    Tail {
        /// Bytes (default 1KB).
        #[arg(short = 'c', default_value = "1KB", value_parser = parse_size)]
        bytes: u64,
        /// GooseFS path.
        path: String,
    },
    /// Copies a file to the local file system.
    #[command(name = "copyToLocal")]
    CopyToLocal {
        /// GooseFS path.
        src: String,
        /// Local path (a directory keeps the name).
        dst: std::path::PathBuf,
    },
    /// Prints the size of files and how much of it is cached.
    Du {
        /// One line: the totals of everything below the path.
        #[arg(short = 's')]
        summary: bool,
        /// GooseFS path.
        path: String,
    },
    /// Drops the cached blocks of files.
    Free {
        /// GooseFS path.
        path: String,
    },
    /// Caches every block of the files under a path.
    Load {
        /// GooseFS path.
        path: String,
    },
    /// Sets the replication levels of a path (Fluid's loader calls it before each load). This
    /// runtime caches one copy of each block: `--max` of 1 or more is accepted and has no
    /// further effect; `--min` above 1 is refused.
    #[command(name = "setReplication")]
    SetReplication {
        /// Most cached copies.
        #[arg(long)]
        max: Option<i64>,
        /// Fewest cached copies.
        #[arg(long)]
        min: Option<i64>,
        /// Everything below the path too.
        #[arg(short = 'R')]
        recursive: bool,
        /// GooseFS path.
        path: String,
    },
    /// Caches every block of the files under a path, over the workers (Fluid's DataLoad).
    #[command(name = "distributedLoad")]
    DistributedLoad {
        /// Replicas (1 is what this runtime keeps).
        #[arg(long, default_value_t = 1)]
        replication: u32,
        /// GooseFS path.
        path: String,
    },
}

fn parse_size(text: &str) -> Result<u64, String> {
    goosefs_conf::size::parse(text).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Prints the cluster summary, or `capacity`: per tier and per worker.
    Report {
        /// `capacity`.
        category: Option<String>,
    },
    /// Backs up the masters' metadata (mount table and namespace) into a gzip file in DIR, on
    /// this machine: `goosefs-backup-<date>-<ms>.gz`. Needs the admin credential.
    Backup {
        /// Where the file goes (made if missing).
        #[arg(default_value = "/goosefs_backups")]
        dir: std::path::PathBuf,
        /// Accepted for GooseFS' scripts (`--local`): the file is always written here.
        #[arg(long)]
        local: bool,
    },
}

/// Why a command ended with a failure exit code.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Property(#[from] goosefs_conf::opts::ConfError),
    #[error(transparent)]
    Master(#[from] crate::master::MasterError),
    #[error(transparent)]
    Service(#[from] crate::services::ServiceError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Worker(#[from] crate::worker::WorkerError),
    #[error(transparent)]
    Data(#[from] crate::fsdata::DataError),
    #[error(transparent)]
    Fuse(#[from] crate::fuse::FuseError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// A daemon's credential cannot be read: it does not start.
    #[error("{0}")]
    Credential(crate::auth::AuthError),
    #[error(transparent)]
    DataLoad(#[from] crate::dataload::DataLoadError),
    #[error(transparent)]
    Backup(#[from] crate::databackup::BackupError),
}

impl Failure {
    fn status(&self) -> ExitStatus {
        use ExitStatus::{Denied, NoLeader, Refused, Unrunnable, Usage};
        match self {
            Failure::Client(ClientError::Refused(r))
            | Failure::Data(crate::fsdata::DataError::Read(crate::reader::ReadError::Master(ClientError::Refused(
                r,
            )))) if matches!(r.kind, RefusalKind::Unauthenticated | RefusalKind::Forbidden) => Denied,
            Failure::Auth(_) => Denied,
            Failure::Client(ClientError::Refused(_)) => Refused,
            Failure::Data(crate::fsdata::DataError::Read(crate::reader::ReadError::Master(
                ClientError::NoLeader { .. },
            ))) => NoLeader,
            Failure::Data(_) => Refused,
            Failure::Client(ClientError::NoLeader { .. } | ClientError::NoJobMaster { .. }) => NoLeader,
            Failure::Usage(_) => Usage,
            Failure::Master(crate::master::MasterError::Raft(_)) => Refused,
            Failure::Config(_)
            | Failure::Property(_)
            | Failure::Master(_)
            | Failure::Service(_)
            | Failure::Worker(_)
            | Failure::Fuse(_)
            | Failure::Credential(_)
            | Failure::Runtime(_) => Unrunnable,
            Failure::DataLoad(crate::dataload::DataLoadError::Usage(_)) => Usage,
            Failure::DataLoad(crate::dataload::DataLoadError::Load {
                source: ClientError::NoLeader { .. } | ClientError::NoJobMaster { .. },
                ..
            }) => NoLeader,
            Failure::DataLoad(_) => Refused,
            Failure::Backup(crate::databackup::BackupError::Usage(_)) => Usage,
            Failure::Backup(crate::databackup::BackupError::Client(ClientError::Refused(r)))
                if matches!(r.kind, RefusalKind::Unauthenticated | RefusalKind::Forbidden) =>
            {
                Denied
            }
            Failure::Backup(crate::databackup::BackupError::Client(ClientError::NoLeader { .. })) => NoLeader,
            Failure::Backup(_) => Refused,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn logging(daemon: bool) {
    let default = if daemon {
        "info,openraft=warn"
    } else {
        "warn,openraft=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOOSEFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// Reads `role`'s configuration and logs what it does not know.
fn conf(role: Role) -> Conf {
    let conf = Conf::from_env(role, &env, &[]);
    for key in conf.unknown_goosefs_keys(&|_| false) {
        tracing::debug!(key, "property kept, not used by this runtime");
    }
    if !conf.jvm_flags.is_empty() {
        tracing::debug!(flags = ?conf.jvm_flags, "JVM flags ignored");
    }
    conf
}

fn options(pairs: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| Failure::Usage(format!("--option {p:?} is not key=value")))
        })
        .collect()
}

/// Reads and installs this process's credential before any connection: a daemon without its
/// key does not start (exit 4); a CLI without one is refused before it asks anything (exit 5).
fn secure(command: &Top) -> Result<(), Failure> {
    use crate::auth::{Process, Role as Signs};
    // The configuration the command reads, and the key it signs with.
    let (role, process) = match command {
        Top::MasterOnly { .. } => (Role::Master, Process::Daemon(Signs::Master)),
        Top::WorkerOnly { .. } => (Role::Worker, Process::Daemon(Signs::Worker)),
        Top::Fuse { .. } => (Role::Fuse, Process::Daemon(Signs::Client)),
        Top::JobMaster => (Role::JobMaster, Process::Daemon(Signs::Client)),
        Top::JobWorker => (Role::JobWorker, Process::Daemon(Signs::Client)),
        Top::Proxy => (Role::Proxy, Process::Daemon(Signs::Client)),
        Top::Fs { .. } | Top::Fsadmin { .. } | Top::Dataload | Top::Databackup => (Role::Client, Process::Cli),
    };
    let conf = Conf::from_env(role, &env, &[]);
    let security = crate::auth::Security::load(&conf, process).map_err(|e| match process {
        Process::Cli => Failure::Auth(e),
        Process::Daemon(_) => Failure::Credential(e),
    })?;
    tracing::debug!(?security, "credential");
    crate::auth::install(security);
    Ok(())
}

async fn run(cli: Cli) -> Result<String, Failure> {
    if !matches!(&cli.command, Top::Fuse { args } if args.first().map(String::as_str) == Some("unmount")) {
        secure(&cli.command)?;
    }
    match cli.command {
        Top::MasterOnly { .. } => {
            let mut cfg = MasterConfig::from_conf(&conf(Role::Master))?;
            cfg.declared = goosefs_conf::mounts::decode(env(goosefs_conf::mounts::ENV).as_deref())
                .map_err(crate::config::ConfigError::from)?;
            crate::master::run(cfg).await?;
            Ok(String::new())
        }
        Top::JobMaster => Ok(crate::services::run(Role::JobMaster, &conf(Role::JobMaster))
            .await
            .map(|()| String::new())?),
        Top::JobWorker => Ok(crate::services::run(Role::JobWorker, &conf(Role::JobWorker))
            .await
            .map(|()| String::new())?),
        Top::Proxy => Ok(crate::services::run(Role::Proxy, &conf(Role::Proxy))
            .await
            .map(|()| String::new())?),
        Top::WorkerOnly { .. } => {
            let cfg = crate::config::WorkerConfig::from_conf(&conf(Role::Worker))?;
            crate::worker::run(cfg).await?;
            Ok(String::new())
        }
        Top::Fuse { args } if args.first().map(String::as_str) == Some("unmount") => {
            let Some(point) = args.get(1) else {
                return Err(Failure::Usage("fuse unmount <mount point>".into()));
            };
            if crate::fuse::unmount(point) {
                Ok(format!("Unmounted {point}\n"))
            } else {
                Err(Failure::Usage(format!("{point} is not mounted")))
            }
        }
        Top::Fuse { args } => {
            let point = env("MOUNT_POINT")
                .filter(|p| !p.is_empty())
                .ok_or_else(|| Failure::Usage("MOUNT_POINT is not set: the rendered DaemonSet sets it".into()))?;
            crate::fuse::run(&conf(Role::Fuse), &args, &point).await?;
            Ok(String::new())
        }
        Top::Fs { command } => {
            let conf = conf(Role::Client);
            let config = ClientConfig::from_conf(&conf)?;
            let client = MasterClient::new(&config);
            let locality = || crate::reader::Locality::from_conf(&conf);
            Ok(match command {
                FsCommand::MasterInfo => crate::fs::master_info(&client, config.retry_for).await?,
                FsCommand::Mount {
                    readonly,
                    shared,
                    options: pairs,
                    option_env,
                    path,
                    ufs,
                } => match (path, ufs) {
                    (None, None) => crate::fs::mounts(&client).await?,
                    (Some(path), Some(ufs)) => {
                        let mut all = options(&pairs)?;
                        for (key, var) in options(&option_env)? {
                            let value = env(&var)
                                .ok_or_else(|| Failure::Usage(format!("--option-env {key}={var}: {var} is not set")))?;
                            all.insert(key, value);
                        }
                        crate::fs::mount(&client, &path, &ufs, readonly, shared, all).await?
                    }
                    _ => {
                        return Err(Failure::Usage(
                            "fs mount needs both <path> and <ufs uri>, or neither".into(),
                        ));
                    }
                },
                FsCommand::Unmount { path } => crate::fs::unmount(&client, &path).await?,
                FsCommand::Mkdir { paths } => crate::fs::mkdir(&client, &paths).await?,
                FsCommand::Ls { recursive, path } => {
                    crate::fs::ls(&client, &path, recursive, &mut std::io::stdout().lock()).await?;
                    String::new()
                }
                FsCommand::Count { path } => crate::fs::count(&client, &path).await?,
                FsCommand::LoadMetadata { recursive, force, path } => {
                    crate::fs::load_metadata(&client, &path, recursive, force).await?
                }
                FsCommand::Stat { path } => crate::fs::stat(&client, &path).await?,
                FsCommand::Cat { path } => {
                    crate::fsdata::cat(&client, &locality()?, &path, None, None).await?;
                    String::new()
                }
                FsCommand::Head { bytes, path } => {
                    crate::fsdata::cat(&client, &locality()?, &path, Some(bytes), None).await?;
                    String::new()
                }
                FsCommand::Tail { bytes, path } => {
                    crate::fsdata::cat(&client, &locality()?, &path, None, Some(bytes)).await?;
                    String::new()
                }
                FsCommand::CopyToLocal { src, dst } => {
                    crate::fsdata::copy_to_local(&client, &locality()?, &src, &dst).await?
                }
                FsCommand::Du { summary, path } => crate::fsdata::du(&client, &path, summary).await?,
                FsCommand::Free { path } => crate::fsdata::free(&client, &path).await?,
                FsCommand::Load { path } => crate::fsdata::load(&client, &path).await?,
                FsCommand::SetReplication { max, min, path, .. } => {
                    if max.is_some_and(|m| m < 1) || min.is_some_and(|m| m > 1) {
                        return Err(Failure::Usage(
                            "setReplication: this runtime caches one copy of each block (--max at least 1, --min at most 1)"
                                .into(),
                        ));
                    }
                    crate::fs::stat(&client, &path).await?;
                    format!(
                        "Changed the replication level of {path}\nreplicationMax: {}, replicationMin: {}\n",
                        max.unwrap_or(-1),
                        min.unwrap_or(0)
                    )
                }
                FsCommand::DistributedLoad { path, .. } => {
                    crate::jobs::distributed_load(&crate::config::job_masters(&conf, &config)?, &path).await?
                }
            })
        }
        Top::Dataload => {
            let conf = conf(Role::Client);
            let config = ClientConfig::from_conf(&conf)?;
            let task = crate::dataload::Task::from_env(&env)?;
            let kube = crate::kubeapi::KubeApi::from_env(&env).map_err(crate::dataload::DataLoadError::from)?;
            let job_masters = crate::config::job_masters(&conf, &config)?;
            Ok(crate::dataload::run(&task, &MasterClient::new(&config), &job_masters, kube.as_ref()).await?)
        }
        Top::Databackup => {
            let config = ClientConfig::from_conf(&conf(Role::Client))?;
            let task = crate::databackup::Task::from_env(&env)?;
            let kube = crate::kubeapi::KubeApi::from_env(&env).map_err(crate::databackup::BackupError::from)?;
            Ok(crate::databackup::run(&task, &MasterClient::new(&config), kube.as_ref()).await?)
        }
        Top::Fsadmin { command } => {
            let config = ClientConfig::from_conf(&conf(Role::Client))?;
            let client = MasterClient::new(&config);
            Ok(match command {
                AdminCommand::Report { category: None } => crate::fs::report(&client).await?,
                AdminCommand::Report { category: Some(c) } if c == "capacity" => {
                    crate::fsdata::report_capacity(&client).await?
                }
                AdminCommand::Report { category: Some(c) } => {
                    return Err(Failure::Usage(format!(
                        "fsadmin report {c}: this runtime reports capacity"
                    )));
                }
                AdminCommand::Backup { dir, local: _ } => crate::databackup::take(&client, &dir, None).await?.text,
            })
        }
    }
}

/// Parses the arguments, runs the command, prints its output, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let daemon = matches!(
        cli.command,
        Top::MasterOnly { .. }
            | Top::WorkerOnly { .. }
            | Top::Fuse { .. }
            | Top::JobMaster
            | Top::JobWorker
            | Top::Proxy
    );
    logging(daemon);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if daemon { 2 } else { 1 })
        .enable_all()
        .build()
        .map_err(Failure::Runtime);
    let result = runtime.and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(text) => {
            print!("{text}");
            ExitStatus::Success.into()
        }
        Err(failure) => {
            eprintln!("goosefs: {failure}");
            failure.status().into()
        }
    }
}
