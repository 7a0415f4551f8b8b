//! How opened files are read: the kernel reads a worker's block file itself (FUSE passthrough)
//! when the file is one local block, else this process serves windows of [`super::WINDOW`] bytes.
//! On a read-only `kernel_cache` mount the kernel opens files itself (no request) and keeps
//! their pages; its reads then name an inode, not an open file ([`GooseFuse::inode_reader`]).

use super::*;

pub(super) struct Open {
    pub(super) reader: FileReader,
    /// The last window read: (offset, bytes).
    pub(super) window: Mutex<Option<(u64, bytes::Bytes)>>,
    pub(super) ino: u64,
}

/// How an inode's open files are read. The kernel does not mix passthrough with other opens of
/// one inode, and every passthrough open of an inode must name the same backing file: so an
/// inode is in one mode while any of its files is open.
pub(super) enum InodeIo {
    /// The kernel reads the block file behind this id itself; the number of open files.
    Passthrough(Arc<fuser::BackingId>, usize),
    /// Read through this process; the number of open files.
    Served(usize),
}

/// Whether `opts` ask for opens the kernel makes alone: a read-only mount with `kernel_cache` and
/// without `direct_io`. A warm open then costs no request, where an OPEN and its RELEASE each wake
/// this process (tens of microseconds on a VM's idle vCPUs).
pub(super) fn wants_cached_opens(opts: &FuseOptions) -> bool {
    opts.read_only && opts.kernel_cache && !opts.direct_io
}

/// A reader kept for an inode's reads that name no open file: the inode, the version (file id and
/// length) it was made for, and the reader with its window.
pub(super) type InodeReader = (u64, Option<(u64, u64)>, Arc<Open>);

/// Readers kept for reads that name no open file (a `kernel_cache` mount's): the most recent
/// ones, so a file's reads share one window and the process holds at most this many windows.
pub(super) const INODE_READERS: usize = 16;

impl GooseFuse {
    /// Whether files are opened by the kernel alone, their pages kept: a read-only mount with
    /// `kernel_cache` and without `direct_io`, on a kernel that can (see [`wants_cached_opens`]).
    pub(super) fn cached_opens(&self) -> bool {
        self.cached_opens.load(Ordering::Relaxed)
    }

    /// A reader of `ino`'s file at `path`: from the block list kept within the metadata cache's
    /// time (no request), else from the leader (the list then kept). Not a list made before this
    /// host's worker registered (pods start in any order): passthrough needs that worker in it.
    pub(super) fn reader_of(&self, ino: u64, path: &str) -> Result<FileReader, Errno> {
        let cached = self.cached_blocks(ino).filter(|(blocks, _)| match &self.locality.host {
            Some(host) => blocks.workers.iter().any(|w| &w.host == host),
            None => !blocks.workers.is_empty(),
        });
        if let Some((blocks, _)) = cached {
            return Ok(FileReader::with_blocks(
                &self.client,
                &self.http,
                path,
                &self.locality,
                FileBlocks::clone(&blocks),
            ));
        }
        match self
            .rt
            .block_on(FileReader::open(&self.client, &self.http, path, &self.locality))
        {
            Ok(reader) => {
                let blocks = Arc::new(self.rt.block_on(reader.file_blocks()));
                self.keep_blocks(ino, blocks);
                Ok(reader)
            }
            Err(crate::reader::ReadError::Master(e)) => {
                super::count_error(errno(&e));
                Err(errno(&e))
            }
            Err(_) => {
                super::count_error(Errno::EIO);
                Err(Errno::EIO)
            }
        }
    }

    /// The reader for a read that names `ino` but no open file: kept among the last
    /// [`INODE_READERS`], and made anew once the inode's file is another version (asked of the
    /// leader again once the kept block list has expired).
    pub(super) fn inode_reader(&self, ino: INodeNo) -> Result<Arc<Open>, Errno> {
        let version = || self.cached_blocks(ino.0).map(|(b, _)| (b.info.id, b.info.length));
        let kept_reader = |version: Option<(u64, u64)>| {
            let mut kept = self.inode_reads.lock().unwrap_or_else(PoisonError::into_inner);
            let i = kept.iter().position(|(i, _, _)| *i == ino.0)?;
            if version.is_some() && kept[i].1 == version {
                return Some(Arc::clone(&kept[i].2));
            }
            kept.remove(i);
            None
        };
        if let Some(open) = version().and_then(|v| kept_reader(Some(v))) {
            return Ok(open);
        }
        let path = self.path_of(ino).ok_or(Errno::ENOENT)?;
        let reader = self.reader_of(ino.0, &path)?;
        let made = version();
        // The same version as the kept reader's (its list had only expired): that one, window
        // and all.
        if let Some(open) = kept_reader(made) {
            return Ok(open);
        }
        // As for passthrough: this host's worker fetches a one-block file whole into its tier and
        // names it, and the reads below take it from there (no bytes over the worker's socket).
        if self.locality.host.is_some() && !self.locality.dirs.is_empty() {
            match self.rt.block_on(reader.local_block()) {
                Ok(Some(local)) => self.keep_local(ino.0, local),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "no local block: reading through the workers"),
            }
        }
        let open = Arc::new(Open {
            reader,
            window: Mutex::new(None),
            ino: ino.0,
        });
        let mut kept = self.inode_reads.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push_back((ino.0, made, Arc::clone(&open)));
        while kept.len() > INODE_READERS {
            kept.pop_front();
        }
        Ok(open)
    }

    /// Registers an open file of `ino` for reading, and how it is read: passthrough (the
    /// backing id to answer with) or through this process (`None`). Passthrough is the inode's
    /// mode while any file of it is open in it; else it is tried for a one-block file whose
    /// block this host's worker holds or fetches, and whose file it vouches for.
    pub(super) fn open_io(&self, ino: u64, reader: &FileReader, reply: &ReplyOpen) -> Option<Arc<fuser::BackingId>> {
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
        let backing = self.backing_file(ino, reader).and_then(|file| match reply.open_backing(&file) {
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

    /// The block file to hand to the kernel for `ino`'s file, if there is one: the one a worker
    /// named for it before while it is still that file, else the one the local worker names now.
    pub(super) fn backing_file(&self, ino: u64, reader: &FileReader) -> Option<std::fs::File> {
        let same = |local: &crate::proto::block::LocalBlock| {
            let file = std::fs::File::open(&local.path).ok()?;
            // Moved down a tier or evicted since the worker checked it: not this file.
            let same = file
                .metadata()
                .is_ok_and(|m| crate::proto::block::file_stamp(&m) == local.stamp);
            same.then_some(file)
        };
        if let Some((_, Some(local))) = self.cached_blocks(ino)
            && let Some(file) = same(&local)
        {
            return Some(file);
        }
        let local = match self.rt.block_on(reader.local_block()) {
            Ok(local) => local?,
            Err(e) => {
                tracing::warn!(error = %e, "no passthrough: reading through the workers");
                return None;
            }
        };
        let file = same(&local)?;
        self.keep_local(ino, local);
        Some(file)
    }

    /// Unregisters an open file of `ino` (the backing id is closed with the inode's last one).
    pub(super) fn release_io(&self, ino: u64) {
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
    pub(super) fn read_at(&self, open: &Open, offset: u64, size: u64) -> Result<bytes::Bytes, Errno> {
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
