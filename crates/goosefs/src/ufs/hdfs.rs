//! HDFS (`hdfs://namenode[:port]/path`) through its REST gateway, WebHDFS: no JVM, no libhdfs.
//! The name node's HTTP port comes from the mount's options (9870, Hadoop 3's, by default).

use std::collections::BTreeMap;

use opendal::services;

use super::{Built, Target, UfsError, option};

/// The operator for an HDFS name node.
///
/// # Errors
/// [`UfsError::Config`].
pub(super) fn build(t: &Target<'_>, options: &BTreeMap<String, String>) -> Result<Built, UfsError> {
    t.needs_authority("name node")?;
    let host = t.authority.rsplit_once(':').map_or(t.authority, |(h, _)| h);
    let port = option(
        options,
        &["goosefs.underfs.webhdfs.port", "dfs.namenode.http-address.port"],
    )
    .unwrap_or("9870");
    t.operator(
        services::Webhdfs::default()
            .endpoint(&format!("http://{host}:{port}"))
            .root(&t.root),
    )
}
