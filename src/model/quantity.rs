//! Kubernetes resource quantities (`2G`, `1.5Gi`, `500m`, `1e3`): the serde/schema type used in
//! the model and an exact parser, because k8s-openapi's `Quantity` is only a string newtype and
//! tier quotas must be compared and converted exactly as Fluid does.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The CRD's quantity pattern (apimachinery's), anchored.
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// The CRD's `quotaList` pattern: two or more comma-separated quantities, no spaces.
pub const QUOTA_LIST_PATTERN: &str = r"^((\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+)))),)+((\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?)$";

/// A quantity as written by the user: an integer or a string (`x-kubernetes-int-or-string`).
/// The text is kept verbatim; [`Quantity::parse`] gives its exact value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quantity(pub String);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as 2Gi or 500M")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        quantity_schema()
    }
}

/// The schema Fluid's CRD uses for every quantity: int or string, strings matching
/// [`QUANTITY_PATTERN`].
pub fn quantity_schema() -> Schema {
    json_schema!({
        "description": "A Kubernetes quantity: an integer or a string such as 2Gi, 500M, 1.5.",
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": QUANTITY_PATTERN,
        "x-kubernetes-int-or-string": true
    })
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a quantity string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Not of the form `<number><suffix>`.
    #[error("{0:?} is not a quantity (expected a number with an optional suffix such as Ki, Mi, Gi, k, M, G or m)")]
    Syntax(String),
    /// Parses, but does not fit in the range this tool computes with (about 1.7e35).
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// An exactly parsed quantity: `millis / 1000` units (bytes for storage). Kubernetes keeps at
/// most three decimals (rounding up), and so do we.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParsedQuantity {
    /// The value in thousandths of the base unit.
    pub millis: i128,
}

impl ParsedQuantity {
    /// Whole base units, rounded up as Kubernetes' `Value()` does.
    pub fn value_ceil(self) -> i128 {
        let q = self.millis.div_euclid(1000);
        if self.millis.rem_euclid(1000) == 0 { q } else { q + 1 }
    }
}

/// How a quantity is written, which decides its canonical form (apimachinery's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityFormat {
    /// `Ki`, `Mi`, `Gi`...
    BinarySi,
    /// No suffix, or `m`, `k`, `M`, `G`...
    DecimalSi,
    /// `1e3`.
    DecimalExponent,
}

impl QuantityFormat {
    /// The format of a quantity's text.
    pub fn of(text: &str) -> QuantityFormat {
        let suffix = text
            .trim_start_matches(['+', '-'])
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        if suffix.ends_with('i') {
            QuantityFormat::BinarySi
        } else if suffix.starts_with(['e', 'E']) {
            QuantityFormat::DecimalExponent
        } else {
            QuantityFormat::DecimalSi
        }
    }
}

/// The canonical text Kubernetes gives a quantity (`Quantity.String()`): the largest suffix of
/// its own family that keeps the number whole. `2G` stays `2G`, `2048Mi` is `2Gi`, `1.5Gi` is
/// `1536Mi`, `0.5` is `500m`; a binary quantity under 1024, or not whole, is written in decimal.
pub fn canonical(quantity: ParsedQuantity, format: QuantityFormat) -> String {
    let millis = quantity.millis;
    if millis == 0 {
        return "0".to_owned();
    }
    let format = match format {
        QuantityFormat::BinarySi if millis.abs() < 1024 * 1000 || millis % 1000 != 0 => QuantityFormat::DecimalSi,
        other => other,
    };
    if format == QuantityFormat::BinarySi {
        const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        let (mut value, mut power) = (millis / 1000, 0);
        while value % 1024 == 0 && power + 1 < SUFFIXES.len() {
            value /= 1024;
            power += 1;
        }
        return format!("{value}{}", SUFFIXES[power]);
    }
    // Decimal: the mantissa times 10^exponent, the exponent a multiple of 3 from milli up.
    let (mut mantissa, mut exponent) = (millis, -3i32);
    while mantissa % 1000 == 0 && exponent < 18 {
        mantissa /= 1000;
        exponent += 3;
    }
    let suffix = match (format, exponent) {
        (QuantityFormat::DecimalExponent, 0) => String::new(),
        (QuantityFormat::DecimalExponent, e) => format!("e{e}"),
        (_, -3) => "m".to_owned(),
        (_, 0) => String::new(),
        (_, e) => ["k", "M", "G", "T", "P", "E"][usize::try_from(e / 3 - 1).unwrap_or(0)].to_owned(),
    };
    format!("{mantissa}{suffix}")
}

/// A quantity in GooseFS units, as Fluid's `TransformQuantityToGooseFSUnit` writes it: the
/// canonical text with every `i` replaced by `B` (`2Gi` → `2GB`, `2G` stays `2G`).
pub fn goosefs_unit(quantity: ParsedQuantity, format: QuantityFormat) -> String {
    canonical(quantity, format).replace('i', "B")
}

/// A byte count in GooseFS units, as Fluid writes a tier quota split across paths (a binary
/// quantity of the bytes): `2000000000` → `1953125KB`, `512` → `512`, `1000` → `1k`.
pub fn goosefs_bytes(bytes: i128) -> String {
    goosefs_unit(
        ParsedQuantity {
            millis: bytes.saturating_mul(1000),
        },
        QuantityFormat::BinarySi,
    )
}

impl Quantity {
    /// Parses the quantity exactly.
    ///
    /// # Errors
    /// [`QuantityError::Syntax`] when the text is not a quantity, [`QuantityError::TooLarge`] when
    /// the value overflows 128-bit arithmetic.
    pub fn parse(&self) -> Result<ParsedQuantity, QuantityError> {
        parse_quantity(&self.0)
    }
}

/// Parses a quantity string (see [`Quantity::parse`]).
///
/// # Errors
/// As [`Quantity::parse`].
pub fn parse_quantity(text: &str) -> Result<ParsedQuantity, QuantityError> {
    let syntax = || QuantityError::Syntax(text.to_owned());
    let too_large = || QuantityError::TooLarge(text.to_owned());
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(syntax());
    }
    // Multiplier as (base, exponent): value = number * base^exp.
    let (base, exp): (i128, i32) = match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (1024, 1),
        "Mi" => (1024, 2),
        "Gi" => (1024, 3),
        "Ti" => (1024, 4),
        "Pi" => (1024, 5),
        "Ei" => (1024, 6),
        s if s.starts_with(['e', 'E']) => {
            let e = &s[1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            (10, e.parse::<i32>().map_err(|_| too_large())?)
        }
        _ => return Err(syntax()),
    };
    // mantissa / 10^frac_len, in thousandths: mantissa * 1000 * base^exp / 10^frac_len.
    let digits = format!("{int_part}{frac_part}");
    let mut num: i128 = digits.parse::<i128>().map_err(|_| too_large())?;
    num = num.checked_mul(1000).ok_or_else(too_large)?;
    let mut den: i128 = 1;
    for _ in 0..frac_part.len() {
        den = den.checked_mul(10).ok_or_else(too_large)?;
    }
    if exp >= 0 {
        for _ in 0..exp {
            num = num.checked_mul(base).ok_or_else(too_large)?;
        }
    } else {
        for _ in 0..(-exp) {
            den = den.checked_mul(base).ok_or_else(too_large)?;
        }
    }
    // Round up like apimachinery does for precision beyond milli-units.
    let mut millis = num / den + i128::from(num % den != 0);
    if negative {
        millis = -millis;
    }
    Ok(ParsedQuantity { millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> i128 {
        parse_quantity(s).map(ParsedQuantity::value_ceil).unwrap_or(-1)
    }

    #[test]
    fn parses_suffixes_exactly() {
        assert_eq!(bytes("2G"), 2_000_000_000);
        assert_eq!(bytes("2Gi"), 2 * 1024 * 1024 * 1024);
        assert_eq!(bytes("1.5Gi"), 1_610_612_736);
        assert_eq!(bytes("1e3"), 1000);
        assert_eq!(bytes("1E-3"), 1);
        assert_eq!(bytes(".5k"), 500);
        assert_eq!(bytes("1024"), 1024);
        assert_eq!(parse_quantity("500m").map(|q| q.millis), Ok(500));
        assert_eq!(parse_quantity("-1Ki").map(|q| q.millis), Ok(-1_024_000));
    }

    #[test]
    fn canonical_forms_are_apimachinery_s() {
        let c = |s: &str| {
            parse_quantity(s)
                .map(|q| canonical(q, QuantityFormat::of(s)))
                .unwrap_or_default()
        };
        for (input, expected) in [
            ("2G", "2G"),
            ("2Gi", "2Gi"),
            ("2048Mi", "2Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1500M", "1500M"),
            ("2000k", "2M"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("100Pi", "100Pi"),
            ("512Ki", "512Ki"),
            ("1023Ki", "1023Ki"),
            ("0.5Ki", "512"),
            ("1T", "1T"),
            ("0", "0"),
            ("-1Gi", "-1Gi"),
        ] {
            assert_eq!(c(input), expected, "{input}");
        }
        let g = |s: &str| {
            parse_quantity(s)
                .map(|q| goosefs_unit(q, QuantityFormat::of(s)))
                .unwrap_or_default()
        };
        assert_eq!(
            [g("2G"), g("2Gi"), g("100Gi"), g("1T"), g("500M")],
            ["2G", "2GB", "100GB", "1T", "500M"]
        );
        assert_eq!(goosefs_bytes(2_000_000_000), "1953125KB");
        assert_eq!(goosefs_bytes(1 << 31), "2GB");
        assert_eq!(goosefs_bytes(512), "512");
        assert_eq!(goosefs_bytes(1000), "1k");
        assert_eq!(goosefs_bytes(5_000_000_000), "5000000000");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "lots", "2GB", "1..2", "G", "1e", "1e+", "2 Gi", "+"] {
            assert!(matches!(parse_quantity(bad), Err(QuantityError::Syntax(_))), "{bad}");
        }
        assert!(matches!(parse_quantity("1e99"), Err(QuantityError::TooLarge(_))));
    }

    #[test]
    fn pattern_agrees_with_parser_on_samples() {
        let re = regex_lite_match;
        for s in ["2G", "1.5Gi", "1e3", ".5", "-1", "lots", "2GB", "1e"] {
            assert_eq!(re(s), parse_quantity(s).is_ok(), "{s}");
        }
    }

    /// A tiny check of the same grammar as [`QUANTITY_PATTERN`], written out, so the parser and
    /// the schema pattern cannot drift apart unnoticed.
    fn regex_lite_match(s: &str) -> bool {
        let v = jsonschema::validator_for(&serde_json::json!({"type": "string", "pattern": QUANTITY_PATTERN}));
        v.map(|v| v.is_valid(&serde_json::json!(s))).unwrap_or(false)
    }
}
