//! Writes on `rw` mounts: the private spool file a new or truncated file is written into, bounded
//! by its file system, and stored in the UFS whole at close; UFS changes (`unlink`, `rmdir`) and
//! telling the leader to list a changed directory again.

use super::*;

/// Whether `w`'s spool may grow to `end` bytes: by no more than its file system has free. Every
/// byte of a spool is uploaded at close, so a write far past the end (a sparse file of
/// terabytes) is refused with `EFBIG` instead of becoming a terabyte upload of zeros.
pub(super) fn spool_may_grow(w: &Writing, end: u64) -> Result<(), Errno> {
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
pub(super) struct Writing {
    pub(super) ino: u64,
    /// GooseFS path.
    pub(super) path: String,
    /// Its path in the UFS, and the UFS.
    pub(super) rel: String,
    pub(super) ufs: Ufs,
    /// An unnamed temporary file (gone with the process).
    pub(super) spool: std::fs::File,
    /// The file's length: the end of the furthest write, or a truncation.
    pub(super) length: AtomicU64,
    /// Changed since last stored.
    pub(super) dirty: AtomicBool,
    /// Writes hold it shared; storing holds it alone, so a store sees every write answered before it.
    pub(super) gate: RwLock<()>,
}

impl GooseFuse {
    pub(super) fn writing_of(&self, fh: u64) -> Option<Arc<Writing>> {
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&fh)
            .cloned()
    }

    /// `ino` open for writing, through any handle.
    pub(super) fn writing_ino(&self, ino: u64) -> Option<Arc<Writing>> {
        self.writing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|w| w.ino == ino)
            .cloned()
    }

    /// The length of `ino` if it is open for writing (the leader does not know it yet).
    pub(super) fn being_written(&self, ino: u64) -> Option<u64> {
        self.writing_ino(ino).map(|w| w.length.load(Ordering::Acquire))
    }

    /// The UFS holding `path` and the path inside it, if it may be changed.
    pub(super) fn writable_ufs(&self, path: &str) -> Result<(Ufs, String), Errno> {
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
    pub(super) fn changed(&self, path: &str) {
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
                node.blocks = None;
            }
        }
    }

    /// Starts writing `path` from empty.
    pub(super) fn start_writing(&self, path: &str) -> Result<(u64, Arc<Writing>), Errno> {
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
    pub(super) fn store_handle(&self, fh: FileHandle) -> Result<(), Errno> {
        self.writing_of(fh.0).map_or(Ok(()), |w| self.store(&w))
    }

    /// Stores a written file in the UFS if it changed since last stored.
    pub(super) fn store(&self, w: &Writing) -> Result<(), Errno> {
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
    pub(super) fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: fuser::ReplyEmpty) {
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
                        .block_on(self.client.list_page(&path, None, 1))
                        .map_err(|e| errno(&e))?;
                    if !entries.entries.is_empty() {
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
}
