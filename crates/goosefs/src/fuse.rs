//! `goosefs fuse --fuse-opts=...`: the GooseFS namespace as a POSIX mount at `$MOUNT_POINT`,
//! through the kernel's FUSE protocol (the fuser crate; no libfuse). Metadata comes from the
//! leader and is kept for the attr/entry timeouts; bytes come through [`crate::reader`]
//! (local tier directories first, then workers) in windows of [`WINDOW`] bytes, so the small
//! reads of a `direct_io` mount do not each cost a request.
//!
//! Mounts are read-only: writes answer `EROFS` (`rw` mounts included: writing through to the UFS
//! is not in this runtime yet). SIGTERM unmounts; a mount point left by a killed process
//! ("transport endpoint is not connected") is detached before mounting again.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, KernelConfig, LockOwner,
    MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, ReplyStatfs, Request,
    SessionACL,
};

use crate::api::{FileInfo, paths};
use crate::client::{ClientError, MasterClient};
use crate::fs::query;
use crate::net::Http;
use crate::reader::{FileReader, Locality};

/// Bytes fetched per read request to the data path.
pub const WINDOW: u64 = 4 << 20;

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

/// The rendered `--fuse-opts`.
#[derive(Debug, Clone, PartialEq)]
pub struct FuseOptions {
    /// `ro` (default) or `rw`.
    pub read_only: bool,
    /// `allow_other`.
    pub allow_other: bool,
    /// `direct_io`: no page cache for file data.
    pub direct_io: bool,
    /// `kernel_cache`: keep the page cache across opens.
    pub kernel_cache: bool,
    /// `max_readahead=N`.
    pub max_readahead: Option<u32>,
    /// `uid=N`, `gid=N`: owner shown for every entry.
    pub uid: Option<u32>,
    /// See `uid`.
    pub gid: Option<u32>,
    /// `attr_timeout=S`.
    pub attr_timeout: Duration,
    /// `entry_timeout=S`.
    pub entry_timeout: Duration,
}

impl FuseOptions {
    /// Parses the arguments after `fuse`: `--fuse-opts=a,b=c` (or `-o a,b`), repeatable.
    ///
    /// # Errors
    /// A malformed option.
    pub fn parse(args: &[String]) -> Result<FuseOptions, String> {
        let mut o = FuseOptions {
            read_only: true,
            allow_other: false,
            direct_io: false,
            kernel_cache: false,
            max_readahead: None,
            uid: None,
            gid: None,
            attr_timeout: Duration::from_secs(1),
            entry_timeout: Duration::from_secs(1),
        };
        let mut lists = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(list) = a.strip_prefix("--fuse-opts=") {
                lists.push(list.to_owned());
            } else if a == "-o" || a == "--fuse-opts" {
                lists.push(it.next().cloned().ok_or("-o needs options")?);
            } else {
                return Err(format!("unexpected argument {a:?} (the mount point is $MOUNT_POINT)"));
            }
        }
        for opt in lists
            .iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let (key, value) = opt.split_once('=').map_or((opt, None), |(k, v)| (k, Some(v)));
            let number = |v: Option<&str>| -> Result<u32, String> {
                v.and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("{opt}: needs a number"))
            };
            let seconds = |v: Option<&str>| -> Result<Duration, String> {
                v.and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("{opt}: needs seconds"))
            };
            match key {
                "ro" => o.read_only = true,
                "rw" => o.read_only = false,
                "allow_other" => o.allow_other = true,
                "direct_io" => o.direct_io = true,
                "kernel_cache" | "auto_cache" => o.kernel_cache = true,
                "max_readahead" => o.max_readahead = Some(number(value)?),
                "uid" => o.uid = Some(number(value)?),
                "gid" => o.gid = Some(number(value)?),
                "attr_timeout" => o.attr_timeout = seconds(value)?,
                "entry_timeout" => o.entry_timeout = seconds(value)?,
                // Options of libfuse's or the kernel's that change nothing here.
                _ => tracing::debug!(option = opt, "fuse option ignored"),
            }
        }
        Ok(o)
    }
}

struct Node {
    path: String,
    info: Option<(FileInfo, Instant)>,
}

/// Inode numbers: by number, by path, and the last one given.
type Nodes = (HashMap<u64, Node>, HashMap<String, u64>, u64);

struct Open {
    reader: FileReader,
    /// The last window read: (offset, bytes).
    window: Mutex<Option<(u64, bytes::Bytes)>>,
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
    next_fh: AtomicU64,
}

fn errno(e: &ClientError) -> Errno {
    match e {
        ClientError::Refused(r) if r.contains("does not exist") => Errno::ENOENT,
        _ => Errno::EIO,
    }
}

fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl GooseFuse {
    fn ino_of(&self, path: &str) -> u64 {
        let mut n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ino) = n.1.get(path) {
            return *ino;
        }
        n.2 += 1;
        let ino = n.2;
        n.0.insert(
            ino,
            Node {
                path: path.to_owned(),
                info: None,
            },
        );
        n.1.insert(path.to_owned(), ino);
        ino
    }

    fn path_of(&self, ino: INodeNo) -> Option<String> {
        let n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        n.0.get(&ino.0).map(|node| node.path.clone())
    }

    fn remember(&self, ino: u64, info: &FileInfo) {
        if let Some(node) = self
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get_mut(&ino)
        {
            node.info = Some((info.clone(), Instant::now()));
        }
    }

    /// A path's metadata: remembered within `ttl`, else from the leader.
    fn info(&self, ino: u64, path: &str, ttl: Duration) -> Result<FileInfo, Errno> {
        if let Some(node) = self.nodes.lock().unwrap_or_else(PoisonError::into_inner).0.get(&ino)
            && let Some((info, at)) = &node.info
            && at.elapsed() < ttl
        {
            return Ok(info.clone());
        }
        let info: FileInfo = self
            .rt
            .block_on(self.client.call::<(), FileInfo>(&query(paths::STAT, path), None))
            .map_err(|e| errno(&e))?;
        self.remember(ino, &info);
        Ok(info)
    }

    fn attr(&self, ino: u64, info: &FileInfo) -> FileAttr {
        let t = system_time(info.mtime_ms);
        FileAttr {
            ino: INodeNo(ino),
            size: info.length,
            blocks: info.length.div_ceil(512),
            atime: t,
            mtime: t,
            ctime: t,
            crtime: t,
            kind: if info.folder {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: if info.folder { 0o755 } else { 0o644 },
            nlink: if info.folder { 2 } else { 1 },
            uid: self.opts.uid.unwrap_or(0),
            gid: self.opts.gid.unwrap_or(0),
            rdev: 0,
            blksize: 1 << 20,
            flags: 0,
        }
    }

    fn child_path(&self, parent: INodeNo, name: &OsStr) -> Option<String> {
        let parent = self.path_of(parent)?;
        let name = name.to_str()?;
        Some(if parent == "/" {
            format!("/{name}")
        } else {
            format!("{parent}/{name}")
        })
    }

    /// The bytes at `offset` (a slice of the window: no copy).
    fn read_at(&self, open: &Open, offset: u64, size: u64) -> Result<bytes::Bytes, Errno> {
        let hit = |w: &Option<(u64, bytes::Bytes)>| {
            w.as_ref().and_then(|(start, bytes)| {
                let end = start + bytes.len() as u64;
                (offset >= *start && (offset + size <= end || end < start + WINDOW && offset <= end)).then(|| {
                    let from = usize::try_from(offset - start).unwrap_or(0);
                    let to = usize::try_from((offset + size).min(end) - start).unwrap_or(0);
                    bytes.slice(from..to)
                })
            })
        };
        if let Some(data) = hit(&open.window.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(data);
        }
        let start = offset - offset % WINDOW;
        let bytes = self
            .rt
            .block_on(open.reader.read(start, WINDOW.max(offset + size - start)))
            .map_err(|e| {
                tracing::error!(error = %e, "read failed");
                Errno::EIO
            })?;
        let window = Some((start, bytes));
        let data = hit(&window).unwrap_or_default();
        *open.window.lock().unwrap_or_else(PoisonError::into_inner) = window;
        Ok(data)
    }
}

impl Filesystem for GooseFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        if let Some(n) = self.opts.max_readahead {
            let _ = config.set_max_readahead(n);
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(path) = self.child_path(parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        let ino = self.ino_of(&path);
        match self.info(ino, &path, self.opts.entry_timeout) {
            Ok(info) => reply.entry(&self.opts.entry_timeout, &self.attr(ino, &info), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        match self.info(ino.0, &path, self.opts.attr_timeout) {
            Ok(info) => reply.attr(&self.opts.attr_timeout, &self.attr(ino.0, &info)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY || flags.0 & libc::O_TRUNC != 0 {
            return reply.error(Errno::EROFS);
        }
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        match self
            .rt
            .block_on(FileReader::open(&self.client, &self.http, &path, &self.locality))
        {
            Ok(reader) => {
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                self.open.lock().unwrap_or_else(PoisonError::into_inner).insert(
                    fh,
                    Arc::new(Open {
                        reader,
                        window: Mutex::new(None),
                    }),
                );
                let mut f = FopenFlags::empty();
                if self.opts.direct_io {
                    f |= FopenFlags::FOPEN_DIRECT_IO;
                }
                if self.opts.kernel_cache {
                    f |= FopenFlags::FOPEN_KEEP_CACHE;
                }
                reply.opened(FileHandle(fh), f);
            }
            Err(crate::reader::ReadError::Master(e)) => reply.error(errno(&e)),
            Err(_) => reply.error(Errno::EIO),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let open = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&fh.0)
            .cloned();
        let Some(open) = open else {
            return reply.error(Errno::EBADF);
        };
        match self.read_at(&open, offset, u64::from(size)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        _flush: bool,
        reply: fuser::ReplyEmpty,
    ) {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&fh.0);
        reply.ok();
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let entries = match self
            .rt
            .block_on(self.client.call::<(), Vec<FileInfo>>(&query(paths::LIST, &path), None))
        {
            Ok(e) => e,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut all = vec![
            (ino.0, FileType::Directory, ".".to_owned()),
            (ino.0, FileType::Directory, "..".to_owned()),
        ];
        for e in &entries {
            let child = self.ino_of(&e.path);
            self.remember(child, e);
            let kind = if e.folder {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            all.push((child, kind, e.path.rsplit('/').next().unwrap_or_default().to_owned()));
        }
        for (i, (child, kind, name)) in all
            .into_iter()
            .enumerate()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        {
            if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let (capacity, used) = match self.rt.block_on(crate::fsdata::workers(&self.client)) {
            Ok(workers) => crate::fsdata::totals(workers.iter().flat_map(|w| &w.tiers)),
            Err(_) => (0, 0),
        };
        let bsize = 4096u64;
        let free = capacity.saturating_sub(used) / bsize;
        reply.statfs(capacity / bsize, free, free, 0, 0, 4096, 255, 4096);
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

/// Mounts at `mount_point` and serves until SIGTERM or SIGINT, then unmounts.
///
/// # Errors
/// [`FuseError`].
pub async fn run(conf: &goosefs_conf::Conf, args: &[String], mount_point: &str) -> Result<(), FuseError> {
    let opts = FuseOptions::parse(args).map_err(FuseError::Usage)?;
    let client_cfg = crate::config::ClientConfig::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?;
    let locality = Locality::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?;
    recover_stale(mount_point);
    // The manifests mount the mount point's parent (a hostPath); the mount point itself is the
    // FUSE process's to create, as GooseFS's own launcher does.
    std::fs::create_dir_all(mount_point).map_err(|source| FuseError::Mount {
        path: mount_point.to_owned(),
        source,
    })?;
    let mut options = vec![
        MountOption::FSName("goosefs".to_owned()),
        MountOption::Subtype("goosefs".to_owned()),
        MountOption::NoDev,
        MountOption::NoSuid,
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
    config.n_threads = Some(4);
    let fs = GooseFuse {
        rt: tokio::runtime::Handle::current(),
        client: MasterClient::new(&client_cfg),
        http: Http::default(),
        locality,
        opts,
        nodes: Mutex::new((HashMap::new(), HashMap::new(), 1)),
        open: Mutex::default(),
        next_fh: AtomicU64::new(1),
    };
    fs.nodes.lock().unwrap_or_else(PoisonError::into_inner).0.insert(
        1,
        Node {
            path: "/".to_owned(),
            info: None,
        },
    );
    fs.nodes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .1
        .insert("/".to_owned(), 1);
    let mount = |source| FuseError::Mount {
        path: mount_point.to_owned(),
        source,
    };
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
    fn rendered_fuse_options_parse() {
        let o =
            FuseOptions::parse(&["--fuse-opts=ro,direct_io,allow_other,max_readahead=0".to_owned()]).expect("parse");
        assert!(o.read_only && o.direct_io && o.allow_other && !o.kernel_cache);
        assert_eq!(o.max_readahead, Some(0));
        let o = FuseOptions::parse(&[
            "-o".into(),
            "rw,uid=1000,gid=1000,attr_timeout=7200,kernel_cache".into(),
        ])
        .expect("parse");
        assert!(!o.read_only && o.kernel_cache);
        assert_eq!(
            (o.uid, o.gid, o.attr_timeout),
            (Some(1000), Some(1000), Duration::from_secs(7200))
        );
        assert!(FuseOptions::parse(&["--fuse-opts=uid=x".into()]).is_err());
        assert!(FuseOptions::parse(&["/mnt".into()]).is_err());
    }
}
