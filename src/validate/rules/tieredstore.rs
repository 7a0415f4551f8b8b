//! GFS102-GFS104: tier quotas, watermarks, paths and media.

use std::collections::HashMap;

use crate::model::GooseFsRuntime;
use crate::model::common::Level;
use crate::model::quantity::parse_quantity;
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// Checks every level of `spec.tieredstore.levels`.
pub fn check(runtime: &GooseFsRuntime, ctx: &mut DocCtx<'_>) {
    let Some(levels) = runtime.spec.tieredstore.as_ref().and_then(|t| t.levels.as_ref()) else {
        return;
    };
    let mut paths_seen: HashMap<String, usize> = HashMap::new();
    let mut media_seen = HashMap::new();
    for (i, level) in levels.iter().enumerate() {
        let base = format!("spec.tieredstore.levels[{i}]");
        quota(level, &base, ctx);
        watermarks(level, &base, ctx);
        paths(level, i, &base, &mut paths_seen, ctx);
        if let Some(first) = media_seen.insert(level.mediumtype, i) {
            ctx.report(
                Code::GFS104,
                &FieldPath::parse(&format!("{base}.mediumtype")),
                false,
                format!(
                    "medium {} is already used by levels[{first}]; Fluid gives both levels the same level index, so one shadows the other",
                    level.mediumtype.as_str()
                ),
                Some("merge the two levels: list both paths in one level, comma-separated".to_owned()),
            );
            media_seen.insert(level.mediumtype, first);
        }
    }
}

/// The level's paths as Fluid splits them (on commas, trailing `/` trimmed).
fn split_paths(level: &Level) -> Vec<&str> {
    level
        .path
        .as_deref()
        .map(|p| p.split(',').map(|s| s.trim_end_matches('/')).collect())
        .unwrap_or_default()
}

fn quota(level: &Level, base: &str, ctx: &mut DocCtx<'_>) {
    let path_count = split_paths(level).len().max(1);
    match (&level.quota, &level.quota_list) {
        (None, None) => ctx.report(
            Code::GFS102,
            &FieldPath::parse(base),
            false,
            "tier level has neither quota nor quotaList (Fluid: \"either quota or quotaList must be set\")".to_owned(),
            Some("add quota: <size> for the whole level, e.g. quota: 100Gi".to_owned()),
        ),
        (quota, Some(list)) => {
            let items: Vec<&str> = list.split(',').collect();
            if items.len() != path_count {
                ctx.report(
                    Code::GFS102,
                    &FieldPath::parse(&format!("{base}.quotaList")),
                    false,
                    format!(
                        "quotaList has {} entries but path has {path_count} (Fluid: \"length of quotaList must be consistent with length of paths\")",
                        items.len()
                    ),
                    Some("give one quota per comma-separated path, in the same order".to_owned()),
                );
            }
            for item in items {
                positive(item, &format!("{base}.quotaList"), ctx);
            }
            if quota.is_some() {
                ctx.report_as(
                    Code::GFS102,
                    Severity::Warning,
                    &FieldPath::parse(&format!("{base}.quota")),
                    false,
                    "quota is ignored because quotaList is set".to_owned(),
                    Some("remove one of the two".to_owned()),
                );
            }
        }
        (Some(q), None) => positive(&q.0, &format!("{base}.quota"), ctx),
    }
}

fn positive(text: &str, path: &str, ctx: &mut DocCtx<'_>) {
    match parse_quantity(text) {
        Ok(q) if q.millis > 0 => {}
        Ok(_) => ctx.report(
            Code::GFS102,
            &FieldPath::parse(path),
            false,
            format!("quota {text:?} must be greater than zero"),
            None,
        ),
        Err(e) => ctx.report(
            Code::GFS102,
            &FieldPath::parse(path),
            false,
            format!("can't parse quota: {e} (Fluid: \"can't correctly parse quota\")"),
            None,
        ),
    }
}

/// A watermark ratio: a plain decimal (`0.8`, `.95`, `1`) in (0, 1].
fn ratio(text: &str) -> Result<f64, String> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1
        && text != ".";
    let value: f64 = if plain {
        text.parse().map_err(|_| format!("{text:?} is not a decimal number"))?
    } else {
        return Err(format!("{text:?} is not a decimal number such as \"0.8\""));
    };
    if value <= 0.0 || value > 1.0 {
        return Err(format!("{text:?} is outside (0, 1]"));
    }
    Ok(value)
}

fn watermarks(level: &Level, base: &str, ctx: &mut DocCtx<'_>) {
    let mut parsed = [None, None];
    for (slot, (name, value)) in [("high", &level.high), ("low", &level.low)].into_iter().enumerate() {
        let Some(text) = value else { continue };
        match ratio(text) {
            Ok(v) => parsed[slot] = Some(v),
            Err(e) => ctx.report(
                Code::GFS103,
                &FieldPath::parse(&format!("{base}.{name}")),
                false,
                format!("{name} watermark {e}"),
                Some("watermarks are ratios of the tier's quota, e.g. high: \"0.8\", low: \"0.7\"".to_owned()),
            ),
        }
    }
    if let [Some(high), Some(low)] = parsed
        && low >= high
    {
        ctx.report(
            Code::GFS103,
            &FieldPath::parse(&format!("{base}.low")),
            false,
            format!(
                "low watermark {} must be below high watermark {}: GooseFS evicts from high down to low",
                level.low.as_deref().unwrap_or_default(),
                level.high.as_deref().unwrap_or_default()
            ),
            Some("e.g. high: \"0.8\", low: \"0.7\"".to_owned()),
        );
    }
}

fn paths(level: &Level, index: usize, base: &str, seen: &mut HashMap<String, usize>, ctx: &mut DocCtx<'_>) {
    let path = FieldPath::parse(&format!("{base}.path"));
    for p in split_paths(level) {
        if p.is_empty() {
            ctx.report(
                Code::GFS104,
                &path,
                false,
                "empty path in the comma-separated list".to_owned(),
                None,
            );
            continue;
        }
        if !p.starts_with('/') {
            ctx.report(
                Code::GFS104,
                &path,
                false,
                format!("tier path {p:?} is not absolute"),
                Some(format!("write it as /{p}")),
            );
        }
        if let Some(first) = seen.insert(p.to_owned(), index) {
            let where_ = if first == index {
                "this level".to_owned()
            } else {
                format!("levels[{first}]")
            };
            ctx.report(
                Code::GFS104,
                &path,
                false,
                format!("tier path {p:?} is already used by {where_}"),
                Some("use each cache directory once".to_owned()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ratio;

    #[test]
    fn ratios() {
        assert_eq!(ratio("0.8"), Ok(0.8));
        assert_eq!(ratio("1"), Ok(1.0));
        assert_eq!(ratio(".95"), Ok(0.95));
        for bad in ["0", "1.5", "80%", "-0.1", "", ".", "0.8.1", "1e-1"] {
            assert!(ratio(bad).is_err(), "{bad}");
        }
    }
}
