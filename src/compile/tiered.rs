//! Tiered store: Fluid's `convertToTieredstoreInfo` + `transformTieredstore`. Paths split on
//! commas (trailing `/` trimmed), each becomes `<path>/<ns>/<name>`; the level's quota is split
//! equally across paths (integer bytes) unless `quotaList` gives one per path; quotas are written
//! in GooseFS units (Kubernetes' canonical binary form with `i` → `B`: `2G` → `1953125KB`).

use serde::Serialize;

use crate::model::GooseFsRuntime;
use crate::model::common::MediumType;
use crate::model::quantity::{QuantityError, parse_quantity};

/// One directory of a level, as a hostPath volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierDir {
    /// Volume name: `<medium>` or `<medium>-<i>` when the level has several paths.
    pub volume: String,
    /// Host and container path, `<path>/<ns>/<name>`.
    pub path: String,
    /// Quota in GooseFS units.
    pub quota: String,
    /// Quota in bytes (for resource arithmetic).
    #[serde(skip)]
    pub bytes: i128,
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

/// Bytes in GooseFS units: the Kubernetes canonical BinarySI string with `i` replaced by `B`.
pub fn goosefs_unit(bytes: i128) -> String {
    let mut value = bytes;
    let mut suffix = "";
    for s in ["KB", "MB", "GB", "TB", "PB", "EB"] {
        if value != 0 && value % 1024 == 0 {
            value /= 1024;
            suffix = s;
        } else {
            break;
        }
    }
    format!("{value}{suffix}")
}

/// A byte count as a Kubernetes binary quantity (`22Gi`), for resource limits.
pub fn binary_quantity(bytes: i128) -> String {
    goosefs_unit(bytes).replace('B', "i")
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
        let quotas: Vec<i128> = match (&level.quota_list, &level.quota) {
            (Some(list), _) => {
                let items: Vec<&str> = list.split(',').collect();
                if items.len() != paths.len() {
                    return Err(TierError::Count(i));
                }
                items
                    .iter()
                    .map(|q| parse_quantity(q).map(|q| q.value_ceil()))
                    .collect::<Result<_, _>>()
                    .map_err(|source| TierError::Quantity { level: i, source })?
            }
            (None, Some(q)) => {
                let total = q
                    .parse()
                    .map_err(|source| TierError::Quantity { level: i, source })?
                    .value_ceil();
                vec![total / paths.len() as i128; paths.len()]
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
                quota: goosefs_unit(*q),
                bytes: *q,
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goosefs_units_match_fluid() {
        assert_eq!(goosefs_unit(2_000_000_000), "1953125KB");
        assert_eq!(goosefs_unit(2 * 1024 * 1024 * 1024), "2GB");
        assert_eq!(goosefs_unit(50 * 1024 * 1024 * 1024), "50GB");
        assert_eq!(goosefs_unit(4_882_812_500), "4882812500");
        assert_eq!(goosefs_unit(512), "512");
        assert_eq!(binary_quantity(22 * 1024 * 1024 * 1024), "22Gi");
    }

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
        // Level index among distinct media, whatever the order.
        let rt = yaml(
            "      - {mediumtype: HDD, path: /hdd, quota: 1Gi}\n      - {mediumtype: MEM, path: /dev/shm, quota: 1Gi}\n",
        );
        let l = levels(&rt, "ns", "rt").unwrap_or_default();
        assert_eq!((l[0].level, l[1].level), (1, 0));
    }
}
