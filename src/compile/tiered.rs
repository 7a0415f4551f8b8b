//! Tiered store: Fluid's `convertToTieredstoreInfo` + `transformTieredstore` (FACTS c.4). Paths
//! split on commas (trailing `/` trimmed), each becomes `<path>/<ns>/<name>`; the level's
//! `quota` is split equally across paths (integer bytes, written as a binary quantity in GooseFS
//! units: `2G` → `1953125KB`), while `quotaList` entries keep their own format (`2G,2Gi` →
//! `2G,2GB`). A runtime without levels gets the chart's default level (MEM on `/dev/shm` as an
//! emptyDir, `1G`, 0.95/0.7), since Fluid then leaves the chart's value in place.

use serde::Serialize;

use crate::model::GooseFsRuntime;
use crate::model::common::MediumType;
use crate::model::quantity::{QuantityError, QuantityFormat, goosefs_bytes, goosefs_unit, parse_quantity};

/// One directory of a level, as a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierDir {
    /// Volume name: `<medium>` or `<medium>-<i>` when the level has several paths.
    pub volume: String,
    /// Host and container path, `<path>/<ns>/<name>`.
    pub path: String,
    /// Quota in GooseFS units.
    pub quota: String,
    /// Quota in bytes as Kubernetes counts them (for resource arithmetic).
    #[serde(skip)]
    pub bytes: i128,
    /// A memory-backed emptyDir (the chart's default level) instead of a hostPath.
    pub empty_dir: bool,
}

/// One level as the chart's values describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierLevel {
    /// Level index: position of the medium among the distinct media present (MEM < SSD < HDD).
    pub level: usize,
    /// Medium, e.g. `HDD`.
    pub alias: &'static str,
    /// The directories.
    pub dirs: Vec<TierDir>,
    /// `MEDIUM,MEDIUM,...`, once per path.
    pub mediumtype: String,
    /// `p1,p2`.
    pub path: String,
    /// `q1,q2`.
    pub quota: String,
    /// High watermark, when set.
    pub high: Option<String>,
    /// Low watermark, when set.
    pub low: Option<String>,
}

/// Why the tiers cannot be compiled (validate reports these first, with locations).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierError {
    /// A level has neither quota nor quotaList.
    #[error("tier level {0} has neither quota nor quotaList")]
    NoQuota(usize),
    /// quotaList and path counts differ.
    #[error("tier level {0}: quotaList length differs from the number of paths")]
    Count(usize),
    /// A quota does not parse.
    #[error("tier level {level}: {source}")]
    Quantity {
        /// Level index in the spec.
        level: usize,
        /// Parser error.
        #[source]
        source: QuantityError,
    },
}

/// The chart's default level, used when the runtime declares none (Fluid omits an empty list,
/// so Helm keeps the chart's `tieredstore` value).
fn default_level() -> TierLevel {
    let (alias, path, quota, high, low) = goosefs_conf::tier::DEFAULT_LEVEL;
    TierLevel {
        level: 0,
        alias: MediumType::Mem.as_str(),
        dirs: vec![TierDir {
            volume: "mem".to_owned(),
            path: path.to_owned(),
            quota: quota.to_owned(),
            // Not counted towards memory limits: Fluid adds only the runtime's own MEM tiers.
            bytes: 0,
            empty_dir: true,
        }],
        mediumtype: alias.to_owned(),
        path: path.to_owned(),
        quota: quota.to_owned(),
        high: Some(high.to_owned()),
        low: Some(low.to_owned()),
    }
}

/// Compiles the levels of `runtime` in namespace `namespace`.
///
/// # Errors
/// [`TierError`] for levels validate rejects (GFS102).
pub fn levels(runtime: &GooseFsRuntime, namespace: &str, name: &str) -> Result<Vec<TierLevel>, TierError> {
    let spec_levels = runtime
        .spec
        .tieredstore
        .as_ref()
        .and_then(|t| t.levels.as_deref())
        .unwrap_or_default();
    let mut media: Vec<MediumType> = spec_levels.iter().map(|l| l.mediumtype).collect();
    media.sort();
    media.dedup();
    let mut out = Vec::with_capacity(spec_levels.len());
    for (i, level) in spec_levels.iter().enumerate() {
        let paths: Vec<&str> = level
            .path
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|p| p.trim_end_matches('/'))
            .collect();
        // (bytes, text in GooseFS units) per path.
        let quotas: Vec<(i128, String)> = match (&level.quota_list, &level.quota) {
            (Some(list), _) => {
                let items: Vec<&str> = list.split(',').collect();
                if items.len() != paths.len() {
                    return Err(TierError::Count(i));
                }
                items
                    .iter()
                    .map(|q| parse_quantity(q).map(|p| (p.value_ceil(), goosefs_unit(p, QuantityFormat::of(q)))))
                    .collect::<Result<_, _>>()
                    .map_err(|source| TierError::Quantity { level: i, source })?
            }
            (None, Some(q)) => {
                let total = q
                    .parse()
                    .map_err(|source| TierError::Quantity { level: i, source })?
                    .value_ceil();
                let each = total / paths.len() as i128;
                vec![(each, goosefs_bytes(each)); paths.len()]
            }
            (None, None) => return Err(TierError::NoQuota(i)),
        };
        let alias = level.mediumtype.as_str();
        let dirs: Vec<TierDir> = paths
            .iter()
            .zip(&quotas)
            .enumerate()
            .map(|(j, (p, q))| TierDir {
                volume: if paths.len() == 1 {
                    alias.to_ascii_lowercase()
                } else {
                    format!("{}-{j}", alias.to_ascii_lowercase())
                },
                path: format!("{p}/{namespace}/{name}"),
                quota: q.1.clone(),
                bytes: q.0,
                empty_dir: false,
            })
            .collect();
        out.push(TierLevel {
            level: media.iter().position(|m| *m == level.mediumtype).unwrap_or(0),
            alias,
            mediumtype: vec![alias; dirs.len()].join(","),
            path: dirs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>().join(","),
            quota: dirs.iter().map(|d| d.quota.as_str()).collect::<Vec<_>>().join(","),
            high: level.high.clone().filter(|h| !h.is_empty()),
            low: level.low.clone().filter(|l| !l.is_empty()),
            dirs,
        });
    }
    if out.is_empty() {
        out.push(default_level());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_split_and_list_as_fluid_tests() {
        let yaml = |levels: &str| -> GooseFsRuntime {
            let text = format!(
                "apiVersion: data.fluid.io/v1alpha1\nkind: GooseFSRuntime\nmetadata: {{name: rt}}\nspec:\n  tieredstore:\n    levels:\n{levels}"
            );
            serde_saphyr::from_str(&text).unwrap_or_default()
        };
        // Fluid test 3: two paths, quota 1024 -> 512 each, trailing slash trimmed.
        let rt = yaml("      - {mediumtype: SSD, path: \"/path/to/cache1/,/path/to/cache2\", quota: 1024}\n");
        let l = levels(&rt, "ns", "rt").unwrap_or_default();
        assert_eq!(l[0].path, "/path/to/cache1/ns/rt,/path/to/cache2/ns/rt");
        assert_eq!(l[0].quota, "512,512");
        // Fluid test 4: quotaList wins over quota.
        let rt = yaml("      - {mediumtype: SSD, path: \"/a/,/b/\", quota: 124, quotaList: \"10Gi,20Gi\"}\n");
        assert_eq!(levels(&rt, "ns", "rt").unwrap_or_default()[0].quota, "10GB,20GB");
        // Fluid test 2: count mismatch.
        let rt = yaml("      - {mediumtype: SSD, path: \"/a,/b\", quotaList: \"10Gi,20Gi,30Gi\"}\n");
        assert_eq!(levels(&rt, "ns", "rt"), Err(TierError::Count(0)));
        // quotaList entries keep their own format (FACTS c.4); only the quota split is binary.
        let rt = yaml("      - {mediumtype: SSD, path: \"/a,/b\", quotaList: \"2G,2Gi\"}\n");
        assert_eq!(levels(&rt, "ns", "rt").unwrap_or_default()[0].quota, "2G,2GB");
        let rt = yaml("      - {mediumtype: SSD, path: \"/a,/b\", quotaList: \"100Gi,1T\"}\n");
        assert_eq!(levels(&rt, "ns", "rt").unwrap_or_default()[0].quota, "100GB,1T");
        let rt = yaml("      - {mediumtype: HDD, path: /mnt/disk1, quota: 2G}\n");
        assert_eq!(levels(&rt, "ns", "rt").unwrap_or_default()[0].quota, "1953125KB");
        let rt = yaml("      - {mediumtype: HDD, path: \"/a,/b\", quota: 10G}\n");
        assert_eq!(
            levels(&rt, "ns", "rt").unwrap_or_default()[0].quota,
            "5000000000,5000000000"
        );
        // Level index among distinct media, whatever the order.
        let rt = yaml(
            "      - {mediumtype: HDD, path: /hdd, quota: 1Gi}\n      - {mediumtype: MEM, path: /dev/shm, quota: 1Gi}\n",
        );
        let l = levels(&rt, "ns", "rt").unwrap_or_default();
        assert_eq!((l[0].level, l[1].level), (1, 0));
        // No levels: the chart's default MEM level.
        let none: GooseFsRuntime =
            serde_saphyr::from_str("apiVersion: data.fluid.io/v1alpha1\nkind: GooseFSRuntime\nmetadata: {name: rt}\n")
                .unwrap_or_default();
        let l = levels(&none, "ns", "rt").unwrap_or_default();
        assert_eq!(
            (l.len(), l[0].path.as_str(), l[0].quota.as_str()),
            (1, "/dev/shm", "1G")
        );
        assert!(l[0].dirs[0].empty_dir);
    }
}
