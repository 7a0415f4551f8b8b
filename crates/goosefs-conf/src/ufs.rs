//! UFS schemes: which ones Fluid's Datasets use with GooseFS, and which ones the bundled `goosefs`
//! runtime reads (through Apache OpenDAL, a hostPath, or a mounted claim).

/// What is known of a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// The scheme, lower case, without `://`.
    pub name: &'static str,
    /// Documented for GooseFS (Fluid and Tencent's GooseFS documentation use it).
    pub documented: bool,
    /// The bundled runtime reads it.
    pub readable: bool,
    /// How the runtime reads it, for messages.
    pub via: &'static str,
}

/// Every scheme this project knows of. Fluid itself passes any scheme through to `goosefs fs
/// mount`; schemes missing here are ones neither side knows.
pub const SCHEMES: [Scheme; 14] = [
    Scheme {
        name: "http",
        documented: true,
        readable: true,
        via: "HTTP GETs, index pages listed",
    },
    Scheme {
        name: "https",
        documented: true,
        readable: true,
        via: "HTTP GETs, index pages listed",
    },
    Scheme {
        name: "s3",
        documented: true,
        readable: true,
        via: "OpenDAL's S3 service",
    },
    Scheme {
        name: "s3a",
        documented: true,
        readable: true,
        via: "OpenDAL's S3 service",
    },
    Scheme {
        name: "cos",
        documented: true,
        readable: true,
        via: "OpenDAL's COS service",
    },
    Scheme {
        name: "cosn",
        documented: true,
        readable: true,
        via: "OpenDAL's COS service",
    },
    Scheme {
        name: "oss",
        documented: true,
        readable: true,
        via: "OpenDAL's OSS service",
    },
    Scheme {
        name: "hdfs",
        documented: true,
        readable: true,
        via: "OpenDAL's WebHDFS service",
    },
    Scheme {
        name: "local",
        documented: true,
        readable: true,
        via: "a hostPath under /underFSStorage",
    },
    Scheme {
        name: "pvc",
        documented: true,
        readable: true,
        via: "a claim mounted under /underFSStorage",
    },
    Scheme {
        name: "ofs",
        documented: true,
        readable: false,
        via: "",
    },
    Scheme {
        name: "s3n",
        documented: false,
        readable: true,
        via: "OpenDAL's S3 service",
    },
    Scheme {
        name: "gs",
        documented: false,
        readable: false,
        via: "",
    },
    Scheme {
        name: "obs",
        documented: false,
        readable: false,
        via: "",
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
    SCHEMES.iter().filter(|s| s.readable).map(|s| s.name).collect()
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
            assert_eq!(s.readable, !s.via.is_empty(), "{}", s.name);
        }
        assert!(is_web("https://mirrors.tuna.tsinghua.edu.cn/apache/hbase/stable/"));
        assert!(!is_web("s3://b/"));
        assert!(is_volume("pvc://claim/sub") && is_volume("local:///mnt"));
        assert_eq!(scheme_of("/plain/path"), None);
        assert_eq!(lookup("cosn").map(|s| s.readable), Some(true));
        assert_eq!(lookup("ftp"), None);
    }
}
