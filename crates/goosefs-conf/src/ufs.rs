//! UFS schemes: which ones Fluid's Datasets use with GooseFS, and which ones the bundled `goosefs`
//! runtime reads (through Apache OpenDAL, a hostPath, or a mounted claim).

/// How the bundled runtime reads a scheme: one of its UFS services (`goosefs::ufs`, one file
/// each). The runtime dispatches on this table, so a scheme the plugin calls readable is one the
/// runtime opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// HTTP GETs; index pages listed.
    Web,
    /// OpenDAL's S3 service.
    S3,
    /// OpenDAL's COS service.
    Cos,
    /// OpenDAL's OSS service.
    Oss,
    /// OpenDAL's WebHDFS service (HDFS through its REST gateway).
    WebHdfs,
    /// A host directory under `/underFSStorage`.
    Local,
    /// A claim mounted under `/underFSStorage/<claim>`.
    Pvc,
}

impl Service {
    /// How the runtime reads it, for messages.
    pub fn via(self) -> &'static str {
        match self {
            Service::Web => "HTTP GETs, index pages listed",
            Service::S3 => "OpenDAL's S3 service",
            Service::Cos => "OpenDAL's COS service",
            Service::Oss => "OpenDAL's OSS service",
            Service::WebHdfs => "OpenDAL's WebHDFS service",
            Service::Local => "a hostPath under /underFSStorage",
            Service::Pvc => "a claim mounted under /underFSStorage",
        }
    }
}

/// What is known of a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// The scheme, lower case, without `://`.
    pub name: &'static str,
    /// Documented for GooseFS (Fluid and Tencent's GooseFS documentation use it).
    pub documented: bool,
    /// The runtime's service for it; `None`: the bundled runtime cannot read it.
    pub service: Option<Service>,
}

impl Scheme {
    /// The bundled runtime reads it.
    pub fn readable(&self) -> bool {
        self.service.is_some()
    }

    /// How the runtime reads it, for messages (empty when it cannot).
    pub fn via(&self) -> &'static str {
        self.service.map_or("", Service::via)
    }
}

/// Every scheme this project knows of. Fluid itself passes any scheme through to `goosefs fs
/// mount`; schemes missing here are ones neither side knows.
pub const SCHEMES: [Scheme; 14] = [
    Scheme {
        name: "http",
        documented: true,
        service: Some(Service::Web),
    },
    Scheme {
        name: "https",
        documented: true,
        service: Some(Service::Web),
    },
    Scheme {
        name: "s3",
        documented: true,
        service: Some(Service::S3),
    },
    Scheme {
        name: "s3a",
        documented: true,
        service: Some(Service::S3),
    },
    Scheme {
        name: "cos",
        documented: true,
        service: Some(Service::Cos),
    },
    Scheme {
        name: "cosn",
        documented: true,
        service: Some(Service::Cos),
    },
    Scheme {
        name: "oss",
        documented: true,
        service: Some(Service::Oss),
    },
    Scheme {
        name: "hdfs",
        documented: true,
        service: Some(Service::WebHdfs),
    },
    Scheme {
        name: "local",
        documented: true,
        service: Some(Service::Local),
    },
    Scheme {
        name: "pvc",
        documented: true,
        service: Some(Service::Pvc),
    },
    Scheme {
        name: "ofs",
        documented: true,
        service: None,
    },
    Scheme {
        name: "s3n",
        documented: false,
        service: Some(Service::S3),
    },
    Scheme {
        name: "gs",
        documented: false,
        service: None,
    },
    Scheme {
        name: "obs",
        documented: false,
        service: None,
    },
];

/// The scheme of `uri` (before `://`), as written.
pub fn scheme_of(uri: &str) -> Option<&str> {
    uri.split_once("://").map(|(s, _)| s)
}

/// What is known of `scheme` (exact, lower-case match).
pub fn lookup(scheme: &str) -> Option<&'static Scheme> {
    SCHEMES.iter().find(|s| s.name == scheme)
}

/// Whether `uri` is a web UFS (http or https).
pub fn is_web(uri: &str) -> bool {
    matches!(scheme_of(uri), Some("http" | "https"))
}

/// Whether `uri` is mounted as a volume rather than by `goosefs fs mount` (local://, pvc://).
pub fn is_volume(uri: &str) -> bool {
    matches!(scheme_of(uri), Some("local" | "pvc"))
}

/// The schemes the bundled runtime reads, for messages.
pub fn readable_names() -> Vec<&'static str> {
    SCHEMES.iter().filter(|s| s.readable()).map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_unique_lower_case_and_described() {
        let mut names: Vec<&str> = SCHEMES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCHEMES.len());
        for s in SCHEMES {
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            assert_eq!(s.readable(), !s.via().is_empty(), "{}", s.name);
        }
        assert!(is_web("https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/"));
        assert!(!is_web("s3://b/"));
        assert!(is_volume("pvc://claim/sub") && is_volume("local:///mnt"));
        assert_eq!(scheme_of("/plain/path"), None);
        assert_eq!(lookup("cosn").map(Scheme::readable), Some(true));
        assert_eq!(lookup("ftp"), None);
    }
}
