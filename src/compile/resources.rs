//! Container resources (FACTS c.2, d.3). Fluid adds the runtime's MEM-tier quotas to the worker
//! and FUSE memory limits when a limit is set (a zero limit counts as 20Gi for workers and 50Gi
//! for FUSE), and passes the worker's `requests.memory` to GooseFS as
//! `goosefs.worker.memory.size`. Fluid drops the worker and FUSE resources altogether when no
//! memory limit is set; we keep them, on purpose (docs/reference.md, "Differences from Fluid"). Pure.

use k8s_openapi::api::core::v1::ResourceRequirements;
use serde_json::{Value, json};

use crate::model::quantity::{QuantityFormat, canonical, parse_quantity};

/// The resources as JSON for the templates (`{}` when unset).
pub fn as_json(resources: Option<&ResourceRequirements>) -> Value {
    resources
        .and_then(|r| serde_json::to_value(r).ok())
        .unwrap_or_else(|| json!({}))
}

/// The resources with `mem_tier_bytes` added to the memory limit, when one is set; the sum is
/// written in the limit's own format, as apimachinery's `Quantity.Add` keeps it.
pub fn with_mem_tiers(resources: Option<&ResourceRequirements>, mem_tier_bytes: i128, zero_default: &str) -> Value {
    let mut value = as_json(resources);
    let limit = resources
        .and_then(|r| r.limits.as_ref())
        .and_then(|l| l.get("memory"))
        .map(|q| q.0.clone());
    if let Some(limit) = limit {
        let parsed = parse_quantity(&limit).ok().filter(|q| q.millis != 0);
        let (base, format) = match parsed {
            Some(q) => (q, QuantityFormat::of(&limit)),
            None => (
                parse_quantity(zero_default).unwrap_or_default(),
                QuantityFormat::of(zero_default),
            ),
        };
        let mut total = base;
        total.millis = total.millis.saturating_add(mem_tier_bytes.saturating_mul(1000));
        value["limits"]["memory"] = Value::String(canonical(total, format));
    }
    value
}

/// `goosefs.worker.memory.size`: the worker's `requests.memory` in canonical form, when set.
pub fn memory_request(resources: Option<&ResourceRequirements>) -> Option<String> {
    let text = resources?.requests.as_ref()?.get("memory")?.0.clone();
    let parsed = parse_quantity(&text).ok()?;
    Some(canonical(parsed, QuantityFormat::of(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(limits: &[(&str, &str)], requests: &[(&str, &str)]) -> ResourceRequirements {
        let map = |pairs: &[(&str, &str)]| {
            (!pairs.is_empty()).then(|| {
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            (*k).to_owned(),
                            k8s_openapi::apimachinery::pkg::api::resource::Quantity((*v).to_owned()),
                        )
                    })
                    .collect()
            })
        };
        ResourceRequirements {
            limits: map(limits),
            requests: map(requests),
            ..ResourceRequirements::default()
        }
    }

    #[test]
    fn mem_tiers_count_towards_the_memory_limit_as_fluid_tests() {
        // FACTS f.28/29: limit 2Gi + MEM 20Gi -> 22Gi.
        let r = resources(&[("memory", "2Gi"), ("cpu", "500m")], &[("memory", "1Gi")]);
        let v = with_mem_tiers(Some(&r), 20 << 30, "20Gi");
        assert_eq!(v["limits"]["memory"], "22Gi");
        assert_eq!(v["limits"]["cpu"], "500m");
        // A zero limit counts as the default; no limit: untouched (FACTS f.30).
        let zero = resources(&[("memory", "0")], &[]);
        assert_eq!(with_mem_tiers(Some(&zero), 1 << 30, "20Gi")["limits"]["memory"], "21Gi");
        let requests_only = resources(&[], &[("memory", "1Gi")]);
        assert_eq!(
            with_mem_tiers(Some(&requests_only), 1 << 30, "20Gi"),
            as_json(Some(&requests_only))
        );
        assert_eq!(with_mem_tiers(None, 1 << 30, "20Gi"), json!({}));
        // The sum keeps the limit's format.
        let decimal = resources(&[("memory", "2G")], &[]);
        assert_eq!(
            with_mem_tiers(Some(&decimal), 1 << 30, "20Gi")["limits"]["memory"],
            "3073741824"
        );
    }

    #[test]
    fn memory_request_is_canonical() {
        assert_eq!(
            memory_request(Some(&resources(&[], &[("memory", "1024Mi")]))).as_deref(),
            Some("1Gi")
        );
        assert_eq!(memory_request(Some(&resources(&[("memory", "2Gi")], &[]))), None);
        assert_eq!(memory_request(None), None);
    }
}
