//! Constraint validation against the model (required, length, range, pattern, enum), with AWS's
//! `N validation error(s) detected: ...` message.

use serde_json::Value;

use crate::model::{ServiceModel, Shape, ShapeKind};

/// Validation failures collected over a whole input, reported together as AWS does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors {
    pub messages: Vec<String>,
}

impl ValidationErrors {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn push(&mut self, message: String) {
        self.messages.push(message);
    }

    /// The single message AWS sends for all failures of one request.
    pub fn message(&self) -> String {
        let n = self.messages.len();
        let noun = if n == 1 { "error" } else { "errors" };
        format!(
            "{n} validation {noun} detected: {}",
            self.messages.join("; ")
        )
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// AWS names members in validation messages with a lower-case first letter (`userName`).
pub fn wire_path_segment(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn describe(value: &Value, shape: &Shape) -> String {
    if shape.sensitive {
        return "Value".to_owned();
    }
    match value {
        Value::String(s) => format!("Value '{s}'"),
        Value::Null => "Value null".to_owned(),
        other => format!("Value '{other}'"),
    }
}

fn fail(errors: &mut ValidationErrors, value: &Value, shape: &Shape, path: &str, rule: &str) {
    errors.push(format!(
        "{} at '{path}' failed to satisfy constraint: Member {rule}",
        describe(value, shape)
    ));
}

/// Checks `value` (already decoded to the shape's JSON form) against the shape's constraints.
pub fn validate(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    path: &str,
    errors: &mut ValidationErrors,
) {
    match (&shape.kind, value) {
        (ShapeKind::Structure { members, required }, Value::Object(map)) => {
            for m in members {
                let child_path = if path.is_empty() {
                    wire_path_segment(&m.name)
                } else {
                    format!("{path}.{}", wire_path_segment(&m.name))
                };
                match (map.get(&m.name), model.shape(&m.shape)) {
                    (None | Some(Value::Null), Some(s)) => {
                        if required.contains(&m.name) {
                            fail(errors, &Value::Null, s, &child_path, "must not be null");
                        }
                    }
                    (Some(v), Some(s)) => validate(model, s, v, &child_path, errors),
                    (_, None) => {}
                }
            }
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            check_length(shape, value, items.len(), path, errors);
            if let Some(s) = model.shape(&member.shape) {
                for (i, item) in items.iter().enumerate() {
                    validate(model, s, item, &format!("{path}.{}.member", i + 1), errors);
                }
            }
        }
        (ShapeKind::Map { key, value: v, .. }, Value::Object(map)) => {
            check_length(shape, value, map.len(), path, errors);
            if let (Some(ks), Some(vs)) = (model.shape(&key.shape), model.shape(&v.shape)) {
                for (k, item) in map {
                    validate(model, ks, &Value::String(k.clone()), path, errors);
                    validate(model, vs, item, path, errors);
                }
            }
        }
        (ShapeKind::String { enum_values }, Value::String(s)) => {
            check_length(shape, value, s.chars().count(), path, errors);
            if let Some(re) = shape.pattern_regex() {
                if !re.is_match(s) {
                    let rule = format!(
                        "must satisfy regular expression pattern: {}",
                        shape.pattern.as_deref().unwrap_or_default()
                    );
                    fail(errors, value, shape, path, &rule);
                }
            }
            if let Some(allowed) = enum_values {
                if !allowed.iter().any(|a| a == s) {
                    let rule = format!("must satisfy enum value set: [{}]", allowed.join(", "));
                    fail(errors, value, shape, path, &rule);
                }
            }
        }
        (ShapeKind::Blob, Value::String(s)) => {
            // The limits are on the bytes, not on their base64; a string that is not base64
            // is the decoder's to refuse.
            if let Some(len) = decoded_len(s) {
                check_length(shape, value, len, path, errors);
            }
        }
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => {
            if let Some(v) = n.as_i64() {
                if let Some(min) = shape.min {
                    if v < min {
                        let rule = format!("must have value greater than or equal to {min}");
                        fail(errors, value, shape, path, &rule);
                    }
                }
                if let Some(max) = shape.max {
                    if v > max {
                        let rule = format!("must have value less than or equal to {max}");
                        fail(errors, value, shape, path, &rule);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The length of what a standard base64 string decodes to, if it is one.
fn decoded_len(s: &str) -> Option<usize> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .ok()
        .map(|b| b.len())
}

fn check_length(
    shape: &Shape,
    value: &Value,
    len: usize,
    path: &str,
    errors: &mut ValidationErrors,
) {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    if let Some(min) = shape.min {
        if len < min {
            let rule = format!("must have length greater than or equal to {min}");
            fail(errors, value, shape, path, &rule);
        }
    }
    if let Some(max) = shape.max {
        if len > max {
            let rule = format!("must have length less than or equal to {max}");
            fail(errors, value, shape, path, &rule);
        }
    }
}
