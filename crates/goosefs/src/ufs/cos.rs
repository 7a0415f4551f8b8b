//! Tencent COS (`cos://`, `cosn://`): OpenDAL's COS service, its endpoint from the bucket's
//! region unless given, and the mount's keys only.

use std::collections::BTreeMap;

use opendal::services;

use super::{Built, Target, UfsError, option, with_scheme};

/// The operator for a COS bucket.
///
/// # Errors
/// [`UfsError::Config`]: no region nor endpoint.
pub(super) fn build(t: &Target<'_>, options: &BTreeMap<String, String>) -> Result<Built, UfsError> {
    t.needs_authority("bucket")?;
    let endpoint = match option(options, &["fs.cosn.bucket.endpoint", "fs.cos.endpoint"]) {
        Some(e) => with_scheme(e),
        None => {
            let region = option(options, &["fs.cosn.bucket.region", "fs.cos.region"])
                .ok_or_else(|| t.refused("set fs.cosn.bucket.region (or fs.cosn.bucket.endpoint)"))?;
            format!("https://cos.{region}.myqcloud.com")
        }
    };
    let mut b = services::Cos::default()
        .bucket(t.authority)
        .root(&t.root)
        .endpoint(&endpoint)
        .disable_config_load();
    if let Some(id) = option(options, &["fs.cosn.userinfo.secretId", "fs.cos.secretId"]) {
        b = b.secret_id(id);
    }
    if let Some(key) = option(options, &["fs.cosn.userinfo.secretKey", "fs.cos.secretKey"]) {
        b = b.secret_key(key);
    }
    t.operator(b)
}
