//! An operation's output as the pipeline carries it: the service's typed struct (or, for a
//! service that still builds one, a `serde_json::Value`), written straight to query XML, and
//! turned into a value only when an audit event or the JSON protocol needs one.

use serde::Serialize;
use serde_json::Value;

use crate::model::{ServiceModel, Shape};

/// Why an output could not be written: a type whose serde form XML cannot carry (a map keyed
/// by something other than a string or number, an integer beyond 64 bits).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode an output: {0}")]
pub struct EncodeError(pub(crate) String);

impl serde::ser::Error for EncodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

/// An operation's output, whichever form the service built it in.
pub trait Output: Send {
    /// The output as a value shaped like the model's output shape, keyed by member name.
    fn to_value(&self) -> Result<Value, serde_json::Error>;
    /// Writes the members of the output structure `shape` as query XML.
    fn write_query(
        &self,
        model: &ServiceModel,
        shape: &Shape,
        xml: &mut String,
    ) -> Result<(), EncodeError>;
}

impl<T: Serialize + Send> Output for T {
    fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn write_query(
        &self,
        model: &ServiceModel,
        shape: &Shape,
        xml: &mut String,
    ) -> Result<(), EncodeError> {
        crate::query_xml::write_members(model, shape, self, xml)
    }
}
