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

use std::collections::HashMap;
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
use crate::proto::{FileInfo, paths};
use crate::reader::{FileReader, Locality};
use crate::ufs::{Ufs, UfsError, UfsSettings};

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
    ino: u64,
}

/// How an inode's open files are read. The kernel does not mix passthrough with other opens of
/// one inode, and every passthrough open of an inode must name the same backing file: so an
/// inode is in one mode while any of its files is open.
enum InodeIo {
    /// The kernel reads the block file behind this id itself; the number of open files.
    Passthrough(Arc<fuser::BackingId>, usize),
    /// Read through this process; the number of open files.
    Served(usize),
}

/// Whether `w`'s spool may grow to `end` bytes: by no more than its file system has free. Every
/// byte of a spool is uploaded at close, so a write far past the end (a sparse file of
/// terabytes) is refused with `EFBIG` instead of becoming a terabyte upload of zeros.
fn spool_may_grow(w: &Writing, end: u64) -> Result<(), Errno> {
    let now = w.length.load(Ordering::Acquire);
    if end <= now {
        return Ok(());
    }
    let free = nix::sys::statvfs::fstatvfs(&w.spool)
        .map(|s| s.blocks_available().saturating_mul(s.fragment_size()))
        .map_err(|_| Errno::EIO)?;
    if end - now > free {
        tracing::warn!(path = %w.path, end, free, "a write past what the spool's file system holds");
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// A file open for writing: kept in a spool file until closed, then stored in the UFS whole.
struct Writing {
    ino: u64,
    /// GooseFS path.
    path: String,
    /// Its path in the UFS, and the UFS.
    rel: String,
    ufs: Ufs,
    /// An unnamed temporary file (gone with the process).
    spool: std::fs::File,
    /// The file's length: the end of the furthest write, or a truncation.
    length: AtomicU64,
    /// Changed since last stored.
    dirty: AtomicBool,
    /// Writes hold it shared; storing holds it alone, so a store sees every write answered before it.
    gate: RwLock<()>,
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
    /// Inodes with open files, by how they are read.
    io: Mutex<HashMap<u64, InodeIo>>,
    /// Whether passthrough may be tried: a worker and its tier directories on this host, and a
    /// kernel that agreed to it (off for good after the kernel refuses a backing file).
    passthrough: AtomicBool,
    writing: Mutex<HashMap<u64, Arc<Writing>>>,
    next_fh: AtomicU64,
    ufs_settings: UfsSettings,
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
        ClientError::NoLeader { .. } => Errno::EIO,
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

/// The metadata of a file being written.
fn new_file(path: &str, length: u64) -> FileInfo {
    FileInfo {
        id: 0,
        path: path.to_owned(),
        folder: false,
        length,
        mtime_ms: crate::proto::now_ms(),
        mount_point: false,
        ufs_path: String::new(),
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

    fn writing_of(&self, fh: u64) -> Option<Arc<Writing>> {
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&fh)
            .cloned()
    }

    /// `ino` open for writing, through any handle.
    fn writing_ino(&self, ino: u64) -> Option<Arc<Writing>> {
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|w| w.ino == ino)
            .cloned()
    }

    /// The length of `ino` if it is open for writing (the leader does not know it yet).
    fn being_written(&self, ino: u64) -> Option<u64> {
        self.writing_ino(ino).map(|w| w.length.load(Ordering::Acquire))
    }

    /// The UFS holding `path` and the path inside it, if it may be changed.
    fn writable_ufs(&self, path: &str) -> Result<(Ufs, String), Errno> {
        let mount: crate::proto::UfsMount = self
            .rt
            .block_on(self.client.call::<(), _>(&query(paths::MOUNT_UFS, path), None))
            .map_err(|e| errno(&e))?;
        if mount.read_only {
            return Err(Errno::EROFS);
        }
        if mount.rel.is_empty() {
            // A mount point (or the root) is the mount table's, not the UFS's.
            return Err(Errno::EBUSY);
        }
        let ufs = Ufs::open(&mount.ufs, &mount.options, &self.ufs_settings).map_err(|e| ufs_errno("open", path, &e))?;
        ufs.check_writable().map_err(|e| ufs_errno("write", path, &e))?;
        Ok((ufs, mount.rel))
    }

    /// Has the leader list `path`'s directory again, and forgets what this mount remembers of it.
    fn changed(&self, path: &str) {
        let parent = crate::proto::path::parent(path).to_owned();
        if let Err(e) = self
            .rt
            .block_on(self.client.call::<(), ()>(&query(paths::SYNC, &parent), Some(&())))
        {
            tracing::warn!(path = %parent, error = %e, "the leader may list the change late");
        }
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        for p in [path, parent.as_str()] {
            if let Some(ino) = nodes.1.get(p).copied()
                && let Some(node) = nodes.0.get_mut(&ino)
            {
                node.info = None;
            }
        }
    }

    /// Starts writing `path` from empty.
    fn start_writing(&self, path: &str) -> Result<(u64, Arc<Writing>), Errno> {
        let ino = self.ino_of(path);
        // The kernel reads it from a block file meanwhile, and would refuse this open anyway. A
        // reader's close(2) returns before its release reaches this process: wait a moment.
        let in_passthrough = || {
            matches!(
                self.io.lock().unwrap_or_else(PoisonError::into_inner).get(&ino),
                Some(InodeIo::Passthrough(..))
            )
        };
        let deadline = Instant::now() + RELEASE_WAIT;
        while in_passthrough() {
            if Instant::now() >= deadline {
                return Err(Errno::EBUSY);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let (ufs, rel) = self.writable_ufs(path)?;
        let spool = tempfile::tempfile().map_err(|e| {
            tracing::error!(error = %e, "cannot make a spool file (TMPDIR)");
            Errno::EIO
        })?;
        let w = Arc::new(Writing {
            ino,
            path: path.to_owned(),
            rel,
            ufs,
            spool,
            length: AtomicU64::new(0),
            // Stored even if nothing is written: creating an empty file is a change.
            dirty: AtomicBool::new(true),
            gate: RwLock::new(()),
        });
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(fh, Arc::clone(&w));
        Ok((fh, w))
    }

    /// [`GooseFuse::store`] for a handle (nothing to do for one open for reading).
    fn store_handle(&self, fh: FileHandle) -> Result<(), Errno> {
        self.writing_of(fh.0).map_or(Ok(()), |w| self.store(&w))
    }

    /// Stores a written file in the UFS if it changed since last stored.
    fn store(&self, w: &Writing) -> Result<(), Errno> {
        let _alone = w.gate.write().unwrap_or_else(PoisonError::into_inner);
        if !w.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let length = w.length.load(Ordering::Acquire);
        if let Err(e) = self.rt.block_on(w.ufs.upload(&w.rel, &w.spool, length)) {
            // Still dirty: the release tries once more.
            w.dirty.store(true, Ordering::Release);
            return Err(ufs_errno("write through", &w.path, &e));
        }
        tracing::info!(path = %w.path, bytes = length, "written through");
        self.changed(&w.path);
        Ok(())
    }

    /// unlink / rmdir: straight to the UFS (a directory only when empty).
    fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: fuser::ReplyEmpty) {
        if self.opts.read_only {
            return reply.error(Errno::EROFS);
        }
        let Some(path) = self.child_path(parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        let removed = self.writable_ufs(&path).and_then(|(ufs, rel)| {
            let info = self.info(self.ino_of(&path), &path, Duration::ZERO)?;
            match (dir, info.folder) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) => {
                    let entries = self
                        .rt
                        .block_on(self.client.call::<(), Vec<FileInfo>>(&query(paths::LIST, &path), None))
                        .map_err(|e| errno(&e))?;
                    if !entries.is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                }
                (false, false) => {}
            }
            self.rt
                .block_on(ufs.delete(&rel, dir))
                .map_err(|e| ufs_errno("delete", &path, &e))
        });
        match removed {
            Ok(()) => {
                self.changed(&path);
                self.forget_path(&path);
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    /// Forgets the inode number of a path that is gone (a new file there gets a new one).
    fn forget_path(&self, path: &str) {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ino) = nodes.1.remove(path) {
            nodes.0.remove(&ino);
        }
    }

    /// After a rename: the kernel keeps the inode numbers of `from` (and what is under it), now
    /// at `to`; whatever `to` was is gone.
    fn move_path(&self, from: &str, to: &str) {
        self.forget_path(to);
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        let moved: Vec<(String, u64)> = nodes
            .1
            .iter()
            .filter(|(p, _)| p.as_str() == from || p.strip_prefix(from).is_some_and(|r| r.starts_with('/')))
            .map(|(p, ino)| (p.clone(), *ino))
            .collect();
        for (old, ino) in moved {
            let new = format!("{to}{}", &old[from.len()..]);
            nodes.1.remove(&old);
            nodes.1.insert(new.clone(), ino);
            if let Some(node) = nodes.0.get_mut(&ino) {
                node.path = new;
                node.info = None;
            }
        }
    }

    /// Registers an open file of `ino` for reading, and how it is read: passthrough (the
    /// backing id to answer with) or through this process (`None`). Passthrough is the inode's
    /// mode while any file of it is open in it; else it is tried for a one-block file whose
    /// block this host's worker holds or fetches, and whose file it vouches for.
    fn open_io(&self, ino: u64, reader: &FileReader, reply: &ReplyOpen) -> Option<Arc<fuser::BackingId>> {
        let registered = |io: &mut HashMap<u64, InodeIo>, new: Option<Arc<fuser::BackingId>>| {
            let mode = io.entry(ino).or_insert_with(|| match new {
                Some(id) => InodeIo::Passthrough(id, 0),
                None => InodeIo::Served(0),
            });
            match mode {
                InodeIo::Passthrough(id, n) => {
                    *n += 1;
                    Some(id.clone())
                }
                InodeIo::Served(n) => {
                    *n += 1;
                    None
                }
            }
        };
        {
            let mut io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
            if io.contains_key(&ino) || !self.passthrough.load(Ordering::Relaxed) {
                return registered(&mut io, None);
            }
        }
        let backing = self.backing_file(reader).and_then(|file| match reply.open_backing(&file) {
            Ok(id) => Some(Arc::new(id)),
            Err(e) => {
                tracing::warn!(error = %e, "the kernel refused a passthrough file: reading through this process from now on");
                self.passthrough.store(false, Ordering::Relaxed);
                None
            }
        });
        // Another open of the inode may have registered meanwhile: its mode wins.
        registered(&mut self.io.lock().unwrap_or_else(PoisonError::into_inner), backing)
    }

    /// The block file to hand to the kernel for `reader`'s file, if there is one.
    fn backing_file(&self, reader: &FileReader) -> Option<std::fs::File> {
        let local = match self.rt.block_on(reader.local_block()) {
            Ok(local) => local?,
            Err(e) => {
                tracing::warn!(error = %e, "no passthrough: reading through the workers");
                return None;
            }
        };
        let file = std::fs::File::open(&local.path).ok()?;
        // Moved down a tier or evicted since the worker checked it: read the ordinary way.
        let same = file
            .metadata()
            .is_ok_and(|m| crate::proto::block::file_stamp(&m) == local.stamp);
        same.then_some(file)
    }

    /// Unregisters an open file of `ino` (the backing id is closed with the inode's last one).
    fn release_io(&self, ino: u64) {
        let mut io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        let last = match io.get_mut(&ino) {
            Some(InodeIo::Passthrough(_, n) | InodeIo::Served(n)) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        };
        if last {
            io.remove(&ino);
        }
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
        // open(O_TRUNC) of an existing file arrives as such, not as a separate truncation that
        // would have to change the UFS before anything is written.
        let _ = config.add_capabilities(fuser::InitFlags::FUSE_ATOMIC_O_TRUNC);
        // Passthrough: the kernel reads local block files itself (Linux 6.9 and later). Depth 2
        // lets block files live on a stacked file system (overlayfs: a container's own disk).
        if self.passthrough.load(Ordering::Relaxed) {
            let agreed = config.add_capabilities(fuser::InitFlags::FUSE_PASSTHROUGH).is_ok()
                && config.set_max_stack_depth(2).is_ok();
            self.passthrough.store(agreed, Ordering::Relaxed);
            tracing::info!(passthrough = agreed, "FUSE passthrough for blocks cached on this host");
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(path) = self.child_path(parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        let ino = self.ino_of(&path);
        if let Some(length) = self.being_written(ino) {
            return reply.entry(
                &Duration::ZERO,
                &self.attr(ino, &new_file(&path, length)),
                Generation(0),
            );
        }
        match self.info(ino, &path, self.opts.entry_timeout) {
            Ok(info) => reply.entry(&self.opts.entry_timeout, &self.attr(ino, &info), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if let Some(length) = self.being_written(ino.0) {
            return reply.attr(&Duration::ZERO, &self.attr(ino.0, &new_file(&path, length)));
        }
        match self.info(ino.0, &path, self.opts.attr_timeout) {
            Ok(info) => reply.attr(&self.opts.attr_timeout, &self.attr(ino.0, &info)),
            Err(e) => reply.error(e),
        }
    }

    /// Truncation of a file open for writing; every other change of attributes (owner, mode,
    /// times: `cp -p`, `touch`) is accepted and not kept, as the UFSes cannot keep them.
    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        if self.opts.read_only {
            return reply.error(Errno::EROFS);
        }
        if let Some(size) = size {
            let w = fh
                .and_then(|fh| self.writing_of(fh.0))
                .or_else(|| self.writing_ino(ino.0));
            // Truncating a file not open for writing would rewrite it in the UFS.
            let Some(w) = w else {
                return reply.error(Errno::EOPNOTSUPP);
            };
            let _shared = w.gate.read().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = spool_may_grow(&w, size) {
                return reply.error(e);
            }
            if let Err(e) = w.spool.set_len(size) {
                tracing::error!(path = %w.path, error = %e, "spool truncation failed");
                return reply.error(Errno::EIO);
            }
            w.length.store(size, Ordering::Release);
            w.dirty.store(true, Ordering::Release);
        }
        self.getattr(req, ino, fh, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY || flags.0 & libc::O_TRUNC != 0 {
            if self.opts.read_only {
                return reply.error(Errno::EROFS);
            }
            // Replacing a file is a write from empty; changing it in place is not supported
            // (the UFS would have to be read back and rewritten whole).
            if flags.0 & libc::O_TRUNC == 0 {
                return reply.error(Errno::EOPNOTSUPP);
            }
            return match self.start_writing(&path) {
                Ok((fh, _)) => reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO),
                Err(e) => reply.error(e),
            };
        }
        match self
            .rt
            .block_on(FileReader::open(&self.client, &self.http, &path, &self.locality))
        {
            Ok(reader) => {
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                let backing = self.open_io(ino.0, &reader, &reply);
                self.open.lock().unwrap_or_else(PoisonError::into_inner).insert(
                    fh,
                    Arc::new(Open {
                        reader,
                        window: Mutex::new(None),
                        ino: ino.0,
                    }),
                );
                let mut f = FopenFlags::empty();
                if self.opts.kernel_cache {
                    f |= FopenFlags::FOPEN_KEEP_CACHE;
                }
                match backing {
                    // `direct_io` would override passthrough; it keeps no second copy of the
                    // bytes in the page cache, and neither does passthrough.
                    Some(id) => reply.opened_passthrough(FileHandle(fh), f, &id),
                    None if self.opts.direct_io => reply.opened(FileHandle(fh), f | FopenFlags::FOPEN_DIRECT_IO),
                    None => reply.opened(FileHandle(fh), f),
                }
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
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&fh.0);
        if let Some(open) = open {
            self.release_io(open.ino);
        }
        let writing = self
            .writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&fh.0);
        // Normally stored by the flush of close(2); a failed store is tried once more here.
        match writing.map(|w| self.store(&w)) {
            Some(Err(e)) => reply.error(e),
            _ => reply.ok(),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: fuser::ReplyCreate,
    ) {
        if self.opts.read_only {
            return reply.error(Errno::EROFS);
        }
        let Some(path) = self.child_path(parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        match self.start_writing(&path) {
            Ok((fh, w)) => reply.created(
                &Duration::ZERO,
                &self.attr(w.ino, &new_file(&path, 0)),
                Generation(0),
                FileHandle(fh),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: fuser::WriteFlags,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: fuser::ReplyWrite,
    ) {
        use std::os::unix::fs::FileExt;
        let Some(w) = self.writing_of(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let _shared = w.gate.read().unwrap_or_else(PoisonError::into_inner);
        let end = offset.checked_add(data.len() as u64);
        if let Err(e) = end.ok_or(Errno::EFBIG).and_then(|end| spool_may_grow(&w, end)) {
            return reply.error(e);
        }
        if let Err(e) = w.spool.write_all_at(data, offset) {
            tracing::error!(path = %w.path, error = %e, "spool write failed");
            return reply.error(if e.raw_os_error() == Some(libc::ENOSPC) {
                Errno::ENOSPC
            } else {
                Errno::EIO
            });
        }
        w.length.fetch_max(offset + data.len() as u64, Ordering::AcqRel);
        w.dirty.store(true, Ordering::Release);
        reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX));
    }

    /// Each close(2): the file is stored in the UFS now, so close reports a failure.
    fn flush(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _lock: LockOwner, reply: fuser::ReplyEmpty) {
        match self.store_handle(fh) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    /// fsync(2) stores the file too: afterwards it is in the UFS.
    fn fsync(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _datasync: bool, reply: fuser::ReplyEmpty) {
        match self.store_handle(fh) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, _mode: u32, _umask: u32, reply: ReplyEntry) {
        if self.opts.read_only {
            return reply.error(Errno::EROFS);
        }
        let Some(path) = self.child_path(parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        let made = self.writable_ufs(&path).and_then(|(ufs, rel)| {
            self.rt
                .block_on(ufs.create_dir(&rel))
                .map_err(|e| ufs_errno("mkdir", &path, &e))
        });
        if let Err(e) = made {
            return reply.error(e);
        }
        self.changed(&path);
        let ino = self.ino_of(&path);
        match self.info(ino, &path, Duration::ZERO) {
            Ok(info) => reply.entry(&self.opts.entry_timeout, &self.attr(ino, &info), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: fuser::ReplyEmpty) {
        self.remove(parent, name, false, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: fuser::ReplyEmpty) {
        self.remove(parent, name, true, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: fuser::RenameFlags,
        reply: fuser::ReplyEmpty,
    ) {
        if self.opts.read_only {
            return reply.error(Errno::EROFS);
        }
        if flags.bits() != 0 {
            // RENAME_NOREPLACE / EXCHANGE cannot be made atomic on a UFS.
            return reply.error(Errno::EINVAL);
        }
        let (Some(from), Some(to)) = (self.child_path(parent, name), self.child_path(newparent, newname)) else {
            return reply.error(Errno::ENOENT);
        };
        let renamed = self.writable_ufs(&from).and_then(|(ufs, from_rel)| {
            let (to_ufs, to_rel) = self.writable_ufs(&to)?;
            if to_ufs.uri() != ufs.uri() {
                // Another mount: mv copies and deletes instead.
                return Err(Errno::EXDEV);
            }
            match self.rt.block_on(ufs.rename(&from_rel, &to_rel)) {
                Ok(true) => Ok(()),
                // Object stores cannot rename; mv falls back to copy and delete on EXDEV.
                Ok(false) => Err(Errno::EXDEV),
                Err(e) => Err(ufs_errno("rename", &from, &e)),
            }
        });
        if let Err(e) = renamed {
            return reply.error(e);
        }
        self.changed(&from);
        self.changed(&to);
        self.move_path(&from, &to);
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
    let fs = GooseFuse {
        rt: tokio::runtime::Handle::current(),
        client: MasterClient::new(&client_cfg),
        http: Http::default(),
        opts,
        nodes: Mutex::new((HashMap::new(), HashMap::new(), 1)),
        open: Mutex::default(),
        io: Mutex::default(),
        passthrough: AtomicBool::new(locality.host.is_some() && !locality.dirs.is_empty()),
        locality,
        writing: Mutex::default(),
        next_fh: AtomicU64::new(1),
        ufs_settings: crate::ufs::UfsSettings::from_conf(conf).map_err(|e| FuseError::Usage(e.to_string()))?,
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
