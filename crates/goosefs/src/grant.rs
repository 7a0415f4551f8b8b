//! Block grants: the leader's word, checkable by a worker without asking it, that a block id
//! names given bytes of a given UFS file.
//!
//! A worker caches what a reader's request names, so before fetching a block it must know that
//! the id is that file's block at that range (else an authenticated client could store one
//! file's bytes under another's id: cache poisoning). It used to ask the leader for every fetch,
//! a round trip per cold block. Now the leader's block lists carry a grant per block: an
//! HMAC-SHA256 over the binding and an expiry, under a key the leader
//! draws at start and gives only to workers (the worker role, over an authenticated
//! connection). A worker holding the leader's key checks the grant and fetches; a grant it
//! cannot check (another leader's, expired, none) sends it to the leader as before.
//!
//! What a grant does not change: the bytes still come from the UFS file the binding names, and
//! a grant expires ([`TTL`]), so a list kept past a change in the UFS cannot make a worker
//! cache the new bytes under the old version's id for longer than that. With authentication off
//! (`NOSASL`) the leader issues no grants: anyone could ask for the key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;
use ring::rand::SecureRandom as _;

/// How long a grant holds.
pub const TTL: Duration = Duration::from_secs(15 * 60);
/// Bytes of a grant's tag (hex-encoded in a grant).
const TAG_LEN: usize = 32;
/// Bytes of a key.
pub const KEY_LEN: usize = 32;

/// What a grant binds: a block and the UFS bytes it names, until a time.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// Block id.
    pub id: u64,
    /// The file's GooseFS path.
    pub file: &'a str,
    /// Its mount's GooseFS path.
    pub mount: &'a str,
    /// That mount's UFS URI.
    pub ufs: &'a str,
    /// The file's path in the UFS.
    pub path: &'a str,
    /// The block's offset in the file.
    pub offset: u64,
    /// The block's length.
    pub length: u64,
    /// Unix seconds after which the grant no longer holds.
    pub until: u64,
}

impl<'a> Binding<'a> {
    /// The binding block request `r` names, with its grant's expiry.
    pub fn of(r: &'a crate::proto::block::BlockRequest) -> Binding<'a> {
        Binding {
            id: r.id,
            file: &r.file,
            mount: &r.mount,
            ufs: &r.ufs,
            path: &r.path,
            offset: r.block_offset,
            length: r.block_length,
            until: r.until,
        }
    }

    /// The signed bytes: every field, each string after its length, so that no two bindings
    /// read the same.
    fn message(&self) -> Vec<u8> {
        let mut m = b"goosefs-grant-v1".to_vec();
        for text in [self.file, self.mount, self.ufs, self.path] {
            m.extend_from_slice(&(text.len() as u64).to_le_bytes());
            m.extend_from_slice(text.as_bytes());
        }
        for n in [self.id, self.offset, self.length, self.until] {
            m.extend_from_slice(&n.to_le_bytes());
        }
        m
    }
}

/// A grant key (never printed: `Debug` shows none of it).
pub struct Grants {
    key: hmac::Key,
    raw: [u8; KEY_LEN],
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Grants(..)")
    }
}

impl Grants {
    /// A fresh random key (the leader's).
    ///
    /// # Errors
    /// The system's random source failed.
    pub fn generate() -> Result<Grants, ring::error::Unspecified> {
        let mut raw = [0u8; KEY_LEN];
        ring::rand::SystemRandom::new().fill(&mut raw)?;
        Ok(Grants::from_raw(raw))
    }

    fn from_raw(raw: [u8; KEY_LEN]) -> Grants {
        Grants {
            key: hmac::Key::new(hmac::HMAC_SHA256, &raw),
            raw,
        }
    }

    /// The key as the leader sends it to a worker (hex).
    pub fn to_hex(&self) -> String {
        hex(&self.raw)
    }

    /// A key a worker was sent; `None` if it is not [`KEY_LEN`] bytes of hex.
    pub fn from_hex(text: &str) -> Option<Grants> {
        let bytes = unhex(text)?;
        let raw: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Grants::from_raw(raw))
    }

    /// The grant for `binding` (hex).
    pub fn sign(&self, binding: &Binding<'_>) -> String {
        hex(hmac::sign(&self.key, &binding.message()).as_ref())
    }

    /// Whether `grant` is this key's for `binding`, and `binding` has not expired at `now`
    /// (unix seconds). Compared in constant time.
    pub fn holds(&self, binding: &Binding<'_>, grant: &str, now: u64) -> bool {
        if binding.until < now {
            return false;
        }
        let Some(given) = unhex(grant).filter(|g| g.len() == TAG_LEN) else {
            return false;
        };
        hmac::verify(&self.key, &binding.message(), &given).is_ok()
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 2 * KEY_LEN.max(TAG_LEN) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(until: u64) -> Binding<'static> {
        Binding {
            id: 0x8000_0000_0100_0000,
            file: "/hbase/a.bin",
            mount: "/hbase",
            ufs: "https://mirror/hbase/",
            path: "a.bin",
            offset: 0,
            length: 100_000,
            until,
        }
    }

    #[test]
    fn a_grant_holds_for_its_binding_under_its_key_until_it_expires() {
        let grants = Grants::generate().expect("key");
        let b = binding(1_000);
        let grant = grants.sign(&b);
        assert_eq!(grant.len(), 2 * TAG_LEN);
        assert!(grants.holds(&b, &grant, 999));
        assert!(grants.holds(&b, &grant, 1_000));
        assert!(!grants.holds(&b, &grant, 1_001), "expired");
        // The key travels to workers as hex and checks the same grants.
        let worker = Grants::from_hex(&grants.to_hex()).expect("hex key");
        assert!(worker.holds(&b, &grant, 0));
        // Another key (another leader's) does not.
        assert!(!Grants::generate().expect("key").holds(&b, &grant, 0));
        // Any field changed breaks it: another file, range, UFS or a later expiry.
        let changed = [
            Binding { id: b.id + 1, ..b },
            Binding { path: "b.bin", ..b },
            Binding {
                file: "/hbase/b.bin",
                ..b
            },
            Binding {
                ufs: "https://other/",
                ..b
            },
            Binding { mount: "/other", ..b },
            Binding { offset: 1, ..b },
            Binding { length: 99_999, ..b },
            Binding { until: 2_000, ..b },
        ];
        for other in &changed {
            assert!(!grants.holds(other, &grant, 0), "{other:?}");
        }
        // Text cannot be moved from one field to the next.
        let shifted = Binding {
            mount: "/hbasehttps://mirror/hbase/",
            ufs: "",
            ..b
        };
        assert!(!grants.holds(&shifted, &grant, 0));
        // Junk grants and keys are refused, not panicked on.
        for junk in ["", "zz", "0", &"0".repeat(2 * TAG_LEN), &"f".repeat(1000), "é"] {
            assert!(!grants.holds(&b, junk, 0), "{junk}");
        }
        for junk in ["", "zz", "0", &"0".repeat(2 * KEY_LEN - 2), &"f".repeat(1000), "é"] {
            assert!(Grants::from_hex(junk).is_none(), "{junk}");
        }
        assert_eq!(format!("{grants:?}"), "Grants(..)", "the key is never printed");
    }
}
