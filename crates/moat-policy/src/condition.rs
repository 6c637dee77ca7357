//! The `Condition` element: operators, qualifiers and values.

use std::fmt;

use crate::template::Template;

/// One condition: an operator applied to one context key and its values. A `Condition` block
/// `{"StringEquals": {"a": "x", "b": "y"}}` becomes two of these, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    /// The `...IfExists` suffix: the condition holds when the key is absent from the request.
    pub if_exists: bool,
    /// The `ForAllValues:`/`ForAnyValue:` prefix, for multivalued keys.
    pub set: Option<SetQualifier>,
    /// The context key as written; IAM compares context keys without regard to case.
    pub key: String,
    /// The values; a request value matching any of them satisfies a positive operator.
    pub values: Vec<ConditionValue>,
}

/// Every base condition operator of the IAM policy language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl ConditionOperator {
    const ALL: [ConditionOperator; 27] = [
        Self::StringEquals,
        Self::StringNotEquals,
        Self::StringEqualsIgnoreCase,
        Self::StringNotEqualsIgnoreCase,
        Self::StringLike,
        Self::StringNotLike,
        Self::NumericEquals,
        Self::NumericNotEquals,
        Self::NumericLessThan,
        Self::NumericLessThanEquals,
        Self::NumericGreaterThan,
        Self::NumericGreaterThanEquals,
        Self::DateEquals,
        Self::DateNotEquals,
        Self::DateLessThan,
        Self::DateLessThanEquals,
        Self::DateGreaterThan,
        Self::DateGreaterThanEquals,
        Self::Bool,
        Self::BinaryEquals,
        Self::IpAddress,
        Self::NotIpAddress,
        Self::ArnEquals,
        Self::ArnLike,
        Self::ArnNotEquals,
        Self::ArnNotLike,
        Self::Null,
    ];

    /// The operator's name as written in policies. Names are case-sensitive.
    pub fn name(self) -> &'static str {
        match self {
            Self::StringEquals => "StringEquals",
            Self::StringNotEquals => "StringNotEquals",
            Self::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Self::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Self::StringLike => "StringLike",
            Self::StringNotLike => "StringNotLike",
            Self::NumericEquals => "NumericEquals",
            Self::NumericNotEquals => "NumericNotEquals",
            Self::NumericLessThan => "NumericLessThan",
            Self::NumericLessThanEquals => "NumericLessThanEquals",
            Self::NumericGreaterThan => "NumericGreaterThan",
            Self::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Self::DateEquals => "DateEquals",
            Self::DateNotEquals => "DateNotEquals",
            Self::DateLessThan => "DateLessThan",
            Self::DateLessThanEquals => "DateLessThanEquals",
            Self::DateGreaterThan => "DateGreaterThan",
            Self::DateGreaterThanEquals => "DateGreaterThanEquals",
            Self::Bool => "Bool",
            Self::BinaryEquals => "BinaryEquals",
            Self::IpAddress => "IpAddress",
            Self::NotIpAddress => "NotIpAddress",
            Self::ArnEquals => "ArnEquals",
            Self::ArnLike => "ArnLike",
            Self::ArnNotEquals => "ArnNotEquals",
            Self::ArnNotLike => "ArnNotLike",
            Self::Null => "Null",
        }
    }

    /// Looks up a base operator by its exact name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The `Date...` operators, whose values IAM's legacy parser checks at submission.
    pub fn is_date(self) -> bool {
        matches!(
            self,
            Self::DateEquals
                | Self::DateNotEquals
                | Self::DateLessThan
                | Self::DateLessThanEquals
                | Self::DateGreaterThan
                | Self::DateGreaterThanEquals
        )
    }

    /// Operators that read `*` and `?` in their values as wildcards.
    pub fn uses_wildcards(self) -> bool {
        matches!(
            self,
            Self::StringLike
                | Self::StringNotLike
                | Self::ArnEquals
                | Self::ArnLike
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set operator prefix of a condition on a multivalued key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAllValues:` — every request value must match some policy value.
    ForAllValues,
    /// `ForAnyValue:` — at least one request value must match some policy value.
    ForAnyValue,
}

/// A condition value as written in the policy.
///
/// IAM compares everything as text in the end, but keeps the JSON type visible: `"true"` and
/// `true` are both valid for `Bool`, and the evaluator may want to know which it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionValue {
    /// A string, with policy variables parsed in 2012-10-17 policies.
    String(Template),
    /// A JSON number, in its JSON spelling.
    Number(String),
    Bool(bool),
}

/// The parts of a condition operator key such as `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OperatorKey {
    pub operator: ConditionOperator,
    pub if_exists: bool,
    pub set: Option<SetQualifier>,
}

/// Splits an operator key into qualifier, base operator and `IfExists`; `None` when the base
/// operator is unknown. At most one prefix and one suffix are stripped, as IAM does.
pub(crate) fn parse_operator_key(key: &str) -> Option<OperatorKey> {
    let (set, rest) = if let Some(rest) = key.strip_prefix("ForAnyValue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else if let Some(rest) = key.strip_prefix("ForAllValues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else {
        (None, key)
    };
    let (if_exists, base) = match rest.strip_suffix("IfExists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    Some(OperatorKey {
        operator: ConditionOperator::from_name(base)?,
        if_exists,
        set,
    })
}

/// IAM's legacy parser on the value of a `Date...` condition: an ISO 8601 date-time, or a
/// non-negative epoch number. The limits are those of Joda-Time, which IAM's parser uses.
pub(crate) fn passes_legacy_date_parse(value: &str) -> bool {
    if value.contains(['t', 'T', '-']) {
        iso_8601(&value.to_lowercase()).is_some()
    } else {
        python_int(value).is_some_and(|n| (0..=i128::from(i64::MAX)).contains(&n))
    }
}

/// Mirrors the date-time grammar IAM's legacy parser accepts (as moto reconstructs it), on a
/// lowercased value.
fn iso_8601(value: &str) -> Option<()> {
    let (date, time) = value.split_once('t').unwrap_or((value, ""));
    let (negative, date) = match date.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, date),
    };
    let fields: Vec<&str> = date.split('-').collect();
    if fields.len() > 3 {
        return None;
    }
    let year = fields.first()?;
    let year = if negative {
        python_int(&format!("-{year}"))?
    } else {
        python_int(year)?
    };
    in_range(year, -292_275_054, 292_278_993)?;
    if let Some(month) = fields.get(1) {
        in_range(python_int(month)?, 1, 12)?;
    }
    if let Some(day) = fields.get(2) {
        in_range(python_int(day)?, 1, 31)?;
    }

    let time_fields: Vec<&str> = time.split(':').collect();
    let hours = time_fields.first().copied().unwrap_or_default();
    if !hours.is_empty() {
        in_range(python_int(hours)?, 0, 23)?;
    }
    if let Some(minutes) = time_fields.get(1) {
        in_range(python_int(minutes)?, 0, 59)?;
    }
    if let Some(seconds) = time_fields.get(2) {
        let seconds = if let Some((s, after_z)) = seconds.split_once('z') {
            if !after_z.is_empty() {
                return None;
            }
            s
        } else if let Some((s, zone)) = seconds.split_once('+') {
            let (zone_hours, zone_minutes) = match zone.split_once(':') {
                Some((h, m)) => (h, Some(m)),
                None => (zone, None),
            };
            if zone_hours.len() != 2 {
                return None;
            }
            in_range(python_int(zone_hours)?, 0, 23)?;
            if let Some(m) = zone_minutes {
                if m.len() != 2 {
                    return None;
                }
                in_range(python_int(m)?, 0, 59)?;
            }
            s
        } else {
            seconds
        };
        let (whole, fraction) = match seconds.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (seconds, None),
        };
        in_range(python_int(whole)?, 0, 59)?;
        if let Some(f) = fraction {
            in_range(python_int(f)?, 0, 999_999_999)?;
        }
    }
    Some(())
}

fn in_range(n: i128, low: i128, high: i128) -> Option<()> {
    (low..=high).contains(&n).then_some(())
}

/// Integer parsing as lenient as the reference implementation's: surrounding whitespace and a
/// sign are allowed. Values too large for `i128` are rejected, which every caller treats as out
/// of range anyway.
fn python_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_keys() {
        assert_eq!(
            parse_operator_key("ForAnyValue:StringLikeIfExists"),
            Some(OperatorKey {
                operator: ConditionOperator::StringLike,
                if_exists: true,
                set: Some(SetQualifier::ForAnyValue),
            })
        );
        assert_eq!(
            parse_operator_key("BoolIfExists"),
            Some(OperatorKey {
                operator: ConditionOperator::Bool,
                if_exists: true,
                set: None,
            })
        );
        assert_eq!(
            parse_operator_key("ForAllValues:StringEquals").map(|k| k.set),
            Some(Some(SetQualifier::ForAllValues))
        );
        for bad in [
            "ForAnyValue::StringEqualsIfExists",
            "stringequals",
            "StringEqualsIfExistsIfExists",
            "ForAnyValue:ForAllValues:StringEquals",
            "x",
            "",
        ] {
            assert_eq!(parse_operator_key(bad), None, "{bad}");
        }
        for op in ConditionOperator::ALL {
            assert_eq!(ConditionOperator::from_name(op.name()), Some(op));
        }
    }

    #[test]
    fn legacy_dates() {
        for ok in [
            "2017-07-01T00:00:00Z",
            "2019-07-01T13:20:15Z",
            "2016-12-13T21:20:37.593194+00:00",
            "2016-12-13t2:00:00.593194+23",
            "-292275054",
            "01T",
            "1500000000",
            "0",
            "9223372036854775807",
            "2020",
            "2020-01",
        ] {
            assert!(passes_legacy_date_parse(ok), "{ok}");
        }
        for bad in [
            "sdfdsf",
            "234-13",
            "2016-12-13t2:00:00.593194+1",
            "2016-12-13t2:00:00.1999999999+10:59",
            "9223372036854775808",
            "",
            "2020-01-01-01",
            "2020-01-32",
            "2020-01-01T24:00",
            "2019-07-01T13:20:15-05:00",
            "true",
        ] {
            assert!(!passes_legacy_date_parse(bad), "{bad}");
        }
    }
}
