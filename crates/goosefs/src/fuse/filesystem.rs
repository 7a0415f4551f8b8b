//! The kernel's requests ([`fuser::Filesystem`]), answered from the inode table, the readers and
//! the write spools.

use super::*;

impl Filesystem for GooseFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        if let Some(n) = self.opts.max_readahead {
            let _ = config.set_max_readahead(n);
        }
        // open(O_TRUNC) of an existing file arrives as such, not as a separate truncation that
        // would have to change the UFS before anything is written.
        let _ = config.add_capabilities(fuser::InitFlags::FUSE_ATOMIC_O_TRUNC);
        if self.cached_opens() {
            if config.capabilities().contains(fuser::InitFlags::FUSE_NO_OPEN_SUPPORT) {
                // Opened by the kernel, files keep their pages: pages of a file seen changed
                // (its size or mtime in new attributes) are dropped.
                let inval = config.add_capabilities(fuser::InitFlags::FUSE_AUTO_INVAL_DATA).is_ok();
                tracing::info!(
                    auto_inval_data = inval,
                    "kernel_cache on a read-only mount: the page cache serves warm reads"
                );
                self.passthrough.store(false, Ordering::Relaxed);
            } else {
                tracing::warn!("this kernel cannot open files without asking: every open is a request");
                self.cached_opens.store(false, Ordering::Relaxed);
            }
        }
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
            self.looked_up(ino);
            return reply.entry(
                &Duration::ZERO,
                &self.attr(ino, &new_file(&path, length)),
                Generation(0),
            );
        }
        match self.info(ino, &path, self.metadata_ttl(self.opts.entry_timeout)) {
            Ok(info) => {
                self.looked_up(ino);
                reply.entry(
                    &self.kernel_ttl(self.opts.entry_timeout),
                    &self.attr(ino, &info),
                    Generation(0),
                );
            }
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.forgotten(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if let Some(length) = self.being_written(ino.0) {
            return reply.attr(&Duration::ZERO, &self.attr(ino.0, &new_file(&path, length)));
        }
        match self.info(ino.0, &path, self.metadata_ttl(self.opts.attr_timeout)) {
            Ok(info) => reply.attr(&self.kernel_ttl(self.opts.attr_timeout), &self.attr(ino.0, &info)),
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
        if self.cached_opens() {
            // The kernel then opens every file itself (no OPEN, FLUSH or RELEASE again), keeps
            // its pages, and sends reads with no handle: see `inode_reader`.
            tracing::info!("kernel_cache on a read-only mount: opens from now on cost no request");
            return reply.error(Errno::ENOSYS);
        }
        match self.reader_of(ino.0, &path) {
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
                // Closing a file opened for reading stores nothing: no FLUSH round trip.
                let mut f = FopenFlags::FOPEN_NOFLUSH;
                if self.opts.kernel_cache {
                    f |= FopenFlags::FOPEN_KEEP_CACHE;
                }
                let counted = if backing.is_some() {
                    &super::COUNTERS.passthrough_opens
                } else {
                    &super::COUNTERS.served_opens
                };
                counted.fetch_add(1, Ordering::Relaxed);
                match backing {
                    // `direct_io` would override passthrough; it keeps no second copy of the
                    // bytes in the page cache, and neither does passthrough.
                    Some(id) => reply.opened_passthrough(FileHandle(fh), f, &id),
                    None if self.opts.direct_io => reply.opened(FileHandle(fh), f | FopenFlags::FOPEN_DIRECT_IO),
                    None => reply.opened(FileHandle(fh), f),
                }
            }
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
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
        // No handle: a file the kernel opened itself (see `open`).
        let open = match open {
            None if fh.0 == 0 && self.cached_opens() => match self.inode_reader(ino) {
                Ok(open) => Some(open),
                Err(e) => return reply.error(e),
            },
            open => open,
        };
        let Some(open) = open else {
            super::count_error(Errno::EBADF);
            return reply.error(Errno::EBADF);
        };
        let started = std::time::Instant::now();
        match self.read_at(&open, offset, u64::from(size)) {
            Ok(data) => {
                let c = &*super::COUNTERS;
                c.read_seconds.observe(started.elapsed());
                c.reads.fetch_add(1, Ordering::Relaxed);
                c.read_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                reply.data(&data);
            }
            Err(e) => {
                super::count_error(e);
                reply.error(e);
            }
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
            Ok((fh, w)) => {
                self.looked_up(w.ino);
                reply.created(
                    &Duration::ZERO,
                    &self.attr(w.ino, &new_file(&path, 0)),
                    Generation(0),
                    FileHandle(fh),
                    FopenFlags::FOPEN_DIRECT_IO,
                );
            }
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
        if self.opts.read_only {
            // Nothing is ever stored: the kernel stops sending flushes.
            return reply.error(Errno::ENOSYS);
        }
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
            Ok(info) => {
                self.looked_up(ino);
                reply.entry(&self.opts.entry_timeout, &self.attr(ino, &info), Generation(0));
            }
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

    fn opendir(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(fh, DirPage::default());
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: fuser::ReplyEmpty) {
        self.dirs.lock().unwrap_or_else(PoisonError::into_inner).remove(&fh.0);
        reply.ok();
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        // Taken out while the leader is asked (no lock held across a request); put back after.
        let mut page = self
            .dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&fh.0)
            .unwrap_or_default();
        // The offset of the next entry to send: past each page sent whole, the next is fetched.
        let mut pos = offset;
        let result = loop {
            if !page.loaded || pos < page.start {
                // The first page (or a seek back): `.` and `..`, then the listing's first names.
                page = DirPage {
                    entries: vec![
                        (ino.0, FileType::Directory, ".".to_owned()),
                        (ino.0, FileType::Directory, "..".to_owned()),
                    ],
                    loaded: true,
                    ..DirPage::default()
                };
                if let Err(e) = self.next_dir_page(&path, &mut page, None) {
                    break Err(e);
                }
            }
            let end = page.start + page.entries.len() as u64;
            let from = usize::try_from(pos.saturating_sub(page.start)).unwrap_or(usize::MAX);
            for (i, (child, kind, name)) in page.entries.iter().enumerate().skip(from) {
                if reply.add(INodeNo(*child), page.start + i as u64 + 1, *kind, name) {
                    // The kernel's buffer is full: it asks again from this offset.
                    break;
                }
                pos = page.start + i as u64 + 1;
            }
            if pos < end {
                break Ok(());
            }
            let Some(after) = page.next.take() else {
                break Ok(());
            };
            page.start = end;
            page.entries.clear();
            if let Err(e) = self.next_dir_page(&path, &mut page, Some(&after)) {
                break Err(e);
            }
        };
        self.dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(fh.0, page);
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
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

impl GooseFuse {
    /// Appends the page of `path`'s listing after `after` to `page`, numbering its inodes.
    fn next_dir_page(&self, path: &str, page: &mut DirPage, after: Option<&str>) -> Result<(), Errno> {
        let listed = self
            .rt
            .block_on(self.client.list_page(path, after, DIR_PAGE))
            .map_err(|e| errno(&e))?;
        for e in &listed.entries {
            let child = self.ino_of(&e.path);
            self.remember(child, e);
            let kind = if e.folder {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            page.entries
                .push((child, kind, e.path.rsplit('/').next().unwrap_or_default().to_owned()));
        }
        page.next = listed.next;
        Ok(())
    }
}
