//! The file's leaf values: names from a fixed list (`Spelled`), durations as text (`Text`),
//! and a child's shutdown. Each reads, writes and describes itself (JSON Schema) from the
//! runtime's own list of spellings and duration rules, so the file, the schema and the code
//! cannot disagree.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::model::{
    DURATION_PATTERN, Jitter, OnOpen, RestartPolicy, ShutdownPolicy, Strategy, format_duration,
    parse_duration,
};

/// A policy name written as text: one of a fixed list of spellings.
pub trait Spelling: FromStr + fmt::Display + Copy + PartialEq + fmt::Debug {
    /// Every accepted spelling.
    const SPELLINGS: &'static [&'static str];
    /// The schema's name for it.
    const NAME: &'static str;
}

macro_rules! spelling {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl Spelling for $ty {
            const SPELLINGS: &'static [&'static str] = <$ty>::SPELLINGS;
            const NAME: &'static str = $name;
        }
    )*};
}

spelling!(
    Strategy => "Strategy",
    RestartPolicy => "RestartPolicy",
    Jitter => "Jitter",
    OnOpen => "OnOpen",
);

/// A value of `T` read from its spelling (`one_for_all`, `on_failure`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spelled<T>(pub T);

impl<T: Spelling> Serialize for Spelled<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de, T: Spelling> Deserialize<'de> for Spelled<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        text.parse()
            .map(Spelled)
            .map_err(|_| de::Error::unknown_variant(&text, T::SPELLINGS))
    }
}

impl<T: Spelling> JsonSchema for Spelled<T> {
    fn schema_name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": T::SPELLINGS })
    }
}

/// A value written as text by the macros' rules: for durations, `"250ms"`, `"1.5s"`, `"5m"`,
/// `"2h"`; greater than zero, at most 365 days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Text<T>(pub T);

impl Serialize for Text<Duration> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Text<Duration> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        parse_duration(&text).map(Text).map_err(de::Error::custom)
    }
}

impl JsonSchema for Text<Duration> {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A number and a unit: ms, s, m or h (\"250ms\", \"1.5s\", \"5m\"); greater than zero, at most 365 days (\"8760h\").",
        })
    }
}

/// How a child is stopped: `brutal_kill`, `infinity`, or `{ timeout: "5s" }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildShutdown(pub ShutdownPolicy);

impl Serialize for ChildShutdown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ShutdownPolicy::Timeout(timeout) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("timeout", &Text(timeout))?;
                map.end()
            }
            keyword => serializer.serialize_str(&keyword.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ChildShutdown {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShutdownVisitor)
    }
}

struct ShutdownVisitor;

impl<'de> Visitor<'de> for ShutdownVisitor {
    type Value = ChildShutdown;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`brutal_kill`, `infinity` or `{ timeout: \"5s\" }`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ChildShutdown, E> {
        match v {
            "brutal_kill" => Ok(ChildShutdown(ShutdownPolicy::BrutalKill)),
            "infinity" => Ok(ChildShutdown(ShutdownPolicy::Infinity)),
            other => Err(E::unknown_variant(other, ShutdownPolicy::SPELLINGS)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChildShutdown, A::Error> {
        let mut timeout = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "timeout" if timeout.is_none() => {
                    timeout = Some(map.next_value::<Text<Duration>>()?)
                }
                "timeout" => return Err(de::Error::duplicate_field("timeout")),
                other => return Err(de::Error::unknown_field(other, &["timeout"])),
            }
        }
        let Text(timeout) = timeout.ok_or_else(|| de::Error::missing_field("timeout"))?;
        Ok(ChildShutdown(ShutdownPolicy::Timeout(timeout)))
    }
}

impl JsonSchema for ChildShutdown {
    fn schema_name() -> Cow<'static, str> {
        "ChildShutdown".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let duration = generator.subschema_for::<Text<Duration>>();
        json_schema!({
            "oneOf": [
                { "type": "string", "enum": ShutdownPolicy::SPELLINGS },
                {
                    "type": "object",
                    "properties": { "timeout": duration },
                    "required": ["timeout"],
                    "additionalProperties": false,
                },
            ],
        })
    }
}
