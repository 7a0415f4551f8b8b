//! The block protocol on a worker's RPC port: framing (encode and decode, for both sides), the
//! request and its bounds, and what a local open answers.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::path::MAX_PATH;

/// The first bytes of a block-read connection to a worker's RPC port (its `sendfile`
/// protocol); any other first bytes are HTTP.
pub const BLOCK_MAGIC: &[u8; 4] = b"GFSD";

/// The longest request accepted (a query string).
pub const MAX_REQUEST: u32 = 64 << 10;
/// The longest refusal text sent or read.
pub const MAX_REFUSAL: usize = 4096;

/// A request frame: [`BLOCK_MAGIC`], the query's length (big-endian `u32`) and the query.
pub fn encode_request(query: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + query.len());
    frame.extend_from_slice(BLOCK_MAGIC);
    frame.extend_from_slice(&u32::try_from(query.len()).unwrap_or(u32::MAX).to_be_bytes());
    frame.extend_from_slice(query.as_bytes());
    frame
}

/// Reads the next request's query from a connection: `None` when the client closed it between
/// requests.
///
/// # Errors
/// I/O errors, and `InvalidData` for a frame without the magic or over [`MAX_REQUEST`] (the
/// connection cannot carry on).
pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 8];
    match stream.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if &head[..4] != BLOCK_MAGIC || len > MAX_REQUEST {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a block request",
        ));
    }
    let mut query = vec![0u8; len as usize];
    stream.read_exact(&mut query).await?;
    Ok(Some(query))
}

/// The head of an answer carrying `len` bytes: `0` and the length (big-endian `u64`); the
/// bytes follow.
pub fn encode_data_head(len: u64) -> [u8; 9] {
    let mut head = [0u8; 9];
    head[1..].copy_from_slice(&len.to_be_bytes());
    head
}

/// A refusal frame: `1`, the text's length (big-endian `u32`) and the text, cut to
/// [`MAX_REFUSAL`] bytes.
pub fn encode_refusal(why: &str) -> Vec<u8> {
    let mut end = why.len().min(MAX_REFUSAL);
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    let mut frame = vec![1];
    frame.extend_from_slice(&u32::try_from(end).unwrap_or(0).to_be_bytes());
    frame.extend_from_slice(&why.as_bytes()[..end]);
    frame
}

/// Reads one answer: its bytes (at most `max`), or the worker's refusal.
///
/// # Errors
/// I/O errors, and `InvalidData` for more bytes than `max`, a refusal over [`MAX_REFUSAL`] or an
/// unknown status (the connection cannot carry on).
pub async fn read_answer(
    stream: &mut (impl AsyncRead + Unpin),
    max: u64,
) -> std::io::Result<Result<bytes::Bytes, String>> {
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    match stream.read_u8().await? {
        0 => {
            let len = stream.read_u64().await?;
            if len > max {
                return Err(invalid(format!("{len} bytes sent for {max} asked")));
            }
            let mut data = vec![0; usize::try_from(len).map_err(|_| invalid("too long".into()))?];
            stream.read_exact(&mut data).await?;
            Ok(Ok(bytes::Bytes::from(data)))
        }
        1 => {
            let len = usize::try_from(stream.read_u32().await?).unwrap_or(usize::MAX);
            if len > MAX_REFUSAL {
                return Err(invalid("refusal too long".into()));
            }
            let mut why = vec![0; len];
            stream.read_exact(&mut why).await?;
            Ok(Err(String::from_utf8_lossy(&why).into_owned()))
        }
        other => Err(invalid(format!("unknown answer status {other}"))),
    }
}

/// A read of part of a block from a worker, with what it needs to fetch the block from the UFS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRequest {
    /// Block id.
    pub id: u64,
    /// The file's GooseFS path: a worker fetching the block checks with the leader that the
    /// id is this file's block at this range before caching it.
    pub file: String,
    /// The GooseFS path of the file's mount.
    pub mount: String,
    /// That mount's UFS URI (a worker holding another for the mount asks the leader again).
    pub ufs: String,
    /// The file's path inside the mount's UFS.
    pub path: String,
    /// The block's offset in the file.
    pub block_offset: u64,
    /// The block's length.
    pub block_length: u64,
    /// Offset of the read inside the block.
    pub offset: u64,
    /// Bytes to read.
    pub len: u64,
    /// Only make sure it is cached; send no bytes.
    #[serde(default)]
    pub load: bool,
    /// Make sure it is cached by this worker and answer with a [`LocalBlock`] (FUSE on the
    /// worker's host, for passthrough).
    #[serde(default)]
    pub local: bool,
    /// The leader's grant for the binding of `id` to `file` at this range (see
    /// [`crate::grant`]): a worker that can check it fetches without asking the leader.
    #[serde(default)]
    pub grant: String,
    /// Unix seconds until which `grant` holds.
    #[serde(default)]
    pub until: u64,
}

/// The largest block a request may name: far above any block size GooseFS uses (Fluid renders
/// 256MB), and far enough below `u64::MAX` that no size computed from it wraps.
pub const MAX_BLOCK_LENGTH: u64 = 1 << 40;
/// The longest grant a request may carry (they are 64 hex digits).
pub const MAX_GRANT: usize = 64;
/// The most bytes one block read may ask for (clients read pieces of 8 MiB at most; a worker
/// that cannot cache a block holds the asked bytes in memory).
pub const MAX_READ: u64 = 64 << 20;

impl BlockRequest {
    /// The request as the block protocol carries it: a URL query string.
    pub fn to_query(&self) -> String {
        let enc = super::path::percent_encode;
        format!(
            "id={}&file={}&mount={}&ufs={}&path={}&block_offset={}&block_length={}&offset={}&len={}&load={}&local={}&grant={}&until={}",
            self.id,
            enc(&self.file),
            enc(&self.mount),
            enc(&self.ufs),
            enc(&self.path),
            self.block_offset,
            self.block_length,
            self.offset,
            self.len,
            self.load,
            self.local,
            enc(&self.grant),
            self.until
        )
    }

    /// Decodes a request the network sent and checks its bounds ([`BlockRequest::check`]).
    ///
    /// # Errors
    /// Why it is refused, one line starting `invalid:`.
    pub fn decode(query: &[u8]) -> Result<BlockRequest, String> {
        let r = std::str::from_utf8(query)
            .ok()
            .and_then(|q| format!("/?{q}").parse::<axum::http::Uri>().ok())
            .and_then(|uri| axum::extract::Query::<BlockRequest>::try_from_uri(&uri).ok())
            .map(|q| q.0)
            .ok_or_else(|| "invalid: malformed block request".to_owned())?;
        r.check()?;
        Ok(r)
    }

    /// Checks every length and offset with checked arithmetic: the block within `u64` and at
    /// most [`MAX_BLOCK_LENGTH`], the read within the block, bytes asked for at most
    /// [`MAX_READ`] (a `load` or `local` request sends none), paths at most [`MAX_PATH`].
    ///
    /// # Errors
    /// Why it is refused, one line starting `invalid:`.
    pub fn check(&self) -> Result<(), String> {
        let fail = |why: String| Err(format!("invalid: block {}: {why}", self.id));
        if self.block_length > MAX_BLOCK_LENGTH {
            return fail(format!(
                "length {} is over the limit of {MAX_BLOCK_LENGTH}",
                self.block_length
            ));
        }
        if self.block_offset.checked_add(self.block_length).is_none() {
            return fail(format!("offset {} plus length overflows", self.block_offset));
        }
        if self.offset > self.block_length {
            return fail(format!(
                "read offset {} is past the block's {} bytes",
                self.offset, self.block_length
            ));
        }
        if !self.load && !self.local && self.len > MAX_READ {
            return fail(format!("a read of {} bytes is over the limit of {MAX_READ}", self.len));
        }
        if [&self.file, &self.mount, &self.ufs, &self.path]
            .iter()
            .any(|p| p.len() > MAX_PATH)
        {
            return fail(format!("a path over {MAX_PATH} bytes"));
        }
        if self.grant.len() > MAX_GRANT {
            return fail(format!("a grant over {MAX_GRANT} bytes"));
        }
        Ok(())
    }
}

/// FNV-1a, 64 bits: a stable hash (std's hashers are randomised per process). Block and worker
/// ids are derived from it, and readers rank workers by it, so every process must agree.
pub fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What identifies one version of a file: inode, size, modification and change times (seconds
/// and nanoseconds).
pub type FileStamp = (u64, u64, i64, i64, i64, i64);

/// The [`FileStamp`] of a file's metadata.
pub fn file_stamp(m: &std::fs::Metadata) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    (m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
}

/// A block file in a tier directory that its worker has checked whole and vouches for while
/// `stamp` still describes it: what FUSE on the worker's host hands to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalBlock {
    /// The block file's path (the fuse container mounts the tier directories at the same paths).
    pub path: String,
    /// Its identity when checked.
    pub stamp: FileStamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BlockRequest {
        BlockRequest {
            id: 7,
            file: "/hbase/dir/x&y=1.bin".to_owned(),
            mount: "/hbase".to_owned(),
            ufs: "http://h/a b/".to_owned(),
            path: "dir/x&y=1.bin".to_owned(),
            block_offset: 1 << 20,
            block_length: 1 << 20,
            offset: 5,
            len: 100,
            load: false,
            local: false,
            grant: "0123abcd".repeat(8),
            until: 1_700_000_000,
        }
    }

    #[test]
    fn block_requests_round_trip_and_out_of_bounds_ones_are_refused() {
        let r = request();
        assert_eq!(BlockRequest::decode(r.to_query().as_bytes()), Ok(r.clone()));
        let refused = |edit: &dyn Fn(&mut BlockRequest)| {
            let mut bad = r.clone();
            edit(&mut bad);
            BlockRequest::decode(bad.to_query().as_bytes())
                .err()
                .unwrap_or_default()
        };
        assert!(refused(&|b| b.block_length = u64::MAX).contains("over the limit"));
        assert!(refused(&|b| b.block_offset = u64::MAX).contains("overflows"));
        assert!(refused(&|b| b.offset = b.block_length + 1).contains("past the block"));
        assert!(refused(&|b| b.len = MAX_READ + 1).contains("a read of"));
        assert!(refused(&|b| b.path = "x".repeat(MAX_PATH + 1)).contains("a path over"));
        assert!(refused(&|b| b.grant = "0".repeat(MAX_GRANT + 1)).contains("a grant over"));
        // A load or a local open sends no bytes: the whole block may be named.
        let mut load = r.clone();
        load.load = true;
        load.len = MAX_BLOCK_LENGTH;
        load.block_length = MAX_BLOCK_LENGTH;
        load.block_offset = 0;
        assert!(BlockRequest::decode(load.to_query().as_bytes()).is_ok());
        for junk in [&b"\xff\xfe"[..], b"id=x", b"", b"id=1&len=-1"] {
            assert_eq!(
                BlockRequest::decode(junk).err().as_deref(),
                Some("invalid: malformed block request")
            );
        }
    }

    #[tokio::test]
    async fn frames_round_trip_and_bad_ones_stop_the_connection() {
        let query = request().to_query();
        let mut frame = encode_request(&query);
        frame.extend_from_slice(&encode_request("second"));
        let mut wire = &frame[..];
        assert_eq!(read_request(&mut wire).await.ok().flatten(), Some(query.into_bytes()));
        assert_eq!(read_request(&mut wire).await.ok().flatten(), Some(b"second".to_vec()));
        assert!(
            matches!(read_request(&mut wire).await, Ok(None)),
            "a close between requests"
        );
        let mut wrong_magic = encode_request("x");
        wrong_magic[0] = b'X';
        let mut too_long = BLOCK_MAGIC.to_vec();
        too_long.extend_from_slice(&(MAX_REQUEST + 1).to_be_bytes());
        for bad in [wrong_magic, too_long] {
            let err = read_request(&mut &bad[..]).await.err().map(|e| e.kind());
            assert_eq!(err, Some(std::io::ErrorKind::InvalidData));
        }

        let mut answer = encode_data_head(3).to_vec();
        answer.extend_from_slice(b"abc");
        answer.extend_from_slice(&encode_refusal("invalid: no"));
        let mut wire = &answer[..];
        let data = read_answer(&mut wire, 3).await.ok().and_then(Result::ok);
        assert_eq!(data.as_deref(), Some(&b"abc"[..]));
        assert_eq!(
            read_answer(&mut wire, 3).await.ok(),
            Some(Err("invalid: no".to_owned()))
        );
        // More bytes than asked, a refusal over the limit, an unknown status: never taken.
        let mut long = encode_data_head(4).to_vec();
        long.extend_from_slice(b"abcd");
        let mut huge = vec![1];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        for bad in [long, huge, vec![7]] {
            let err = read_answer(&mut &bad[..], 3).await.err().map(|e| e.kind());
            assert_eq!(err, Some(std::io::ErrorKind::InvalidData));
        }
        // A refusal is cut to the limit on a character boundary.
        let cut = encode_refusal(&"é".repeat(MAX_REFUSAL));
        let read = read_answer(&mut &cut[..], 0).await.ok().and_then(Result::err);
        assert_eq!(read.map(|w| w.len()), Some(MAX_REFUSAL));
    }
}
