//! Lenient scalar fields: a JSON value that should be a string or a number but that real
//! records write either way (`durationMs` is `"575"` in Key Vault logs and `575` in Managed
//! HSM documentation), and that must never fail a record when it is something else.
//!
//! Invariant: deserializing a `Lenient` never returns an error for a well-formed JSON value.
//! Objects and arrays are skipped and read as absent, because a typed column cannot hold
//! them and the original is kept in `raw` anyway.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A scalar JSON value read as text, borrowed from the input when it has no escapes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lenient<'a>(pub Option<Cow<'a, str>>);

impl<'a> Lenient<'a> {
    /// The value as text, or `None` when absent, null, an object or an array.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The value as an integer: a JSON number, or a string holding one (`"575"`).
    /// Fractional values are truncated toward zero; anything else is `None`.
    pub fn as_i64(&self) -> Option<i64> {
        let text = self.0.as_deref()?.trim();
        if let Ok(v) = text.parse::<i64>() {
            return Some(v);
        }
        text.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v as i64)
    }

    /// The value as a boolean: `true`/`false` in either JSON or string form.
    pub fn as_bool(&self) -> Option<bool> {
        match self.0.as_deref()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Owned(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Lenient(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Lenient<'_> {
        serde_json::from_str(json).expect("valid JSON")
    }

    #[test]
    fn numbers_and_numeric_strings_read_as_integers() {
        assert_eq!(read("\"575\"").as_i64(), Some(575));
        assert_eq!(read("575").as_i64(), Some(575));
        assert_eq!(read("12.9").as_i64(), Some(12));
        assert_eq!(read("\"n/a\"").as_i64(), None);
    }

    #[test]
    fn objects_arrays_and_null_read_as_absent() {
        assert_eq!(read("{\"a\":[1,2]}").as_str(), None);
        assert_eq!(read("[1,{}]").as_str(), None);
        assert_eq!(read("null").as_str(), None);
        assert_eq!(read("true").as_bool(), Some(true));
    }
}
