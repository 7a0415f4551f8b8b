//! Alibaba OSS (`oss://`): OpenDAL's OSS service; `fs.oss.endpoint` is required, keys optional
//! (unsigned requests without them).

use std::collections::BTreeMap;

use opendal::services;

use super::{Built, Target, UfsError, option, with_scheme};

/// The operator for an OSS bucket.
///
/// # Errors
/// [`UfsError::Config`]: no endpoint.
pub(super) fn build(t: &Target<'_>, options: &BTreeMap<String, String>) -> Result<Built, UfsError> {
    t.needs_authority("bucket")?;
    let endpoint = option(options, &["fs.oss.endpoint"]).ok_or_else(|| t.refused("set fs.oss.endpoint"))?;
    let mut b = services::Oss::default()
        .bucket(t.authority)
        .root(&t.root)
        .endpoint(&with_scheme(endpoint));
    match (
        option(options, &["fs.oss.accessKeyId"]),
        option(options, &["fs.oss.accessKeySecret"]),
    ) {
        (Some(id), Some(secret)) => b = b.access_key_id(id).access_key_secret(secret),
        _ => b = b.skip_signature(),
    }
    t.operator(b)
}
