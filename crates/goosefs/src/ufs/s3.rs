//! S3 (`s3://`, `s3a://`, `s3n://`): OpenDAL's S3 service with the mount's keys only, never the
//! process environment or an instance role; without keys, unsigned requests (public buckets).

use std::collections::BTreeMap;

use opendal::services;

use super::{Built, Target, UfsError, option, with_scheme};

/// The operator for an S3 bucket.
///
/// # Errors
/// [`UfsError::Config`].
pub(super) fn build(t: &Target<'_>, options: &BTreeMap<String, String>) -> Result<Built, UfsError> {
    t.needs_authority("bucket")?;
    let region = option(
        options,
        &["aws.region", "goosefs.underfs.s3.region", "fs.s3a.endpoint.region"],
    );
    let mut b = services::S3::default()
        .bucket(t.authority)
        .root(&t.root)
        .region(region.unwrap_or("us-east-1"))
        .disable_config_load()
        .disable_ec2_metadata();
    if let Some(endpoint) = option(
        options,
        &["goosefs.underfs.s3.endpoint", "aws.endpoint", "fs.s3a.endpoint"],
    ) {
        b = b.endpoint(&with_scheme(endpoint));
    }
    match (
        option(options, &["aws.accessKeyId", "s3a.accessKeyId", "fs.s3a.access.key"]),
        option(options, &["aws.secretKey", "s3a.secretKey", "fs.s3a.secret.key"]),
    ) {
        (Some(id), Some(secret)) => b = b.access_key_id(id).secret_access_key(secret),
        _ => b = b.skip_signature(),
    }
    t.operator(b)
}
