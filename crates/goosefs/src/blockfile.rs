//! The block-file format, shared by the worker that writes block files and the readers that
//! open them directly (FUSE's short-circuit reads of its host's tier directories). A block is
//! `<tier dir>/goosefsworker/<id>`, exactly its bytes (so the kernel can read it in FUSE
//! passthrough and `sendfile` can send it), and its checksums: a CRC-32C per 1 MiB chunk then a
//! footer (magic and length), in the file's extended attribute `user.goosefs.crc`, or, on a file
//! system without user attributes, in a file beside it, `<id>.crc`. A block is written under a
//! temporary name, its checksums set (or their file renamed into place first) before it is
//! renamed, so a crash leaves either no block or a whole one.
//!
//! One file, not two, when the attribute can be set: a small file's cold read is mostly such file
//! work (a create and a rename fewer per block, and one open fewer to verify one).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes covered by one checksum.
pub const CHUNK: u64 = 1 << 20;
const MAGIC: &[u8; 8] = b"GFSSUM01";
const FOOTER: u64 = 16;
/// The sub-directory of a tier directory holding blocks (GooseFS's name).
pub const BLOCK_DIR: &str = "goosefsworker";
/// The suffix of a block's checksum file (file systems without user attributes).
pub const SUMS: &str = ".crc";
/// The extended attribute holding a block file's checksums.
pub const SUMS_XATTR: &str = "user.goosefs.crc";

/// A block file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// A block file failed its checksum or footer: dropped.
    #[error("block {id} in {path} is corrupt ({why}): dropped")]
    Corrupt {
        /// Block.
        id: u64,
        /// File.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// Reading or writing a block file failed.
    #[error("block {id}: {source}")]
    Io {
        /// Block.
        id: u64,
        /// Cause.
        source: std::io::Error,
    },
}

/// Size on disk of a block of `length` bytes (its bytes and its checksum file).
pub fn file_size(length: u64) -> u64 {
    // Saturating: a length from the network is bounded before it gets here
    // (`BlockRequest::check`), and a quota sum must never wrap round to room.
    length
        .saturating_add(length.div_ceil(CHUNK).saturating_mul(4))
        .saturating_add(FOOTER)
}

/// The path of block `id` in tier directory `dir`.
pub fn block_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(BLOCK_DIR).join(id.to_string())
}

/// The checksum file beside block file `data`.
pub fn sums_path(data: &Path) -> PathBuf {
    let mut p = data.as_os_str().to_owned();
    p.push(SUMS);
    PathBuf::from(p)
}

/// Removes a block's files, its bytes first (a reader finding bytes without checksums does not
/// use them).
pub fn remove_block(data: &Path) {
    let _ = std::fs::remove_file(data);
    let _ = std::fs::remove_file(sums_path(data));
}

/// The checksums (and footer) of block file `file` at `path`, from its attribute, else from its
/// checksum file; `expected` bytes of them, or why not. Their size is known from the bytes' size:
/// a checksum file of any other size is not read at all (a stray huge file must not be loaded
/// into memory; an attribute is at most 64 KiB).
fn raw_sums(file: &File, path: &Path, expected: u64) -> Result<Vec<u8>, String> {
    use xattr::FileExt as _;
    // Not there, or the file system keeps no user attributes: a checksum file, then.
    if let Ok(Some(raw)) = file.get_xattr(SUMS_XATTR) {
        return match raw.len() as u64 {
            n if n == expected => Ok(raw),
            n => Err(format!("{n} bytes of checksums")),
        };
    }
    let sums_file = sums_path(path);
    match std::fs::metadata(&sums_file) {
        Ok(m) if m.len() == expected => {}
        Ok(m) => return Err(format!("{} bytes of checksums", m.len())),
        Err(e) => return Err(format!("checksums unreadable ({e})")),
    }
    std::fs::read(&sums_file).map_err(|e| format!("checksums unreadable ({e})"))
}

/// Gives block file `file` (at temporary path `tmp`, to be renamed to `dst`) its checksums
/// `raw`: as its attribute, else as a checksum file renamed into place beside `dst` now (before
/// the bytes are: bytes under a block's name always have theirs).
fn set_sums(file: &File, tmp: &Path, dst: &Path, raw: &[u8]) -> std::io::Result<()> {
    use xattr::FileExt as _;
    if file.set_xattr(SUMS_XATTR, raw).is_ok() {
        return Ok(());
    }
    let tmp_sums = sums_path(tmp);
    std::fs::write(&tmp_sums, raw)?;
    std::fs::rename(&tmp_sums, sums_path(dst))
}

/// An open block file and its checksums. Also used by FUSE, which reads the tier directories
/// of its host's worker directly (short-circuit).
#[derive(Debug)]
pub struct BlockFile {
    /// The block's bytes.
    pub file: File,
    /// Its path.
    pub path: PathBuf,
    /// Block id.
    pub id: u64,
    /// Its length.
    pub length: u64,
    sums: Vec<u32>,
}

impl BlockFile {
    /// Opens block `id` at `path` with its checksum file, which must describe a file of its size.
    ///
    /// # Errors
    /// [`BlockError::Io`] (not there) or [`BlockError::Corrupt`] (the two files disagree).
    pub fn open(path: &Path, id: u64) -> Result<BlockFile, BlockError> {
        let file = File::open(path).map_err(|source| BlockError::Io { id, source })?;
        BlockFile::with_file(file, path, id)
    }

    /// [`BlockFile::open`] for block file `file`, already open, at `path`.
    ///
    /// # Errors
    /// As [`BlockFile::open`].
    pub fn with_file(file: File, path: &Path, id: u64) -> Result<BlockFile, BlockError> {
        let corrupt = |why: String| BlockError::Corrupt {
            id,
            path: path.to_owned(),
            why,
        };
        let size = file.metadata().map_err(|source| BlockError::Io { id, source })?.len();
        let raw =
            raw_sums(&file, path, file_size(size) - size).map_err(|why| corrupt(format!("{why} for {size} bytes")))?;
        let footer = raw
            .len()
            .checked_sub(16)
            .map(|at| &raw[at..])
            .filter(|f| &f[..8] == MAGIC)
            .ok_or_else(|| corrupt("no checksum footer".into()))?;
        let mut length = [0u8; 8];
        length.copy_from_slice(&footer[8..]);
        let length = u64::from_le_bytes(length);
        if size != length {
            return Err(corrupt(format!("{size} bytes, checksums for {length}")));
        }
        let sums = raw[..raw.len() - 16]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(BlockFile {
            file,
            path: path.to_owned(),
            id,
            length,
            sums,
        })
    }

    fn corrupt(&self, why: String) -> BlockError {
        BlockError::Corrupt {
            id: self.id,
            path: self.path.clone(),
            why,
        }
    }

    /// Reads chunks `first..` into `buf` (whole chunks, up to its length) and checks them.
    fn read_chunks(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.file
            .read_exact_at(buf, first * CHUNK)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => self.corrupt("shorter than its length".into()),
                _ => BlockError::Io { id: self.id, source: e },
            })?;
        for (i, chunk) in buf.chunks(usize::try_from(CHUNK).unwrap_or(usize::MAX)).enumerate() {
            let n = first + i as u64;
            let want = usize::try_from(n).ok().and_then(|n| self.sums.get(n));
            if want != Some(&crc32c::crc32c(chunk)) {
                return Err(self.corrupt(format!("checksum of chunk {n} differs")));
            }
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset`, checking the checksums of the chunks read (whole chunks
    /// are read for that).
    ///
    /// # Errors
    /// [`BlockError::Corrupt`] or [`BlockError::Io`].
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, BlockError> {
        if offset >= self.length || len == 0 {
            return Ok(Vec::new());
        }
        let end = (offset + len).min(self.length);
        let (first, last) = (offset / CHUNK, (end - 1) / CHUNK);
        let start = first * CHUNK;
        let stop = ((last + 1) * CHUNK).min(self.length);
        let mut data = vec![0u8; usize::try_from(stop - start).map_err(|_| self.corrupt("too large".into()))?];
        self.read_chunks(first, &mut data)?;
        data.truncate(usize::try_from(end - start).unwrap_or(0));
        data.drain(..usize::try_from(offset - start).unwrap_or(0));
        Ok(data)
    }

    /// Checks every chunk, one at a time (for readers that never see the bytes: `sendfile`,
    /// FUSE passthrough).
    ///
    /// # Errors
    /// [`BlockError::Corrupt`] or [`BlockError::Io`].
    pub fn verify(&self) -> Result<(), BlockError> {
        let mut buf = vec![0u8; usize::try_from(CHUNK.min(self.length)).unwrap_or(0)];
        for first in 0..self.length.div_ceil(CHUNK) {
            let n = (self.length - first * CHUNK).min(CHUNK);
            let part = &mut buf[..usize::try_from(n).unwrap_or(0)];
            self.read_chunks(first, part)?;
        }
        Ok(())
    }
}

/// Writes a block incrementally: bytes into one temporary file, checksums into another, both
/// renamed into place at the end.
pub struct BlockWriter {
    file: File,
    tmp: PathBuf,
    sums: Vec<u8>,
    /// Running CRC and length of the current chunk.
    crc: u32,
    chunk_len: u64,
    written: u64,
}

impl BlockWriter {
    /// A new temporary block file in tier directory `dir`, with room for the block's `length`
    /// bytes allocated.
    ///
    /// Allocating up front: a full file system refuses the block before a byte of it is fetched,
    /// a block lands in contiguous extents (one seek to read it back from a disk once out of the
    /// page cache), and ext4 skips delayed allocation's per-block reservations (`dd` of 256 MiB
    /// files in 408 KiB pieces here: 5.4-5.9 against 2.4-4.3 GB/s; tmpfs the same either way; a
    /// cold read, whose writer thread is not its bottleneck, no faster). File systems without
    /// `fallocate` are written as before.
    ///
    /// # Errors
    /// The create or allocation error (the file is removed).
    pub fn create(dir: &Path, id: u64, length: u64) -> std::io::Result<BlockWriter> {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir
            .join(BLOCK_DIR)
            .join(format!(".tmp-{id}-{}-{nonce}", std::process::id()));
        let file = File::create(&tmp)?;
        if let Ok(len) = i64::try_from(length)
            && len > 0
        {
            match nix::fcntl::fallocate(&file, nix::fcntl::FallocateFlags::empty(), 0, len) {
                Ok(()) | Err(nix::errno::Errno::EOPNOTSUPP) => {}
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        }
        Ok(BlockWriter {
            file,
            tmp,
            sums: Vec::new(),
            crc: 0,
            chunk_len: 0,
            written: 0,
        })
    }

    /// A new temporary block file in tier directory `dir` holding `bytes`, the whole block:
    /// written at once, so nothing is allocated first.
    ///
    /// # Errors
    /// The create or write error (the file is removed).
    pub fn whole(dir: &Path, id: u64, bytes: &[u8]) -> std::io::Result<BlockWriter> {
        let mut writer = BlockWriter::create(dir, id, 0)?;
        if let Err(e) = writer.write(bytes) {
            writer.abort();
            return Err(e);
        }
        Ok(writer)
    }

    /// The temporary file (readable while it is written).
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// The write error.
    pub fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(bytes, self.written)?;
        self.written += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = usize::try_from(CHUNK - self.chunk_len).unwrap_or(usize::MAX);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.crc = crc32c::crc32c_append(self.crc, now);
            self.chunk_len += now.len() as u64;
            if self.chunk_len == CHUNK {
                self.sums.extend_from_slice(&self.crc.to_le_bytes());
                (self.crc, self.chunk_len) = (0, 0);
            }
            bytes = rest;
        }
        Ok(())
    }

    /// Sets the checksums and renames the file to `final_path` (see [`set_sums`]); the block
    /// file's stamp as renamed (from the open file: no second lookup of the name).
    ///
    /// # Errors
    /// The write or rename error (the temporary files are removed).
    pub fn finish(mut self, final_path: &Path) -> std::io::Result<crate::proto::block::FileStamp> {
        let result = (|| {
            if self.chunk_len > 0 {
                self.sums.extend_from_slice(&self.crc.to_le_bytes());
            }
            // The file holds exactly the bytes written (passthrough readers read to its end),
            // whatever was allocated.
            if self.file.metadata()?.len() != self.written {
                self.file.set_len(self.written)?;
            }
            let mut tail = std::mem::take(&mut self.sums);
            tail.extend_from_slice(MAGIC);
            tail.extend_from_slice(&self.written.to_le_bytes());
            set_sums(&self.file, &self.tmp, final_path, &tail)?;
            std::fs::rename(&self.tmp, final_path)?;
            Ok(crate::proto::block::file_stamp(&self.file.metadata()?))
        })();
        if result.is_err() {
            remove_block(&self.tmp);
        }
        result
    }

    /// Drops the temporary file.
    pub fn abort(self) {
        remove_block(&self.tmp);
    }
}

/// Moves block `src` (with its checksums) into tier directory `dir`: renamed when on the same
/// file system, else copied under a temporary name, synced and renamed (never a torn block under
/// its name), and the source removed.
pub fn move_block(src: &Path, dir: &Path, id: u64) -> std::io::Result<()> {
    let dst = block_path(dir, id);
    // A checksum file, if the block has one, first (an attribute goes with its file).
    let renamed = match std::fs::rename(sums_path(src), sums_path(&dst)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
    .and_then(|()| std::fs::rename(src, &dst));
    match renamed {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
        other => return other,
    }
    let tmp = dir
        .join(BLOCK_DIR)
        .join(format!(".tmp-{id}-{}-move", std::process::id()));
    let copied = (|| {
        let from = File::open(src)?;
        let len = from.metadata()?.len();
        let raw = raw_sums(&from, src, file_size(len) - len).map_err(std::io::Error::other)?;
        std::fs::copy(src, &tmp)?;
        let to = File::options().write(true).open(&tmp)?;
        to.sync_all()?;
        set_sums(&to, &tmp, &dst, &raw)?;
        std::fs::rename(&tmp, &dst)
    })();
    if copied.is_err() {
        remove_block(&tmp);
        return copied;
    }
    remove_block(src);
    Ok(())
}
