//! GooseFS paths and UFS URIs as they cross the wire: the bounds every path from the network is
//! checked against, the mount policy, how URIs are shown (passwords redacted) and encoded.

use super::{Refusal, RefusalKind};

/// The longest path or URI a request may carry (Linux's `PATH_MAX`).
pub const MAX_PATH: usize = 4096;
/// The most bytes of one path component (Linux's `NAME_MAX`, as the FUSE mount presents it).
pub const MAX_NAME: usize = 255;
/// The most components of a GooseFS path: a recursive `mkdir` stores every prefix, so its cost
/// grows with the square of the depth.
pub const MAX_DEPTH: usize = 256;

/// Checks a GooseFS path from the network against [`MAX_PATH`], [`MAX_NAME`] and [`MAX_DEPTH`].
///
/// # Errors
/// An [`RefusalKind::Invalid`] refusal, one line starting `invalid:`.
pub fn check_path(path: &str) -> Result<(), Refusal> {
    let refuse = |why: String| Err(Refusal::invalid(format!("invalid: {why}")));
    if path.len() > MAX_PATH {
        return refuse(format!("a path of {} bytes (at most {MAX_PATH})", path.len()));
    }
    if let Some(name) = path.split('/').find(|n| n.len() > MAX_NAME) {
        let shown: String = name.chars().take(20).collect();
        return refuse(format!("the name {shown:?}... is over {MAX_NAME} bytes"));
    }
    let depth = path.split('/').filter(|n| !n.is_empty()).count();
    if depth > MAX_DEPTH {
        return refuse(format!("a path {depth} levels deep (at most {MAX_DEPTH})"));
    }
    Ok(())
}

/// Which UFSes a mount may name: `local://`/`file://` directories only at or below the local
/// root UFS (`goosefs.master.mount.table.root.ufs`: `/underFSStorage`, where the rendered
/// manifests mount the Dataset's declared host paths and claims), `pvc://` claims only inside
/// their own folder there; no `.` or `..` in either. Other schemes reach their own services.
///
/// # Errors
/// A [`RefusalKind::Forbidden`] refusal (one line starting `forbidden:`), or an invalid one.
pub fn mount_policy(ufs: &str, root_ufs: &str) -> Result<(), Refusal> {
    if ufs.len() > MAX_PATH {
        return Err(Refusal::invalid(format!(
            "invalid: a UFS URI of {} bytes (at most {MAX_PATH})",
            ufs.len()
        )));
    }
    let forbidden = |why: &str| {
        Err(Refusal::new(
            RefusalKind::Forbidden,
            format!("forbidden: {} {why}", redact_uri(ufs)),
        ))
    };
    let local_dir = |uri: &str| -> Option<String> {
        let (scheme, rest) = uri.split_once("://").unwrap_or(("file", uri));
        let local = scheme.eq_ignore_ascii_case("local") || scheme.eq_ignore_ascii_case("file");
        (local && (rest.starts_with('/') || uri.contains("://"))).then(|| format!("/{}", rest.trim_matches('/')))
    };
    let escapes = |path: &str| path.split('/').any(|p| p == "." || p == "..");
    let scheme = ufs.split_once("://").map_or("file", |(s, _)| s).to_ascii_lowercase();
    match scheme.as_str() {
        "local" | "file" => {
            let (Some(dir), Some(root)) = (local_dir(ufs), local_dir(root_ufs)) else {
                return forbidden("is not below the runtime's local storage (its root UFS is not local)");
            };
            let below = dir == root || dir.starts_with(&format!("{}/", root.trim_end_matches('/')));
            if escapes(&dir) || !below {
                return forbidden(&format!(
                    "is not below the runtime's local storage {root} (where its declared volumes are)"
                ));
            }
            Ok(())
        }
        "pvc" if escapes(ufs) => forbidden("leaves its claim ('.' or '..')"),
        _ => Ok(()),
    }
}

/// `uri` as it may be shown: a password in its user info (`http://user:pass@host/`) becomes
/// `***`. Every message, log line and table that names a UFS URI shows it through this.
pub fn redact_uri(uri: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{scheme}://{shown}@{host}{}", &rest[authority_end..]).into()
        }
        None => uri.into(),
    }
}

/// Words of option keys whose values are secrets: never sent back nor logged.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "accesskey", "credential"]
        .iter()
        .any(|w| k.contains(w))
}

/// Encodes a path for a URL: everything but unreserved characters and `/`.
pub fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base?path=<path>`, the path percent-encoded: how a route names a path.
pub fn query(base: &str, path: &str) -> String {
    format!("{base}?path={}", percent_encode(path))
}

/// A [`super::paths::LIST`] request: the page of `path` after the name `after`.
pub fn list_query(path: &str, after: Option<&str>, limit: usize) -> String {
    let mut q = format!("{}&limit={limit}", query(super::paths::LIST, path));
    if let Some(name) = after {
        q.push_str("&after=");
        q.push_str(&percent_encode(name));
    }
    q
}

/// The parent of a normal path other than `/`.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_over_the_limits_are_refused() {
        assert!(check_path("/a/b").is_ok());
        assert!(check_path(&format!("/{}", "x".repeat(MAX_PATH))).is_err());
        let long_name = check_path(&format!("/{}", "n".repeat(MAX_NAME + 1))).err();
        assert!(long_name.map(|r| r.message).unwrap_or_default().contains("over 255"));
        let deep = "/d".repeat(MAX_DEPTH + 1);
        assert_eq!(
            check_path(&deep).err().map(|r| r.message).as_deref(),
            Some("invalid: a path 257 levels deep (at most 256)")
        );
        assert!(check_path(&"/d".repeat(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn local_mounts_stay_below_the_declared_storage() {
        let root = "/underFSStorage";
        for ok in [
            "local:///underFSStorage/data",
            "/underFSStorage/x/",
            "pvc://claim/sub",
            "http://h/",
            "s3://b/p",
        ] {
            assert_eq!(mount_policy(ok, root), Ok(()), "{ok}");
        }
        for bad in [
            "local:///",
            "local:///etc",
            "file:///underFSStorageX",
            "local:///underFSStorage/../etc",
            "/etc/passwd",
            "pvc://claim/../../etc",
        ] {
            let refused = mount_policy(bad, root).err();
            assert_eq!(refused.as_ref().map(|r| r.kind), Some(RefusalKind::Forbidden), "{bad}");
            assert!(
                refused
                    .map(|r| r.message)
                    .unwrap_or_default()
                    .starts_with("forbidden: "),
                "{bad}"
            );
        }
        // A root UFS that is not local: no local mount at all.
        assert!(mount_policy("local:///underFSStorage", "s3://bucket/").is_err());
    }

    #[test]
    fn passwords_in_uris_are_never_shown() {
        assert_eq!(
            redact_uri("https://me:s3cr3t@h.example/a@b/"),
            "https://me:***@h.example/a@b/"
        );
        assert_eq!(redact_uri("http://token@h/x"), "http://***@h/x");
        for plain in ["http://h/a@b", "s3://bucket/p", "/local/path", "local:///x"] {
            assert_eq!(redact_uri(plain), plain);
        }
    }

    #[test]
    fn secret_option_keys_are_recognised() {
        for key in [
            "fs.cosn.userinfo.secretKey",
            "aws.accessKeyId",
            "fs.oss.accessKeySecret",
            "x.password",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        assert!(!is_secret_key("fs.cosn.bucket.region"));
    }

    #[test]
    fn paths_are_percent_encoded_for_urls() {
        assert_eq!(percent_encode("/a b/c%d"), "/a%20b/c%25d");
        assert_eq!(query("/api", "/x&y"), "/api?path=/x%26y");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
    }
}
