//! The image catalog: which image each container runs. Two are embedded: `kubectl-goosefs`
//! (the default, `templates/images.yaml`: our runtime image) and `fluid`
//! (`templates/images-fluid.yaml`: Fluid's GooseFS images); `--images NAME|FILE` picks one or
//! reads a file, and the spec's image fields override an entry per runtime.

use serde::{Deserialize, Serialize};

/// The default catalog's text.
pub const EMBEDDED: &str = include_str!("../../templates/images.yaml");

/// The embedded catalogs by name, the default first.
pub const NAMED: [(&str, &str); 2] = [
    ("kubectl-goosefs", EMBEDDED),
    ("fluid", include_str!("../../templates/images-fluid.yaml")),
];

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogImage {
    /// Repository.
    pub image: String,
    /// Tag.
    pub tag: String,
    /// Pull policy.
    #[serde(default = "if_not_present")]
    pub pull_policy: String,
    /// Optional `sha256:...` digest pinning the image.
    #[serde(default)]
    pub digest: Option<String>,
}

fn if_not_present() -> String {
    "IfNotPresent".to_owned()
}

/// The catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    /// Master, worker, job master/worker, API gateway, mount Job.
    pub goosefs: CatalogImage,
    /// FUSE client.
    pub fuse: CatalogImage,
    /// init-users init container.
    pub init_users: CatalogImage,
    /// The images are our runtime's, which authenticates every connection with the runtime's
    /// credential Secret (mounted into its pods); Fluid's images know nothing of it.
    #[serde(default)]
    pub credential: bool,
    /// The images are our runtime's, whose leading master mounts the Dataset's mounts itself
    /// (declared in the master container's environment); Fluid's images rely on the mount Job.
    #[serde(default, rename = "declaredMounts")]
    pub declared_mounts: bool,
    /// The images answer readiness and liveness probes (`/ready`, `/health` on the masters' and
    /// workers' web ports; FUSE's mount answering `stat`); Fluid's chart renders none.
    #[serde(default)]
    pub probes: bool,
    /// The images' leading master keeps the GooseFSRuntime's and Dataset's status (the render
    /// adds its service account and Role); for other images `apply` writes it.
    #[serde(default, rename = "keepsStatus")]
    pub keeps_status: bool,
    /// Where the catalog came from (`embedded` or the file name), for `--explain-images`.
    #[serde(skip)]
    pub origin: String,
}

/// Why a catalog cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not a valid catalog.
    #[error("image catalog {origin} is invalid: {message}")]
    Invalid {
        /// File name or `embedded`.
        origin: String,
        /// Parser message.
        message: String,
    },
}

impl Catalog {
    /// Parses a catalog.
    ///
    /// # Errors
    /// [`CatalogError::Invalid`] for malformed text or unknown keys.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let mut catalog: Catalog = serde_saphyr::from_str(text).map_err(|e| CatalogError::Invalid {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        catalog.origin = origin.to_owned();
        Ok(catalog)
    }

    /// The default catalog (`kubectl-goosefs`).
    ///
    /// # Errors
    /// Only if the embedded file is broken (a test prevents that).
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Catalog::parse(
            EMBEDDED,
            "embedded catalog kubectl-goosefs (the default: our goosefs runtime image)",
        )
    }

    /// An embedded catalog by name (`kubectl-goosefs` or `fluid`), or `None` for another name.
    ///
    /// # Errors
    /// Only if the embedded file is broken (a test prevents that).
    pub fn named(name: &str) -> Option<Result<Catalog, CatalogError>> {
        let (_, text) = NAMED.iter().find(|(n, _)| *n == name)?;
        Some(if name == NAMED[0].0 {
            Catalog::embedded()
        } else {
            Catalog::parse(text, &format!("embedded catalog {name} (chosen with --images {name})"))
        })
    }

    /// Every embedded catalog with its name, the default first.
    ///
    /// # Errors
    /// Only if an embedded file is broken (a test prevents that).
    pub fn all() -> Result<Vec<(&'static str, Catalog)>, CatalogError> {
        NAMED
            .iter()
            .filter_map(|(name, _)| Some((*name, Catalog::named(name)?)))
            .map(|(name, catalog)| Ok((name, catalog?)))
            .collect()
    }
}

/// An image chosen for a container, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedImage {
    /// `repo:tag` or `repo@sha256:...`.
    pub reference: String,
    /// Pull policy.
    pub pull_policy: String,
    /// Where it came from, e.g. `spec.goosefsVersion` or `embedded catalog`.
    pub source: String,
}

/// Picks the image: the spec's fields where set (image and tag separately, as Fluid does), else
/// the catalog entry (by digest when it has one).
pub fn resolve(
    entry: &CatalogImage,
    origin: &str,
    spec_image: Option<&str>,
    spec_tag: Option<&str>,
    spec_policy: Option<&str>,
    spec_field: &str,
) -> ResolvedImage {
    let image = spec_image.filter(|s| !s.is_empty());
    let tag = spec_tag.filter(|s| !s.is_empty());
    let pull_policy = spec_policy
        .filter(|s| !s.is_empty())
        .unwrap_or(&entry.pull_policy)
        .to_owned();
    if image.is_none() && tag.is_none() {
        let reference = match &entry.digest {
            Some(digest) => format!("{}@{digest}", entry.image),
            None => format!("{}:{}", entry.image, entry.tag),
        };
        return ResolvedImage {
            reference,
            pull_policy,
            source: origin.to_owned(),
        };
    }
    ResolvedImage {
        reference: format!("{}:{}", image.unwrap_or(&entry.image), tag.unwrap_or(&entry.tag)),
        pull_policy,
        source: spec_field.to_owned(),
    }
}

/// The images of one runtime.
#[derive(Debug, Clone, Serialize)]
pub struct Images {
    /// Master/worker/job/gateway/mount Job.
    pub goosefs: ResolvedImage,
    /// FUSE.
    pub fuse: ResolvedImage,
    /// init-users.
    pub init_users: ResolvedImage,
}

/// The images `spec` gets from `catalog`.
pub fn images(spec: &crate::model::runtime::GooseFsRuntimeSpec, catalog: &Catalog) -> Images {
    let version = spec.goosefs_version.clone().unwrap_or_default();
    let fuse = spec.fuse.clone().unwrap_or_default();
    let init = spec.init_users.clone().unwrap_or_default();
    let origin = catalog.origin.as_str();
    Images {
        goosefs: resolve(
            &catalog.goosefs,
            origin,
            version.image.as_deref(),
            version.image_tag.as_deref(),
            version.image_pull_policy.as_deref(),
            "spec.goosefsVersion",
        ),
        fuse: resolve(
            &catalog.fuse,
            origin,
            fuse.image.as_deref(),
            fuse.image_tag.as_deref(),
            fuse.image_pull_policy.as_deref(),
            "spec.fuse",
        ),
        init_users: resolve(
            &catalog.init_users,
            origin,
            init.image.as_deref(),
            init.image_tag.as_deref(),
            init.image_pull_policy.as_deref(),
            "spec.initUsers",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_is_our_image_at_the_workspace_version() {
        let c = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
        for entry in [&c.goosefs, &c.fuse, &c.init_users] {
            assert_eq!(entry.image, "kubectl-goosefs/goosefs");
            // scripts/images tags the image with the workspace version: they must agree.
            assert_eq!(entry.tag, env!("CARGO_PKG_VERSION"));
        }
    }

    #[test]
    fn fluid_catalog_has_fluids_images() {
        let c = Catalog::named("fluid")
            .expect("named")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.goosefs.image, "ccr.ccs.tencentyun.com/qcloud/goosefs");
        assert_eq!(c.goosefs.tag, "v1.2.0");
        assert_eq!(c.fuse.image, "ccr.ccs.tencentyun.com/qcloud/goosefs-fuse");
        assert_eq!(c.init_users.image, "fluidcloudnative/init-users");
        assert!(c.origin.contains("--images fluid"), "{}", c.origin);
        assert!(Catalog::named("kubectl-goosefs").is_some() && Catalog::named("x").is_none());
        let names: Vec<_> = Catalog::all().expect("catalogs").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["kubectl-goosefs", "fluid"]);
    }

    #[test]
    fn spec_overrides_and_digests() {
        let entry = CatalogImage {
            image: "repo/goosefs".into(),
            tag: "v1".into(),
            pull_policy: "IfNotPresent".into(),
            digest: Some("sha256:abc".into()),
        };
        assert_eq!(
            resolve(&entry, "catalog", None, None, None, "spec").reference,
            "repo/goosefs@sha256:abc"
        );
        let r = resolve(
            &entry,
            "catalog",
            None,
            Some("v2"),
            Some("Always"),
            "spec.goosefsVersion",
        );
        assert_eq!(
            (r.reference.as_str(), r.pull_policy.as_str(), r.source.as_str()),
            ("repo/goosefs:v2", "Always", "spec.goosefsVersion")
        );
        assert!(Catalog::parse("goosefs: {image: a, tag: b}\n", "x").is_err());
    }
}
