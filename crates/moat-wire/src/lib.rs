//! AWS wire protocols, driven by the botocore service models kept in `models/`.
//!
//! Decoding turns a request into a `serde_json::Value` shaped like the operation's input
//! (validated against the model's constraints); generated typed structs deserialize from it.
//! Encoding walks the model to write XML (query), straight from an output's typed form, or
//! JSON 1.1 from its value.

pub mod error;
pub mod json;
pub mod model;
pub mod output;
pub mod query;
mod query_xml;
pub mod timestamp;
pub mod validate;

pub use error::{AwsError, CommonError, ErrorResponse};
pub use model::{Protocol, ServiceModel};
pub use output::{EncodeError, Output};
pub use timestamp::Timestamp;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string (password, secret key) whose Debug never shows the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sensitive(pub String);

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive(<redacted>)")
    }
}

impl Sensitive {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Sensitive {
    fn from(s: String) -> Self {
        Sensitive(s)
    }
}

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Sensitive)
    }
}

/// Binary data; base64 on the wire.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(serde::de::Error::custom)
    }
}

/// Removes the values of sensitive members from a decoded input, for logs and audit events.
pub fn redact(model: &ServiceModel, shape_name: &str, value: &mut serde_json::Value) {
    use model::ShapeKind;
    use serde_json::Value;
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    if shape.sensitive {
        *value = Value::String("HIDDEN_DUE_TO_SECURITY_REASONS".to_owned());
        return;
    }
    match (&shape.kind, value) {
        (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
            for m in members {
                if let Some(v) = map.get_mut(&m.name) {
                    redact(model, &m.shape, v);
                }
            }
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            for v in items {
                redact(model, &member.shape, v);
            }
        }
        (ShapeKind::Map { value: vm, .. }, Value::Object(map)) => {
            for v in map.values_mut() {
                redact(model, &vm.shape, v);
            }
        }
        _ => {}
    }
}
