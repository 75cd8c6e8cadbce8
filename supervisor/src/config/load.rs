//! Reading a configuration file: YAML, checked against the schema with every problem
//! collected, then the typed [`ConfigFile`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value as Json;

use super::apply::{ChildKey, Configured, path_problems};
use super::error::{ConfigFileError, Problem};
use super::model::ConfigFile;
use super::validate;
use super::yaml::{self, Node, Position, Value};
use crate::SupervisorSpec;
use crate::model::{format_duration, parse_duration};

/// The largest file read: far above any real configuration.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// A configuration file, read and checked on its own (see [`TreeConfig::apply`] for the checks
/// against a tree). Every value in it is within the runtime's bounds.
///
/// ```
/// use supervisor::config::TreeConfig;
///
/// let config = TreeConfig::from_yaml(
///     "policy:\n  backoff: { base: 250ms, max: 30s }\n",
///     "bot.yaml",
/// )
/// .unwrap();
/// let backoff = config.file().policy.as_ref().unwrap().backoff.as_ref().unwrap();
/// assert_eq!(backoff.base.unwrap().0, std::time::Duration::from_millis(250));
///
/// let error = TreeConfig::from_yaml("policy:\n  restrat: never\n", "bot.yaml").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "bot.yaml: 1 problem; nothing was started\n  bot.yaml:2:3: `policy.restrat`: unknown \
///      field (did you mean `restart`?); expected one of: `backoff`, `circuit_breaker`, \
///      `heartbeat`, `restart`, `shutdown`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TreeConfig {
    file: ConfigFile,
    origin: String,
    /// Where each field was written, by its path in the document.
    positions: BTreeMap<String, Position>,
}

impl TreeConfig {
    /// Reads and checks the YAML file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigFileError`] listing every problem: unreadable or oversized file, not UTF-8, not
    /// YAML, unknown fields, values of the wrong type or out of bounds.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigFileError> {
        let (bytes, origin) = read_bounded(path.as_ref())?;
        Self::from_yaml_bytes(&bytes, &origin)
    }

    /// Reads the file at `path` and applies it to `spec` in one step, so that one error lists
    /// every problem of the file and of its fit to the tree (paths that name no child among
    /// them) at once.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load) and [`apply`](Self::apply), together.
    pub fn load_for(
        path: impl AsRef<Path>,
        spec: SupervisorSpec,
    ) -> Result<Configured, ConfigFileError> {
        let (bytes, origin) = read_bounded(path.as_ref())?;
        let text = utf8(&bytes, &origin)?;
        Self::from_yaml_for(text, &origin, spec)
    }

    /// Checks YAML held in memory; `origin` names it in errors (a path, `"<env>"`).
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn from_yaml_bytes(bytes: &[u8], origin: &str) -> Result<Self, ConfigFileError> {
        Self::from_yaml(utf8(bytes, origin)?, origin)
    }

    /// Checks YAML text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigFileError> {
        Self::check(text, origin).map_err(|(problems, _)| ConfigFileError::new(origin, problems))
    }

    /// [`from_yaml`](Self::from_yaml) and [`apply`](Self::apply) in one step (see
    /// [`load_for`](Self::load_for)).
    ///
    /// # Errors
    ///
    /// As [`load_for`](Self::load_for).
    pub fn from_yaml_for(
        text: &str,
        origin: &str,
        spec: SupervisorSpec,
    ) -> Result<Configured, ConfigFileError> {
        match Self::check(text, origin) {
            Ok(config) => config.apply(spec),
            Err((mut problems, node)) => {
                if let Some(node) = node {
                    problems.extend(path_problems(&spec, &child_keys(&node)));
                }
                Err(ConfigFileError::new(origin, problems))
            }
        }
    }

    /// The checked file, or its problems and (if it was YAML) its document.
    fn check(text: &str, origin: &str) -> Result<Self, (Vec<Problem>, Option<Node>)> {
        let mut node = yaml::parse(text)
            .map_err(|(message, at)| (vec![Problem::at(at, "", None, message)], None))?;
        if node.value == Value::Null {
            // An empty file (or one of comments only) sets nothing.
            node.value = Value::Map(Vec::new());
        }
        let mut problems = validate::check(schema(), &node);
        problems.extend(backoff_problems(&node));
        if !problems.is_empty() {
            return Err((problems, Some(node)));
        }
        let file = serde_json::from_value::<ConfigFile>(to_json(&node))
            // Not expected: the schema check accepts only what the types read.
            .map_err(|error| (vec![Problem::whole(error.to_string())], None))?;
        let mut positions = BTreeMap::new();
        record_positions(&node, "", &mut positions);
        Ok(TreeConfig {
            file,
            origin: origin.to_owned(),
            positions,
        })
    }

    /// The file's contents.
    pub fn file(&self) -> &ConfigFile {
        &self.file
    }

    /// The control socket's path (`ipc.path`), if the file sets one: for
    /// `IpcServer::start` (feature `ipc`).
    pub fn ipc_path(&self) -> Option<&Path> {
        self.file.ipc.as_ref().map(|ipc| Path::new(&ipc.path))
    }

    /// The file's name, as given.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Where the field at `path` (`policy.backoff.base`) was written, if it was.
    pub fn position(&self, path: &str) -> Option<Position> {
        self.positions.get(path).copied()
    }
}

/// The file's bytes and its name, or why it cannot be read: missing, unreadable, or larger
/// than any real configuration.
fn read_bounded(path: &Path) -> Result<(Vec<u8>, String), ConfigFileError> {
    let origin = path.display().to_string();
    let unreadable = |error: std::io::Error| {
        ConfigFileError::new(
            &origin,
            vec![Problem::whole(format!("cannot read the file: {error}"))],
        )
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ConfigFileError::new(
            &origin,
            vec![Problem::whole(format!(
                "the file is {size} bytes; at most {MAX_FILE_BYTES} are read"
            ))],
        ));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    Ok((bytes, origin))
}

fn utf8<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, ConfigFileError> {
    std::str::from_utf8(bytes).map_err(|error| {
        ConfigFileError::new(
            origin,
            vec![Problem::whole(format!(
                "not UTF-8 text (invalid byte at offset {})",
                error.valid_up_to()
            ))],
        )
    })
}

/// The keys of the document's `children` entries, for the checks against a tree.
fn child_keys(node: &Node) -> Vec<ChildKey> {
    let Some(Value::Map(entries)) = field(node, "children").map(|c| &c.value) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, value)| {
            let Value::Str(path) = &key.value else {
                return None;
            };
            let supervisor_at = match &value.value {
                Value::Map(fields) => fields
                    .iter()
                    .find(|(name, _)| name.value == Value::Str("supervisor".to_owned()))
                    .map(|(name, _)| name.at),
                _ => None,
            };
            Some(ChildKey {
                path: path.clone(),
                at: key.at,
                supervisor_at,
            })
        })
        .collect()
}

/// The file's schema as JSON, made once.
pub(crate) fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default())
}

/// `base` above `max` within one `backoff` of the file. (A base from the file above a max
/// from the code is found when the file is applied.)
fn backoff_problems(node: &Node) -> Vec<Problem> {
    let mut sections: Vec<(String, &Node)> = Vec::new();
    if let Some(policy) = field(node, "policy").and_then(|p| field(p, "backoff")) {
        sections.push(("policy.backoff".to_owned(), policy));
    }
    if let Some(Value::Map(children)) = field(node, "children").map(|c| &c.value) {
        for (key, child) in children {
            if let (Value::Str(path), Some(backoff)) = (&key.value, field(child, "backoff")) {
                sections.push((format!("children.{path}.backoff"), backoff));
            }
        }
    }
    let duration = |section: &Node, name: &str| match field(section, name).map(|n| (&n.value, n.at))
    {
        Some((Value::Str(text), at)) => parse_duration(text).ok().map(|d| (d, at)),
        _ => None,
    };
    sections
        .into_iter()
        .filter_map(|(path, section)| {
            let ((base, at), (max, _)) = (duration(section, "base")?, duration(section, "max")?);
            (base > max).then(|| {
                Problem::at(
                    at,
                    &format!("{path}.base"),
                    Some(format!("\"{}\"", format_duration(base))),
                    format!(
                        "above the largest delay ({}); base must be at most max",
                        format_duration(max)
                    ),
                )
            })
        })
        .collect()
}

/// The value of `name` in a mapping node.
fn field<'a>(node: &'a Node, name: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(key, _)| key.value == Value::Str(name.to_owned()))
            .map(|(_, value)| value),
        _ => None,
    }
}

fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
            (Ok(i), _) => Json::from(i),
            (_, Ok(u)) => Json::from(u),
            _ => Json::from(*i as f64),
        },
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, value)| (plain(&key.value), to_json(value)))
                .collect(),
        ),
    }
}

/// A key as text (the schema check has made sure keys are text).
fn plain(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

fn record_positions(node: &Node, path: &str, positions: &mut BTreeMap<String, Position>) {
    positions.insert(path.to_owned(), node.at);
    if let Value::Map(entries) = &node.value {
        for (key, value) in entries {
            let name = plain(&key.value);
            let path = match path {
                "" => name,
                _ => format!("{path}.{name}"),
            };
            // A key's own position: where an error about the entry points.
            positions.insert(format!("{path}#key"), key.at);
            record_positions(value, &path, positions);
        }
    }
}
