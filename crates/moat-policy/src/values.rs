//! Typed readings of condition values: numbers, dates, booleans, IP ranges and base64.
//!
//! Policy values are read once, when a policy set is compiled; request values are read when a
//! condition compares them, without allocating. A value that does not read as its operator's
//! type matches nothing.

use std::cmp::Ordering;
use std::net::IpAddr;

/// A number as the `Numeric...` operators compare it: integers exactly, anything with a
/// fraction or exponent as a double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number {
    integer: Option<i128>,
    float: f64,
}

impl Number {
    /// Reads `[+-]digits[.digits][(e|E)[+-]digits]`; at least one digit before or after the
    /// point. No whitespace, hexadecimal, infinities or NaN.
    pub(crate) fn parse(s: &str) -> Option<Number> {
        let bytes = s.as_bytes();
        let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
        let int_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = i - int_start;
        let mut frac_digits = 0;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
                frac_digits += 1;
            }
        }
        if int_digits + frac_digits == 0 {
            return None;
        }
        let mut exponent = false;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            exponent = true;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp_start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == exp_start {
                return None;
            }
        }
        if i != bytes.len() {
            return None;
        }
        if !exponent && frac_digits == 0 && bytes.get(int_start + int_digits) != Some(&b'.') {
            // Plain integers, the common case, skip the floating-point parse.
            if let Ok(integer) = s.parse::<i128>() {
                return Some(Number {
                    integer: Some(integer),
                    float: integer as f64,
                });
            }
        }
        let float: f64 = s.parse().ok()?;
        if !float.is_finite() {
            return None;
        }
        // `10.0` is the integer 10 for comparison purposes.
        let integer = (float.fract() == 0.0 && float.abs() < 1e15).then_some(float as i128);
        Some(Number { integer, float })
    }

    pub(crate) fn compare(&self, other: &Number) -> Option<Ordering> {
        match (self.integer, other.integer) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => self.float.partial_cmp(&other.float),
        }
    }
}

/// An instant, in nanoseconds since the Unix epoch.
pub(crate) type Instant = i128;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Reads a date the way the `Date...` operators do: a W3C profile of ISO 8601
/// (`YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]]` with `Z` or an offset; UTC when no zone is
/// given), or Unix epoch seconds. As in IAM's parser, a value with a `T` or `-` is a
/// date-time and anything else a number of seconds.
pub(crate) fn parse_date(s: &str) -> Option<Instant> {
    if s.contains(['t', 'T', '-']) {
        parse_iso_8601(s)
    } else {
        parse_epoch(s)
    }
}

fn parse_epoch(s: &str) -> Option<Instant> {
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let digits = whole.strip_prefix('+').unwrap_or(whole);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i128 = digits.parse().ok()?;
    Some(seconds * NANOS_PER_SECOND + fraction_nanos(fraction)?)
}

/// The nanoseconds of a decimal fraction of a second; digits past the ninth are dropped.
fn fraction_nanos(fraction: Option<&str>) -> Option<i128> {
    let Some(f) = fraction else {
        return Some(0);
    };
    if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i128 = 0;
    for i in 0..9 {
        let digit = f.as_bytes().get(i).map_or(0, |b| b - b'0');
        nanos = nanos * 10 + i128::from(digit);
    }
    Some(nanos)
}

fn parse_iso_8601(s: &str) -> Option<Instant> {
    let (date, time) = match s.find(['t', 'T']) {
        Some(i) => (s.get(..i)?, Some(s.get(i + 1..)?)),
        None => (s, None),
    };
    let mut fields = date.split('-');
    let year = fixed_digits(fields.next()?, 4)?;
    let month = fields.next().map_or(Some(1), |m| fixed_digits(m, 2))?;
    let day = fields.next().map_or(Some(1), |d| fixed_digits(d, 2))?;
    if fields.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0;
    if let Some(time) = time {
        let (clock, offset) = split_zone(time)?;
        let mut parts = clock.split(':');
        let hour = fixed_digits(parts.next()?, 2)?;
        let minute = fixed_digits(parts.next()?, 2)?;
        let (second, fraction) = match parts.next() {
            Some(sec) => match sec.split_once('.') {
                Some((whole, f)) => (fixed_digits(whole, 2)?, Some(f)),
                None => (fixed_digits(sec, 2)?, None),
            },
            None => (0, None),
        };
        if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        nanos = fraction_nanos(fraction)?;
        seconds += hour * 3600 + minute * 60 + second - offset;
    }
    Some(seconds * NANOS_PER_SECOND + nanos)
}

/// Splits a time into the clock and its zone offset in seconds east of UTC.
fn split_zone(time: &str) -> Option<(&str, i128)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(i) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = (time.get(..i)?, time.get(i..)?);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = zone.get(1..)?;
    let (hours, minutes) = match (zone.split_once(':'), zone.len()) {
        (Some((h, m)), _) => (fixed_digits(h, 2)?, fixed_digits(m, 2)?),
        (None, 4) => (
            fixed_digits(zone.get(..2)?, 2)?,
            fixed_digits(zone.get(2..)?, 2)?,
        ),
        (None, _) => (fixed_digits(zone, 2)?, 0),
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((clock, sign * (hours * 3600 + minutes * 60)))
}

fn fixed_digits(s: &str, len: usize) -> Option<i128> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn is_leap(year: i128) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i128, month: i128) -> i128 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `true` or `false`, in any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 network, as written in `IpAddress` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    v6: bool,
    network: u128,
    mask: u128,
}

impl Cidr {
    /// Reads `address[/prefix]`; an address alone is a /32 or /128. Host bits set in the
    /// address are ignored, as IAM does.
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let (v6, bits, width) = match address.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (true, u128::from(a), 128),
        };
        let prefix: u32 = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok()?
            }
            Some(_) => return None,
            None => width,
        };
        if prefix > width {
            return None;
        }
        let host_bits = width - prefix;
        let full = if width == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        let mask = full
            .checked_shr(host_bits)
            .unwrap_or(0)
            .checked_shl(host_bits)
            .unwrap_or(0)
            & full;
        Some(Cidr {
            v6,
            network: bits & mask,
            mask,
        })
    }

    /// True when the request address `ip` lies in the network. An IPv4-mapped IPv6 address
    /// is compared as the IPv4 address it carries.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let (v6, bits) = match ip {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (false, u128::from(u32::from(v4))),
                None => (true, u128::from(a)),
            },
        };
        v6 == self.v6 && bits & self.mask == self.network
    }
}

/// Reads a request's source address; a value in CIDR notation stands for its address.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let address = s.split_once('/').map_or(s, |(a, _)| a);
    address.parse().ok()
}

/// Decodes standard base64, padding optional.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for_each_base64_byte(s, |b| {
        out.push(b);
        true
    })?;
    Some(out)
}

/// True when `s` is valid base64 whose bytes are `expected`, without allocating.
pub(crate) fn base64_equals(s: &str, expected: &[u8]) -> bool {
    let mut rest = expected.iter();
    let decoded = for_each_base64_byte(s, |b| rest.next() == Some(&b));
    decoded == Some(true) && rest.next().is_none()
}

/// Calls `f` with each decoded byte while it returns true. `None` when `s` is not base64;
/// otherwise whether `f` accepted every byte.
fn for_each_base64_byte(s: &str, mut f: impl FnMut(u8) -> bool) -> Option<bool> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 || (s.len() != body.len() && s.len() % 4 != 0) {
        return None;
    }
    if body.len() % 4 == 1 {
        return None;
    }
    let mut acc: u32 = 0;
    let mut nbits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            let byte = ((acc >> nbits) & 0xff) as u8;
            if !f(byte) {
                return Some(false);
            }
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn numbers() {
        for ok in [
            "0",
            "10",
            "-3",
            "+4",
            "1.5",
            ".5",
            "5.",
            "1e3",
            "2.5E-2",
            "123456789012345678901",
        ] {
            assert!(Number::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", " 1", "1 ", "abc", "0x10", "1e", "NaN", "Infinity", "1.2.3", "-", ".",
        ] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(n("10").compare(&n("10.0")), Some(Ordering::Equal));
        assert_eq!(n("1e1").compare(&n("10")), Some(Ordering::Equal));
        assert_eq!(n("9").compare(&n("10")), Some(Ordering::Less));
        assert_eq!(n("0.1").compare(&n("0.10")), Some(Ordering::Equal));
        assert_eq!(
            n("9007199254740993").compare(&n("9007199254740992")),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn dates() {
        let t = |s: &str| parse_date(s).map(|n| n / NANOS_PER_SECOND);
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(t("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(t("2020-01-01"), Some(1_577_836_800));
        assert_eq!(t("2020-01"), Some(1_577_836_800));
        assert_eq!(t("2020-01-01T00:00Z"), Some(1_577_836_800));
        assert_eq!(t("2020-01-01T01:00:00+01:00"), Some(1_577_836_800));
        assert_eq!(t("2019-12-31T19:00:00-0500"), Some(1_577_836_800));
        assert_eq!(t("2019-12-31T23:00:00-01"), Some(1_577_836_800));
        assert_eq!(t("2020-01-01t00:00:00z"), Some(1_577_836_800));
        assert_eq!(t("2020-01-01T00:00:00"), Some(1_577_836_800));
        assert_eq!(t("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(t("1577836800"), Some(1_577_836_800));
        assert_eq!(parse_date("1577836800.25"), Some(1_577_836_800_250_000_000));
        assert_eq!(
            parse_date("2016-12-13T21:20:37.593194+00:00"),
            Some(1_481_664_037_593_194_000)
        );
        assert_eq!(t("1969-12-31T23:59:59Z"), Some(-1));
        for bad in [
            "",
            "abc",
            "2020-13-01",
            "2019-02-29",
            "2020-01-01T24:00:00Z",
            "2020-1-1",
            "2020-01-01T10",
            "2020-01-01T10:00:00+25:00",
            "-5",
            "12ab",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.7".parse().unwrap()));
        assert!(!c.contains("203.0.114.7".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        let host = Cidr::parse("192.0.2.5").unwrap();
        assert!(host.contains("192.0.2.5".parse().unwrap()));
        assert!(!host.contains("192.0.2.6".parse().unwrap()));
        let sloppy = Cidr::parse("10.1.2.3/8").unwrap();
        assert!(sloppy.contains("10.200.0.1".parse().unwrap()));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:1234:5679::1".parse().unwrap()));
        let all6 = Cidr::parse("::/0").unwrap();
        assert!(all6.contains("2001:db8::1".parse().unwrap()));
        for bad in [
            "",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3/24",
            "::/129",
            "x",
            "1.2.3.4/-1",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(
            decode_base64("QmluYXJ5VmFsdWVJbkJhc2U2NA==").as_deref(),
            Some(&b"BinaryValueInBase64"[..])
        );
        assert_eq!(decode_base64("QQ").as_deref(), Some(&b"A"[..]));
        assert_eq!(decode_base64("").as_deref(), Some(&b""[..]));
        assert_eq!(decode_base64("Q"), None);
        assert_eq!(decode_base64("QQ=="), Some(b"A".to_vec()));
        assert_eq!(decode_base64("QQ==="), None);
        assert_eq!(decode_base64("Q!=="), None);
        assert!(base64_equals("QUJD", b"ABC"));
        assert!(!base64_equals("QUJD", b"ABCD"));
        assert!(!base64_equals("QUJDRA==", b"ABC"));
        assert!(!base64_equals("not base64!", b""));
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("1"), None);
    }
}
