//! Durations as GooseFS properties write them: `300sec`, `1000ms`, `2min`, `2day`, `365d`, `1h`,
//! a plain number of milliseconds, and `-1` (never, e.g. for the metadata sync interval). Also
//! the calendar date of a day count, which both sides print timestamps with.

use std::time::Duration;

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration (a number with ms, s, sec, m, min, h, hr, d or day)")]
pub struct DurationError(pub String);

/// A parsed duration: a length, or "never" (`-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// `-1`: the event never happens (for a sync interval: never reload).
    Never,
    /// A length (zero included).
    After(Duration),
}

/// Parses a GooseFS duration.
///
/// # Errors
/// [`DurationError`] for anything else.
pub fn parse(text: &str) -> Result<Interval, DurationError> {
    let error = || DurationError(text.to_owned());
    let trimmed = text.trim();
    if trimmed == "-1" {
        return Ok(Interval::Never);
    }
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let n: u64 = number.parse().map_err(|_| error())?;
    let millis_per = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(error()),
    };
    n.checked_mul(millis_per)
        .map(|ms| Interval::After(Duration::from_millis(ms)))
        .ok_or_else(error)
}

/// Days since 1970-01-01 of the proleptic Gregorian date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of `days` since 1970-01-01 (Howard Hinnant's
/// civil-from-days algorithm), for printing UTC timestamps without a date library.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn parses_the_forms_fluid_writes() {
        let after = |ms| Ok(Interval::After(Duration::from_millis(ms)));
        assert_eq!(parse("300sec"), after(300_000));
        assert_eq!(parse("1000ms"), after(1000));
        assert_eq!(parse("2min"), after(120_000));
        assert_eq!(parse("2day"), after(172_800_000));
        assert_eq!(parse("365d"), after(31_536_000_000));
        assert_eq!(parse("30sec"), after(30_000));
        assert_eq!(parse("0"), after(0));
        assert_eq!(parse("5000"), after(5000));
        assert_eq!(parse("-1"), Ok(Interval::Never));
        for bad in ["", "soon", "1.5s", "-2", "10 parsecs", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod civil_tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 60, 11_016, 20_794, 1_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2026, 12, 7), 20_794);
    }
}
