//! Timestamps: carried in decoded values as epoch milliseconds, written per protocol (ISO 8601
//! in XML, epoch seconds in JSON 1.1).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc2822, Rfc3339};
use time::OffsetDateTime;

/// A point in time on the wire. Serialized as epoch milliseconds inside the codec's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp(OffsetDateTime::UNIX_EPOCH)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(millis(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        from_value(&v)
            .map(Timestamp)
            .ok_or_else(|| serde::de::Error::custom("invalid timestamp"))
    }
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

pub fn to_value(t: OffsetDateTime) -> Value {
    Value::Number(millis(t).into())
}

pub fn from_value(v: &Value) -> Option<OffsetDateTime> {
    match v {
        Value::Number(n) => {
            let ms = n.as_i64()?;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        }
        Value::String(s) => parse_any(s),
        _ => None,
    }
}

/// Accepts the forms AWS clients send: ISO 8601, RFC 822 dates, and epoch seconds.
pub fn parse_any(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t);
    }
    let secs: f64 = s.parse().ok()?;
    if !secs.is_finite() {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok()
}

/// Appends `2026-11-29T22:03:11Z` without going through the formatting machinery, since list
/// responses write one per entity.
pub fn push_iso8601(out: &mut String, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&format_iso8601(t));
        return;
    }
    let year = year.unsigned_abs();
    let two = |out: &mut String, n: u8| {
        out.push(char::from(b'0' + n / 10));
        out.push(char::from(b'0' + n % 10));
    };
    two(out, u8::try_from(year / 100).unwrap_or(0));
    two(out, u8::try_from(year % 100).unwrap_or(0));
    out.push('-');
    two(out, u8::from(t.month()));
    out.push('-');
    two(out, t.day());
    out.push('T');
    two(out, t.hour());
    out.push(':');
    two(out, t.minute());
    out.push(':');
    two(out, t.second());
    out.push('Z');
}

/// `2026-11-29T22:03:11Z`, as IAM writes dates.
pub fn format_iso8601(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Epoch seconds with millisecond precision, as JSON 1.1 services write dates.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    millis(t) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_forms_agree() {
        for secs in [0_i64, 1_764_417_600, 253_402_300_799, 951_782_400] {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let mut fast = String::new();
            push_iso8601(&mut fast, t);
            assert_eq!(fast, format_iso8601(t));
        }
        let mut s = String::new();
        push_iso8601(
            &mut s,
            OffsetDateTime::from_unix_timestamp(1_764_417_600).unwrap(),
        );
        assert_eq!(s, "2025-11-29T12:00:00Z");
    }
}
