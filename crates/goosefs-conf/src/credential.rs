//! The runtime's credential: what the Secret `<runtime>-credential` holds, where the pods mount
//! it, and which process signs as which role. `kubectl-goosefs apply` generates it (or a GitOps
//! user provides it); the `goosefs` runtime reads it. Both sides use this module.
//!
//! One Ed25519 key pair per [`Role`]: `<role>.key` is the private key's 32-byte seed,
//! `<role>.pub` the public key, each as base64 text, one key per line. A process signs with the
//! first line of its own role's `.key`, and accepts a peer of role R whose signature verifies with
//! any line of `R.pub`: rotation adds a line, rolls the pods, then drops the old line. Verifiers
//! need no private key, so a pod mounts only the private keys of the roles it plays (see
//! [`Pod::items`]) and cannot claim any other.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Where the rendered manifests mount the Secret in every runtime container.
pub const MOUNT_PATH: &str = "/etc/goosefs/credential";
/// Overrides [`MOUNT_PATH`] (tests, processes outside Kubernetes).
pub const DIR_ENV: &str = "GOOSEFS_CREDENTIAL_DIR";
/// GooseFS's property that turns authentication off (`NOSASL`); any other value, or none, means on.
pub const AUTHENTICATION_TYPE: &str = "goosefs.security.authentication.type";

/// The Secret's name for runtime `runtime`.
pub fn secret_name(runtime: &str) -> String {
    format!("{runtime}-credential")
}

/// What a caller may do (checked by every server; see the runtime's `auth` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A master: Raft and membership with the other masters.
    Master,
    /// A worker: registers and heartbeats with the leader, reads mounts' UFS settings.
    Worker,
    /// FUSE, the job services and the CLI: namespace reads and writes, block reads.
    Client,
    /// The CLI in the masters' pods and the mount Job: also mounts, unmounts and frees.
    Admin,
}

impl Role {
    /// Every role, in wire order.
    pub const ALL: [Role; 4] = [Role::Master, Role::Worker, Role::Client, Role::Admin];

    /// Its name, as in the Secret's item names and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Worker => "worker",
            Role::Client => "client",
            Role::Admin => "admin",
        }
    }

    /// Its byte on the wire.
    pub fn to_wire(self) -> u8 {
        match self {
            Role::Master => 1,
            Role::Worker => 2,
            Role::Client => 3,
            Role::Admin => 4,
        }
    }

    /// The role of a wire byte.
    pub fn from_wire(byte: u8) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.to_wire() == byte)
    }

    /// The item holding its private key seed.
    pub fn key_item(self) -> String {
        format!("{}.key", self.as_str())
    }

    /// The item holding its public keys.
    pub fn pub_item(self) -> String {
        format!("{}.pub", self.as_str())
    }
}

/// The pods that mount the Secret, each with the items it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pod {
    /// Masters (and the job master beside each, which signs as a client). The CLI run in these
    /// pods (`kubectl exec ... goosefs fs mount`) signs as admin.
    Master,
    /// Workers (and the job worker beside each, a client).
    Worker,
    /// FUSE.
    Fuse,
    /// The mount Job.
    MountJob,
    /// A DataLoad's loader (a client of the job master).
    Loader,
    /// A metadata backup's Job (`fsadmin backup` asks for the whole namespace: admin).
    Backup,
}

impl Pod {
    /// The Secret's items this pod mounts: its roles' private keys and every public key.
    pub fn items(self) -> Vec<String> {
        let private: &[Role] = match self {
            Pod::Master => &[Role::Master, Role::Admin, Role::Client],
            Pod::Worker => &[Role::Worker, Role::Client],
            Pod::Fuse => &[Role::Client],
            Pod::MountJob => &[Role::Admin],
            Pod::Loader => &[Role::Client],
            Pod::Backup => &[Role::Admin],
        };
        let mut items: Vec<String> = private.iter().map(|r| r.key_item()).collect();
        items.extend(Role::ALL.iter().map(|r| r.pub_item()));
        items
    }
}

/// A credential that cannot be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The OS's random source failed.
    #[error("the system's random source failed")]
    Random,
    /// An item is not base64 keys of the right length.
    #[error("{item}: line {line} is not a base64 key of {want} bytes")]
    Malformed {
        /// Item name.
        item: String,
        /// 1-based line.
        line: usize,
        /// Expected length.
        want: usize,
    },
}

/// Generates a new credential from the OS's random source: every role's `.key` and `.pub` item,
/// as text (the Secret's `stringData`).
///
/// # Errors
/// [`CredentialError::Random`].
pub fn generate() -> Result<BTreeMap<String, String>, CredentialError> {
    use ring::rand::SecureRandom as _;
    use ring::signature::KeyPair as _;
    let random = ring::rand::SystemRandom::new();
    let mut items = BTreeMap::new();
    for role in Role::ALL {
        let mut seed = [0u8; 32];
        random.fill(&mut seed).map_err(|_| CredentialError::Random)?;
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| CredentialError::Random)?;
        items.insert(role.key_item(), format!("{}\n", STANDARD.encode(seed)));
        items.insert(
            role.pub_item(),
            format!("{}\n", STANDARD.encode(pair.public_key().as_ref())),
        );
    }
    Ok(items)
}

/// The keys of an item's text: one base64 key of `want` bytes per non-empty line.
///
/// # Errors
/// [`CredentialError::Malformed`] naming the line.
pub fn keys(item: &str, text: &str, want: usize) -> Result<Vec<Vec<u8>>, CredentialError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            STANDARD
                .decode(l.trim())
                .ok()
                .filter(|k| k.len() == want)
                .ok_or_else(|| CredentialError::Malformed {
                    item: item.to_owned(),
                    line: i + 1,
                    want,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_credential_has_every_role_and_its_public_key_matches() {
        use ring::signature::KeyPair as _;
        let items = generate().unwrap_or_default();
        assert_eq!(items.len(), 8);
        for role in Role::ALL {
            let seed = keys(&role.key_item(), &items[&role.key_item()], 32).unwrap_or_default();
            let public = keys(&role.pub_item(), &items[&role.pub_item()], 32).unwrap_or_default();
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed[0]);
            assert_eq!(
                pair.map(|p| p.public_key().as_ref().to_vec()).ok(),
                Some(public[0].clone())
            );
            assert_eq!(Role::from_wire(role.to_wire()), Some(role));
        }
        // Two credentials never share a key.
        assert_ne!(generate().unwrap_or_default()["master.key"], items["master.key"]);
        assert_eq!(Role::from_wire(0), None);
    }

    #[test]
    fn items_hold_several_keys_and_bad_lines_are_named() {
        let two = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
        assert_eq!(keys("x.pub", two, 32).map(|k| k.len()).ok(), Some(2));
        let e = keys("x.pub", "AAAA\n", 32).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("x.pub: line 1 is not a base64 key of 32 bytes"));
    }

    #[test]
    fn pods_mount_only_their_own_private_keys() {
        let fuse = Pod::Fuse.items();
        assert!(fuse.contains(&"client.key".to_owned()));
        assert!(
            !fuse
                .iter()
                .any(|i| i == "master.key" || i == "admin.key" || i == "worker.key")
        );
        assert!(
            !Pod::Worker
                .items()
                .iter()
                .any(|i| i == "master.key" || i == "admin.key")
        );
        assert!(
            Pod::MountJob
                .items()
                .iter()
                .all(|i| i == "admin.key" || i.ends_with(".pub"))
        );
        for pod in [Pod::Master, Pod::Worker, Pod::Fuse, Pod::MountJob] {
            assert_eq!(pod.items().iter().filter(|i| i.ends_with(".pub")).count(), 4);
        }
    }
}
