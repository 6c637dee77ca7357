//! Query-protocol XML written straight from an output's serde form, steered by the model's
//! shape of each member, so a typed output never becomes a `serde_json::Value` on its way out.
//!
//! The XML is the one the model walk over `serde_json::to_value(output)` wrote before: every
//! serde value is written as its `Value` would have been. That is why a few cases look odd (a
//! compound value under a timestamp shape writes an empty element, a null is skipped inside a
//! structure but not inside a list): they keep the bytes identical.

use std::fmt::Write as _;

use serde::ser::{
    Impossible, Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant,
    SerializeTuple, SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use crate::model::{Member, ServiceModel, Shape, ShapeKind};
use crate::output::EncodeError;
use crate::query::escape;
use crate::timestamp;

/// Writes the members of the structure `shape` from `value` (no element of its own: the
/// result wrapper is the caller's).
pub(crate) fn write_members<T: Serialize + ?Sized>(
    model: &ServiceModel,
    shape: &Shape,
    value: &T,
    xml: &mut String,
) -> Result<(), EncodeError> {
    value.serialize(Writer {
        model,
        xml,
        at: At::Members(shape),
    })
}

/// Where the value being serialized goes.
#[derive(Clone, Copy)]
enum At<'m> {
    /// The operation's result: a structure's members without an element of their own.
    Members(&'m Shape),
    /// One element `name` of `member`'s shape.
    Element {
        member: &'m Member,
        shape: &'m Shape,
        name: &'m str,
        /// A null member of a structure is left out; a null list item or map value is written
        /// as the value walk did (an empty element under a timestamp shape, else nothing).
        in_structure: bool,
    },
}

fn element<'m>(
    model: &'m ServiceModel,
    member: &'m Member,
    name: &'m str,
    in_structure: bool,
) -> Option<At<'m>> {
    model.member_shape(member).map(|shape| At::Element {
        member,
        shape,
        name,
        in_structure,
    })
}

/// A scalar as `serde_json::Value` would hold it.
#[derive(Clone, Copy)]
enum Scalar<'s> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    /// Finite: serde_json turns a non-finite float into null.
    F64(f64),
    Str(&'s str),
}

fn float(f: f64) -> Scalar<'static> {
    if f.is_finite() {
        Scalar::F64(f)
    } else {
        Scalar::Null
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

/// The instant a timestamp member's value stands for, read as `timestamp::from_value` reads
/// the value's form: epoch milliseconds as an integer, or a date string.
fn instant(s: Scalar<'_>) -> Option<time::OffsetDateTime> {
    let ms = match s {
        Scalar::I64(ms) => ms,
        Scalar::U64(ms) => i64::try_from(ms).ok()?,
        Scalar::Str(s) => return timestamp::parse_any(s),
        Scalar::Null | Scalar::Bool(_) | Scalar::F64(_) => return None,
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

struct Writer<'m, 'x> {
    model: &'m ServiceModel,
    xml: &'x mut String,
    at: At<'m>,
}

impl<'m, 'x> Writer<'m, 'x> {
    fn scalar(self, value: Scalar<'_>) -> Result<(), EncodeError> {
        let At::Element {
            shape,
            name,
            in_structure,
            ..
        } = self.at
        else {
            return Ok(());
        };
        let xml = self.xml;
        if in_structure && matches!(value, Scalar::Null) {
            return Ok(());
        }
        if matches!(shape.kind, ShapeKind::Timestamp) {
            open_tag(xml, name);
            if let Some(t) = instant(value) {
                timestamp::push_iso8601(xml, t);
            }
            close_tag(xml, name);
            return Ok(());
        }
        match value {
            Scalar::Null => return Ok(()),
            Scalar::Str(s) => {
                open_tag(xml, name);
                xml.push_str(&escape(s));
            }
            Scalar::Bool(b) => {
                open_tag(xml, name);
                xml.push_str(if b { "true" } else { "false" });
            }
            Scalar::I64(n) => {
                open_tag(xml, name);
                let _ = write!(xml, "{n}");
            }
            Scalar::U64(n) => {
                open_tag(xml, name);
                let _ = write!(xml, "{n}");
            }
            Scalar::F64(f) => {
                let Some(n) = serde_json::Number::from_f64(f) else {
                    return Ok(());
                };
                open_tag(xml, name);
                // serde_json's own float form, as the value walk wrote it.
                let _ = write!(xml, "{n}");
            }
        }
        close_tag(xml, name);
        Ok(())
    }

    /// Starts an object (a struct, or a map such as a value's): a structure's members, or a
    /// map shape's entries.
    fn object(self) -> Compound<'m, 'x> {
        let kind = match self.at {
            At::Members(shape) => match &shape.kind {
                ShapeKind::Structure { members, .. } => Kind::Fields(members),
                _ => Kind::Ignore,
            },
            At::Element { shape, name, .. } => match &shape.kind {
                ShapeKind::Structure { members, .. } => {
                    open_tag(self.xml, name);
                    return Compound::new(self.model, self.xml, Kind::Fields(members), Some(name));
                }
                ShapeKind::Map { key, value, .. } => {
                    open_tag(self.xml, name);
                    return Compound::new(
                        self.model,
                        self.xml,
                        Kind::Entries { key, value },
                        Some(name),
                    );
                }
                ShapeKind::Timestamp => {
                    open_tag(self.xml, name);
                    close_tag(self.xml, name);
                    Kind::Ignore
                }
                _ => Kind::Ignore,
            },
        };
        Compound::new(self.model, self.xml, kind, None)
    }

    /// Starts a sequence: a list shape's items, wrapped in the member's element unless the
    /// list is flattened.
    fn seq(self) -> Compound<'m, 'x> {
        let kind = match self.at {
            At::Members(_) => Kind::Ignore,
            At::Element {
                member,
                shape,
                name,
                ..
            } => match &shape.kind {
                ShapeKind::List {
                    member: item,
                    flattened,
                } => {
                    if *flattened || member.flattened {
                        Kind::Items { item, name }
                    } else {
                        open_tag(self.xml, name);
                        let item_name = item.location_name.as_deref().unwrap_or("member");
                        return Compound::new(
                            self.model,
                            self.xml,
                            Kind::Items {
                                item,
                                name: item_name,
                            },
                            Some(name),
                        );
                    }
                }
                ShapeKind::Timestamp => {
                    open_tag(self.xml, name);
                    close_tag(self.xml, name);
                    Kind::Ignore
                }
                _ => Kind::Ignore,
            },
        };
        Compound::new(self.model, self.xml, kind, None)
    }
}

#[derive(Clone, Copy)]
enum Kind<'m> {
    /// A structure's members, matched to fields by member name; fields the model does not
    /// know are skipped.
    Fields(&'m [Member]),
    /// A map shape's `<entry><key/><value/></entry>`s.
    Entries { key: &'m Member, value: &'m Member },
    /// A list's items, each an element `name`.
    Items { item: &'m Member, name: &'m str },
    /// A value the shape cannot carry: nothing is written.
    Ignore,
}

struct Compound<'m, 'x> {
    model: &'m ServiceModel,
    xml: &'x mut String,
    kind: Kind<'m>,
    close: Option<&'m str>,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: Option<String>,
    /// Where the next field's member is expected: typed structs serialize their fields in
    /// member order, so most lookups are one comparison.
    next: usize,
}

impl<'m, 'x> Compound<'m, 'x> {
    fn new(
        model: &'m ServiceModel,
        xml: &'x mut String,
        kind: Kind<'m>,
        close: Option<&'m str>,
    ) -> Self {
        Compound {
            model,
            xml,
            kind,
            close,
            key: None,
            next: 0,
        }
    }

    fn writer(&mut self, at: At<'m>) -> Writer<'m, '_> {
        Writer {
            model: self.model,
            xml: self.xml,
            at,
        }
    }

    /// One keyed value of an object: a structure's member or a map's entry.
    fn keyed<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), EncodeError> {
        match self.kind {
            Kind::Fields(members) => {
                let found = match members.get(self.next) {
                    Some(m) if m.name == key => Some(self.next),
                    _ => members.binary_search_by(|m| m.name.as_str().cmp(key)).ok(),
                };
                let Some((i, m)) = found.and_then(|i| Some((i, members.get(i)?))) else {
                    return Ok(());
                };
                self.next = i + 1;
                let name = m.location_name.as_deref().unwrap_or(&m.name);
                match element(self.model, m, name, true) {
                    Some(at) => value.serialize(self.writer(at)),
                    None => Ok(()),
                }
            }
            Kind::Entries { key: km, value: vm } => {
                self.xml.push_str("<entry>");
                if let Some(at) = element(self.model, km, "key", false) {
                    self.writer(at).scalar(Scalar::Str(key))?;
                }
                if let Some(at) = element(self.model, vm, "value", false) {
                    value.serialize(self.writer(at))?;
                }
                self.xml.push_str("</entry>");
                Ok(())
            }
            Kind::Items { .. } | Kind::Ignore => Ok(()),
        }
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let Kind::Items { item, name } = self.kind else {
            return Ok(());
        };
        match element(self.model, item, name, false) {
            Some(at) => value.serialize(self.writer(at)),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<(), EncodeError> {
        if let Some(name) = self.close {
            close_tag(self.xml, name);
        }
        Ok(())
    }
}

/// A variant carrying fields, collected as serde_json would (`{"Variant": ...}`) and then
/// written from that value. No model shape is such an enum; this only keeps the writer total.
struct Variant<'m, 'x, S> {
    writer: Writer<'m, 'x>,
    inner: S,
}

type ValueSerializer = serde_json::value::Serializer;

impl<'m, 'x> Serializer for Writer<'m, 'x> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Compound<'m, 'x>;
    type SerializeTuple = Compound<'m, 'x>;
    type SerializeTupleStruct = Compound<'m, 'x>;
    type SerializeTupleVariant =
        Variant<'m, 'x, <ValueSerializer as Serializer>::SerializeTupleVariant>;
    type SerializeMap = Compound<'m, 'x>;
    type SerializeStruct = Compound<'m, 'x>;
    type SerializeStructVariant =
        Variant<'m, 'x, <ValueSerializer as Serializer>::SerializeStructVariant>;

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.scalar(Scalar::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        if let Ok(n) = i64::try_from(v) {
            self.scalar(Scalar::I64(n))
        } else if let Ok(n) = u64::try_from(v) {
            self.scalar(Scalar::U64(n))
        } else {
            Err(EncodeError("number out of range".to_owned()))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.scalar(Scalar::I64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        self.scalar(Scalar::U64(v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        match u64::try_from(v) {
            Ok(n) => self.scalar(Scalar::U64(n)),
            Err(_) => Err(EncodeError("number out of range".to_owned())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        self.scalar(float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        self.scalar(float(v))
    }
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        let mut buf = [0; 4];
        self.scalar(Scalar::Str(v.encode_utf8(&mut buf)))
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.scalar(Scalar::Str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        // serde_json makes bytes an array of numbers.
        let mut items = self.seq();
        for b in v {
            items.item(b)?;
        }
        items.finish()
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.scalar(Scalar::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.scalar(Scalar::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        self.scalar(Scalar::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.scalar(Scalar::Str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        let mut object = self.object();
        object.keyed(variant, value)?;
        object.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'m, 'x>, EncodeError> {
        Ok(self.seq())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'m, 'x>, EncodeError> {
        Ok(self.seq())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'m, 'x>, EncodeError> {
        Ok(self.seq())
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        let inner = serde_json::value::Serializer
            .serialize_tuple_variant(name, index, variant, len)
            .map_err(json_error)?;
        Ok(Variant {
            writer: self,
            inner,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'m, 'x>, EncodeError> {
        Ok(self.object())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'m, 'x>, EncodeError> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        let inner = serde_json::value::Serializer
            .serialize_struct_variant(name, index, variant, len)
            .map_err(json_error)?;
        Ok(Variant {
            writer: self,
            inner,
        })
    }
}

fn json_error(e: serde_json::Error) -> EncodeError {
    EncodeError(e.to_string())
}

impl SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.item(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

impl SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.item(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

impl SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.item(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

impl SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.keyed(key, value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

impl SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        self.key = Some(key.serialize(KeyWriter)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| EncodeError("a map value without its key".to_owned()))?;
        self.keyed(&key, value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

impl SerializeTupleVariant
    for Variant<'_, '_, <ValueSerializer as Serializer>::SerializeTupleVariant>
{
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.inner.serialize_field(value).map_err(json_error)
    }
    fn end(self) -> Result<(), EncodeError> {
        let value = self.inner.end().map_err(json_error)?;
        value.serialize(self.writer)
    }
}

impl SerializeStructVariant
    for Variant<'_, '_, <ValueSerializer as Serializer>::SerializeStructVariant>
{
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.inner.serialize_field(key, value).map_err(json_error)
    }
    fn end(self) -> Result<(), EncodeError> {
        let value = self.inner.end().map_err(json_error)?;
        value.serialize(self.writer)
    }
}

/// A map key as serde_json keeps it: a string, or a number or boolean written as one.
struct KeyWriter;

fn key_error() -> EncodeError {
    EncodeError("a map key must be a string".to_owned())
}

impl Serializer for KeyWriter {
    type Ok = String;
    type Error = EncodeError;
    type SerializeSeq = Impossible<String, EncodeError>;
    type SerializeTuple = Impossible<String, EncodeError>;
    type SerializeTupleStruct = Impossible<String, EncodeError>;
    type SerializeTupleVariant = Impossible<String, EncodeError>;
    type SerializeMap = Impossible<String, EncodeError>;
    type SerializeStruct = Impossible<String, EncodeError>;
    type SerializeStructVariant = Impossible<String, EncodeError>;

    fn serialize_bool(self, v: bool) -> Result<String, EncodeError> {
        Ok(if v { "true" } else { "false" }.to_owned())
    }
    fn serialize_i8(self, v: i8) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<String, EncodeError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, EncodeError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, EncodeError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, EncodeError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, EncodeError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::{json, Value};

    use crate::model::{ServiceModel, ShapeKind};
    use crate::output::Output;
    use crate::query::{encode_output, reference};
    use crate::{Blob, Sensitive, Timestamp};

    /// Every shape kind and XML trait the writer follows.
    const MODEL: &str = r#"{
      "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "endpointPrefix": "t",
                   "xmlNamespace": "https://t.example/doc/"},
      "operations": {
        "Get": {"name": "Get", "output": {"shape": "Out", "resultWrapper": "GetResult"}},
        "Bare": {"name": "Bare", "output": {"shape": "Out"}}
      },
      "shapes": {
        "Out": {"type": "structure", "members": {
          "Blob": {"shape": "blob"},
          "Dates": {"shape": "dateList"},
          "Double": {"shape": "double"},
          "Flag": {"shape": "bool"},
          "Flat": {"shape": "nameList", "flattened": true},
          "FlatShape": {"shape": "flatList"},
          "Float": {"shape": "float"},
          "Inner": {"shape": "Inner"},
          "Int": {"shape": "int"},
          "Long": {"shape": "long"},
          "Named": {"shape": "namedList"},
          "Names": {"shape": "nameList"},
          "Nested": {"shape": "innerList"},
          "Renamed": {"shape": "name", "locationName": "Wire"},
          "Secret": {"shape": "secret"},
          "Summary": {"shape": "counts"},
          "Tagged": {"shape": "innerMap"},
          "When": {"shape": "date"}
        }},
        "Inner": {"type": "structure", "members": {
          "Created": {"shape": "date"},
          "Name": {"shape": "name"},
          "Size": {"shape": "long"}
        }},
        "innerList": {"type": "list", "member": {"shape": "Inner"}},
        "innerMap": {"type": "map", "key": {"shape": "name"}, "value": {"shape": "Inner"}},
        "nameList": {"type": "list", "member": {"shape": "name"}},
        "namedList": {"type": "list", "member": {"shape": "name", "locationName": "item"}},
        "flatList": {"type": "list", "member": {"shape": "int"}, "flattened": true},
        "dateList": {"type": "list", "member": {"shape": "date"}},
        "counts": {"type": "map", "key": {"shape": "name"}, "value": {"shape": "int"}},
        "name": {"type": "string"},
        "secret": {"type": "string", "sensitive": true},
        "int": {"type": "integer"},
        "long": {"type": "long"},
        "double": {"type": "double"},
        "float": {"type": "float"},
        "bool": {"type": "boolean"},
        "date": {"type": "timestamp"},
        "blob": {"type": "blob"}
      }
    }"#;

    fn model() -> &'static ServiceModel {
        static M: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
        M.get_or_init(|| ServiceModel::from_json(MODEL).unwrap())
    }

    #[derive(Serialize, Default)]
    struct Inner {
        #[serde(rename = "Created", skip_serializing_if = "Option::is_none")]
        created: Option<Timestamp>,
        #[serde(rename = "Name")]
        name: String,
        // Not skipped: serialized as none, which a structure leaves out.
        #[serde(rename = "Size")]
        size: Option<i64>,
    }

    /// Fields in member-name order, as the generated structs are.
    #[derive(Serialize, Default)]
    struct Out {
        #[serde(rename = "Blob", skip_serializing_if = "Option::is_none")]
        blob: Option<Blob>,
        #[serde(rename = "Dates", skip_serializing_if = "Option::is_none")]
        dates: Option<Vec<Option<Timestamp>>>,
        #[serde(rename = "Double", skip_serializing_if = "Option::is_none")]
        double: Option<f64>,
        #[serde(rename = "Extra", skip_serializing_if = "Option::is_none")]
        extra: Option<String>,
        #[serde(rename = "Flag", skip_serializing_if = "Option::is_none")]
        flag: Option<bool>,
        #[serde(rename = "Flat", skip_serializing_if = "Option::is_none")]
        flat: Option<Vec<String>>,
        #[serde(rename = "FlatShape", skip_serializing_if = "Option::is_none")]
        flat_shape: Option<Vec<i32>>,
        #[serde(rename = "Float", skip_serializing_if = "Option::is_none")]
        float: Option<f32>,
        #[serde(rename = "Inner", skip_serializing_if = "Option::is_none")]
        inner: Option<Inner>,
        #[serde(rename = "Int", skip_serializing_if = "Option::is_none")]
        int: Option<i32>,
        #[serde(rename = "Long", skip_serializing_if = "Option::is_none")]
        long: Option<i64>,
        #[serde(rename = "Named", skip_serializing_if = "Option::is_none")]
        named: Option<Vec<Option<String>>>,
        #[serde(rename = "Names", skip_serializing_if = "Option::is_none")]
        names: Option<Vec<String>>,
        #[serde(rename = "Nested", skip_serializing_if = "Option::is_none")]
        nested: Option<Vec<Inner>>,
        #[serde(rename = "Renamed", skip_serializing_if = "Option::is_none")]
        renamed: Option<String>,
        #[serde(rename = "Secret", skip_serializing_if = "Option::is_none")]
        secret: Option<Sensitive>,
        #[serde(rename = "Summary", skip_serializing_if = "Option::is_none")]
        summary: Option<BTreeMap<String, i32>>,
        #[serde(rename = "Tagged", skip_serializing_if = "Option::is_none")]
        tagged: Option<BTreeMap<String, Inner>>,
        #[serde(rename = "When", skip_serializing_if = "Option::is_none")]
        when: Option<Timestamp>,
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp(time::OffsetDateTime::from_unix_timestamp(secs).unwrap())
    }

    fn full() -> Out {
        let inner = |name: &str, secs: Option<i64>| Inner {
            created: secs.map(at),
            name: name.to_owned(),
            size: secs,
        };
        Out {
            blob: Some(Blob(b"\x00\xffbinary<>".to_vec())),
            dates: Some(vec![Some(at(1_764_417_600)), None, Some(at(0))]),
            double: Some(0.1),
            extra: Some("not in the model".to_owned()),
            flag: Some(false),
            flat: Some(vec!["a".to_owned(), "b&c".to_owned()]),
            flat_shape: Some(vec![1, -2, i32::MAX]),
            float: Some(1.1),
            inner: Some(inner("in'ner\"", Some(951_782_400))),
            int: Some(i32::MIN),
            long: Some(i64::MAX),
            named: Some(vec![Some("x".to_owned()), None, Some(String::new())]),
            names: Some(Vec::new()),
            nested: Some(vec![inner("one", None), inner("two\r\u{1}", Some(1))]),
            renamed: Some("wire <name>".to_owned()),
            secret: Some(Sensitive("s3cr3t&".to_owned())),
            summary: Some(BTreeMap::from([
                ("Users".to_owned(), 3),
                ("AccessKeysPerUserQuota".to_owned(), 2),
            ])),
            tagged: Some(BTreeMap::from([
                ("k<1>".to_owned(), inner("v", Some(-1))),
                ("k2".to_owned(), inner("w", None)),
            ])),
            when: Some(at(253_402_300_799)),
        }
    }

    /// The typed writer, the same writer fed the output's value, and the value walk it
    /// replaced, all agree; returns the XML.
    fn agree<T: Serialize + Send>(operation: &str, output: &T) -> String {
        let m = model();
        let typed = encode_output(m, operation, Some(output as &dyn Output), "r-1").unwrap();
        let value = serde_json::to_value(output).unwrap();
        let from_value = encode_output(m, operation, Some(&value as &dyn Output), "r-1").unwrap();
        let walked = reference::encode_output(m, operation, Some(&value), "r-1");
        assert_eq!(typed, walked);
        assert_eq!(from_value, walked);
        typed
    }

    #[test]
    fn typed_output_writes_what_the_value_walk_wrote() {
        let xml = agree("Get", &full());
        for part in [
            "<GetResult><Blob>AP9iaW5hcnk8Pg==</Blob>",
            "<Dates><member>2025-11-29T12:00:00Z</member><member></member>\
             <member>1970-01-01T00:00:00Z</member></Dates><Double>0.1</Double>",
            "<Flag>false</Flag><Flat>a</Flat><Flat>b&amp;c</Flat>",
            "<FlatShape>1</FlatShape><FlatShape>-2</FlatShape><FlatShape>2147483647</FlatShape>",
            "<Inner><Created>2000-02-29T00:00:00Z</Created><Name>in&apos;ner&quot;</Name>\
             <Size>951782400</Size></Inner>",
            "<Named><item>x</item><item></item></Named><Names></Names>",
            "<Nested><member><Name>one</Name></member><member><Created>1970-01-01T00:00:01Z\
             </Created><Name>two&#xD;\u{FFFD}</Name><Size>1</Size></member></Nested>",
            "<Wire>wire &lt;name&gt;</Wire><Secret>s3cr3t&amp;</Secret>",
            "<Summary><entry><key>AccessKeysPerUserQuota</key><value>2</value></entry>\
             <entry><key>Users</key><value>3</value></entry></Summary>",
            "<Tagged><entry><key>k2</key><value><Name>w</Name></value></entry>\
             <entry><key>k&lt;1&gt;</key><value><Created>1969-12-31T23:59:59Z</Created>",
            "<When>9999-12-31T23:59:59Z</When></GetResult>",
        ] {
            assert!(xml.contains(part), "{part} not in {xml}");
        }
        assert!(!xml.contains("Extra"));
        assert!(xml.contains(&format!("<Float>{}</Float>", serde_json::json!(1.1_f32))));
    }

    #[test]
    fn empty_and_absent_outputs_agree() {
        agree("Get", &Out::default());
        agree("Bare", &full());
        let xml = encode_output(model(), "Get", None, "r").unwrap();
        assert_eq!(xml, reference::encode_output(model(), "Get", None, "r"));
        assert!(xml.contains("<GetResult></GetResult>"));
        // An operation the model does not know gets the bare envelope.
        agree("Nope", &full());
    }

    #[test]
    fn doubles_are_written_as_serde_json_writes_them() {
        for d in [
            0.0,
            -0.0,
            3.0,
            1.5,
            0.1 + 0.2,
            1e21,
            1e-7,
            -123_456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ] {
            let xml = agree(
                "Get",
                &Out {
                    double: Some(d),
                    ..Out::default()
                },
            );
            assert_eq!(xml.contains("<Double>"), d.is_finite(), "{d}: {xml}");
        }
    }

    #[test]
    fn values_of_the_wrong_form_are_written_as_the_value_walk_wrote_them() {
        let m = model();
        for value in [
            json!({"Inner": "a string", "Names": {"a": 1}, "When": [1, 2], "Summary": [1],
                   "Int": "7", "Flag": 1, "Dates": [null, "2020-01-01T00:00:00Z", true, 1.5,
                   u64::MAX], "Tagged": {"k": null, "j": {"Size": 2.5}}, "Double": null,
                   "Renamed": {"x": 1}, "Nested": [null, 1, {"Zzz": 1}], "Zzz": 1}),
            json!({"Flat": [], "FlatShape": [[1], {"a": 1}], "Blob": ""}),
            json!("not an object"),
            json!([1, 2]),
            json!(null),
        ] {
            let walked = reference::encode_output(m, "Get", Some(&value), "r");
            let written = encode_output(m, "Get", Some(&value as &dyn Output), "r").unwrap();
            assert_eq!(written, walked, "{value}");
        }
    }

    #[test]
    fn enums_are_written_as_their_values() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(String),
            Tuple(i32, i32),
            Fields { a: i32 },
        }
        #[derive(Serialize)]
        struct O {
            #[serde(rename = "Inner")]
            inner: E,
            #[serde(rename = "Names")]
            names: Vec<E>,
            #[serde(rename = "Tagged")]
            tagged: E,
        }
        agree(
            "Get",
            &O {
                inner: E::Unit,
                names: vec![E::Unit, E::New("n".to_owned()), E::Tuple(1, 2)],
                tagged: E::Fields { a: 1 },
            },
        );
        agree(
            "Get",
            &O {
                inner: E::New("x".to_owned()),
                names: vec![E::Fields { a: 1 }],
                tagged: E::New("y".to_owned()),
            },
        );
    }

    fn next(seed: &mut u64, n: u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed % n
    }

    /// A value for `shape` (sometimes of the wrong form, sometimes with unknown members),
    /// from a small deterministic generator.
    fn arbitrary(m: &ServiceModel, shape: &str, seed: &mut u64, depth: u32) -> Value {
        let Some(s) = m.shape(shape) else {
            return Value::Null;
        };
        if next(seed, 20) == 0 {
            return [json!(null), json!("odd"), json!(7), json!([]), json!({})]
                .into_iter()
                .nth(usize::try_from(next(seed, 5)).unwrap())
                .unwrap();
        }
        match &s.kind {
            ShapeKind::Structure { members, .. } if depth < 4 => {
                let mut map = serde_json::Map::new();
                for mem in members {
                    if next(seed, 3) != 0 {
                        map.insert(mem.name.clone(), arbitrary(m, &mem.shape, seed, depth + 1));
                    }
                }
                if next(seed, 4) == 0 {
                    map.insert("Unknown".to_owned(), json!("u"));
                }
                Value::Object(map)
            }
            ShapeKind::List { member, .. } if depth < 4 => {
                let n = next(seed, 4);
                Value::Array(
                    (0..n)
                        .map(|_| arbitrary(m, &member.shape, seed, depth + 1))
                        .collect(),
                )
            }
            ShapeKind::Map { value, .. } if depth < 4 => {
                let n = next(seed, 3);
                Value::Object(
                    (0..n)
                        .map(|i| {
                            (
                                format!("k{i}<&>"),
                                arbitrary(m, &value.shape, seed, depth + 1),
                            )
                        })
                        .collect(),
                )
            }
            ShapeKind::Timestamp => match next(seed, 3) {
                0 => json!(next(seed, 4_000_000_000_000)),
                1 => json!("2021-03-04T05:06:07Z"),
                _ => json!(-5),
            },
            ShapeKind::Integer | ShapeKind::Long => {
                json!(i64::try_from(next(seed, 1 << 40)).unwrap() - (1 << 39))
            }
            ShapeKind::Double | ShapeKind::Float => json!(next(seed, 1_000_000) as f64 / 7.0),
            ShapeKind::Boolean => json!(next(seed, 2) == 0),
            _ => json!(format!("s{}'\"<{}>", next(seed, 100), next(seed, 100))),
        }
    }

    #[test]
    fn arbitrary_values_of_real_outputs_agree() {
        let iam = ServiceModel::from_json(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/iam/service-2.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut ops: Vec<&String> = iam.operations.keys().collect();
        ops.sort();
        for op in ops {
            let Some(output) = iam.operation(op).and_then(|o| o.output.clone()) else {
                continue;
            };
            for _ in 0..8 {
                let value = arbitrary(&iam, &output, &mut seed, 0);
                let walked = reference::encode_output(&iam, op, Some(&value), "r");
                let written = encode_output(&iam, op, Some(&value as &dyn Output), "r").unwrap();
                assert_eq!(written, walked, "{op}: {value}");
            }
        }
        for (op, shape) in [("Get", "Out")] {
            for _ in 0..200 {
                let value = arbitrary(model(), shape, &mut seed, 0);
                let walked = reference::encode_output(model(), op, Some(&value), "r");
                let written = encode_output(model(), op, Some(&value as &dyn Output), "r").unwrap();
                assert_eq!(written, walked, "{op}: {value}");
            }
        }
    }

    #[test]
    fn keys_that_are_not_strings_fail_cleanly() {
        #[derive(Serialize)]
        struct O {
            #[serde(rename = "Summary")]
            summary: BTreeMap<Vec<u8>, i32>,
        }
        let out = O {
            summary: BTreeMap::from([(vec![1], 1)]),
        };
        assert!(encode_output(model(), "Get", Some(&out as &dyn Output), "r").is_err());
        // Number keys are written as serde_json keeps them.
        #[derive(Serialize)]
        struct N {
            #[serde(rename = "Summary")]
            summary: BTreeMap<i32, i32>,
        }
        agree(
            "Get",
            &N {
                summary: BTreeMap::from([(-1, 1), (10, 2)]),
            },
        );
    }
}
