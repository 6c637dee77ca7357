//! The AWS query protocol: form-encoded parameters in, XML out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use crate::model::{Member, ServiceModel, Shape, ShapeKind};
use crate::output::{EncodeError, Output};
use crate::timestamp;
use crate::validate::{validate, wire_path_segment, ValidationErrors};

/// Form parameters of one request, sorted so that list members can be found by prefix.
pub type Params = BTreeMap<String, String>;

/// Parses an `application/x-www-form-urlencoded` body (or query string) into parameters.
/// A repeated name keeps its first value, as AWS does.
pub fn parse_form(body: &[u8]) -> Params {
    let mut params = Params::new();
    for (k, v) in form_urlencoded::parse(body) {
        params
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    params
}

/// Decodes the input of `shape_name` from query parameters and validates it.
pub fn decode_input(
    model: &ServiceModel,
    shape_name: &str,
    params: &Params,
) -> Result<Value, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some(shape) = model.shape(shape_name) else {
        return Ok(Value::Object(Map::new()));
    };
    let value = decode_structure_members(model, shape, "", "", params, &mut errors);
    validate(model, shape, &value, "", &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn has_prefix(params: &Params, prefix: &str) -> bool {
    if params.contains_key(prefix) {
        return true;
    }
    let dotted = format!("{prefix}.");
    params
        .range(dotted.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&dotted))
}

fn decode_structure_members(
    model: &ServiceModel,
    shape: &Shape,
    prefix: &str,
    path: &str,
    params: &Params,
    errors: &mut ValidationErrors,
) -> Value {
    let mut out = Map::new();
    if let ShapeKind::Structure { members, .. } = &shape.kind {
        for m in members {
            let wire_name = m.location_name.as_deref().unwrap_or(&m.name);
            let key = join(prefix, wire_name);
            let member_path = join(path, &wire_path_segment(&m.name));
            if let Some(v) = decode_member(model, m, &key, &member_path, params, errors) {
                out.insert(m.name.clone(), v);
            }
        }
    }
    Value::Object(out)
}

fn decode_member(
    model: &ServiceModel,
    member: &Member,
    key: &str,
    path: &str,
    params: &Params,
    errors: &mut ValidationErrors,
) -> Option<Value> {
    let shape = model.shape(&member.shape)?;
    match &shape.kind {
        ShapeKind::Structure { .. } => has_prefix(params, key)
            .then(|| decode_structure_members(model, shape, key, path, params, errors)),
        ShapeKind::List {
            member: item,
            flattened,
        } => {
            if !has_prefix(params, key) {
                return None;
            }
            let item_prefix = if *flattened || member.flattened {
                key.to_owned()
            } else {
                join(key, item.location_name.as_deref().unwrap_or("member"))
            };
            let mut items = Vec::new();
            for n in indexes(params, &item_prefix) {
                let item_key = format!("{item_prefix}.{n}");
                let item_path = format!("{path}.{n}.member");
                if let Some(v) = decode_member(model, item, &item_key, &item_path, params, errors) {
                    items.push(v);
                }
            }
            Some(Value::Array(items))
        }
        ShapeKind::Map {
            key: k,
            value: v,
            flattened,
        } => {
            if !has_prefix(params, key) {
                return None;
            }
            let entry_prefix = if *flattened || member.flattened {
                key.to_owned()
            } else {
                join(key, "entry")
            };
            let mut map = Map::new();
            for n in indexes(params, &entry_prefix) {
                let base = format!("{entry_prefix}.{n}");
                let key_name = join(&base, k.location_name.as_deref().unwrap_or("key"));
                let value_name = join(&base, v.location_name.as_deref().unwrap_or("value"));
                let Some(Value::String(entry_key)) =
                    decode_member(model, k, &key_name, path, params, errors)
                else {
                    continue;
                };
                if let Some(entry_value) =
                    decode_member(model, v, &value_name, path, params, errors)
                {
                    map.insert(entry_key, entry_value);
                }
            }
            Some(Value::Object(map))
        }
        _ => {
            let raw = params.get(key)?;
            decode_scalar(shape, raw, path, errors)
        }
    }
}

/// The list indexes present under `prefix` (`prefix.1`, `prefix.2.Key`, ...), ascending.
fn indexes(params: &Params, prefix: &str) -> Vec<u32> {
    let dotted = format!("{prefix}.");
    let mut found: Vec<u32> = params
        .range(dotted.clone()..)
        .take_while(|(k, _)| k.starts_with(&dotted))
        .filter_map(|(k, _)| {
            let rest = k.get(dotted.len()..)?;
            let digits = rest.split('.').next()?;
            digits.parse::<u32>().ok().filter(|n| *n > 0)
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

fn decode_scalar(
    shape: &Shape,
    raw: &str,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Value> {
    let bad = |errors: &mut ValidationErrors, what: &str| {
        errors.push(format!(
            "Value '{raw}' at '{path}' failed to satisfy constraint: Member must be {what}"
        ));
        None
    };
    match shape.kind {
        ShapeKind::String { .. } | ShapeKind::Blob => Some(Value::String(raw.to_owned())),
        ShapeKind::Integer | ShapeKind::Long => match raw.trim().parse::<i64>() {
            Ok(n) => Some(Value::Number(n.into())),
            Err(_) => bad(errors, "a number"),
        },
        ShapeKind::Double | ShapeKind::Float => {
            match raw.trim().parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Some(Value::Number(n)),
                None => bad(errors, "a number"),
            }
        }
        ShapeKind::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => bad(errors, "a boolean"),
        },
        ShapeKind::Timestamp => match timestamp::parse_any(raw) {
            Some(t) => Some(timestamp::to_value(t)),
            None => bad(errors, "a timestamp"),
        },
        _ => None,
    }
}

/// Writes the XML response `<{Op}Response>` for an operation's output.
pub fn encode_output(
    model: &ServiceModel,
    operation: &str,
    output: Option<&dyn Output>,
    request_id: &str,
) -> Result<String, EncodeError> {
    envelope(model, operation, request_id, |shape, xml| match output {
        Some(output) => output.write_query(model, shape, xml),
        None => Ok(()),
    })
}

/// `<{Op}Response>` around the result wrapper (when the operation has an output shape), with
/// the request id.
fn envelope<E>(
    model: &ServiceModel,
    operation: &str,
    request_id: &str,
    result: impl FnOnce(&Shape, &mut String) -> Result<(), E>,
) -> Result<String, E> {
    let mut xml = String::with_capacity(512);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let ns = model.xml_namespace.as_deref().unwrap_or_default();
    let _ = write!(xml, "<{operation}Response xmlns=\"{ns}\">");
    let op = model.operation(operation);
    if let Some(op) = op {
        if let Some(shape) = op.output.as_deref().and_then(|s| model.shape(s)) {
            let wrapper = op
                .result_wrapper
                .clone()
                .unwrap_or_else(|| format!("{operation}Result"));
            let _ = write!(xml, "<{wrapper}>");
            result(shape, &mut xml)?;
            let _ = write!(xml, "</{wrapper}>");
        }
    }
    let _ = write!(
        xml,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{operation}Response>",
        escape(request_id)
    );
    Ok(xml)
}

/// The query protocol's error envelope.
pub fn encode_error(
    namespace: Option<&str>,
    sender_fault: bool,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    let kind = if sender_fault { "Sender" } else { "Receiver" };
    let ns = namespace
        .map(|n| format!(" xmlns=\"{}\"", escape(n)))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse{ns}>\n  <Error>\n    \
         <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

/// XML text escaping for element content and attribute values.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !may_need_escaping(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            // XML 1.0 cannot carry these at all, not even as references.
            c if forbidden_in_xml(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `s` may hold a character `escape` changes, judged byte by byte (most text written
/// is plain ASCII): the characters escaped, the control characters XML forbids, and any
/// three-byte sequence that might be U+FFFE or U+FFFF (lead byte 0xEF), checked exactly by the
/// slow path.
fn may_need_escaping(s: &str) -> bool {
    s.bytes().any(|b| {
        matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0xEF)
            || (b < 0x20 && b != b'\t' && b != b'\n')
    })
}

fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// The encoder the typed writer (`crate::query_xml`) replaced: a model walk over the output's
/// `serde_json::Value`. Kept, outside production builds, as the reference the typed writer's
/// tests compare against byte for byte.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_check_misses_no_character_escape_changes() {
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let s = c.to_string();
            let changed = escape(&s) != s.as_str();
            let old = matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r') || forbidden_in_xml(c);
            assert_eq!(changed, old, "{c:?}");
            assert!(!old || may_need_escaping(&s), "{c:?}");
        }
        assert_eq!(escape("a\u{FFFE}b\u{FFEF}\tc\n"), "a\u{FFFD}b\u{FFEF}\tc\n");
    }
}

#[cfg(any(test, feature = "reference-encoder"))]
pub mod reference {
    use std::fmt::Write as _;

    use serde_json::Value;

    use super::{envelope, escape};
    use crate::model::{Member, ServiceModel, Shape, ShapeKind};
    use crate::timestamp;

    /// What `encode_output` wrote from an output value before outputs stayed typed.
    pub fn encode_output(
        model: &ServiceModel,
        operation: &str,
        output: Option<&Value>,
        request_id: &str,
    ) -> String {
        let written: Result<String, std::convert::Infallible> =
            envelope(model, operation, request_id, |shape, xml| {
                if let Some(value) = output {
                    write_structure_members(model, shape, value, xml);
                }
                Ok(())
            });
        match written {
            Ok(xml) => xml,
            Err(never) => match never {},
        }
    }

    fn write_structure_members(
        model: &ServiceModel,
        shape: &Shape,
        value: &Value,
        xml: &mut String,
    ) {
        let (ShapeKind::Structure { members, .. }, Value::Object(map)) = (&shape.kind, value)
        else {
            return;
        };
        // Both the model's members and the value's keys are sorted by member name, so one merge
        // pass pairs them without a lookup per member.
        let mut members = members.iter().peekable();
        for (key, v) in map {
            while members
                .next_if(|m| m.name.as_str() < key.as_str())
                .is_some()
            {}
            let Some(m) = members.next_if(|m| m.name == *key) else {
                continue;
            };
            if v.is_null() {
                continue;
            }
            let name = m.location_name.as_deref().unwrap_or(&m.name);
            write_member(model, m, name, v, xml);
        }
    }

    fn open_tag(xml: &mut String, name: &str) {
        xml.push('<');
        xml.push_str(name);
        xml.push('>');
    }

    fn close_tag(xml: &mut String, name: &str) {
        xml.push_str("</");
        xml.push_str(name);
        xml.push('>');
    }

    fn write_member(
        model: &ServiceModel,
        member: &Member,
        name: &str,
        value: &Value,
        xml: &mut String,
    ) {
        let Some(shape) = model.shape(&member.shape) else {
            return;
        };
        match (&shape.kind, value) {
            (
                ShapeKind::List {
                    member: item,
                    flattened,
                },
                Value::Array(items),
            ) => {
                let item_name = item.location_name.as_deref().unwrap_or("member");
                if *flattened || member.flattened {
                    for v in items {
                        write_member(model, item, name, v, xml);
                    }
                } else {
                    open_tag(xml, name);
                    for v in items {
                        write_member(model, item, item_name, v, xml);
                    }
                    close_tag(xml, name);
                }
            }
            (ShapeKind::Map { key, value: v, .. }, Value::Object(map)) => {
                open_tag(xml, name);
                for (k, item) in map {
                    xml.push_str("<entry>");
                    write_member(model, key, "key", &Value::String(k.clone()), xml);
                    write_member(model, v, "value", item, xml);
                    xml.push_str("</entry>");
                }
                close_tag(xml, name);
            }
            (ShapeKind::Structure { .. }, Value::Object(_)) => {
                open_tag(xml, name);
                write_structure_members(model, shape, value, xml);
                close_tag(xml, name);
            }
            (ShapeKind::Timestamp, v) => {
                open_tag(xml, name);
                if let Some(t) = timestamp::from_value(v) {
                    timestamp::push_iso8601(xml, t);
                }
                close_tag(xml, name);
            }
            (_, Value::String(s)) => {
                open_tag(xml, name);
                xml.push_str(&escape(s));
                close_tag(xml, name);
            }
            (_, Value::Bool(b)) => {
                open_tag(xml, name);
                xml.push_str(if *b { "true" } else { "false" });
                close_tag(xml, name);
            }
            (_, Value::Number(n)) => {
                open_tag(xml, name);
                let _ = write!(xml, "{n}");
                close_tag(xml, name);
            }
            _ => {}
        }
    }
}
