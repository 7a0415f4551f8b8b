//! Fluid's GooseFS transform: the properties it writes into every runtime (FACTS c.3), which
//! the runtime reads back as ordinary configuration.

/// Fluid's defaults, written only when the user's `spec.properties` does not set the key.
pub const DEFAULTS: [(&str, &str); 44] = [
    ("goosefs.security.authorization.permission.enabled", "false"),
    ("goosefs.fuse.jnifuse.enabled", "true"),
    ("goosefs.master.metastore", "ROCKS"),
    ("goosefs.web.ui.enabled", "false"),
    ("goosefs.user.update.file.accesstime.disabled", "true"),
    ("goosefs.user.client.cache.enabled", "false"),
    ("goosefs.master.metastore.inode.cache.max.size", "10000000"),
    ("goosefs.master.journal.log.size.bytes.max", "500MB"),
    ("goosefs.master.metadata.sync.concurrency.level", "128"),
    ("goosefs.master.metadata.sync.executor.pool.size", "128"),
    ("goosefs.master.metadata.sync.ufs.prefetch.pool.size", "128"),
    ("goosefs.user.block.worker.client.pool.min", "512"),
    ("goosefs.fuse.debug.enabled", "false"),
    ("goosefs.user.file.writetype.default", "MUST_CACHE"),
    (
        "goosefs.user.ufs.block.read.location.policy",
        "com.qcloud.cos.goosefs.client.block.policy.LocalFirstAvoidEvictionPolicy",
    ),
    (
        "goosefs.user.block.write.location.policy.class",
        "com.qcloud.cos.goosefs.client.block.policy.LocalFirstAvoidEvictionPolicy",
    ),
    (
        "goosefs.worker.allocator.class",
        "com.qcloud.cos.goosefs.worker.block.allocator.MaxFreeAllocator",
    ),
    ("goosefs.worker.file.buffer.size", "1MB"),
    ("goosefs.user.metrics.collection.enabled", "true"),
    ("goosefs.master.rpc.executor.max.pool.size", "1024"),
    ("goosefs.master.rpc.executor.core.pool.size", "128"),
    ("goosefs.user.file.passive.cache.enabled", "false"),
    ("goosefs.user.block.avoid.eviction.policy.reserved.size.bytes", "2GB"),
    ("goosefs.master.journal.folder", "/journal"),
    ("goosefs.user.block.master.client.pool.gc.threshold", "2day"),
    ("goosefs.user.file.master.client.threads", "1024"),
    ("goosefs.user.block.master.client.threads", "1024"),
    ("goosefs.user.file.create.ttl.action", "FREE"),
    ("goosefs.user.file.readtype.default", "CACHE"),
    ("goosefs.security.stale.channel.purge.interval", "365d"),
    ("goosefs.user.metadata.cache.enabled", "true"),
    ("goosefs.user.metadata.cache.expiration.time", "2day"),
    ("goosefs.user.metadata.cache.max.size", "6000000"),
    ("goosefs.fuse.cached.paths.max", "1000000"),
    ("goosefs.job.worker.threadpool.size", "164"),
    ("goosefs.user.worker.list.refresh.interval", "2min"),
    ("goosefs.user.logging.threshold", "1000ms"),
    ("goosefs.fuse.logging.threshold", "1000ms"),
    ("goosefs.worker.block.master.client.pool.size", "1024"),
    ("goosefs.job.master.finished.job.retention.time", "30sec"),
    ("goosefs.underfs.object.store.breadcrumbs.enabled", "false"),
    ("goosefs.user.block.size.bytes.default", "16MB"),
    ("goosefs.user.streaming.reader.chunk.size.bytes", "32MB"),
    ("goosefs.user.local.reader.chunk.size.bytes", "32MB"),
];

/// The chunk sizes Fluid raises to `256MB` when every mount is a web UFS (user keys still win).
pub const WEB_UFS_CHUNK_KEYS: [&str; 4] = [
    "goosefs.user.block.size.bytes.default",
    "goosefs.user.streaming.reader.chunk.size.bytes",
    "goosefs.user.local.reader.chunk.size.bytes",
    "goosefs.worker.network.reader.buffer.size",
];

/// Fluid's default of `goosefs.worker.network.reader.buffer.size` (set after the table).
pub const NETWORK_READER_BUFFER: (&str, &str) = ("goosefs.worker.network.reader.buffer.size", "32MB");

/// The root UFS when a Dataset has no single root mount: local:// and pvc:// mounts are
/// volumes below it.
pub const UNDER_FS_STORAGE: &str = "/underFSStorage";

/// Where a runtime's FUSE mounts the dataset on each node (Fluid's default MOUNT_ROOT).
pub const MOUNT_ROOT: &str = "/runtime-mnt";

/// The FUSE mount path of runtime `name` in `namespace`.
pub fn fuse_mount_path(namespace: &str, name: &str) -> String {
    format!("{MOUNT_ROOT}/goosefs/{namespace}/{name}/goosefs-fuse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_unique_goosefs_keys() {
        let mut keys: Vec<&str> = DEFAULTS.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEFAULTS.len());
        assert!(keys.iter().all(|k| k.starts_with("goosefs.")));
        assert_eq!(
            fuse_mount_path("default", "hbase"),
            "/runtime-mnt/goosefs/default/hbase/goosefs-fuse"
        );
    }
}
