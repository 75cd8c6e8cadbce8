//! The merged configuration of a tree, value by value, with where each came from: what an
//! operator prints before deploying (`--print-effective-config`).

use std::fmt;

use super::yaml::Position;

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The runtime's built-in default (also when the code sets a value equal to it).
    Default,
    /// The code: `#[service]` options, `supervisor!` overrides, builder calls.
    Code,
    /// The configuration file, at this position.
    File(Position),
}

impl Source {
    pub(crate) fn code_or_default(is_default: bool) -> Self {
        if is_default {
            Source::Default
        } else {
            Source::Code
        }
    }
}

/// One value of one supervisor or child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The field, as in the file (`backoff.base`).
    pub field: &'static str,
    /// Its effective value, as the file would write it.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The settings of one supervisor or child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path from the root.
    pub path: String,
    /// `supervisor` for a supervisor's own settings, `child` or `supervisor child` for a
    /// child's policies.
    pub kind: &'static str,
    /// Its settings, in a fixed order.
    pub settings: Vec<Setting>,
}

impl Entry {
    pub(crate) fn new(path: &str, kind: &'static str) -> Self {
        Entry {
            path: path.to_owned(),
            kind,
            settings: Vec::new(),
        }
    }

    pub(crate) fn set(&mut self, field: &'static str, value: String, source: Source) {
        self.settings.push(Setting {
            field,
            value,
            source,
        });
    }

    /// The setting of `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&Setting> {
        self.settings.iter().find(|setting| setting.field == field)
    }
}

/// The merged configuration of a tree: every supervisor's and child's settings, in tree
/// order, each with its [`Source`]. Its `Display` is a table to print before deploying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveConfig {
    origin: String,
    entries: Vec<Entry>,
}

impl EffectiveConfig {
    pub(crate) fn new(origin: &str, entries: Vec<Entry>) -> Self {
        EffectiveConfig {
            origin: origin.to_owned(),
            entries,
        }
    }

    /// Every entry, in tree order: a supervisor's own settings, then its children.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of the supervisor or child at `path` (a supervisor child has two: its policies
    /// as a child, then its settings as a supervisor; `kind` tells them apart).
    pub fn entry(&self, path: &str, kind: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.path == path && entry.kind == kind)
    }
}

impl fmt::Display for EffectiveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .entries
            .iter()
            .flat_map(|entry| &entry.settings)
            .map(|setting| setting.value.len())
            .max()
            .unwrap_or(0);
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{} ({})", entry.path, entry.kind)?;
            for setting in &entry.settings {
                let source = match &setting.source {
                    Source::Default => "default".to_owned(),
                    Source::Code => "code".to_owned(),
                    Source::File(position) => format!("{}:{position}", self.origin),
                };
                writeln!(
                    f,
                    "  {:<22} {:<width$}  {source}",
                    setting.field, setting.value
                )?;
            }
        }
        Ok(())
    }
}
