//! The two timestamp shapes SigV4 reads (`X-Amz-Date` and the HTTP `Date` header) and the two it
//! writes (the request timestamp and the scope date).
//!
//! Parsed by hand rather than through `time`'s format descriptions: both shapes are fixed-width
//! ASCII, and hand parsing keeps the hot path allocation-free and obviously panic-free.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses `yyyyMMddTHHmmssZ`, the ISO 8601 basic format SigV4 signs.
pub(crate) fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 4, 2)?;
    let day = digits(b, 6, 2)?;
    let hour = digits(b, 9, 2)?;
    let minute = digits(b, 11, 2)?;
    let second = digits(b, 13, 2)?;
    build(year, month, day, hour, minute, second)
}

/// Parses the IMF-fixdate form of an HTTP date (`Mon, 09 Sep 2011 23:36:00 GMT`), the only form
/// RFC 9110 lets senders generate.
pub(crate) fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let b = value.trim().as_bytes();
    // "Mon, 09 Sep 2011 23:36:00 GMT" is 29 bytes with fixed separators.
    if b.len() != 29
        || b.get(3) != Some(&b',')
        || b.get(4) != Some(&b' ')
        || b.get(7) != Some(&b' ')
        || b.get(11) != Some(&b' ')
        || b.get(16) != Some(&b' ')
        || b.get(19) != Some(&b':')
        || b.get(22) != Some(&b':')
        || b.get(25..) != Some(b" GMT".as_slice())
    {
        return None;
    }
    let day = digits(b, 5, 2)?;
    let month = match b.get(8..11)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = digits(b, 12, 4)?;
    let hour = digits(b, 17, 2)?;
    let minute = digits(b, 20, 2)?;
    let second = digits(b, 23, 2)?;
    build(year, month, day, hour, minute, second)
}

/// Formats as `yyyyMMddTHHmmssZ` in UTC.
pub(crate) fn format_amz_date(t: OffsetDateTime) -> String {
    let t = utc(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Formats the `yyyyMMdd` date that opens a credential scope, in UTC.
pub(crate) fn format_date_stamp(t: OffsetDateTime) -> String {
    let t = utc(t);
    format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Converts to UTC; a time so close to the representable edge that the conversion overflows is
/// kept as is, since it can only come from a caller's clock and only affects message text.
fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.checked_to_offset(UtcOffset::UTC).unwrap_or(t)
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let slice = b.get(start..start.checked_add(len)?)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn build(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<OffsetDateTime> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn amz_date_round_trips() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(t, datetime!(2015-08-30 12:36:00 UTC));
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        assert_eq!(format_date_stamp(t), "20150830");
    }

    #[test]
    fn amz_date_rejects_other_shapes() {
        for bad in [
            "",
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20150830 123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T246000Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "20150830T123600Z ",
            "２0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_date_parses_imf_fixdate() {
        assert_eq!(
            parse_http_date("Mon, 09 Sep 2011 23:36:00 GMT"),
            Some(datetime!(2011-09-09 23:36:00 UTC))
        );
        assert_eq!(parse_http_date("Mon, 09 Sep 2011 23:36:00 UTC"), None);
        assert_eq!(parse_http_date("Monday, 09-Sep-11 23:36:00 GMT"), None);
        assert_eq!(parse_http_date("Mon, 09 Sup 2011 23:36:00 GMT"), None);
        assert_eq!(parse_http_date("Mon, 31 Sep 2011 23:36:00 GMT"), None);
    }

    #[test]
    fn formatting_converts_to_utc() {
        let t = datetime!(2015-08-30 14:36:00 +02:00);
        assert_eq!(format_amz_date(t), "20150830T123600Z");
    }
}
