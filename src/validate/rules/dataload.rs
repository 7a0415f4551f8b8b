//! GFS301: a DataLoad that Fluid would accept and that its loader can run: absolute, clean
//! target paths, positive replicas, a policy with the schedule it needs, loader options GooseFS
//! knows. (Whether its Dataset and runtime are in the input is checked when pairing.)

use crate::model::DataLoad;
use crate::model::dataload::Policy;
use crate::validate::codes::Code;
use crate::validate::diagnostic::Severity;
use crate::validate::document::DocCtx;
use crate::validate::path::FieldPath;

/// The options Fluid's GooseFS loader reads; any other is ignored by it.
const KNOWN_OPTIONS: [&str; 2] = ["atomicCache", "expireTime"];

/// Checks one DataLoad.
pub fn check(load: &DataLoad, ctx: &mut DocCtx<'_>) {
    for (i, target) in load.spec.target.iter().flatten().enumerate() {
        let path = FieldPath::parse(&format!("spec.target[{i}].path"));
        if let Some(why) = bad_path(&target.path) {
            ctx.report(
                Code::GFS301,
                &path,
                false,
                format!("target path {:?} {why}", target.path),
                Some("write the path as the runtime shows it, from its root: /hbase/stable".to_owned()),
            );
        }
        if target.replicas.is_some_and(|r| r < 1) {
            ctx.report(
                Code::GFS301,
                &FieldPath::parse(&format!("spec.target[{i}].replicas")),
                false,
                "replicas must be at least 1".to_owned(),
                Some("leave it out for 1".to_owned()),
            );
        }
    }
    let schedule = load.spec.schedule.as_deref().filter(|s| !s.trim().is_empty());
    let schedule_path = FieldPath::parse("spec.schedule");
    match (load.policy(), schedule) {
        (Policy::Cron, None) => ctx.report(
            Code::GFS301,
            &FieldPath::parse("spec.policy"),
            false,
            "policy Cron needs a schedule".to_owned(),
            Some("add spec.schedule, e.g. \"0 2 * * *\" (daily at 02:00)".to_owned()),
        ),
        (Policy::Cron, Some(text)) => {
            if let Err(why) = cron_schedule(text) {
                ctx.report(
                    Code::GFS301,
                    &schedule_path,
                    false,
                    format!("schedule {text:?} is not a cron schedule Kubernetes accepts: {why}"),
                    Some("five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, ...".to_owned()),
                );
            }
        }
        (Policy::Once | Policy::OnEvent, Some(_)) => ctx.report_as(
            Code::GFS301,
            Severity::Warning,
            &schedule_path,
            false,
            "a schedule is read only with policy Cron: this load ignores it".to_owned(),
            Some("set policy: Cron, or remove the schedule".to_owned()),
        ),
        _ => {}
    }
    if load.policy() == Policy::OnEvent {
        ctx.report_as(
            Code::GFS301,
            Severity::Warning,
            &FieldPath::parse("spec.policy"),
            false,
            "policy OnEvent: Fluid accepts it but no event starts a load; nothing is rendered for it".to_owned(),
            Some("use Once, or Cron with a schedule".to_owned()),
        );
    }
    for key in load.spec.options.iter().flat_map(|o| o.keys()) {
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            ctx.report_as(
                Code::GFS301,
                Severity::Warning,
                &FieldPath::parse(&format!("spec.options.{key}")),
                true,
                format!("option {key:?} is not one GooseFS's loader reads (atomicCache, expireTime): it is ignored"),
                None,
            );
        }
    }
}

/// Why a target path is not one the loader can use, if it is not.
fn bad_path(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("is not absolute");
    }
    if path.split('/').any(|part| part == "." || part == "..") {
        return Some("has . or .. components");
    }
    if path.contains("//") {
        return Some("has an empty component (//)");
    }
    if path.chars().any(char::is_whitespace) {
        // Fluid's loader script splits the joined paths on whitespace too.
        return Some("contains whitespace (Fluid's loader splits paths on it)");
    }
    if path.contains(':') {
        // The loader's environment joins the paths with ':' (Fluid's chart does).
        return Some("contains ':' (the loader separates paths with it)");
    }
    None
}

/// Checks a schedule the way Kubernetes' CronJob validation does (robfig/cron's standard
/// parser): an optional `TZ=`/`CRON_TZ=` prefix, then a descriptor (`@yearly`, `@annually`,
/// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, `@every <duration>`) or five fields
/// of values, ranges, steps, `*` and `?`, with month and weekday names. Hand-written rather than
/// a cron crate's: those accept seconds, `L`, `W` or `#`, which Kubernetes refuses.
///
/// # Errors
/// What is wrong, in words.
pub fn cron_schedule(text: &str) -> Result<(), String> {
    let mut text = text.trim();
    if let Some(rest) = text.strip_prefix("TZ=").or_else(|| text.strip_prefix("CRON_TZ=")) {
        let Some((zone, rest)) = rest.split_once(' ') else {
            return Err("a time zone prefix needs a schedule after it".to_owned());
        };
        if zone.is_empty() {
            return Err("the time zone is empty".to_owned());
        }
        text = rest.trim();
    }
    if let Some(descriptor) = text.strip_prefix('@') {
        if let Some(every) = descriptor.strip_prefix("every ") {
            return go_duration(every.trim()).map_err(|e| format!("@every {e}"));
        }
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => Ok(()),
            other => Err(format!("unknown descriptor @{other}")),
        };
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}", fields.len()));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day of month", 1, 31, &[], 0),
        ("month", 1, 12, &MONTHS, 1),
        ("day of week", 0, 6, &DAYS, 0),
    ];
    for (field, (what, min, max, names, first)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            cron_part(part, min, max, names, first).map_err(|e| format!("{what} {part:?}: {e}"))?;
        }
    }
    Ok(())
}

/// One comma-separated part of a cron field: `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn cron_part(part: &str, min: u32, max: u32, names: &[&str], first: u32) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s > 0 => {}
            _ => return Err(format!("step {step:?} is not a positive number")),
        }
    }
    if range == "*" || range == "?" {
        return Ok(());
    }
    let value = |v: &str| -> Result<u32, String> {
        let n = match names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            Some(i) => u32::try_from(i).unwrap_or(0) + first,
            None => v.parse::<u32>().map_err(|_| format!("{v:?} is not a number"))?,
        };
        if n < min || n > max {
            return Err(format!("{n} is outside {min}-{max}"));
        }
        Ok(n)
    };
    match range.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (value(low)?, value(high)?);
            if low > high {
                return Err(format!("the range starts after it ends ({low} > {high})"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

/// A Go duration (`@every 1h30m`): numbers with units ns, us, µs, ms, s, m, h.
fn go_duration(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("needs a duration (e.g. 1h30m)".to_owned());
    }
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?} is not a duration"));
        }
        let after = &rest[digits..];
        let unit = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        if !matches!(&after[..unit], "ns" | "us" | "µs" | "ms" | "s" | "m" | "h") {
            return Err(format!("{text:?} is not a duration (units ns, us, ms, s, m, h)"));
        }
        rest = &after[unit..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_kubernetes_accepts() {
        for good in [
            "0 2 * * *",
            "*/15 * * * *",
            "0 0 1,15 * mon-fri",
            "30 3 ? JAN-jun SUN",
            "@hourly",
            "@every 1h30m",
            "CRON_TZ=Asia/Shanghai 0 2 * * *",
            "TZ=UTC @daily",
        ] {
            assert_eq!(cron_schedule(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn schedules_kubernetes_refuses_say_why() {
        for (bad, why) in [
            ("0 2 * *", "expected exactly 5 fields, found 4"),
            ("0 0 2 * * *", "expected exactly 5 fields, found 6"),
            ("60 * * * *", "minute \"60\": 60 is outside 0-59"),
            ("0 24 * * *", "hour \"24\": 24 is outside 0-23"),
            ("0 0 0 * *", "day of month \"0\": 0 is outside 1-31"),
            ("0 0 * 13 *", "month \"13\": 13 is outside 1-12"),
            (
                "0 0 * * 5-2",
                "day of week \"5-2\": the range starts after it ends (5 > 2)",
            ),
            ("*/0 * * * *", "minute \"*/0\": step \"0\" is not a positive number"),
            ("0 0 L * *", "day of month \"L\": \"L\" is not a number"),
            ("@fortnightly", "unknown descriptor @fortnightly"),
            (
                "@every 5 minutes",
                "@every \"5 minutes\" is not a duration (units ns, us, ms, s, m, h)",
            ),
            ("TZ=UTC", "a time zone prefix needs a schedule after it"),
        ] {
            assert_eq!(cron_schedule(bad), Err(why.to_owned()), "{bad}");
        }
    }

    #[test]
    fn target_paths() {
        assert_eq!(bad_path("/hbase/stable"), None);
        assert_eq!(bad_path("/"), None);
        assert_eq!(bad_path("hbase"), Some("is not absolute"));
        assert_eq!(bad_path("/a/../b"), Some("has . or .. components"));
        assert_eq!(bad_path("/a//b"), Some("has an empty component (//)"));
        assert_eq!(
            bad_path("/a:b"),
            Some("contains ':' (the loader separates paths with it)")
        );
    }
}
