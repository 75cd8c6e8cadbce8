//! Policy from a YAML file (feature `config`).

mod apply;
mod effective;
mod error;
mod load;
mod model;
mod validate;
mod values;
mod yaml;

pub use apply::Configured;
pub use effective::{EffectiveConfig, Entry, Setting, Source};
pub use error::{ConfigFileError, Problem};
pub use load::TreeConfig;
pub use model::{
    BackoffSection, BreakerSection, ChildSection, ConfigFile, HeartbeatSection, IntensitySection,
    ObservabilitySection, PolicySection, ShutdownSection, SupervisorSection,
};
pub use values::{ChildShutdown, Spelled, Spelling, Text};
pub use yaml::Position;

/// The JSON Schema of the file, as pretty-printed JSON (what
/// `examples/config/supervisor.schema.json` holds).
pub fn json_schema() -> String {
    let mut text = serde_json::to_string_pretty(load::schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
