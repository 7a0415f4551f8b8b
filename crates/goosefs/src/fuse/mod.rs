//! `goosefs fuse --fuse-opts=...`: the GooseFS namespace as a POSIX mount at `$MOUNT_POINT`,
//! through the kernel's FUSE protocol (the fuser crate; no libfuse). Metadata comes from the
//! leader and is kept for the attr/entry timeouts; bytes come through [`crate::reader`]
//! (local tier directories first, then workers) in windows of [`WINDOW`] bytes, so the small
//! reads of a `direct_io` mount do not each cost a request.
//!
//! `ro` mounts answer every change with `EROFS`. `rw` mounts write through to the UFS (GooseFS's
//! CACHE_THROUGH): a file created, or opened with `O_TRUNC`, is written into a private spool file
//! (the kernel may send the pieces of one `write(2)` in any order, to any FUSE thread; a spool
//! takes them where they belong) and stored in the UFS whole when it is closed, so `close(2)`
//! reports a failed store and the UFS never holds half a file. `mkdir`, `unlink`, `rmdir` and
//! `rename` (where the UFS can rename) go to the UFS at once. After each change the leader lists
//! the directory again. A Web UFS, a mount made `--readonly`, or an existing file opened for
//! writing without `O_TRUNC` (GooseFS's FUSE has no random writes either) are refused.
//!
//! SIGTERM unmounts; a mount point left by a killed process ("transport endpoint is not
//! connected") is detached before mounting again.
//!
//! Layout: [`options`] (`--fuse-opts`), [`inodes`] (the inode table), [`passthrough`] (how
//! opened files are read), [`spool`] (writes and UFS changes), [`filesystem`] (the kernel's
//! requests), [`ready`] (the readiness probe); this module holds the state they share and
//! mounts it.

mod filesystem;
mod inodes;
mod options;
mod passthrough;
mod ready;
mod spool;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, KernelConfig, LockOwner,
    MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, ReplyStatfs, Request,
    SessionACL,
};

use crate::client::{ClientError, MasterClient};
use crate::net::Http;
use crate::proto::path::query;
use crate::proto::{FileBlocks, FileInfo, paths};
use crate::reader::{FileReader, Locality};
use crate::ufs::{Ufs, UfsError, UfsSettings};

use inodes::{Node, Nodes, new_file};
pub use options::FuseOptions;
use passthrough::{InodeIo, Open};
use spool::{Writing, spool_may_grow};

/// Bytes fetched per read request to the data path.
pub const WINDOW: u64 = 4 << 20;
/// How long opening a file for writing waits for the release of its passthrough readers.
const RELEASE_WAIT: Duration = Duration::from_secs(1);

/// Why FUSE cannot start.
#[derive(Debug, thiserror::Error)]
pub enum FuseError {
    /// Options or mount point unusable.
    #[error("{0}")]
    Usage(String),
    /// The mount failed.
    #[error("cannot mount at {path}: {source}")]
    Mount {
        /// Mount point.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The mounted file system.
struct GooseFuse {
    rt: tokio::runtime::Handle,
    client: MasterClient,
    http: Http,
    locality: Locality,
    opts: FuseOptions,
    nodes: Mutex<Nodes>,
    open: Mutex<HashMap<u64, Arc<Open>>>,
    /// Whether the kernel opens files alone (see [`passthrough`]): off for good if it cannot.
    cached_opens: AtomicBool,
    /// Readers of files the kernel opened itself, newest last, with the version (file id,
    /// length) each was made for (see [`passthrough`]).
    inode_reads: Mutex<std::collections::VecDeque<passthrough::InodeReader>>,
    /// Inodes with open files, by how they are read.
    io: Mutex<HashMap<u64, InodeIo>>,
    /// Whether passthrough may be tried: a worker and its tier directories on this host, and a
    /// kernel that agreed to it (off for good after the kernel refuses a backing file).
    passthrough: AtomicBool,
    writing: Mutex<HashMap<u64, Arc<Writing>>>,
    /// Open directories: the page of the listing each is reading.
    dirs: Mutex<HashMap<u64, DirPage>>,
    next_fh: AtomicU64,
    ufs_settings: UfsSettings,
}

/// Entries one readdir fetch asks the leader for: an open directory holds one page, whatever
/// the directory's size.
const DIR_PAGE: usize = 1_000;

/// The page of an open directory's listing that readdir is at. Offsets count from the start of
/// the listing (`.` and `..` first), so a readdir of offset N after this page fetches the next.
#[derive(Default)]
struct DirPage {
    /// Offset of `entries[0]`.
    start: u64,
    entries: Vec<(u64, FileType, String)>,
    /// The name the next page starts after; `None` at the end.
    next: Option<String>,
    loaded: bool,
}

impl GooseFuse {
    /// The file system, its inode table holding the root, on the current tokio runtime.
    fn new(client: MasterClient, opts: FuseOptions, locality: Locality, ufs_settings: UfsSettings) -> GooseFuse {
        let root = Node {
            path: "/".to_owned(),
            info: None,
            blocks: None,
            lookups: 0,
        };
        let cached_opens = AtomicBool::new(passthrough::wants_cached_opens(&opts));
        GooseFuse {
            rt: tokio::runtime::Handle::current(),
            client,
            http: Http::default(),
            opts,
            nodes: Mutex::new(([(1, root)].into(), [("/".to_owned(), 1)].into(), 1, inodes::MAX_NODES)),
            open: Mutex::default(),
            cached_opens,
            inode_reads: Mutex::default(),
            io: Mutex::default(),
            passthrough: AtomicBool::new(locality.host.is_some() && !locality.dirs.is_empty()),
            locality,
            writing: Mutex::default(),
            dirs: Mutex::default(),
            next_fh: AtomicU64::new(1),
            ufs_settings,
        }
    }
}

fn errno(e: &ClientError) -> Errno {
    use crate::proto::RefusalKind as K;
    match e {
        ClientError::Refused(r) => match r.kind {
            K::NotFound => Errno::ENOENT,
            K::Exists => Errno::EEXIST,
            K::NotEmpty => Errno::ENOTEMPTY,
            K::Busy => Errno::EBUSY,
            K::Invalid => Errno::EINVAL,
            K::Unauthenticated | K::Forbidden => Errno::EACCES,
            K::Failed => Errno::EIO,
        },
        ClientError::NoLeader { .. } | ClientError::NoJobMaster { .. } => Errno::EIO,
    }
}

/// What a failed UFS change tells the caller (the cause goes to the log, keys never do).
fn ufs_errno(what: &str, path: &str, e: &UfsError) -> Errno {
    match e {
        UfsError::ReadOnly { .. } => Errno::EROFS,
        UfsError::NotFound { .. } => Errno::ENOENT,
        UfsError::Denied { .. } => {
            tracing::error!(path, error = %e, "{what} refused by the UFS");
            Errno::EACCES
        }
        _ => {
            tracing::error!(path, error = %e, "{what} failed");
            Errno::EIO
        }
    }
}

/// Detaches a mount point a killed FUSE process left behind ("transport endpoint is not
/// connected"), so it can be mounted again.
fn recover_stale(mount_point: &str) {
    if let Err(e) = std::fs::metadata(mount_point)
        && e.raw_os_error() == Some(libc::ENOTCONN)
    {
        tracing::warn!(mount_point, "detaching a stale FUSE mount");
        unmount(mount_point);
    }
}

/// Lazily unmounts `mount_point` (the pre-stop hook's `unmount`).
pub fn unmount(mount_point: &str) -> bool {
    nix::mount::umount2(mount_point, nix::mount::MntFlags::MNT_DETACH).is_ok()
}

/// What this FUSE process counts for its `/metrics` (one mount per process, so process-wide).
pub(crate) struct Counters {
    /// `read` calls answered.
    pub reads: AtomicU64,
    /// Bytes they returned.
    pub read_bytes: AtomicU64,
    /// Opens handed to the kernel as passthrough (their reads never reach this process).
    pub passthrough_opens: AtomicU64,
    /// Opens whose reads this process serves.
    pub served_opens: AtomicU64,
    /// Failed opens and reads, by errno.
    pub errors: Mutex<BTreeMap<i32, u64>>,
    /// Each served read's time.
    pub read_seconds: crate::metrics::Histogram,
}

pub(crate) static COUNTERS: std::sync::LazyLock<Counters> = std::sync::LazyLock::new(|| Counters {
    reads: AtomicU64::new(0),
    read_bytes: AtomicU64::new(0),
    passthrough_opens: AtomicU64::new(0),
    served_opens: AtomicU64::new(0),
    errors: Mutex::new(BTreeMap::new()),
    read_seconds: crate::metrics::Histogram::new(crate::metrics::READ_SECONDS),
});

/// Counts a failed open or read.
pub(crate) fn count_error(e: Errno) {
    *COUNTERS
        .errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(e.code())
        .or_default() += 1;
}

/// An errno's symbolic name (`ENOENT`), as the metric's label.
fn errno_name(code: i32) -> String {
    let known = [
        (libc::ENOENT, "ENOENT"),
        (libc::EIO, "EIO"),
        (libc::EACCES, "EACCES"),
        (libc::EBADF, "EBADF"),
        (libc::EROFS, "EROFS"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EINVAL, "EINVAL"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EBUSY, "EBUSY"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
    ];
    known
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| format!("E{code}"), |(_, name)| (*name).to_owned())
}

/// The FUSE process's `/metrics`.
pub fn metrics() -> String {
    use crate::metrics::Kind;
    let c = &*COUNTERS;
    let mut e = crate::metrics::Exposition::new("fuse");
    e.counter(
        "goosefs_fuse_reads_total",
        "Reads this process served.",
        c.reads.load(Ordering::Relaxed),
    );
    e.counter(
        "goosefs_fuse_read_bytes_total",
        "Bytes those reads returned.",
        c.read_bytes.load(Ordering::Relaxed),
    );
    e.family(
        "goosefs_fuse_opens_total",
        Kind::Counter,
        "Opens, by how their reads go: passthrough (the kernel reads the local block file) or served (by this process).",
    );
    e.sample(
        "goosefs_fuse_opens_total",
        &[("mode", "passthrough")],
        c.passthrough_opens.load(Ordering::Relaxed),
    );
    e.sample(
        "goosefs_fuse_opens_total",
        &[("mode", "served")],
        c.served_opens.load(Ordering::Relaxed),
    );
    e.family(
        "goosefs_fuse_errors_total",
        Kind::Counter,
        "Failed opens and reads, by errno.",
    );
    for (code, n) in c
        .errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        e.sample("goosefs_fuse_errors_total", &[("errno", &errno_name(*code))], n);
    }
    e.histogram(
        "goosefs_fuse_read_seconds",
        "Time of each read this process served.",
        &c.read_seconds,
    );
    crate::auth::metrics(&mut e);
    e.finish()
}

/// Serves `/metrics`, `/health` and `/ready` on `goosefs.fuse.web.port`, when set.
async fn serve_web(conf: &goosefs_conf::Conf, readiness: ready::Readiness) -> Result<(), FuseError> {
    let Some(port) = conf.get(goosefs_conf::keys::FUSE_WEB_PORT) else {
        return Ok(());
    };
    let port: u16 = port
        .parse()
        .map_err(|_| FuseError::Usage(format!("{}={port} is not a port", goosefs_conf::keys::FUSE_WEB_PORT)))?;
    let bind = conf.get_or(goosefs_conf::keys::FUSE_WEB_BIND_HOST, "0.0.0.0");
    let listener = crate::net::listen(bind, port, goosefs_conf::keys::FUSE_WEB_PORT)
        .await
        .map_err(|e| FuseError::Usage(e.to_string()))?;
    let routes = axum::Router::new()
        .route("/metrics", axum::routing::get(|| async { metrics() }))
        .route("/health", axum::routing::get(|| async { "ok\n" }))
        .route(
            "/ready",
            axum::routing::get(
                |axum::extract::State(r): axum::extract::State<Arc<ready::Readiness>>| async move {
                    match r.check().await {
                        Ok(()) => (axum::http::StatusCode::OK, "ready\n".to_owned()),
                        Err(why) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                    }
                },
            ),
        )
        .with_state(Arc::new(readiness));
    tokio::spawn(crate::net::serve(listener, crate::auth::Port::Web, routes, None));
    Ok(())
}

/// Mounts at `mount_point` and serves until SIGTERM or SIGINT, then unmounts.
///
/// # Errors
/// [`FuseError`].
pub async fn run(conf: &goosefs_conf::Conf, args: &[String], mount_point: &str) -> Result<(), FuseError> {
    let mut opts = FuseOptions::parse(args).map_err(FuseError::Usage)?;
    let usage = |e: goosefs_conf::opts::ConfError| FuseError::Usage(e.to_string());
    if conf
        .flag(goosefs_conf::keys::USER_METADATA_CACHE_ENABLED, false)
        .map_err(usage)?
    {
        opts.metadata_ttl = conf
            .period(
                goosefs_conf::keys::USER_METADATA_CACHE_EXPIRATION_TIME,
                Duration::from_secs(600),
            )
            .map_err(usage)?;
    }
    let client_cfg = crate::config::ClientConfig::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?;
    let locality = Locality::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?;
    recover_stale(mount_point);
    // The manifests mount the mount point's parent (a hostPath); the mount point itself is the
    // FUSE process's to create, as GooseFS's own launcher does.
    std::fs::create_dir_all(mount_point).map_err(|source| FuseError::Mount {
        path: mount_point.to_owned(),
        source,
    })?;
    // default_permissions: the kernel checks every access against the modes and owners shown
    // (0755 directories, 0644 files, owned by `uid`/`gid` or root), so on a read-write mount an
    // application uid that does not own a file cannot change or delete it.
    let mut options = vec![
        MountOption::FSName("goosefs".to_owned()),
        MountOption::Subtype("goosefs".to_owned()),
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::DefaultPermissions,
    ];
    options.push(if opts.read_only {
        MountOption::RO
    } else {
        MountOption::RW
    });
    let mut config = fuser::Config::default();
    config.mount_options = options;
    config.acl = if opts.allow_other {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    // A cold passthrough open waits for its block's whole fetch: enough threads that lookups,
    // listings and other reads do not queue behind a few of those (a thread's request buffer
    // is only resident as far as requests fill it).
    config.n_threads = Some(16);
    let ufs_settings = crate::ufs::UfsSettings::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?;
    let client = MasterClient::new(&client_cfg);
    let heartbeat = conf
        .period("goosefs.worker.block.heartbeat.interval", Duration::from_secs(1))
        .map_err(usage)?;
    let readiness = ready::Readiness::new(client.clone(), mount_point, heartbeat);
    let fs = GooseFuse::new(client, opts, locality, ufs_settings);
    let mount = |source| FuseError::Mount {
        path: mount_point.to_owned(),
        source,
    };
    serve_web(conf, readiness).await?;
    let session = fuser::Session::new(fs, mount_point, &config).map_err(mount)?;
    let background = session.spawn().map_err(mount)?;
    tracing::info!(mount_point, "mounted");
    crate::signal::terminated().await;
    let mount_point = mount_point.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = background.umount_and_join() {
            tracing::warn!(error = %e, "unmount failed; detaching");
            unmount(&mount_point);
        }
    })
    .await
    .ok();
    tracing::info!("unmounted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_metrics_count_reads_opens_and_errors_by_errno() {
        COUNTERS.reads.fetch_add(2, Ordering::Relaxed);
        COUNTERS.passthrough_opens.fetch_add(1, Ordering::Relaxed);
        COUNTERS.read_seconds.observe(Duration::from_millis(3));
        count_error(Errno::ENOENT);
        count_error(Errno::from_i32(libc::ENOTCONN));
        let text = metrics();
        for family in crate::metrics::families(&text) {
            assert!(
                crate::metrics::EXPORTED.contains(&family.as_str()),
                "{family} is not listed"
            );
        }
        assert!(text.contains(",role=\"fuse\",mode=\"passthrough\"} "), "{text}");
        assert!(text.contains(",role=\"fuse\",errno=\"ENOENT\"} "), "{text}");
        assert!(text.contains(&format!(",errno=\"E{}\"}} ", libc::ENOTCONN)), "{text}");
        assert!(text.contains("# TYPE goosefs_fuse_read_seconds histogram"), "{text}");
    }
}
