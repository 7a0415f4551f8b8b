//! How opened files are read: the kernel reads a worker's block file itself (FUSE passthrough)
//! when the file is one local block, else this process serves windows of [`super::WINDOW`] bytes.

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

impl GooseFuse {
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
