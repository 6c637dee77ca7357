//! The AWS JSON 1.1 protocol: `X-Amz-Target` routing, JSON bodies, `__type` errors.

use serde_json::{Map, Value};

use crate::model::{ServiceModel, Shape, ShapeKind};
use crate::timestamp;
use crate::validate::{validate, ValidationErrors};

/// Why a JSON body could not become the operation's input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonInputError {
    /// Not JSON, or JSON of the wrong type for a member: AWS's `SerializationException`.
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    Validation(ValidationErrors),
}

/// Parses and validates a JSON 1.1 request body against the input shape.
pub fn decode_input(
    model: &ServiceModel,
    shape_name: &str,
    body: &[u8],
) -> Result<Value, JsonInputError> {
    let raw: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            JsonInputError::Serialization(format!("Malformed JSON request body: {e}"))
        })?
    };
    let Some(shape) = model.shape(shape_name) else {
        return Ok(Value::Object(Map::new()));
    };
    let value = convert_in(model, shape, raw)?;
    let mut errors = ValidationErrors::default();
    validate(model, shape, &value, "", &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(JsonInputError::Validation(errors))
    }
}

fn mismatch(shape: &Shape, found: &Value) -> JsonInputError {
    let expected = match shape.kind {
        ShapeKind::Structure { .. } | ShapeKind::Map { .. } => "structure or map",
        ShapeKind::List { .. } => "list",
        ShapeKind::String { .. } | ShapeKind::Blob => "string",
        ShapeKind::Boolean => "boolean",
        ShapeKind::Timestamp => "timestamp",
        _ => "number",
    };
    let what = match found {
        Value::Object(_) => "Start of structure or map",
        Value::Array(_) => "Start of list",
        Value::String(_) => "String value",
        Value::Number(_) => "Number value",
        Value::Bool(_) => "Boolean value",
        Value::Null => "Null value",
    };
    JsonInputError::Serialization(format!(
        "{what} found where not expected (expected {expected})"
    ))
}

fn convert_in(model: &ServiceModel, shape: &Shape, value: Value) -> Result<Value, JsonInputError> {
    match (&shape.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (ShapeKind::Structure { members, .. }, Value::Object(mut map)) => {
            let mut out = Map::new();
            for m in members {
                let wire = m.location_name.as_deref().unwrap_or(&m.name);
                if let (Some(v), Some(s)) = (map.remove(wire), model.shape(&m.shape)) {
                    let v = convert_in(model, s, v)?;
                    if !v.is_null() {
                        out.insert(m.name.clone(), v);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            let Some(s) = model.shape(&member.shape) else {
                return Ok(Value::Array(items));
            };
            items
                .into_iter()
                .map(|v| convert_in(model, s, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (ShapeKind::Map { value: vm, .. }, Value::Object(map)) => {
            let Some(s) = model.shape(&vm.shape) else {
                return Ok(Value::Object(map));
            };
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k, convert_in(model, s, v)?);
            }
            Ok(Value::Object(out))
        }
        (ShapeKind::Blob, Value::String(s)) => {
            use base64::Engine as _;
            if base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .is_err()
            {
                return Err(JsonInputError::Serialization(
                    "Base64 encoded value is invalid".to_owned(),
                ));
            }
            Ok(Value::String(s))
        }
        (ShapeKind::String { .. }, v @ Value::String(_)) => Ok(v),
        (ShapeKind::Boolean, v @ Value::Bool(_)) => Ok(v),
        (
            ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float,
            v @ Value::Number(_),
        ) => Ok(v),
        (ShapeKind::Timestamp, v @ (Value::Number(_) | Value::String(_))) => {
            let t = match &v {
                Value::Number(n) => n.as_f64().and_then(|secs| {
                    time::OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok()
                }),
                other => timestamp::from_value(other),
            };
            t.map(timestamp::to_value)
                .ok_or_else(|| mismatch(shape, &v))
        }
        (_, v) => Err(mismatch(shape, &v)),
    }
}

/// Converts an operation's output value to its JSON 1.1 body.
pub fn encode_output(model: &ServiceModel, operation: &str, output: Option<&Value>) -> Vec<u8> {
    let shape = model
        .operation(operation)
        .and_then(|o| o.output.as_deref())
        .and_then(|s| model.shape(s));
    let value = match (shape, output) {
        (Some(shape), Some(v)) => convert_out(model, shape, v),
        _ => Value::Object(Map::new()),
    };
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}

fn convert_out(model: &ServiceModel, shape: &Shape, value: &Value) -> Value {
    match (&shape.kind, value) {
        (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
            let mut out = Map::new();
            for m in members {
                let Some(v) = map.get(&m.name) else { continue };
                if v.is_null() {
                    continue;
                }
                let wire = m.location_name.as_deref().unwrap_or(&m.name);
                let converted = match model.shape(&m.shape) {
                    Some(s) => convert_out(model, s, v),
                    None => v.clone(),
                };
                out.insert(wire.to_owned(), converted);
            }
            Value::Object(out)
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => match model.shape(&member.shape) {
            Some(s) => Value::Array(items.iter().map(|v| convert_out(model, s, v)).collect()),
            None => value.clone(),
        },
        (ShapeKind::Map { value: vm, .. }, Value::Object(map)) => match model.shape(&vm.shape) {
            Some(s) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), convert_out(model, s, v)))
                    .collect(),
            ),
            None => value.clone(),
        },
        (ShapeKind::Timestamp, v) => timestamp::from_value(v)
            .and_then(|t| serde_json::Number::from_f64(timestamp::epoch_seconds(t)))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        _ => value.clone(),
    }
}

/// The JSON 1.1 error body.
pub fn encode_error(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": code, "message": message }))
        .unwrap_or_default()
}
