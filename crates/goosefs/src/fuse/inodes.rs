//! The inode table: numbers the kernel knows, their paths, and metadata kept for the
//! attr/entry timeouts. Bounded: an inode the kernel forgets (its lookup count back to 0) is
//! dropped, and inodes only numbered for a directory listing (never looked up) are swept once the
//! table holds [`MAX_NODES`], so walking millions of paths does not grow the process for ever.

use super::*;

pub(super) struct Node {
    pub(super) path: String,
    pub(super) info: Option<(FileInfo, Instant)>,
    /// The file's block list as its last open got it, and the local block file a worker named
    /// for it (passthrough): a warm open within the metadata cache's time asks nobody.
    pub(super) blocks: Option<(Arc<FileBlocks>, Option<crate::proto::block::LocalBlock>, Instant)>,
    /// The kernel's references: entries replied, minus those it forgot.
    pub(super) lookups: u64,
}

/// The longest entry and attribute timeout given to the kernel from the metadata cache.
const KERNEL_TTL_MAX: Duration = Duration::from_secs(60);

/// The root's inode number.
const ROOT: u64 = 1;

/// Inodes kept before those the kernel holds no reference to are swept.
pub(super) const MAX_NODES: usize = 1 << 18;

/// Inode numbers: by number, by path, the last one given, and the table size at which the next
/// sweep runs.
pub(super) type Nodes = (HashMap<u64, Node>, HashMap<String, u64>, u64, usize);

/// The metadata of a file being written.
pub(super) fn new_file(path: &str, length: u64) -> FileInfo {
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

pub(super) fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl GooseFuse {
    pub(super) fn ino_of(&self, path: &str) -> u64 {
        let mut n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ino) = n.1.get(path) {
            return *ino;
        }
        if n.0.len() >= n.3 {
            // Only numbered for a listing: the kernel holds no reference, and looks them up
            // again by name (getting a new number) when it needs one. The next sweep waits until
            // the table has doubled, so a table the kernel holds whole is not scanned per insert.
            let (by_ino, by_path, _, next_sweep) = &mut *n;
            by_ino.retain(|ino, node| *ino == ROOT || node.lookups > 0);
            by_path.retain(|_, ino| by_ino.contains_key(ino));
            *next_sweep = MAX_NODES.max(2 * by_ino.len());
        }
        n.2 += 1;
        let ino = n.2;
        n.0.insert(
            ino,
            Node {
                path: path.to_owned(),
                info: None,
                blocks: None,
                lookups: 0,
            },
        );
        n.1.insert(path.to_owned(), ino);
        ino
    }

    /// Counts a reference the kernel takes (an entry replied to `lookup`, `mkdir`, `create`).
    pub(super) fn looked_up(&self, ino: u64) {
        if let Some(node) = self
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get_mut(&ino)
        {
            node.lookups += 1;
        }
    }

    /// The kernel dropped `count` references to `ino`: at none, the inode is dropped (the root
    /// never is).
    pub(super) fn forgotten(&self, ino: u64, count: u64) {
        let mut n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(node) = n.0.get_mut(&ino) else { return };
        node.lookups = node.lookups.saturating_sub(count);
        if node.lookups == 0 && ino != ROOT {
            let path = node.path.clone();
            n.0.remove(&ino);
            if n.1.get(&path) == Some(&ino) {
                n.1.remove(&path);
            }
        }
    }

    pub(super) fn path_of(&self, ino: INodeNo) -> Option<String> {
        let n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        n.0.get(&ino.0).map(|node| node.path.clone())
    }

    pub(super) fn remember(&self, ino: u64, info: &FileInfo) {
        if let Some(node) = self
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get_mut(&ino)
        {
            // Another version of the file (or another file at the path): its blocks are others.
            if node
                .info
                .as_ref()
                .is_some_and(|(old, _)| old.id != info.id || old.length != info.length)
            {
                node.blocks = None;
            }
            node.info = Some((info.clone(), Instant::now()));
        }
    }

    /// How long metadata given to this process is kept: the metadata cache's time when the
    /// configuration enables it, else `ttl` (the kernel's timeouts).
    pub(super) fn metadata_ttl(&self, ttl: Duration) -> Duration {
        ttl.max(self.opts.metadata_ttl)
    }

    /// How long the kernel may keep an entry or attributes: the mount's timeout, or with the
    /// metadata cache on, up to a minute (a warm open then costs no lookup; what the kernel keeps
    /// is at most a minute older than what this process keeps).
    pub(super) fn kernel_ttl(&self, timeout: Duration) -> Duration {
        timeout.max(self.opts.metadata_ttl.min(KERNEL_TTL_MAX))
    }

    /// The block list (and local block file) kept for `ino`, if still fresh.
    pub(super) fn cached_blocks(&self, ino: u64) -> Option<(Arc<FileBlocks>, Option<crate::proto::block::LocalBlock>)> {
        let ttl = self.metadata_ttl(self.opts.attr_timeout);
        let n = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        let (blocks, local, at) = n.0.get(&ino)?.blocks.as_ref()?;
        (at.elapsed() < ttl).then(|| (Arc::clone(blocks), local.clone()))
    }

    /// Keeps `ino`'s block list, as of now.
    pub(super) fn keep_blocks(&self, ino: u64, blocks: Arc<FileBlocks>) {
        if let Some(node) = self
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get_mut(&ino)
        {
            node.blocks = Some((blocks, None, Instant::now()));
        }
    }

    /// Keeps the local block file a worker named for `ino`, with its kept block list.
    pub(super) fn keep_local(&self, ino: u64, local: crate::proto::block::LocalBlock) {
        if let Some(node) = self
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get_mut(&ino)
            && let Some((_, kept, _)) = node.blocks.as_mut()
        {
            *kept = Some(local);
        }
    }

    /// A path's metadata: remembered within `ttl`, else from the leader.
    pub(super) fn info(&self, ino: u64, path: &str, ttl: Duration) -> Result<FileInfo, Errno> {
        if let Some(node) = self.nodes.lock().unwrap_or_else(PoisonError::into_inner).0.get(&ino)
            && let Some((info, at)) = &node.info
            && at.elapsed() < ttl
        {
            return Ok(info.clone());
        }
        // With the file's blocks: the open that follows a lookup then asks nobody.
        let found: crate::proto::Lookup = self
            .rt
            .block_on(self.client.call::<(), _>(&query(paths::LOOKUP, path), None))
            .map_err(|e| errno(&e))?;
        let info = match found {
            crate::proto::Lookup::Directory(info) => {
                self.remember(ino, &info);
                info
            }
            crate::proto::Lookup::File(blocks) => {
                let info = blocks.info.clone();
                self.remember(ino, &info);
                self.keep_blocks(ino, Arc::new(blocks));
                info
            }
        };
        Ok(info)
    }

    pub(super) fn attr(&self, ino: u64, info: &FileInfo) -> FileAttr {
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

    pub(super) fn child_path(&self, parent: INodeNo, name: &OsStr) -> Option<String> {
        let parent = self.path_of(parent)?;
        let name = name.to_str()?;
        Some(if parent == "/" {
            format!("/{name}")
        } else {
            format!("{parent}/{name}")
        })
    }

    /// Forgets the inode number of a path that is gone (a new file there gets a new one).
    pub(super) fn forget_path(&self, path: &str) {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ino) = nodes.1.remove(path) {
            nodes.0.remove(&ino);
        }
    }

    /// After a rename: the kernel keeps the inode numbers of `from` (and what is under it), now
    /// at `to`; whatever `to` was is gone.
    pub(super) fn move_path(&self, from: &str, to: &str) {
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
                node.blocks = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fuse() -> GooseFuse {
        let conf = goosefs_conf::Conf::from_env(goosefs_conf::opts::Role::Fuse, &|_| None, &[]);
        let client = crate::config::ClientConfig::from_conf(&conf).unwrap_or_else(|e| panic!("{e}"));
        let locality = Locality::from_conf(&conf).unwrap_or_else(|e| panic!("{e}"));
        let opts = FuseOptions::parse(&["--fuse-opts=ro".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        GooseFuse::new(MasterClient::new(&client), opts, locality, UfsSettings::default())
    }

    fn count(fs: &GooseFuse) -> (usize, usize) {
        let n = fs.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        (n.0.len(), n.1.len())
    }

    #[tokio::test]
    async fn forgotten_and_listing_only_inodes_do_not_stay() {
        let fs = fuse();
        let a = fs.ino_of("/a");
        fs.looked_up(a);
        fs.looked_up(a);
        fs.forgotten(a, 1);
        assert_eq!(fs.path_of(INodeNo(a)).as_deref(), Some("/a"), "one reference left");
        fs.forgotten(a, 1);
        assert_eq!(fs.path_of(INodeNo(a)), None);
        assert_ne!(fs.ino_of("/a"), a, "a forgotten path gets a new number");
        fs.forgotten(ROOT, 9);
        assert_eq!(fs.path_of(INodeNo(ROOT)).as_deref(), Some("/"), "the root stays");

        // A walk of more paths than the bound, one of them held by the kernel.
        let held = fs.ino_of("/held");
        fs.looked_up(held);
        for i in 0..MAX_NODES + 10 {
            fs.ino_of(&format!("/big/{i}"));
        }
        let (by_ino, by_path) = count(&fs);
        assert!(by_ino <= MAX_NODES && by_ino == by_path, "{by_ino} {by_path}");
        assert_eq!(fs.path_of(INodeNo(held)).as_deref(), Some("/held"));
        assert_eq!(fs.path_of(INodeNo(ROOT)).as_deref(), Some("/"));

        // Every inode held by the kernel: a sweep frees nothing, and the next waits for twice
        // as many (not one scan per new inode).
        for i in 0..MAX_NODES {
            let ino = fs.ino_of(&format!("/held/{i}"));
            fs.looked_up(ino);
        }
        let (by_ino, _) = count(&fs);
        let next = fs.nodes.lock().unwrap_or_else(PoisonError::into_inner).3;
        assert!(by_ino > MAX_NODES && next > MAX_NODES * 3 / 2, "{by_ino} {next}");
    }
}
