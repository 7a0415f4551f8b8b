//! `--fuse-opts`, as the rendered manifests write them.

use std::time::Duration;

/// The rendered `--fuse-opts`.
#[derive(Debug, Clone, PartialEq)]
pub struct FuseOptions {
    /// `ro` (default) or `rw`.
    pub read_only: bool,
    /// `allow_other`.
    pub allow_other: bool,
    /// `direct_io`: no page cache for file data.
    pub direct_io: bool,
    /// `kernel_cache`: keep the page cache across opens.
    pub kernel_cache: bool,
    /// `max_readahead=N`.
    pub max_readahead: Option<u32>,
    /// `uid=N`, `gid=N`: owner shown for every entry.
    pub uid: Option<u32>,
    /// See `uid`.
    pub gid: Option<u32>,
    /// `attr_timeout=S`.
    pub attr_timeout: Duration,
    /// `entry_timeout=S`.
    pub entry_timeout: Duration,
    /// How long this process keeps a file's metadata and block list it was given:
    /// `goosefs.user.metadata.cache.expiration.time` when `goosefs.user.metadata.cache.enabled`
    /// (not a mount option: set from the configuration), else nothing beyond the timeouts above.
    pub metadata_ttl: Duration,
}

impl FuseOptions {
    /// Parses the arguments after `fuse`: `--fuse-opts=a,b=c` (or `-o a,b`), repeatable.
    ///
    /// # Errors
    /// A malformed option.
    pub fn parse(args: &[String]) -> Result<FuseOptions, String> {
        let mut o = FuseOptions {
            read_only: true,
            allow_other: false,
            direct_io: false,
            kernel_cache: false,
            max_readahead: None,
            uid: None,
            gid: None,
            attr_timeout: Duration::from_secs(1),
            entry_timeout: Duration::from_secs(1),
            metadata_ttl: Duration::ZERO,
        };
        let mut lists = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(list) = a.strip_prefix("--fuse-opts=") {
                lists.push(list.to_owned());
            } else if a == "-o" || a == "--fuse-opts" {
                lists.push(it.next().cloned().ok_or("-o needs options")?);
            } else {
                return Err(format!("unexpected argument {a:?} (the mount point is $MOUNT_POINT)"));
            }
        }
        for opt in lists
            .iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let (key, value) = opt.split_once('=').map_or((opt, None), |(k, v)| (k, Some(v)));
            let number = |v: Option<&str>| -> Result<u32, String> {
                v.and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("{opt}: needs a number"))
            };
            let seconds = |v: Option<&str>| -> Result<Duration, String> {
                v.and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("{opt}: needs seconds"))
            };
            match key {
                "ro" => o.read_only = true,
                "rw" => o.read_only = false,
                "allow_other" => o.allow_other = true,
                "direct_io" => o.direct_io = true,
                "kernel_cache" | "auto_cache" => o.kernel_cache = true,
                "max_readahead" => o.max_readahead = Some(number(value)?),
                "uid" => o.uid = Some(number(value)?),
                "gid" => o.gid = Some(number(value)?),
                "attr_timeout" => o.attr_timeout = seconds(value)?,
                "entry_timeout" => o.entry_timeout = seconds(value)?,
                // Options of libfuse's or the kernel's that change nothing here.
                _ => tracing::debug!(option = opt, "fuse option ignored"),
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_fuse_options_parse() {
        let o =
            FuseOptions::parse(&["--fuse-opts=ro,direct_io,allow_other,max_readahead=0".to_owned()]).expect("parse");
        assert!(o.read_only && o.direct_io && o.allow_other && !o.kernel_cache);
        assert_eq!(o.max_readahead, Some(0));
        let o = FuseOptions::parse(&[
            "-o".into(),
            "rw,uid=1000,gid=1000,attr_timeout=7200,kernel_cache".into(),
        ])
        .expect("parse");
        assert!(!o.read_only && o.kernel_cache);
        assert_eq!(
            (o.uid, o.gid, o.attr_timeout),
            (Some(1000), Some(1000), Duration::from_secs(7200))
        );
        assert!(FuseOptions::parse(&["--fuse-opts=uid=x".into()]).is_err());
        assert!(FuseOptions::parse(&["/mnt".into()]).is_err());
    }
}
