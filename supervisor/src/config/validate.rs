//! Checks a YAML document against the file's JSON Schema, collecting every problem with its
//! position instead of stopping at the first. The schema is the one generated from the types
//! (see `json_schema`), so the loader, the schema and the types agree by construction. Only
//! the keywords that schema uses are understood.

use serde_json::Value as Json;

use super::error::Problem;
use super::yaml::{Node, Value};
use crate::error::closest;
use crate::model::{DURATION_PATTERN, parse_duration};

/// Every problem of `node` against `schema` (the root schema, which holds the `$defs`).
pub(crate) fn check(schema: &Json, node: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    Checker { root: schema }.check(schema, node, "", &mut problems);
    problems
}

struct Checker<'a> {
    root: &'a Json,
}

impl<'a> Checker<'a> {
    /// The schema a `$ref` names, or the schema itself.
    fn resolve(&self, schema: &'a Json) -> &'a Json {
        let mut schema = schema;
        // References of references are followed a few steps at most (the schema has none).
        for _ in 0..8 {
            let Some(name) = schema
                .get("$ref")
                .and_then(Json::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            else {
                break;
            };
            match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn check(&self, schema: &'a Json, node: &Node, field: &str, problems: &mut Vec<Problem>) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Json::as_array)
        {
            self.check_alternatives(alternatives, node, field, problems);
            return;
        }
        if let Some(types) = schema.get("type")
            && !type_matches(types, &node.value)
        {
            problems.push(mismatch(
                schema,
                node,
                field,
                &expected_types(types, schema),
            ));
            return;
        }
        match &node.value {
            Value::Map(entries) => self.check_map(schema, node, entries, field, problems),
            Value::Str(text) => check_text(schema, node, text, field, problems),
            Value::Int(number) => check_range(schema, node, *number, field, problems),
            _ => {}
        }
    }

    /// Fine if one alternative accepts the node. Otherwise the problems of the alternative of
    /// the node's own type (a mapping's, a string's), or one problem naming them all.
    fn check_alternatives(
        &self,
        alternatives: &'a [Json],
        node: &Node,
        field: &str,
        problems: &mut Vec<Problem>,
    ) {
        let mut fitting = None;
        for alternative in alternatives {
            let mut found = Vec::new();
            self.check(alternative, node, field, &mut found);
            if found.is_empty() {
                return;
            }
            if fitting.is_none() && self.accepts_type(alternative, &node.value) {
                fitting = Some(found);
            }
        }
        if let Some(found) = fitting {
            problems.extend(found);
            return;
        }
        let schema = alternatives
            .first()
            .map_or(&Json::Null, |a| self.resolve(a));
        let expected = self.describe_all(alternatives);
        problems.push(mismatch(schema, node, field, &expected));
    }

    /// Whether the schema takes values of this type at all (the problems are then about the
    /// value, not its type).
    fn accepts_type(&self, schema: &'a Json, value: &Value) -> bool {
        let schema = self.resolve(schema);
        match schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Json::as_array)
        {
            Some(alternatives) => alternatives.iter().any(|a| self.accepts_type(a, value)),
            None => schema
                .get("type")
                .is_none_or(|types| type_matches(types, value)),
        }
    }

    /// What the alternatives expect, in words, `null` left out.
    fn describe_all(&self, alternatives: &'a [Json]) -> String {
        alternatives
            .iter()
            .map(|alternative| self.resolve(alternative))
            .filter(|alternative| alternative.get("type") != Some(&Json::from("null")))
            .map(|alternative| {
                match alternative
                    .get("anyOf")
                    .or_else(|| alternative.get("oneOf"))
                    .and_then(Json::as_array)
                {
                    Some(inner) => self.describe_all(inner),
                    None => {
                        let types = alternative.get("type").cloned().unwrap_or(Json::Null);
                        expected_types(&types, alternative)
                    }
                }
            })
            .collect::<Vec<_>>()
            .join(", or ")
    }

    fn check_map(
        &self,
        schema: &'a Json,
        node: &Node,
        entries: &[(Node, Node)],
        field: &str,
        problems: &mut Vec<Problem>,
    ) {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                problems.push(Problem::at(
                    key.at,
                    field,
                    Some(key.value.to_string()),
                    "keys are names (text)".to_owned(),
                ));
                continue;
            };
            let path = join(field, name);
            if let Some(property) = properties.and_then(|p| p.get(name)) {
                self.check(property, value, &path, problems);
                continue;
            }
            match additional {
                Some(Json::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let hint = match closest(name, known.iter().copied()) {
                        Some(close) => format!(" (did you mean `{close}`?)"),
                        None => String::new(),
                    };
                    problems.push(Problem::at(
                        key.at,
                        &path,
                        None,
                        format!("unknown field{hint}; expected one of: {}", list(&known)),
                    ));
                }
                Some(schema @ Json::Object(_)) => self.check(schema, value, &path, problems),
                _ => {}
            }
        }
        for required in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            let present = entries
                .iter()
                .any(|(key, _)| key.value == Value::Str(required.to_owned()));
            if !present {
                problems.push(Problem::at(
                    node.at,
                    &join(field, required),
                    None,
                    "missing; it is required here".to_owned(),
                ));
            }
        }
    }
}

fn check_text(schema: &Json, node: &Node, text: &str, field: &str, problems: &mut Vec<Problem>) {
    if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
        let allowed: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
        if !allowed.contains(&text) {
            let hint = match closest(text, allowed.iter().copied()) {
                Some(close) => format!(" (did you mean `{close}`?)"),
                None => String::new(),
            };
            problems.push(Problem::at(
                node.at,
                field,
                Some(node.value.to_string()),
                format!("unknown value{hint}; expected one of: {}", list(&allowed)),
            ));
        }
    }
    if schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN)
        && let Err(message) = parse_duration(text)
    {
        problems.push(Problem::at(node.at, field, None, message));
    }
    if let Some(min) = schema.get("minLength").and_then(Json::as_u64)
        && (text.chars().count() as u64) < min
    {
        problems.push(Problem::at(
            node.at,
            field,
            Some(node.value.to_string()),
            format!("too short; expected text of at least {min} character(s)"),
        ));
    }
}

fn check_range(schema: &Json, node: &Node, number: i128, field: &str, problems: &mut Vec<Problem>) {
    let bound = |key: &str| schema.get(key).and_then(Json::as_i64).map(i128::from);
    let format_max = match schema.get("format").and_then(Json::as_str) {
        Some("uint32") => Some(i128::from(u32::MAX)),
        Some("uint64" | "uint") => Some(i128::from(u64::MAX)),
        _ => None,
    };
    let format_min = format_max.map(|_| 0);
    let min = bound("minimum").or(format_min);
    let max = bound("maximum").or(format_max);
    let (low, high) = (
        min.is_some_and(|m| number < m),
        max.is_some_and(|m| number > m),
    );
    if low || high {
        let allowed = match (min, max) {
            (Some(min), Some(max)) => format!("from {min} to {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => String::new(),
        };
        problems.push(Problem::at(
            node.at,
            field,
            Some(number.to_string()),
            format!("out of range; expected a whole number {allowed}"),
        ));
    }
}

/// Whether the node's value is of (one of) the schema's types.
fn type_matches(types: &Json, value: &Value) -> bool {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "number",
        Value::Str(_) => "string",
        Value::Seq(_) => "array",
        Value::Map(_) => "object",
    };
    let fits = |t: &str| t == name || (t == "number" && name == "integer");
    match types {
        Json::String(t) => fits(t),
        Json::Array(ts) => ts.iter().filter_map(Json::as_str).any(fits),
        _ => true,
    }
}

/// What a schema expects, in words: "a duration like \"5s\"", "one of: a, b", "a mapping".
fn expected_types(types: &Json, schema: &Json) -> String {
    if schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN) {
        return "a duration with a unit, e.g. \"250ms\", \"5s\", \"10m\"".to_owned();
    }
    if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
        let allowed: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
        return format!("one of: {}", list(&allowed));
    }
    let words: Vec<&str> = match types {
        Json::String(t) => vec![t.as_str()],
        Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|t| *t != "null")
    .map(|t| match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "text",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        other => other,
    })
    .collect();
    words.join(" or ")
}

fn mismatch(schema: &Json, node: &Node, field: &str, expected: &str) -> Problem {
    let hint = match (&node.value, schema.get("pattern").and_then(Json::as_str)) {
        (Value::Int(_) | Value::Float(_), Some(DURATION_PATTERN)) => {
            " (a bare number has no unit: quote it with one, e.g. \"5s\")"
        }
        _ => "",
    };
    let scalar = !matches!(node.value, Value::Map(_) | Value::Seq(_));
    Problem::at(
        node.at,
        field,
        scalar.then(|| node.value.to_string()),
        format!("expected {expected}, found {}{hint}", node.value.kind()),
    )
}

fn join(field: &str, name: &str) -> String {
    match field {
        "" => name.to_owned(),
        _ => format!("{field}.{name}"),
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
