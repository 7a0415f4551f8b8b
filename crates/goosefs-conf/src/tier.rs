//! The worker's tiered store as the properties describe it:
//! `goosefs.worker.tieredstore.levels` and, per level `L`,
//! `goosefs.worker.tieredstore.level<L>.{alias, dirs.path, dirs.mediumtype, dirs.quota,
//! watermark.high.ratio, watermark.low.ratio}`. Paths, media and quotas are comma lists, one
//! entry per directory; a quota list shorter than the path list repeats its last entry (as
//! GooseFS does).

use crate::opts::{Conf, ConfError};
use crate::size;

/// A storage medium, in tier order (MEM is the top tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Medium {
    /// Memory (a tmpfs such as `/dev/shm`).
    Mem,
    /// Solid-state disk.
    Ssd,
    /// Hard disk.
    Hdd,
}

impl Medium {
    /// The name as properties write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Mem => "MEM",
            Medium::Ssd => "SSD",
            Medium::Hdd => "HDD",
        }
    }

    /// Parses `MEM`, `SSD` or `HDD` (any case).
    pub fn parse(text: &str) -> Option<Medium> {
        match text.trim().to_ascii_uppercase().as_str() {
            "MEM" => Some(Medium::Mem),
            "SSD" => Some(Medium::Ssd),
            "HDD" => Some(Medium::Hdd),
            _ => None,
        }
    }
}

/// The key of property `suffix` of level `level`.
pub fn level_key(level: usize, suffix: &str) -> String {
    format!("goosefs.worker.tieredstore.level{level}.{suffix}")
}

/// One directory of a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// Path on the worker's file system.
    pub path: String,
    /// Medium of this directory.
    pub medium: Medium,
    /// Bytes the directory may hold.
    pub quota: u64,
}

/// One level.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Level index (0 is the top).
    pub index: usize,
    /// Alias (`MEM`, `SSD`, `HDD`).
    pub alias: String,
    /// Its directories.
    pub dirs: Vec<Dir>,
    /// Evict when a directory's usage would pass this share of its quota.
    pub high: f64,
    /// ... down to this share.
    pub low: f64,
}

/// The chart's default level when a runtime declares none: MEM at `/dev/shm`, 1G, 0.95/0.7.
pub const DEFAULT_LEVEL: (&str, &str, &str, &str, &str) = ("MEM", "/dev/shm", "1G", "0.95", "0.7");

/// Reads the tiered store from `conf`.
///
/// # Errors
/// [`ConfError`] naming the first property that is missing or wrong.
pub fn levels(conf: &Conf) -> Result<Vec<Level>, ConfError> {
    let count = conf.integer("goosefs.worker.tieredstore.levels", 1)?;
    let count = usize::try_from(count)
        .ok()
        .filter(|c| (1..=3).contains(c))
        .ok_or_else(|| {
            error(
                conf,
                "goosefs.worker.tieredstore.levels",
                "a worker has 1 to 3 tier levels",
            )
        })?;
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let default_alias = ["MEM", "SSD", "HDD"][index];
        let alias = conf.get_or(&level_key(index, "alias"), default_alias).to_owned();
        let path_key = level_key(index, "dirs.path");
        let default_path = if index == 0 { DEFAULT_LEVEL.1 } else { "" };
        let paths: Vec<&str> = conf
            .get_or(&path_key, default_path)
            .split(',')
            .map(|p| p.trim().trim_end_matches('/'))
            .filter(|p| !p.is_empty())
            .collect();
        if paths.is_empty() {
            return Err(error(conf, &path_key, "a tier level needs at least one directory"));
        }
        let medium_key = level_key(index, "dirs.mediumtype");
        let media: Vec<&str> = conf.get(&medium_key).map_or_else(Vec::new, |m| m.split(',').collect());
        let quota_key = level_key(index, "dirs.quota");
        let quotas: Vec<&str> = conf
            .get_or(&quota_key, DEFAULT_LEVEL.2)
            .split(',')
            .map(str::trim)
            .collect();
        let mut dirs = Vec::with_capacity(paths.len());
        for (i, path) in paths.iter().enumerate() {
            let medium_text = media.get(i).or(media.last()).copied().unwrap_or(&alias);
            let medium =
                Medium::parse(medium_text).ok_or_else(|| error(conf, &medium_key, "media are MEM, SSD or HDD"))?;
            let quota_text = quotas.get(i).or(quotas.last()).copied().unwrap_or_default();
            let quota = size::parse(quota_text).map_err(|e| error(conf, &quota_key, &e.to_string()))?;
            if !path.starts_with('/') {
                return Err(error(conf, &path_key, "tier directories are absolute paths"));
            }
            dirs.push(Dir {
                path: (*path).to_owned(),
                medium,
                quota,
            });
        }
        let ratio = |suffix: &str, default: f64| -> Result<f64, ConfError> {
            let key = level_key(index, suffix);
            conf.get(&key).map_or(Ok(default), |t| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| *r > 0.0 && *r <= 1.0)
                    .ok_or_else(|| error(conf, &key, "a ratio in (0, 1]"))
            })
        };
        let high = ratio("watermark.high.ratio", 0.95)?;
        let low = ratio("watermark.low.ratio", 0.7)?;
        if low >= high {
            return Err(error(
                conf,
                &level_key(index, "watermark.low.ratio"),
                "the low watermark must be below the high one",
            ));
        }
        out.push(Level {
            index,
            alias,
            dirs,
            high,
            low,
        });
    }
    Ok(out)
}

fn error(conf: &Conf, key: &str, reason: &str) -> ConfError {
    ConfError {
        key: key.to_owned(),
        value: conf.properties.get(key).cloned().unwrap_or_default(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_case() {
        let conf = Conf::from_properties([
            ("goosefs.worker.tieredstore.levels", "1"),
            ("goosefs.worker.tieredstore.level0.alias", "HDD"),
            ("goosefs.worker.tieredstore.level0.dirs.mediumtype", "HDD"),
            (
                "goosefs.worker.tieredstore.level0.dirs.path",
                "/mnt/disk1/default/hbase",
            ),
            ("goosefs.worker.tieredstore.level0.dirs.quota", "1953125KB"),
            ("goosefs.worker.tieredstore.level0.watermark.high.ratio", "0.8"),
            ("goosefs.worker.tieredstore.level0.watermark.low.ratio", "0.7"),
        ]);
        let levels = levels(&conf).unwrap_or_default();
        assert_eq!(levels.len(), 1);
        assert_eq!(levels[0].alias, "HDD");
        assert_eq!(
            levels[0].dirs,
            [Dir {
                path: "/mnt/disk1/default/hbase".into(),
                medium: Medium::Hdd,
                quota: 2_000_000_000
            }]
        );
        assert_eq!((levels[0].high, levels[0].low), (0.8, 0.7));
    }

    #[test]
    fn several_dirs_and_levels_and_defaults() {
        let conf = Conf::from_properties([
            ("goosefs.worker.tieredstore.levels", "2"),
            ("goosefs.worker.tieredstore.level0.dirs.path", "/dev/shm/a,/dev/shm/b/"),
            ("goosefs.worker.tieredstore.level0.dirs.quota", "1GB"),
            ("goosefs.worker.tieredstore.level1.alias", "SSD"),
            ("goosefs.worker.tieredstore.level1.dirs.path", "/ssd"),
            ("goosefs.worker.tieredstore.level1.dirs.mediumtype", "SSD"),
            ("goosefs.worker.tieredstore.level1.dirs.quota", "2G"),
        ]);
        let levels = levels(&conf).unwrap_or_default();
        assert_eq!(levels[0].dirs.len(), 2);
        assert_eq!(levels[0].dirs[1].path, "/dev/shm/b");
        assert_eq!(levels[0].dirs[1].quota, 1 << 30, "the last quota repeats");
        assert_eq!(levels[0].dirs[0].medium, Medium::Mem);
        assert_eq!(levels[1].dirs[0].quota, 2 << 30);
        assert_eq!(levels[0].high, 0.95);
        let none = super::levels(&Conf::default()).unwrap_or_default();
        assert_eq!(none[0].dirs[0].path, "/dev/shm");
        assert_eq!(none[0].dirs[0].quota, 1 << 30);
    }

    #[test]
    fn names_the_wrong_property() {
        let bad = |pairs: &[(&str, &str)]| {
            levels(&Conf::from_properties(pairs.iter().copied()))
                .err()
                .map(|e| e.key)
                .unwrap_or_default()
        };
        assert_eq!(
            bad(&[("goosefs.worker.tieredstore.levels", "0")]),
            "goosefs.worker.tieredstore.levels"
        );
        assert_eq!(
            bad(&[("goosefs.worker.tieredstore.level0.dirs.quota", "lots")]),
            "goosefs.worker.tieredstore.level0.dirs.quota"
        );
        assert_eq!(
            bad(&[("goosefs.worker.tieredstore.level0.watermark.low.ratio", "0.99")]),
            "goosefs.worker.tieredstore.level0.watermark.low.ratio"
        );
        assert_eq!(
            bad(&[("goosefs.worker.tieredstore.level0.dirs.path", "relative")]),
            "goosefs.worker.tieredstore.level0.dirs.path"
        );
        assert_eq!(
            bad(&[("goosefs.worker.tieredstore.level0.dirs.mediumtype", "TAPE")]),
            "goosefs.worker.tieredstore.level0.dirs.mediumtype"
        );
    }
}
