//! Byte sizes as GooseFS writes and reads them: `1953125KB`, `2GB`, `2G`, `512`, `1.5GB`. Units
//! are binary (K = 1024), case-insensitive, with or without `B`; Kubernetes' `Ki`/`Gi` forms are
//! accepted too. Fluid writes a tier's `quota` in the largest whole binary unit ([`format`]) and
//! a `quotaList` entry as the user wrote it (`2G`), which GooseFS then reads as 2 GiB.

/// Why a size does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Not `<number>[unit]`.
    #[error("{0:?} is not a size (a number with an optional unit: B, KB, MB, GB, TB, PB, or K, M, G, T, P)")]
    Syntax(String),
    /// Larger than 2^64 - 1 bytes.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

const UNITS: [&str; 6] = ["", "K", "M", "G", "T", "P"];

/// Parses a size into bytes, rounding a fractional byte count down as GooseFS does.
///
/// # Errors
/// [`SizeError`] for text that is not a size, or one beyond `u64`.
pub fn parse(text: &str) -> Result<u64, SizeError> {
    let syntax = || SizeError::Syntax(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('I'))
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let power = UNITS.iter().position(|u| *u == unit).ok_or_else(syntax)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(syntax());
    }
    let scale = 1024u128.pow(u32::try_from(power).map_err(|_| syntax())?);
    let too_large = || SizeError::TooLarge(text.to_owned());
    let digits = format!("{whole}{fraction}");
    let mantissa: u128 = digits.parse().map_err(|_| too_large())?;
    let divisor = 10u128
        .checked_pow(u32::try_from(fraction.len()).map_err(|_| too_large())?)
        .ok_or_else(too_large)?;
    let bytes = mantissa.checked_mul(scale).ok_or_else(too_large)? / divisor;
    u64::try_from(bytes).map_err(|_| too_large())
}

/// Bytes in the largest binary unit that keeps the number whole: `2147483648` → `2GB`,
/// `2000000000` → `1953125KB`, `512` → `512`.
pub fn format(bytes: u64) -> String {
    let mut value = bytes;
    let mut unit = 0;
    while value != 0 && value.is_multiple_of(1024) && unit + 1 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    if unit == 0 {
        value.to_string()
    } else {
        format!("{value}{}B", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_fluid_writes() {
        assert_eq!(parse("1953125KB"), Ok(2_000_000_000));
        assert_eq!(parse("2GB"), Ok(2 << 30));
        assert_eq!(parse("2G"), Ok(2 << 30), "GooseFS reads a quotaList 2G as 2 GiB");
        assert_eq!(parse("2gb"), Ok(2 << 30));
        assert_eq!(parse("2Gi"), Ok(2 << 30));
        assert_eq!(parse("1T"), Ok(1 << 40));
        assert_eq!(parse("512"), Ok(512));
        assert_eq!(parse("512B"), Ok(512));
        assert_eq!(parse("1.5GB"), Ok(3 << 29));
        assert_eq!(parse("256MB"), Ok(256 << 20));
        assert_eq!(parse(" 16MB "), Ok(16 << 20));
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for bad in ["", "GB", "lots", "2XB", "1..2GB", "-1GB", "2 G B", "."] {
            assert!(matches!(parse(bad), Err(SizeError::Syntax(_))), "{bad}");
        }
        assert!(matches!(parse("99999999999PB"), Err(SizeError::TooLarge(_))));
    }

    #[test]
    fn formats_in_the_largest_whole_unit_and_round_trips() {
        assert_eq!(format(2_000_000_000), "1953125KB");
        assert_eq!(format(2 << 30), "2GB");
        assert_eq!(format(50 << 30), "50GB");
        assert_eq!(format(4_882_812_500), "4882812500");
        assert_eq!(format(512), "512");
        assert_eq!(format(0), "0");
        assert_eq!(format(1 << 60), "1024PB");
        for bytes in [0, 1, 1023, 1024, 1536, 2_000_000_000, 5 << 40, u64::MAX / 1024 * 1024] {
            assert_eq!(parse(&format(bytes)), Ok(bytes), "{bytes}");
        }
    }
}
