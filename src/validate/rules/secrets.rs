//! GFS203: credential-looking keys in plain `options` / `sharedOptions`. Values are never read
//! into messages, so a finding never leaks the secret it is about.

use crate::model::Dataset;
use crate::model::common::StringMap;
use crate::validate::codes::Code;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Lower-case fragments that mark an option key as a credential.
const MARKERS: [&str; 9] = [
    "secret",
    "password",
    "passwd",
    "token",
    "accesskey",
    "access_key",
    "credential",
    "privatekey",
    "private_key",
];

/// Whether an option key names a credential.
pub fn looks_like_credential(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// Checks `spec.sharedOptions` and every `spec.mounts[i].options`.
pub fn check(dataset: &Dataset, ctx: &mut DocCtx<'_>) {
    if let Some(options) = &dataset.spec.shared_options {
        scan(options, "spec.sharedOptions", "sharedEncryptOptions", ctx);
    }
    for (i, mount) in dataset.spec.mounts.iter().flatten().enumerate() {
        if let Some(options) = &mount.options {
            scan(options, &format!("spec.mounts[{i}].options"), "encryptOptions", ctx);
        }
    }
}

fn scan(options: &StringMap, base: &str, encrypted: &str, ctx: &mut DocCtx<'_>) {
    let base = FieldPath::parse(base);
    for key in options.keys().filter(|k| looks_like_credential(k)) {
        ctx.report(
            Code::GFS203,
            &base.key(key),
            true,
            format!("option \"{key}\" looks like a credential but is stored in plain text (value not shown)"),
            Some(format!(
                "move it to {encrypted} with valueFrom.secretKeyRef, so it is read from a Secret"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_credential;

    #[test]
    fn credential_keys() {
        assert!(looks_like_credential("fs.cos.accessKeySecret"));
        assert!(looks_like_credential("fs.cos.accessKeyId"));
        assert!(looks_like_credential("aws.secretKey"));
        assert!(looks_like_credential("fs.oss.securityToken"));
        assert!(!looks_like_credential("fs.cosn.userinfo.region"));
        assert!(!looks_like_credential("fs.oss.endpoint"));
    }
}
