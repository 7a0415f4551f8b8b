//! FUSE container arguments, as Fluid's `transformFuse` + `optimizeDefaultFuse` write them
//! (FACTS c.2, f.18-21). Pure.

use crate::model::Dataset;

/// The `goosefs-fuse` container's args: the user's when set (only `allow_other` may be appended),
/// else `fuse --fuse-opts=<ro|rw>,direct_io`; then `uid=,gid=` of the Dataset's owner, then
/// `allow_other` unless an `allow_` option is there, then `max_readahead=0` for web UFS defaults.
pub fn args(user_args: Option<&[String]>, dataset: &Dataset, read_only: bool, all_web: bool) -> Vec<String> {
    let user_args = user_args.filter(|a| !a.is_empty());
    let mut args = user_args.map_or_else(
        || {
            vec![
                "fuse".to_owned(),
                format!("--fuse-opts={},direct_io", if read_only { "ro" } else { "rw" }),
            ]
        },
        <[String]>::to_vec,
    );
    if let Some(last) = args.last_mut() {
        if let Some(owner) = &dataset.spec.owner {
            last.push_str(&format!(",uid={},gid={}", owner.uid, owner.gid));
        }
        if !last.contains("allow_") {
            last.push_str(",allow_other");
        }
    }
    if user_args.is_none() && all_web && args.len() > 1 {
        args[1].push_str(",max_readahead=0");
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_fluid_tests() {
        let plain = Dataset::default();
        assert_eq!(
            args(None, &plain, false, false),
            ["fuse", "--fuse-opts=rw,direct_io,allow_other"]
        );
        let user = ["fuse".to_owned(), "--fuse-opts=kernel_cache".to_owned()];
        assert_eq!(
            args(Some(&user), &plain, false, true),
            ["fuse", "--fuse-opts=kernel_cache,allow_other"]
        );
        let owned: Dataset = serde_saphyr::from_str(
            "apiVersion: data.fluid.io/v1alpha1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  owner: {uid: 1000, gid: 1000, user: u, group: g}\n",
        )
        .unwrap_or_default();
        assert_eq!(
            args(None, &owned, false, false),
            ["fuse", "--fuse-opts=rw,direct_io,uid=1000,gid=1000,allow_other"]
        );
        assert_eq!(
            args(None, &plain, true, true),
            ["fuse", "--fuse-opts=ro,direct_io,allow_other,max_readahead=0"]
        );
    }
}
