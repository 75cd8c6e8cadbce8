//! A checked file applied to a tree: every override reaches the child at its path, or the
//! file is rejected (unknown paths, a `supervisor` group on a worker, a merged backoff whose
//! base is above its max). Precedence: built-in defaults < code < `policy` < `children`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::effective::{EffectiveConfig, Entry, Source};
use super::error::{ConfigFileError, Problem};
use super::load::TreeConfig;
use super::model::{
    BackoffSection, BreakerSection, ObservabilitySection, PolicyFields, SupervisorSection,
};
use super::values::{ChildShutdown, Spelled, Text};
use super::yaml::Position;
use crate::SupervisorConfig;
use crate::error::closest;
use crate::model::{
    BackoffConfig, ChildKind, CircuitBreakerConfig, Intensity, RestartPolicy, format_duration,
};
use crate::spec::{
    ChildPolicy, ChildSpec, DEFAULT_ABORT_WAIT, Run, SupervisorSpec, check_added_child,
};

/// A tree with a configuration file applied, and what each value is and where it came from.
#[derive(Debug, Clone)]
pub struct Configured {
    /// The tree to start.
    pub spec: SupervisorSpec,
    /// The merged settings of every supervisor and child, with their sources.
    pub effective: EffectiveConfig,
    /// For [`supervisor_config`](Self::supervisor_config).
    observability: Option<ObservabilitySection>,
}

impl TreeConfig {
    /// Applies the file to `spec`: the root's `supervisor` group, `policy` to every child,
    /// the `shutdown` group to every supervisor, then each `children` entry to the child at
    /// its path.
    ///
    /// # Errors
    ///
    /// [`ConfigFileError`] listing every problem: a path that names no child (with the
    /// closest one), a `supervisor` group for a child that is not a supervisor, a merged
    /// backoff whose base is above its max, or a child the runtime would reject.
    pub fn apply(&self, spec: SupervisorSpec) -> Result<Configured, ConfigFileError> {
        let keys: Vec<ChildKey> = self
            .file()
            .children
            .iter()
            .map(|(path, section)| ChildKey {
                path: path.clone(),
                at: self
                    .position(&format!("children.{path}#key"))
                    .unwrap_or_default(),
                supervisor_at: section.supervisor.as_ref().map(|_| {
                    self.position(&format!("children.{path}.supervisor#key"))
                        .unwrap_or_default()
                }),
            })
            .collect();
        let problems = path_problems(&spec, &keys);
        let mut applier = Applier {
            config: self,
            problems,
            entries: Vec::new(),
            shared: HashMap::new(),
        };
        let root = spec.name.to_string();
        let spec = applier.supervisor(spec, &root, self.file().supervisor.as_ref(), "supervisor");
        if !applier.problems.is_empty() {
            return Err(ConfigFileError::new(self.origin(), applier.problems));
        }
        let effective = EffectiveConfig::new(self.origin(), applier.entries);
        Ok(Configured {
            spec,
            effective,
            observability: self.file().observability.clone(),
        })
    }

    /// `config` with the file's `observability` group applied (journal and event capacity,
    /// per-child metrics).
    pub fn supervisor_config(&self, config: SupervisorConfig) -> SupervisorConfig {
        observability_over(self.file().observability.as_ref(), config)
    }
}

impl Configured {
    /// `config` with the file's `observability` group applied (see
    /// [`TreeConfig::supervisor_config`]).
    pub fn supervisor_config(&self, config: SupervisorConfig) -> SupervisorConfig {
        observability_over(self.observability.as_ref(), config)
    }
}

/// The file's `observability` group over `config`.
fn observability_over(
    observability: Option<&ObservabilitySection>,
    config: SupervisorConfig,
) -> SupervisorConfig {
    let Some(observability) = observability else {
        return config;
    };
    let mut config = config;
    if let Some(capacity) = observability.journal_capacity {
        config = config.with_journal_capacity(capacity as usize);
    }
    if let Some(capacity) = observability.event_capacity {
        config = config.with_event_capacity(capacity as usize);
    }
    if let Some(listed) = observability.child_metrics {
        config = config.with_child_metrics(listed);
    }
    config
}

/// A `children` entry's key: its path, where it was written, and where its `supervisor`
/// group was, if it has one.
pub(crate) struct ChildKey {
    pub(crate) path: String,
    pub(crate) at: Position,
    pub(crate) supervisor_at: Option<Position>,
}

/// The problems of `children` keys against the tree: paths that name no child (with the
/// closest), `supervisor` groups for children that are not supervisors.
pub(crate) fn path_problems(spec: &SupervisorSpec, keys: &[ChildKey]) -> Vec<Problem> {
    let paths = spec.paths();
    let mut problems = Vec::new();
    for key in keys {
        let path = &key.path;
        match paths.get(path.as_str()) {
            None => {
                let hint = match closest(path, paths.keys().map(String::as_str)) {
                    Some(close) => format!(" (did you mean `{close}`?)"),
                    None => String::new(),
                };
                problems.push(Problem::at(
                    key.at,
                    &format!("children.{path}"),
                    None,
                    format!(
                        "no child at this path{hint}; paths start at the root (`{}/...`)",
                        spec.name
                    ),
                ));
            }
            Some(kind) if *kind != ChildKind::Supervisor => {
                if let Some(at) = key.supervisor_at {
                    problems.push(Problem::at(
                        at,
                        &format!("children.{path}.supervisor"),
                        None,
                        "this child is not a supervisor; strategy and intensity are a supervisor's"
                            .to_owned(),
                    ));
                }
            }
            Some(_) => {}
        }
    }
    problems
}

struct Applier<'a> {
    config: &'a TreeConfig,
    problems: Vec<Problem>,
    entries: Vec<Entry>,
    /// Policies changed by `policy` alone, by the address of the code's shared policy: the
    /// children that shared one policy share its configured copy too.
    shared: HashMap<usize, Arc<ChildPolicy>>,
}

impl Applier<'_> {
    fn file_at(&self, field: &str) -> Source {
        Source::File(self.config.position(field).unwrap_or_default())
    }

    /// A supervisor's duration setting: the file's value (at `file_field`) over the code's,
    /// recorded in `entry` as `name` with its source.
    fn duration(
        &self,
        entry: &mut Entry,
        (name, file_field): (&'static str, &str),
        file: Option<Text<Duration>>,
        (code, default): (Duration, Duration),
    ) -> Duration {
        let (value, source) = match file {
            Some(Text(value)) => (value, self.file_at(file_field)),
            None => (code, Source::code_or_default(code == default)),
        };
        entry.set(name, format_duration(value), source);
        value
    }

    /// A supervisor and, recursively, its children. `group` is the file's `supervisor` group
    /// for it (`field` its path in the document).
    fn supervisor(
        &mut self,
        mut spec: SupervisorSpec,
        path: &str,
        group: Option<&SupervisorSection>,
        field: &str,
    ) -> SupervisorSpec {
        let mut entry = Entry::new(path, "supervisor");
        let strategy = group.and_then(|g| g.strategy);
        if let Some(Spelled(strategy)) = strategy {
            spec.strategy = strategy;
        }
        entry.set(
            "strategy",
            spec.strategy.to_string(),
            match strategy {
                Some(_) => self.file_at(&format!("{field}.strategy")),
                None => Source::code_or_default(spec.strategy == Default::default()),
            },
        );
        let intensity = group.and_then(|g| g.intensity.as_ref());
        if let Some(intensity) = intensity {
            spec.intensity = Some(Intensity {
                max_restarts: intensity.max_restarts,
                within: intensity.within.0,
            });
        }
        entry.set(
            "intensity",
            match spec.intensity {
                Some(i) => format!("{} in {}", i.max_restarts, format_duration(i.within)),
                None => "none".to_owned(),
            },
            match intensity {
                Some(_) => self.file_at(&format!("{field}.intensity")),
                None => Source::code_or_default(spec.intensity == Some(Intensity::default())),
            },
        );
        let shutdown = self.config.file().shutdown.as_ref();
        let graceful = shutdown.and_then(|s| s.graceful_timeout);
        spec.shutdown_timeout = self.duration(
            &mut entry,
            ("shutdown_timeout", "shutdown.graceful_timeout"),
            graceful,
            (spec.shutdown_timeout, Duration::from_secs(5)),
        );
        let abort_wait = shutdown.and_then(|s| s.abort_wait);
        spec.abort_wait = self.duration(
            &mut entry,
            ("abort_wait", "shutdown.abort_wait"),
            abort_wait,
            (spec.abort_wait, DEFAULT_ABORT_WAIT),
        );
        self.entries.push(entry);
        let auto_shutdown = spec.auto_shutdown;
        let children = std::mem::take(&mut spec.children);
        spec.children = children
            .into_iter()
            .map(|child| self.child(child, path, auto_shutdown))
            .collect();
        spec
    }

    fn child(
        &mut self,
        mut child: ChildSpec,
        parent: &str,
        auto_shutdown: crate::model::AutoShutdown,
    ) -> ChildSpec {
        let path = format!("{parent}/{}", child.name);
        let file = self.config.file();
        let global = file.policy.as_ref();
        let own = file.children.get(&path);
        let own_field = format!("children.{path}");
        let code = Arc::clone(&child.policy);
        let mut policy = (*code).clone();
        let mut entry = Entry::new(&path, child_kind(child.kind()));
        let mut sources = Sources::default();
        let nested = child.kind() == ChildKind::Supervisor;
        let global = global.map(PolicyFields::from).map(|mut fields| {
            if nested {
                // A nested supervisor never heartbeats and bounds its own shutdown.
                fields.heartbeat = None;
                fields.shutdown = None;
            }
            fields
        });
        for (section, field) in [
            (global, "policy".to_owned()),
            (own.map(PolicyFields::from), own_field.clone()),
        ] {
            if let Some(section) = section {
                self.merge(&mut policy, &mut sources, section, &field);
            }
        }
        let base_over_max = policy.backoff.base() > policy.backoff.max();
        if base_over_max {
            let (field, source) = match (&sources.base, &sources.max) {
                (Some(base), _) => ("base", base.clone()),
                (None, Some(max)) => ("max", max.clone()),
                (None, None) => ("base", String::new()),
            };
            self.problems.push(Problem::at(
                self.config.position(&source).unwrap_or_default(),
                &source,
                None,
                format!(
                    "the merged backoff of `{path}` has base {} above max {} (the {field} is \
                     from this file, the other from the code); base must be at most max",
                    format_duration(policy.backoff.base()),
                    format_duration(policy.backoff.max())
                ),
            ));
        }
        self.record(&mut entry, &policy, &sources);
        self.entries.push(entry);
        if policy != *code {
            child.policy = match own {
                // Only `policy` changed it: children that shared the code's policy share this.
                None => Arc::clone(
                    self.shared
                        .entry(Arc::as_ptr(&code) as usize)
                        .or_insert_with(|| Arc::new(policy)),
                ),
                Some(_) => Arc::new(policy),
            };
            if !base_over_max && let Err(error) = check_added_child(parent, auto_shutdown, &child) {
                // At the child's entry, or at `policy` when only that changed it.
                let (at, field) = match own {
                    Some(_) => (
                        self.config.position(&format!("{own_field}#key")),
                        own_field.clone(),
                    ),
                    None => (self.config.position("policy#key"), "policy".to_owned()),
                };
                self.problems.push(Problem::at(
                    at.unwrap_or_default(),
                    &field,
                    None,
                    format!("the configured child is rejected: {error}"),
                ));
            }
        }
        if let Run::Supervisor(nested) = &mut child.run {
            let group = own.and_then(|section| section.supervisor.as_ref());
            let field = format!("{own_field}.supervisor");
            let spec = (**nested).clone();
            *nested = Arc::new(self.supervisor(spec, &path, group, &field));
        }
        child
    }

    /// One section's values over `policy`, remembering which field of the file set each.
    fn merge(
        &mut self,
        policy: &mut ChildPolicy,
        sources: &mut Sources,
        section: PolicyFields<'_>,
        field: &str,
    ) {
        if let Some(Spelled(restart)) = section.restart {
            policy.restart = *restart;
            sources.restart = Some(format!("{field}.restart"));
        }
        if let Some(backoff) = section.backoff {
            policy.backoff = merge_backoff(policy.backoff, backoff);
            let set =
                |name: &str, present: bool| present.then(|| format!("{field}.backoff.{name}"));
            sources.base = set("base", backoff.base.is_some()).or(sources.base.take());
            sources.max = set("max", backoff.max.is_some()).or(sources.max.take());
            sources.jitter = set("jitter", backoff.jitter.is_some()).or(sources.jitter.take());
            sources.reset_after =
                set("reset_after", backoff.reset_after.is_some()).or(sources.reset_after.take());
        }
        if let Some(breaker) = section.circuit_breaker {
            policy.backoff = merge_breaker(policy.backoff, breaker);
            sources.breaker = Some(format!("{field}.circuit_breaker"));
        }
        if let Some(heartbeat) = section.heartbeat {
            policy.heartbeat_timeout = Some(heartbeat.stale_after.0);
            sources.heartbeat = Some(format!("{field}.heartbeat.stale_after"));
        }
        if let Some(ChildShutdown(shutdown)) = section.shutdown {
            policy.shutdown = Some(*shutdown);
            sources.shutdown = Some(format!("{field}.shutdown"));
        }
    }

    fn record(&self, entry: &mut Entry, policy: &ChildPolicy, sources: &Sources) {
        let defaults = BackoffConfig::default();
        let source = |field: &Option<String>, is_default: bool| match field {
            Some(field) => self.file_at(field),
            None => Source::code_or_default(is_default),
        };
        entry.set(
            "restart",
            policy.restart.to_string(),
            source(&sources.restart, policy.restart == RestartPolicy::default()),
        );
        let backoff = policy.backoff;
        entry.set(
            "backoff.base",
            format_duration(backoff.base()),
            source(&sources.base, backoff.base() == defaults.base()),
        );
        entry.set(
            "backoff.max",
            format_duration(backoff.max()),
            source(&sources.max, backoff.max() == defaults.max()),
        );
        entry.set(
            "backoff.jitter",
            backoff.jitter().to_string(),
            source(&sources.jitter, backoff.jitter() == defaults.jitter()),
        );
        entry.set(
            "backoff.reset_after",
            format_duration(backoff.cooldown()),
            source(
                &sources.reset_after,
                backoff.cooldown() == defaults.cooldown(),
            ),
        );
        entry.set(
            "circuit_breaker",
            match backoff.circuit_breaker() {
                Some(b) => format!(
                    "{} failures in {}, then {}",
                    b.max_failures,
                    format_duration(b.window),
                    b.on_open
                ),
                None => "disabled".to_owned(),
            },
            source(
                &sources.breaker,
                backoff.circuit_breaker() == defaults.circuit_breaker(),
            ),
        );
        entry.set(
            "heartbeat.stale_after",
            policy
                .heartbeat_timeout
                .map_or_else(|| "none".to_owned(), format_duration),
            source(&sources.heartbeat, policy.heartbeat_timeout.is_none()),
        );
        entry.set(
            "shutdown",
            match policy.shutdown {
                Some(crate::ShutdownPolicy::Timeout(t)) => {
                    format!("timeout {}", format_duration(t))
                }
                Some(keyword) => keyword.to_string(),
                None => "the supervisor's shutdown_timeout".to_owned(),
            },
            source(&sources.shutdown, policy.shutdown.is_none()),
        );
    }
}

fn child_kind(kind: ChildKind) -> &'static str {
    match kind {
        ChildKind::Supervisor => "supervisor child",
        _ => "child",
    }
}

/// Which field of the file set each value of one child, if any did.
#[derive(Default)]
struct Sources {
    restart: Option<String>,
    base: Option<String>,
    max: Option<String>,
    jitter: Option<String>,
    reset_after: Option<String>,
    breaker: Option<String>,
    heartbeat: Option<String>,
    shutdown: Option<String>,
}

/// The file's backoff fields over the code's backoff.
fn merge_backoff(code: BackoffConfig, file: &BackoffSection) -> BackoffConfig {
    let base = file.base.map_or(code.base(), |Text(d)| d);
    let max = file.max.map_or(code.max(), |Text(d)| d);
    let mut merged = BackoffConfig::new(base, max)
        .with_cooldown(file.reset_after.map_or(code.cooldown(), |Text(d)| d))
        .with_jitter(file.jitter.map_or(code.jitter(), |Spelled(j)| j));
    merged = match code.circuit_breaker() {
        Some(breaker) => merged.with_circuit_breaker_config(breaker),
        None => merged.without_circuit_breaker(),
    };
    merged
}

/// The file's breaker fields over the code's breaker (or the default one, for the fields the
/// file leaves out when the code has none).
fn merge_breaker(code: BackoffConfig, file: &BreakerSection) -> BackoffConfig {
    if file.enabled == Some(false) {
        return code.without_circuit_breaker();
    }
    let base = code
        .circuit_breaker()
        .or(BackoffConfig::default().circuit_breaker())
        .unwrap_or(CircuitBreakerConfig::new(10, Duration::from_secs(600)));
    let breaker = CircuitBreakerConfig {
        max_failures: file.max_failures.unwrap_or(base.max_failures),
        window: file.within.map_or(base.window, |Text(d)| d),
        on_open: file.on_open.map_or(base.on_open, |Spelled(o)| o),
    };
    code.with_circuit_breaker_config(breaker)
}
