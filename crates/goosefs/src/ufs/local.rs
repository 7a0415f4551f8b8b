//! Directories of the pod's file system: `local://` (a Dataset's hostPath, mounted under
//! `/underFSStorage` by the rendered volumes; also the runtime's own root UFS, a bare path) and
//! `pvc://<claim>/path` (the claim mounted at `/underFSStorage/<claim>`). OpenDAL's Fs service;
//! uploads are staged under the folder so a file is replaced whole.

use opendal::{Operator, services};

use super::{Built, STAGING, Target, UfsError};

/// The operator for a local directory.
///
/// # Errors
/// [`UfsError::Config`].
pub(super) fn build_local(t: &Target<'_>) -> Result<Built, UfsError> {
    let dir = if t.scheme == "local" && !t.authority.is_empty() {
        // local://host/path is not a thing: local:///path (or local://path, relative to
        // nothing, read as /path).
        format!("/{}{}", t.authority, t.root)
    } else {
        t.root.clone()
    };
    folder(t, dir)
}

/// The operator for a folder of a mounted claim.
///
/// # Errors
/// [`UfsError::Config`].
pub(super) fn build_pvc(t: &Target<'_>) -> Result<Built, UfsError> {
    t.needs_authority("claim name")?;
    folder(
        t,
        format!("{}/{}{}", goosefs_conf::fluid::UNDER_FS_STORAGE, t.authority, t.root),
    )
}

fn folder(t: &Target<'_>, dir: String) -> Result<Built, UfsError> {
    let mut built = t.operator(services::Fs::default().root(&dir))?;
    built.local = Some(dir);
    Ok(built)
}

/// An operator for folder `dir` whose writes are staged in its [`STAGING`] folder and renamed
/// into place (OpenDAL's fs service otherwise writes the target in place, visible half-written).
///
/// # Errors
/// OpenDAL's.
pub(super) fn staged(dir: &str) -> opendal::Result<Operator> {
    Operator::new(
        services::Fs::default()
            .root(dir)
            .atomic_write_dir(&format!("{}/{STAGING}", dir.trim_end_matches('/'))),
    )
}
