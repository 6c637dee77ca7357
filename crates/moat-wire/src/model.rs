//! The runtime view of a botocore `service-2.json`: the shapes, constraints and protocol traits
//! that drive decoding, validation and encoding. Loaded once per service at start-up.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("service model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("service model refers to unknown shape `{0}`")]
    UnknownShape(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Json,
}

#[derive(Debug)]
pub struct ServiceModel {
    pub protocol: Protocol,
    pub api_version: String,
    pub endpoint_prefix: String,
    pub xml_namespace: Option<String>,
    pub target_prefix: Option<String>,
    pub json_version: Option<String>,
    pub operations: HashMap<String, Operation>,
    /// Every shape, in name order; members refer to theirs by position.
    shapes: Vec<Shape>,
    /// Positions in `shapes` by name.
    shape_index: HashMap<String, usize>,
    /// Error shapes by their wire code (`NoSuchEntity`), for status lookups and tests.
    pub errors_by_code: HashMap<String, ErrorTrait>,
}

#[derive(Debug)]
pub struct Operation {
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub result_wrapper: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ErrorTrait {
    pub shape: String,
    pub code: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub shape: String,
    /// The name on the wire when it differs from the member name.
    pub location_name: Option<String>,
    pub flattened: bool,
    /// `shape`'s position in the model, resolved at load: the encoders look a member's shape up
    /// per value they write.
    shape_index: usize,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: Vec<Member>,
        required: Vec<String>,
    },
    List {
        member: Member,
        flattened: bool,
    },
    Map {
        key: Member,
        value: Member,
        flattened: bool,
    },
    String {
        enum_values: Option<Vec<String>>,
    },
    Integer,
    Long,
    Double,
    Float,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<String>,
    pub sensitive: bool,
    compiled_pattern: OnceLock<Option<Regex>>,
}

impl Shape {
    /// The shape's pattern anchored to the whole value, as AWS applies it.
    pub fn pattern_regex(&self) -> Option<&Regex> {
        self.compiled_pattern
            .get_or_init(|| {
                self.pattern
                    .as_ref()
                    .and_then(|p| Regex::new(&format!("^(?:{})$", java_classes(p))).ok())
            })
            .as_ref()
    }
}

/// AWS evaluates model patterns with Java semantics, where `\w`, `\d` and `\s` are ASCII-only;
/// in the regex crate they are Unicode-aware. Rewrites them to their ASCII sets.
fn java_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let set = match next {
                    'w' => Some("0-9A-Za-z_"),
                    'd' => Some("0-9"),
                    's' => Some(" \\t\\n\\x0B\\f\\r"),
                    _ => None,
                };
                match (set, in_class) {
                    (Some(set), true) => out.push_str(set),
                    (Some(set), false) => {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, _) => {
                        out.push(c);
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[derive(Deserialize)]
struct RawModel {
    metadata: RawMetadata,
    operations: BTreeMap<String, RawOperation>,
    shapes: BTreeMap<String, RawShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    protocol: String,
    api_version: String,
    endpoint_prefix: String,
    xml_namespace: Option<String>,
    target_prefix: Option<String>,
    json_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    name: String,
    input: Option<RawRef>,
    output: Option<RawRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    shape: String,
    result_wrapper: Option<String>,
    location_name: Option<String>,
    #[serde(default)]
    flattened: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: BTreeMap<String, RawRef>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    #[serde(default)]
    flattened: bool,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    exception: bool,
    error: Option<RawError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawError {
    code: Option<String>,
    http_status_code: Option<u16>,
    #[serde(default)]
    sender_fault: bool,
}

fn member(name: &str, r: RawRef, index: &HashMap<String, usize>) -> Member {
    Member {
        name: name.to_owned(),
        // An unknown shape is reported by `check_references`; meanwhile it resolves to nothing.
        shape_index: index.get(&r.shape).copied().unwrap_or(usize::MAX),
        shape: r.shape,
        location_name: r.location_name,
        flattened: r.flattened,
    }
}

impl ServiceModel {
    pub fn from_json(text: &str) -> Result<ServiceModel, ModelError> {
        let raw: RawModel = serde_json::from_str(text)?;
        let protocol = match raw.metadata.protocol.as_str() {
            "query" => Protocol::Query,
            _ => Protocol::Json,
        };
        let shape_index: HashMap<String, usize> = raw
            .shapes
            .keys()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        let index = &shape_index;
        let mut shapes = Vec::with_capacity(shape_index.len());
        let mut errors_by_code = HashMap::new();
        for (name, s) in raw.shapes {
            if s.exception {
                let code = s
                    .error
                    .as_ref()
                    .and_then(|e| e.code.clone())
                    .unwrap_or_else(|| name.clone());
                errors_by_code.insert(
                    code.clone(),
                    ErrorTrait {
                        shape: name.clone(),
                        code,
                        http_status: s
                            .error
                            .as_ref()
                            .and_then(|e| e.http_status_code)
                            .unwrap_or(400),
                        sender_fault: s.error.as_ref().is_some_and(|e| e.sender_fault),
                    },
                );
            }
            let kind = match s.kind.as_str() {
                "structure" => ShapeKind::Structure {
                    members: s
                        .members
                        .into_iter()
                        .map(|(n, r)| member(&n, r, index))
                        .collect(),
                    required: s.required,
                },
                "list" => ShapeKind::List {
                    member: member(
                        "member",
                        s.member
                            .ok_or_else(|| ModelError::UnknownShape(format!("{name}.member")))?,
                        index,
                    ),
                    flattened: s.flattened,
                },
                "map" => ShapeKind::Map {
                    key: member(
                        "key",
                        s.key
                            .ok_or_else(|| ModelError::UnknownShape(format!("{name}.key")))?,
                        index,
                    ),
                    value: member(
                        "value",
                        s.value
                            .ok_or_else(|| ModelError::UnknownShape(format!("{name}.value")))?,
                        index,
                    ),
                    flattened: s.flattened,
                },
                "string" => ShapeKind::String {
                    enum_values: s.enum_values,
                },
                "integer" => ShapeKind::Integer,
                "long" => ShapeKind::Long,
                "double" => ShapeKind::Double,
                "float" => ShapeKind::Float,
                "boolean" => ShapeKind::Boolean,
                "timestamp" => ShapeKind::Timestamp,
                "blob" => ShapeKind::Blob,
                other => return Err(ModelError::UnknownShape(format!("{name}: type {other}"))),
            };
            // A few botocore patterns use look-around, which the regex crate (linear time by
            // design) does not support; those shapes are validated by their service instead.
            let pattern = s
                .pattern
                .filter(|p| Regex::new(&format!("^(?:{})$", java_classes(p))).is_ok());
            shapes.push(Shape {
                name,
                kind,
                // Constraints in botocore are whole numbers stored as JSON numbers.
                min: s.min.map(|v| v as i64),
                max: s.max.map(|v| v as i64),
                pattern,
                sensitive: s.sensitive,
                compiled_pattern: OnceLock::new(),
            });
        }
        let operations = raw
            .operations
            .into_iter()
            .map(|(k, o)| {
                let result_wrapper = o.output.as_ref().and_then(|r| r.result_wrapper.clone());
                (
                    k,
                    Operation {
                        name: o.name,
                        input: o.input.map(|r| r.shape),
                        output: o.output.map(|r| r.shape),
                        result_wrapper,
                    },
                )
            })
            .collect();
        let model = ServiceModel {
            protocol,
            api_version: raw.metadata.api_version,
            endpoint_prefix: raw.metadata.endpoint_prefix,
            xml_namespace: raw.metadata.xml_namespace,
            target_prefix: raw.metadata.target_prefix,
            json_version: raw.metadata.json_version,
            operations,
            shapes,
            shape_index,
            errors_by_code,
        };
        model.check_references()?;
        Ok(model)
    }

    fn check_references(&self) -> Result<(), ModelError> {
        let known = |s: &str| {
            if self.shape_index.contains_key(s) {
                Ok(())
            } else {
                Err(ModelError::UnknownShape(s.to_owned()))
            }
        };
        for shape in &self.shapes {
            match &shape.kind {
                ShapeKind::Structure { members, .. } => {
                    for m in members {
                        known(&m.shape)?;
                    }
                }
                ShapeKind::List { member, .. } => known(&member.shape)?,
                ShapeKind::Map { key, value, .. } => {
                    known(&key.shape)?;
                    known(&value.shape)?;
                }
                _ => {}
            }
        }
        for op in self.operations.values() {
            for s in op.input.iter().chain(op.output.iter()) {
                known(s)?;
            }
        }
        Ok(())
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shape_index.get(name).and_then(|i| self.shapes.get(*i))
    }

    /// A member's shape, without a lookup by name.
    pub fn member_shape(&self, member: &Member) -> Option<&Shape> {
        self.shapes.get(member.shape_index)
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_character_classes_are_ascii() {
        assert_eq!(java_classes(r"[\w+=,.@-]+"), "[0-9A-Za-z_+=,.@-]+");
        assert_eq!(java_classes(r"\w+\d"), "[0-9A-Za-z_]+[0-9]");
        assert_eq!(java_classes(r"[\p{L}\p{Z}]+"), r"[\p{L}\p{Z}]+");
        let re = Regex::new(&format!("^(?:{})$", java_classes(r"[\w+=,.@-]+"))).unwrap();
        assert!(re.is_match("alice.b@x"));
        assert!(!re.is_match("élève"));
    }

    #[test]
    fn every_checked_in_model_loads() {
        for svc in ["iam", "sts", "kms", "cloudtrail", "organizations"] {
            let path = format!(
                "{}/../../models/{svc}/service-2.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(e) = ServiceModel::from_json(&text) {
                panic!("{svc}: {e}");
            }
        }
    }
}
