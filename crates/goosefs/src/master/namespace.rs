//! The journaled master state, as a pure state machine: the mount table and the directories
//! made in GooseFS. (What the UFSes hold and where blocks are cached is not journaled: the
//! leader loads the one and hears the other from the workers, see `master::data`.) Raft orders the [`Command`]s;
//! every master applies the same commands in the same order and so holds the same state. No I/O
//! here: the journal persists the commands and snapshots of this state.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::proto::path::parent;
use crate::proto::{Refusal, Write};

/// A change to the state, journaled before it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Mounts `ufs` at the GooseFS path `path` (which must not exist; its parent must).
    Mount {
        /// GooseFS path.
        path: String,
        /// UFS URI.
        ufs: String,
        /// Read-only mount.
        read_only: bool,
        /// Shared mount.
        shared: bool,
        /// Mount options (`--option k=v`).
        options: BTreeMap<String, String>,
        /// Time of the mount (ms since the epoch), fixed by the leader.
        #[serde(default)]
        mtime_ms: i64,
        /// Made by the leader from the runtime's declared mounts (`master::declared`), which
        /// also unmounts it once no longer declared; a hand mount is never touched.
        #[serde(default)]
        declared: bool,
    },
    /// Removes the mount at `path` and everything below it.
    Unmount {
        /// GooseFS path.
        path: String,
    },
    /// Creates a directory.
    Mkdir {
        /// GooseFS path.
        path: String,
        /// Create missing parents too.
        recursive: bool,
        /// An existing directory is no error.
        exist_ok: bool,
        /// Modification time (ms since the epoch), fixed by the leader so every master stores
        /// the same value.
        mtime_ms: i64,
    },
    /// Client commands journaled as one entry, applied in order, each on its own (group commit:
    /// openraft 0.9 flushes the leader's log once per entry, so the leader packs the writes that
    /// arrive while one entry is being committed into the next).
    Batch(Vec<Command>),
    /// One part of a metadata backup being restored (`master::backup`): taken only by a
    /// namespace that holds nothing yet, or whose restore of this same backup is under way; the
    /// last part completes it, and no backup is restored after that.
    Restore {
        /// The backup restored (its file and creation time), the same in every part.
        backup: String,
        /// Its mounts (in the first part; empty in the others).
        mounts: BTreeMap<String, MountPoint>,
        /// Inodes of this part.
        inodes: BTreeMap<String, Inode>,
        /// The backup's next inode id.
        next_id: u64,
        /// The last part.
        last: bool,
    },
    /// Records that a master which lost its journal was re-admitted as a voter (see
    /// `master::membership`), so a repeated request of the same incarnation is a no-op.
    Rejoined {
        /// Raft node id.
        node: u64,
        /// The incarnation that rejoined.
        incarnation: String,
    },
}

/// What applying a command gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Applied.
    Done,
    /// Refused; the state did not change.
    Refused(Refusal),
    /// The replies of a [`Command::Batch`], in order.
    Batch(Vec<Reply>),
}

/// A mount table entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPoint {
    /// UFS URI.
    pub ufs: String,
    /// Read-only.
    pub read_only: bool,
    /// Shared.
    pub shared: bool,
    /// Options.
    pub options: BTreeMap<String, String>,
    /// One of the runtime's declared mounts.
    #[serde(default)]
    pub declared: bool,
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A file.
    File,
}

/// A directory or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inode {
    /// Id (unique, never reused).
    pub id: u64,
    /// Directory or file.
    pub kind: Kind,
    /// Length in bytes (0 for directories).
    pub length: u64,
    /// Blocks of a file, in order.
    pub blocks: Vec<u64>,
    /// Last modification, ms since the epoch.
    pub mtime_ms: i64,
}

/// The whole journaled state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// Mounts by GooseFS path (the root mount is configuration, not journaled).
    pub mounts: BTreeMap<String, MountPoint>,
    /// Inodes by absolute path; `/` is implicit.
    pub inodes: BTreeMap<String, Inode>,
    /// Re-admitted masters: node id -> incarnation.
    pub rejoined: BTreeMap<u64, String>,
    /// The next inode id.
    pub next_id: u64,
    /// The metadata backup this namespace was restored from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<Restored>,
}

/// A restore of a metadata backup: under way, or complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// The backup (as [`Command::Restore`] names it).
    pub backup: String,
    /// Every part applied.
    pub complete: bool,
}

/// Checks that `path` is absolute and normal (`/a/b`: no empty, `.` or `..` parts, no trailing
/// slash) and returns it.
///
/// # Errors
/// Why it is not.
pub fn normal(path: &str) -> Result<&str, Refusal> {
    if path == "/" {
        return Ok(path);
    }
    if !path.starts_with('/') {
        return Err(Refusal::invalid(format!("{path:?} is not an absolute path")));
    }
    if path[1..]
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(Refusal::invalid(format!(
            "{path:?} is not a normal path (empty, '.' or '..' parts)"
        )));
    }
    Ok(path)
}

/// About how many bytes an inode at `path` takes in a journal entry (its JSON, roughly).
pub fn inode_weight(path: &str, inode: &Inode) -> usize {
    path.len() + 96 + inode.blocks.len() * 21
}

impl Command {
    /// About how many bytes it takes in a journal entry (its strings and some framing): the
    /// leader bounds an entry by it.
    pub fn weight(&self) -> usize {
        64 + match self {
            Command::Mount { path, ufs, options, .. } => {
                path.len() + ufs.len() + options.iter().map(|(k, v)| k.len() + v.len() + 8).sum::<usize>()
            }
            Command::Unmount { path } | Command::Mkdir { path, .. } => path.len(),
            Command::Batch(commands) => commands.iter().map(Command::weight).sum(),
            Command::Rejoined { incarnation, .. } => incarnation.len(),
            Command::Restore {
                backup, mounts, inodes, ..
            } => {
                backup.len()
                    + mounts.iter().map(|(p, m)| p.len() + m.ufs.len() + 64).sum::<usize>()
                    + inodes.iter().map(|(p, i)| inode_weight(p, i)).sum::<usize>()
            }
        }
    }

    /// The command a write journals, with the time it records (the leader's clock, so every
    /// master stores the same value); `declared`: a mount the leader makes from the declared
    /// mounts (a client's write never is).
    pub fn from_write(write: Write, mtime_ms: i64, declared: bool) -> Command {
        match write {
            Write::Mount {
                path,
                ufs,
                read_only,
                shared,
                options,
            } => Command::Mount {
                path,
                ufs,
                read_only,
                shared,
                options,
                mtime_ms,
                declared,
            },
            Write::Unmount { path } => Command::Unmount { path },
            Write::Mkdir {
                path,
                recursive,
                exist_ok,
            } => Command::Mkdir {
                path,
                recursive,
                exist_ok,
                mtime_ms,
            },
        }
    }
}

impl Namespace {
    /// Applies one command; a refused command changes nothing.
    pub fn apply(&mut self, command: &Command) -> Reply {
        let result = match command {
            Command::Batch(commands) => {
                return Reply::Batch(
                    commands
                        .iter()
                        .map(|c| match c {
                            Command::Batch(_) => Reply::Refused(Refusal::invalid("a batch inside a batch")),
                            other => self.apply(other),
                        })
                        .collect(),
                );
            }
            Command::Mount {
                path,
                ufs,
                read_only,
                shared,
                options,
                mtime_ms,
                declared,
            } => self.mount(
                path,
                MountPoint {
                    ufs: ufs.clone(),
                    read_only: *read_only,
                    shared: *shared,
                    options: options.clone(),
                    declared: *declared,
                },
                *mtime_ms,
            ),
            Command::Unmount { path } => self.unmount(path),
            Command::Mkdir {
                path,
                recursive,
                exist_ok,
                mtime_ms,
            } => self.mkdir(path, *recursive, *exist_ok, *mtime_ms),
            Command::Restore {
                backup,
                mounts,
                inodes,
                next_id,
                last,
            } => self.restore(backup, mounts, inodes, *next_id, *last),
            Command::Rejoined { node, incarnation } => {
                self.rejoined.insert(*node, incarnation.clone());
                Ok(())
            }
        };
        match result {
            Ok(()) => Reply::Done,
            Err(reason) => Reply::Refused(reason),
        }
    }

    fn restore(
        &mut self,
        backup: &str,
        mounts: &BTreeMap<String, MountPoint>,
        inodes: &BTreeMap<String, Inode>,
        next_id: u64,
        last: bool,
    ) -> Result<(), Refusal> {
        match &self.restored {
            Some(r) if r.backup == backup && !r.complete => {}
            Some(r) => {
                return Err(Refusal::exists(format!(
                    "metadata backup {} was restored here already",
                    r.backup
                )));
            }
            None if !self.mounts.is_empty() || !self.inodes.is_empty() => {
                return Err(Refusal::exists(
                    "the journal is not empty: a metadata backup is restored into an empty one only",
                ));
            }
            None => {}
        }
        self.mounts.extend(mounts.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.inodes.extend(inodes.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.next_id = self.next_id.max(next_id);
        self.restored = Some(Restored {
            backup: backup.to_owned(),
            complete: last,
        });
        Ok(())
    }

    /// Whether `path` is a directory (`/` always is).
    pub fn is_dir(&self, path: &str) -> bool {
        path == "/" || self.inodes.get(path).is_some_and(|i| i.kind == Kind::Directory)
    }

    fn new_dir(&mut self, mtime_ms: i64) -> Inode {
        self.next_id += 1;
        Inode {
            id: self.next_id,
            kind: Kind::Directory,
            length: 0,
            blocks: Vec::new(),
            mtime_ms,
        }
    }

    fn mount(&mut self, path: &str, point: MountPoint, mtime_ms: i64) -> Result<(), Refusal> {
        let path = normal(path)?;
        if path == "/" {
            return Err(Refusal::invalid(
                "/ is the root mount, set by goosefs.master.mount.table.root.ufs",
            ));
        }
        if point.ufs.trim().is_empty() {
            return Err(Refusal::invalid("the UFS URI is empty"));
        }
        if self.inodes.contains_key(path) {
            return Err(Refusal::exists(format!("{path} already exists")));
        }
        if !self.is_dir(parent(path)) {
            return Err(Refusal::not_found(format!("the parent of {path} is not a directory")));
        }
        // A UFS mounted below another mount would shadow part of it.
        if let Some(outer) = self.mount_of(path) {
            return Err(Refusal::invalid(format!("{path} is inside the mount {outer}")));
        }
        let dir = self.new_dir(mtime_ms);
        self.inodes.insert(path.to_owned(), dir);
        self.mounts.insert(path.to_owned(), point);
        Ok(())
    }

    fn unmount(&mut self, path: &str) -> Result<(), Refusal> {
        let path = normal(path)?;
        if self.mounts.remove(path).is_none() {
            return Err(Refusal::invalid(format!("{path} is not a mount point")));
        }
        let below = format!("{path}/");
        self.inodes.retain(|p, _| p != path && !p.starts_with(&below));
        Ok(())
    }

    fn mkdir(&mut self, path: &str, recursive: bool, exist_ok: bool, mtime_ms: i64) -> Result<(), Refusal> {
        let path = normal(path)?;
        if path == "/" || self.is_dir(path) {
            return if exist_ok {
                Ok(())
            } else {
                Err(Refusal::exists(format!("{path} already exists")))
            };
        }
        if self.inodes.contains_key(path) {
            return Err(Refusal::exists(format!("{path} exists and is a file")));
        }
        let mut missing = vec![path];
        let mut at = parent(path);
        while !self.is_dir(at) {
            if self.inodes.contains_key(at) {
                return Err(Refusal::invalid(format!("{at} is a file")));
            }
            if !recursive {
                return Err(Refusal::not_found(format!("the parent {at} does not exist (use -p)")));
            }
            missing.push(at);
            at = parent(at);
        }
        for dir in missing.into_iter().rev() {
            let inode = self.new_dir(mtime_ms);
            self.inodes.insert(dir.to_owned(), inode);
        }
        Ok(())
    }

    /// The mount point `path` is at or below (the root mount is not in the table).
    pub fn mount_of(&self, path: &str) -> Option<&str> {
        self.mounts
            .range::<str, _>((Bound::Unbounded, Bound::Included(path)))
            .rev()
            .map(|(p, _)| p.as_str())
            .find(|p| path == *p || path.starts_with(&format!("{p}/")))
    }

    /// The entries directly inside directory `path`, in name order.
    pub fn children(&self, path: &str) -> Vec<(&str, &Inode)> {
        self.children_after(path, None, usize::MAX)
    }

    /// At most `limit` entries directly inside directory `path` whose names sort after `after`,
    /// in name order. A child's subtree is skipped with one seek, so the cost follows the
    /// children returned, not everything below them (a directory of few children above a tree
    /// of a million entries lists as fast as a small one).
    pub fn children_after(&self, path: &str, after: Option<&str>, limit: usize) -> Vec<(&str, &Inode)> {
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        let mut lower = match after {
            Some(name) => Bound::Excluded(format!("{prefix}{name}")),
            None => Bound::Included(prefix.clone()),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let next = self
                .inodes
                .range::<str, _>((lower.as_ref().map(String::as_str), Bound::Unbounded))
                .next();
            let Some((p, inode)) = next.filter(|(p, _)| p.starts_with(&prefix)) else {
                break;
            };
            let rest = &p[prefix.len()..];
            lower = match rest.find('/') {
                None => {
                    out.push((p.as_str(), inode));
                    Bound::Excluded(p.clone())
                }
                // Below child `rest[..k]`: every such path sorts before `<child>0` ('0' follows '/').
                Some(k) => Bound::Included(format!("{prefix}{}0", &rest[..k])),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::RefusalKind;

    fn mount(path: &str, ufs: &str) -> Command {
        Command::Mount {
            path: path.into(),
            ufs: ufs.into(),
            read_only: false,
            shared: false,
            options: BTreeMap::new(),
            mtime_ms: 1,
            declared: false,
        }
    }

    #[test]
    fn mounts_need_a_free_path_with_a_directory_parent() {
        let mut ns = Namespace::default();
        assert_eq!(ns.apply(&mount("/hbase", "https://example.org/hbase/")), Reply::Done);
        assert!(ns.is_dir("/hbase"));
        assert!(matches!(ns.apply(&mount("/hbase", "s3://b/")), Reply::Refused(r) if r.kind == RefusalKind::Exists));
        assert!(matches!(ns.apply(&mount("/a/b", "s3://b/")), Reply::Refused(r) if r.message.contains("parent")));
        assert!(matches!(ns.apply(&mount("/", "s3://b/")), Reply::Refused(_)));
        assert!(matches!(ns.apply(&mount("rel", "s3://b/")), Reply::Refused(r) if r.message.contains("absolute")));
        assert!(matches!(ns.apply(&mount("/x/../y", "s3://b/")), Reply::Refused(_)));
        let mkdir = Command::Mkdir {
            path: "/hbase/sub".into(),
            recursive: false,
            exist_ok: false,
            mtime_ms: 5,
        };
        assert_eq!(ns.apply(&mkdir), Reply::Done);
        assert!(
            matches!(ns.apply(&mount("/hbase/sub/in", "s3://b/")), Reply::Refused(r) if r.message.contains("inside the mount /hbase"))
        );
        assert_eq!(ns.mounts.len(), 1);
    }

    #[test]
    fn mkdir_creates_parents_only_when_recursive() {
        let mut ns = Namespace::default();
        let mk = |path: &str, recursive| Command::Mkdir {
            path: path.into(),
            recursive,
            exist_ok: recursive,
            mtime_ms: 7,
        };
        assert!(matches!(ns.apply(&mk("/a/b/c", false)), Reply::Refused(r) if r.kind == RefusalKind::NotFound));
        assert!(ns.inodes.is_empty(), "a refused command changes nothing");
        assert_eq!(ns.apply(&mk("/a/b/c", true)), Reply::Done);
        assert_eq!(ns.children("/").into_iter().map(|(p, _)| p).collect::<Vec<_>>(), ["/a"]);
        assert_eq!(
            ns.children("/a").into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
            ["/a/b"]
        );
        assert_eq!(ns.apply(&mk("/a/b/c", true)), Reply::Done);
        assert!(matches!(ns.apply(&mk("/a/b/c", false)), Reply::Refused(r) if r.kind == RefusalKind::Exists));
        let ids: std::collections::BTreeSet<u64> = ns.inodes.values().map(|i| i.id).collect();
        assert_eq!(ids.len(), 3, "ids are unique");
    }

    #[test]
    fn children_page_by_name_and_skip_subtrees() {
        let mut ns = Namespace::default();
        for p in ["/a", "/a/x", "/a/x/deep", "/a.b", "/a0", "/b", "/b/y", "/c"] {
            let mk = Command::Mkdir {
                path: p.into(),
                recursive: true,
                exist_ok: true,
                mtime_ms: 1,
            };
            assert_eq!(ns.apply(&mk), Reply::Done, "{p}");
        }
        let names = |v: Vec<(&str, &Inode)>| v.into_iter().map(|(p, _)| p.to_owned()).collect::<Vec<_>>();
        assert_eq!(names(ns.children("/")), ["/a", "/a.b", "/a0", "/b", "/c"]);
        assert_eq!(names(ns.children_after("/", Some("a"), 2)), ["/a.b", "/a0"]);
        assert_eq!(names(ns.children_after("/", Some("a0"), 10)), ["/b", "/c"]);
        assert_eq!(names(ns.children_after("/", Some("c"), 10)), Vec::<String>::new());
        assert_eq!(names(ns.children("/a")), ["/a/x"]);
        assert_eq!(names(ns.children("/a/x/deep")), Vec::<String>::new());
    }

    #[test]
    fn unmount_removes_the_subtree_only() {
        let mut ns = Namespace::default();
        ns.apply(&mount("/m", "s3://b/"));
        ns.apply(&mount("/m2", "s3://c/"));
        ns.apply(&Command::Mkdir {
            path: "/m/x".into(),
            recursive: false,
            exist_ok: false,
            mtime_ms: 0,
        });
        assert_eq!(ns.apply(&Command::Unmount { path: "/m".into() }), Reply::Done);
        assert_eq!(ns.inodes.keys().collect::<Vec<_>>(), ["/m2"]);
        assert!(matches!(
            ns.apply(&Command::Unmount { path: "/m".into() }),
            Reply::Refused(_)
        ));
        assert_eq!(ns.mount_of("/m2/a/b"), Some("/m2"));
        assert_eq!(ns.mount_of("/m22"), None);
    }

    #[test]
    fn a_batch_applies_each_command_on_its_own_in_order() {
        let mut ns = Namespace::default();
        let batch = Command::Batch(vec![
            mount("/a", "s3://b/"),
            mount("/a", "s3://c/"),
            Command::Unmount { path: "/a".into() },
            Command::Batch(vec![]),
        ]);
        let Reply::Batch(replies) = ns.apply(&batch) else {
            panic!("a batch reply")
        };
        assert_eq!(replies[0], Reply::Done);
        assert!(matches!(&replies[1], Reply::Refused(r) if r.kind == RefusalKind::Exists));
        assert_eq!(replies[2], Reply::Done);
        assert!(matches!(&replies[3], Reply::Refused(_)));
        assert!(ns.mounts.is_empty());
    }

    #[test]
    fn client_writes_become_commands_with_the_leaders_time() {
        let m = Command::from_write(
            Write::Mount {
                path: "/a".into(),
                ufs: "s3://b/".into(),
                read_only: true,
                shared: false,
                options: BTreeMap::new(),
            },
            42,
            false,
        );
        assert!(matches!(
            m,
            Command::Mount {
                mtime_ms: 42,
                read_only: true,
                ..
            }
        ));
        let d = Command::from_write(
            Write::Mkdir {
                path: "/a".into(),
                recursive: true,
                exist_ok: false,
            },
            7,
            false,
        );
        assert!(matches!(
            d,
            Command::Mkdir {
                mtime_ms: 7,
                recursive: true,
                ..
            }
        ));
        let u = Command::from_write(Write::Unmount { path: "/a".into() }, 9, false);
        assert_eq!(u, Command::Unmount { path: "/a".into() });
    }

    #[test]
    fn paths_are_checked_and_parents_found() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert!(normal("/a/").is_err());
        assert!(normal("/a//b").is_err());
        assert!(normal("/a/./b").is_err());
        assert_eq!(normal("/a/b"), Ok("/a/b"));
    }
}
