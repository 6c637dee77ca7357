//! A JSON tree that borrows from the document.
//!
//! `serde_json::Value` copies every string and sorts every object into a B-tree; for policy
//! documents, which are mostly short strings, that was half the cost of parsing. This tree
//! borrows strings that need no unescaping and keeps object members in document order, so the
//! parser can also apply IAM's rule for repeated member names itself.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number in `serde_json`'s canonical spelling.
    Number(String),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order, repeated names included.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        // `serde_json` caps nesting depth, so hostile input cannot exhaust the stack here.
        serde_json::from_str(text).ok()
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The members of an object, where a repeated name keeps only its last value, as in the
    /// Jackson parser IAM uses.
    pub(crate) fn as_object(&self) -> Option<Vec<(&str, &Json<'a>)>> {
        let Json::Object(members) = self else {
            return None;
        };
        // Policy objects are small, where a scan beats hashing; a hostile document with many
        // members must not make this quadratic.
        if members.len() <= 16 {
            let mut out: Vec<(&str, &Json<'a>)> = Vec::with_capacity(members.len());
            for (i, (name, value)) in members.iter().enumerate() {
                let repeated_later = members
                    .get(i + 1..)
                    .is_some_and(|later| later.iter().any(|(n, _)| n == name));
                if !repeated_later {
                    out.push((name, value));
                }
            }
            return Some(out);
        }
        let mut seen = HashSet::with_capacity(members.len());
        let mut out: Vec<(&str, &Json<'a>)> = members
            .iter()
            .rev()
            .filter(|(name, _)| seen.insert(name.as_ref()))
            .map(|(name, value)| (name.as_ref(), value))
            .collect();
        out.reverse();
        Some(out)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(serde_json::Number::from(v).to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(serde_json::Number::from(v).to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(|n| Json::Number(n.to_string()))
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Name(name)) = map.next_key()? {
            let value = map.next_value()?;
            members.push((name, value));
        }
        Ok(Json::Object(members))
    }
}

/// An object member name, borrowed when it needs no unescaping.
struct Name<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_and_keeps_order() {
        let text = r#"{"b":"x","a":[1,-2,1.5,true,null],"c\n":"y\"z"}"#;
        let Some(Json::Object(members)) = Json::parse(text) else {
            panic!("object");
        };
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["b", "a", "c\n"]);
        assert!(matches!(
            members.first(),
            Some((Cow::Borrowed(_), Json::String(Cow::Borrowed("x"))))
        ));
        assert_eq!(
            members.get(1).map(|(_, v)| v),
            Some(&Json::Array(vec![
                Json::Number("1".into()),
                Json::Number("-2".into()),
                Json::Number("1.5".into()),
                Json::Bool(true),
                Json::Null,
            ]))
        );
        assert_eq!(
            members.get(2).map(|(_, v)| v),
            Some(&Json::String(Cow::Owned("y\"z".into())))
        );
    }

    #[test]
    fn last_member_wins() {
        let json = Json::parse(r#"{"a":1,"b":2,"a":3}"#).expect("json");
        let members = json.as_object().expect("object");
        assert_eq!(
            members,
            vec![
                ("b", &Json::Number("2".into())),
                ("a", &Json::Number("3".into()))
            ]
        );
    }

    #[test]
    fn last_member_wins_in_large_objects() {
        let members: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 20)).collect();
        let text = format!("{{{}}}", members.join(","));
        let json = Json::parse(&text).expect("json");
        let members = json.as_object().expect("object");
        assert_eq!(members.len(), 20);
        assert_eq!(members.first(), Some(&("k0", &Json::Number("20".into()))));
        assert_eq!(members.last(), Some(&("k19", &Json::Number("39".into()))));
    }

    #[test]
    fn rejects_what_json_rejects() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "nul",
            "1e400",
            "\"\\ud800\"",
            "{} {}",
        ] {
            assert_eq!(Json::parse(bad), None, "{bad}");
        }
        let deep = "[".repeat(100_000);
        assert_eq!(Json::parse(&deep), None);
    }
}
