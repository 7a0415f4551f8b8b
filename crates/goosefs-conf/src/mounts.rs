//! The Dataset's mounts as the masters read them. The plugin writes the mounts the mount Job
//! performs (every mount but `local://`, `pvc://` and a root UFS) into the master container's
//! [`ENV`], as JSON; the leading master makes its mount table match them whenever it takes office,
//! so a runtime whose masters all lost their journals serves its Dataset again. Secret options are
//! named by the environment variable that carries them ([`Declared::option_env`]: the pod gets it
//! from the Secret), never written here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The master container's variable holding the declared mounts (JSON, a list of [`Declared`]).
pub const ENV: &str = "GOOSEFS_DECLARED_MOUNTS";

/// One declared mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Declared {
    /// GooseFS path.
    pub path: String,
    /// UFS URI.
    pub ufs: String,
    /// `--readonly`.
    #[serde(default)]
    pub read_only: bool,
    /// `--shared`.
    #[serde(default)]
    pub shared: bool,
    /// Plain options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Secret options: option name -> the environment variable holding its value.
    #[serde(default)]
    pub option_env: BTreeMap<String, String>,
}

/// Why [`ENV`] cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{ENV} is not a list of mounts: {0}")]
pub struct DeclaredError(#[from] serde_json::Error);

/// The text of [`ENV`] for `mounts` (deterministic: fields in order, options sorted).
pub fn encode(mounts: &[Declared]) -> String {
    serde_json::to_string(mounts).unwrap_or_default()
}

/// The mounts [`ENV`] declares; unset or empty: none.
///
/// # Errors
/// [`DeclaredError`] for text that is not such a list.
pub fn decode(text: Option<&str>) -> Result<Vec<Declared>, DeclaredError> {
    match text.map(str::trim) {
        None | Some("") => Ok(Vec::new()),
        Some(text) => Ok(serde_json::from_str(text)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_mounts_round_trip_and_bad_text_is_refused() {
        let mounts = vec![Declared {
            path: "/hbase".into(),
            ufs: "https://h/x/".into(),
            read_only: true,
            options: [("b".to_owned(), "2".to_owned()), ("a".to_owned(), "1".to_owned())].into(),
            option_env: [(
                "fs.cosn.userinfo.secretKey".to_owned(),
                "GOOSEFS_MOUNT_SECRET_0_0".to_owned(),
            )]
            .into(),
            ..Declared::default()
        }];
        let text = encode(&mounts);
        assert_eq!(
            text,
            r#"[{"path":"/hbase","ufs":"https://h/x/","readOnly":true,"shared":false,"options":{"a":"1","b":"2"},"optionEnv":{"fs.cosn.userinfo.secretKey":"GOOSEFS_MOUNT_SECRET_0_0"}}]"#
        );
        assert_eq!(decode(Some(&text)).ok(), Some(mounts));
        assert_eq!(decode(None).ok(), Some(Vec::new()));
        assert_eq!(decode(Some(" ")).ok(), Some(Vec::new()));
        for bad in ["{", "[{\"path\": 1}]", "[{\"path\":\"/a\",\"ufs\":\"x\",\"typo\":1}]"] {
            assert!(decode(Some(bad)).is_err(), "{bad}");
        }
    }
}
