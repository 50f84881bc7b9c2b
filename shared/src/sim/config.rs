//! What defines a run (cluster size, seed, log model, timings, network) and the checks on it, plus
//! the patch types that change a few fields and re-check the result. Owns validation and its
//! person-readable messages; must not touch a running simulation (the caller applies the result).

use serde::{Deserialize, Serialize};

use crate::protocol::{ClientCommand, Timing};
use crate::raft::BrokenRules;
use crate::types::LogModel;

use super::SimError;

/// Largest cluster the simulator (and the UI) supports.
pub const NODES_MAX: u64 = 9;

/// Everything that defines a run, apart from the inputs. Serialized as is in a trace (see
/// `crate::trace`), with the field names below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Cluster size, 1..=9.
    pub nodes: u64,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// How clients use the log.
    pub log_model: LogModel,
    /// Raft and disk timings.
    pub timing: Timing,
    /// Network behaviour.
    pub network: NetworkSettings,
    /// Raft rules switched off on purpose (the "break Raft" lab). Absent means none: correct
    /// Raft; left out of the JSON then, so traces without broken rules read and write as before.
    #[serde(default, skip_serializing_if = "no_rule_broken")]
    pub broken_rules: BrokenRules,
}

fn no_rule_broken(rules: &BrokenRules) -> bool {
    !rules.any()
}

/// Loss, duplication and latency of the simulated network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSettings {
    /// One-way latency is uniform in `[min, max]` ms (different latencies reorder messages).
    pub latency_ms_min: u64,
    /// See `latency_ms_min`.
    pub latency_ms_max: u64,
    /// Probability that a message is lost.
    pub loss_probability: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_probability: f64,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        // "Broadcast time" in the paper's sense is a few ms to ~15 ms.
        NetworkSettings {
            latency_ms_min: 5,
            latency_ms_max: 15,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 5,
            seed: 1,
            log_model: LogModel::Command,
            timing: Timing::default(),
            network: NetworkSettings::default(),
            broken_rules: BrokenRules::default(),
        }
    }
}

// ----- Patches -----

/// A change to some of the network settings; each `None` keeps the current value. The field names
/// are those of [`ClientCommand::Network`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NetworkPatch {
    /// New loss probability, 0..=1.
    pub loss_probability: Option<f64>,
    /// New duplication probability, 0..=1.
    pub duplicate_probability: Option<f64>,
    /// New minimum one-way latency (ms).
    pub latency_ms_min: Option<u64>,
    /// New maximum one-way latency (ms).
    pub latency_ms_max: Option<u64>,
}

/// A change to some of the Raft timings a person may set; each `None` keeps the current value.
/// (fsync time and batch size are fixed per run, so they are not here.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimingPatch {
    /// New lower end of the election timeout range (ms).
    pub election_timeout_ms_min: Option<u64>,
    /// New upper end of the election timeout range (ms).
    pub election_timeout_ms_max: Option<u64>,
    /// New leader heartbeat interval (ms).
    pub heartbeat_interval_ms: Option<u64>,
}

/// A change to some of a run's configuration (what a reset may change); each `None` keeps the
/// current value. The field names are those of [`ClientCommand::Reset`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfigPatch {
    /// New cluster size.
    pub nodes: Option<u64>,
    /// New seed.
    pub seed: Option<u64>,
    /// New log model.
    pub log_model: Option<LogModel>,
    /// New timings.
    pub timing: TimingPatch,
    /// Start from the default timings, network and Raft rules instead of the current ones.
    pub default_settings: bool,
}

impl NetworkSettings {
    /// These settings with `patch` applied, checked. Setting only one end of the latency range
    /// moves the other along when needed, rather than refusing.
    pub fn patched(&self, patch: &NetworkPatch) -> Result<NetworkSettings, SimError> {
        let mut n = *self;
        if let Some(p) = patch.loss_probability {
            n.loss_probability = p;
        }
        if let Some(p) = patch.duplicate_probability {
            n.duplicate_probability = p;
        }
        if let Some(v) = patch.latency_ms_min {
            n.latency_ms_min = v;
        }
        if let Some(v) = patch.latency_ms_max {
            n.latency_ms_max = v;
        }
        // Setting only one end of the range moves the other along, rather than refusing.
        if patch.latency_ms_min.is_some() && patch.latency_ms_max.is_none() {
            n.latency_ms_max = n.latency_ms_max.max(n.latency_ms_min);
        }
        if patch.latency_ms_max.is_some() && patch.latency_ms_min.is_none() {
            n.latency_ms_min = n.latency_ms_min.min(n.latency_ms_max);
        }
        validate_network(&n)?;
        Ok(n)
    }
}

impl TimingPatch {
    fn apply_to(&self, t: &mut Timing) {
        if let Some(v) = self.election_timeout_ms_min {
            t.election_timeout_ms_min = v;
        }
        if let Some(v) = self.election_timeout_ms_max {
            t.election_timeout_ms_max = v;
        }
        if let Some(v) = self.heartbeat_interval_ms {
            t.heartbeat_interval_ms = v;
        }
    }
}

impl SimConfig {
    /// This cluster (its size, seed and log model) with the default timings, network and Raft
    /// rules: what a reset's `default_settings` starts from, dropping what a lesson or the
    /// break-Raft lab set.
    pub fn with_default_settings(&self) -> SimConfig {
        SimConfig {
            nodes: self.nodes,
            seed: self.seed,
            log_model: self.log_model,
            ..SimConfig::default()
        }
    }

    /// This configuration with `patch` applied, checked as a whole with [`validate`]. An election
    /// timeout range set upside down is refused (only the network's latency range moves its other
    /// end along).
    pub fn patched(&self, patch: &ConfigPatch) -> Result<SimConfig, SimError> {
        let mut c = if patch.default_settings {
            self.with_default_settings()
        } else {
            self.clone()
        };
        if let Some(n) = patch.nodes {
            c.nodes = n;
        }
        if let Some(s) = patch.seed {
            c.seed = s;
        }
        if let Some(m) = patch.log_model {
            c.log_model = m;
        }
        patch.timing.apply_to(&mut c.timing);
        validate(&c)?;
        Ok(c)
    }
}

/// The network fields of a [`ClientCommand::Network`]; any other command is refused.
impl TryFrom<&ClientCommand> for NetworkPatch {
    type Error = SimError;
    fn try_from(command: &ClientCommand) -> Result<Self, SimError> {
        match *command {
            ClientCommand::Network {
                loss_probability,
                duplicate_probability,
                latency_ms_min,
                latency_ms_max,
            } => Ok(NetworkPatch {
                loss_probability,
                duplicate_probability,
                latency_ms_min,
                latency_ms_max,
            }),
            _ => Err(SimError::BadConfig(
                "only a network command carries network settings".to_string(),
            )),
        }
    }
}

/// The configuration fields of a [`ClientCommand::Reset`]; any other command is refused.
impl TryFrom<&ClientCommand> for ConfigPatch {
    type Error = SimError;
    fn try_from(command: &ClientCommand) -> Result<Self, SimError> {
        match *command {
            ClientCommand::Reset {
                nodes,
                seed,
                log_model,
                election_timeout_ms_min,
                election_timeout_ms_max,
                heartbeat_interval_ms,
                default_settings,
            } => Ok(ConfigPatch {
                nodes,
                seed,
                log_model,
                timing: TimingPatch {
                    election_timeout_ms_min,
                    election_timeout_ms_max,
                    heartbeat_interval_ms,
                },
                default_settings,
            }),
            _ => Err(SimError::BadConfig(
                "only a reset command carries a cluster configuration".to_string(),
            )),
        }
    }
}

// ----- Validation -----

pub(super) fn validate_network(n: &NetworkSettings) -> Result<(), SimError> {
    let prob = |name: &str, p: f64| {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(SimError::BadConfig(format!(
                "{name} must be between 0 and 1, got {}",
                crate::shortest::Shortest(p)
            )))
        }
    };
    prob("loss_probability", n.loss_probability)?;
    prob("duplicate_probability", n.duplicate_probability)?;
    if n.latency_ms_min > n.latency_ms_max {
        return Err(SimError::BadConfig(format!(
            "latency_ms_min ({}) is above latency_ms_max ({})",
            n.latency_ms_min, n.latency_ms_max
        )));
    }
    if n.latency_ms_max > 10_000 {
        return Err(SimError::BadConfig(format!(
            "latency_ms_max must be at most 10000 ms, got {}",
            n.latency_ms_max
        )));
    }
    Ok(())
}

impl SimConfig {
    /// Settings that are allowed but will not behave as people usually expect, each said in a
    /// sentence. Today: an election-timeout spread narrower than one message delay plus an
    /// fsync, where servers keep timing out together and splitting the vote, possibly forever
    /// (a fine demo of split votes — §5.2's reason for randomized timeouts — so it is allowed).
    pub fn warnings(&self) -> Vec<String> {
        let t = &self.timing;
        let spread = t.election_timeout_ms_max - t.election_timeout_ms_min;
        let round = self.network.latency_ms_max + t.fsync_ms;
        let mut warnings = Vec::new();
        if self.nodes > 1 && spread < round {
            warnings.push(format!(
                "election timeouts {}–{} ms spread only {spread} ms, less than one message delay \
                 plus an fsync ({} + {} ms): servers will often time out together and split the \
                 vote, and may never elect a leader; widen the range for a cluster that settles",
                t.election_timeout_ms_min,
                t.election_timeout_ms_max,
                self.network.latency_ms_max,
                t.fsync_ms
            ));
        }
        // §5.6: broadcastTime ≪ electionTimeout. A heartbeat that can arrive after the shortest
        // election timeout lets followers give up on a leader that is alive: terms climb and the
        // leader keeps changing.
        let heartbeat_round = t.heartbeat_interval_ms + self.network.latency_ms_max;
        if self.nodes > 1 && heartbeat_round >= t.election_timeout_ms_min {
            warnings.push(format!(
                "a heartbeat every {} ms, plus up to {} ms on the network, can arrive after the \
                 shortest election timeout ({} ms): followers will time out on a leader that is \
                 alive, and terms will keep climbing; make the heartbeat well shorter than the \
                 election timeout (Raft §5.6)",
                t.heartbeat_interval_ms, self.network.latency_ms_max, t.election_timeout_ms_min
            ));
        }
        warnings
    }
}

/// Check a configuration, with a message a person can act on.
pub fn validate(config: &SimConfig) -> Result<(), SimError> {
    if config.nodes == 0 || config.nodes > NODES_MAX {
        return Err(SimError::BadConfig(format!(
            "a cluster has 1 to {NODES_MAX} nodes, not {}",
            config.nodes
        )));
    }
    let t = &config.timing;
    if t.election_timeout_ms_min == 0 || t.election_timeout_ms_min > t.election_timeout_ms_max {
        return Err(SimError::BadConfig(format!(
            "election timeout range must satisfy 1 <= min <= max, got {}..{} ms",
            t.election_timeout_ms_min, t.election_timeout_ms_max
        )));
    }
    if t.election_timeout_ms_max > 60_000 {
        return Err(SimError::BadConfig(
            "election_timeout_ms_max must be at most 60000 ms".to_string(),
        ));
    }
    if t.heartbeat_interval_ms == 0 || t.heartbeat_interval_ms > 60_000 {
        return Err(SimError::BadConfig(format!(
            "heartbeat_interval_ms must be between 1 and 60000, got {}",
            t.heartbeat_interval_ms
        )));
    }
    if t.max_entries_per_append == 0 || t.max_entries_per_append > 1000 {
        return Err(SimError::BadConfig(format!(
            "max_entries_per_append must be between 1 and 1000, got {}",
            t.max_entries_per_append
        )));
    }
    if t.fsync_ms > 10_000 {
        return Err(SimError::BadConfig("fsync_ms must be at most 10000".into()));
    }
    validate_network(&config.network)
}

#[cfg(test)]
mod warning_tests {
    use super::*;
    use crate::protocol::Timing;

    #[test]
    fn a_spread_below_one_round_is_allowed_but_said() {
        let narrow = SimConfig {
            timing: Timing {
                election_timeout_ms_min: 150,
                election_timeout_ms_max: 150,
                ..Timing::default()
            },
            ..SimConfig::default()
        };
        assert!(validate(&narrow).is_ok(), "150–150 ms is a good demo");
        let warnings = narrow.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("split the vote"), "{}", warnings[0]);
        assert!(SimConfig::default().warnings().is_empty());
        let single = SimConfig { nodes: 1, ..narrow };
        assert!(single.warnings().is_empty(), "one node cannot split a vote");
    }

    #[test]
    fn a_heartbeat_as_slow_as_the_election_timeout_is_allowed_but_said() {
        let slow = SimConfig {
            timing: Timing {
                heartbeat_interval_ms: 1000,
                ..Timing::default()
            },
            ..SimConfig::default()
        };
        assert!(validate(&slow).is_ok());
        let warnings = slow.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("terms will keep climbing"),
            "{}",
            warnings[0]
        );
        // 140 ms + 15 ms of latency reaches the 150 ms timeout; 130 ms does not.
        let edge = |heartbeat_interval_ms| SimConfig {
            timing: Timing {
                heartbeat_interval_ms,
                ..Timing::default()
            },
            ..SimConfig::default()
        };
        assert_eq!(edge(140).warnings().len(), 1);
        assert!(edge(130).warnings().is_empty());
        assert!(
            SimConfig { nodes: 1, ..slow }.warnings().is_empty(),
            "no followers"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_patch_changes_only_what_it_names() {
        let n = NetworkSettings::default();
        let patched = n
            .patched(&NetworkPatch {
                loss_probability: Some(0.25),
                ..NetworkPatch::default()
            })
            .expect("valid");
        assert_eq!(patched.loss_probability, 0.25);
        assert_eq!(patched.duplicate_probability, n.duplicate_probability);
        assert_eq!(
            (patched.latency_ms_min, patched.latency_ms_max),
            (n.latency_ms_min, n.latency_ms_max)
        );
        assert_eq!(n.patched(&NetworkPatch::default()), Ok(n));
    }

    #[test]
    fn one_end_of_the_latency_range_moves_the_other_along() {
        let n = NetworkSettings::default(); // 5..=15 ms
        let up = n
            .patched(&NetworkPatch {
                latency_ms_min: Some(40),
                ..NetworkPatch::default()
            })
            .expect("valid");
        assert_eq!((up.latency_ms_min, up.latency_ms_max), (40, 40));
        let down = n
            .patched(&NetworkPatch {
                latency_ms_max: Some(2),
                ..NetworkPatch::default()
            })
            .expect("valid");
        assert_eq!((down.latency_ms_min, down.latency_ms_max), (2, 2));
        // Both ends given upside down is a mistake, not something to fix silently.
        let both = n.patched(&NetworkPatch {
            latency_ms_min: Some(50),
            latency_ms_max: Some(10),
            ..NetworkPatch::default()
        });
        assert!(matches!(both, Err(SimError::BadConfig(_))), "{both:?}");
    }

    #[test]
    fn a_bad_network_patch_is_refused() {
        let n = NetworkSettings::default();
        for bad in [1.5, -0.1, f64::NAN] {
            let patch = NetworkPatch {
                duplicate_probability: Some(bad),
                ..NetworkPatch::default()
            };
            assert!(n.patched(&patch).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_config_patch_is_applied_then_validated_as_a_whole() {
        let c = SimConfig::default();
        let patch = ConfigPatch {
            nodes: Some(3),
            seed: Some(42),
            log_model: Some(LogModel::State),
            timing: TimingPatch {
                heartbeat_interval_ms: Some(20),
                ..TimingPatch::default()
            },
            default_settings: false,
        };
        let patched = c.patched(&patch).expect("valid");
        assert_eq!((patched.nodes, patched.seed), (3, 42));
        assert_eq!(patched.log_model, LogModel::State);
        assert_eq!(patched.timing.heartbeat_interval_ms, 20);
        assert_eq!(
            patched.timing.election_timeout_ms_min,
            c.timing.election_timeout_ms_min
        );
        assert_eq!(patched.network, c.network);
        assert_eq!(c.patched(&ConfigPatch::default()), Ok(c.clone()));

        let too_many = ConfigPatch {
            nodes: Some(NODES_MAX + 1),
            ..ConfigPatch::default()
        };
        assert!(c.patched(&too_many).is_err());
        // Unlike latency, an election timeout range is never moved along: min above max fails.
        let upside_down = ConfigPatch {
            timing: TimingPatch {
                election_timeout_ms_min: Some(500),
                ..TimingPatch::default()
            },
            ..ConfigPatch::default()
        };
        assert!(c.patched(&upside_down).is_err());
    }

    /// The way the backend's driver is meant to use the patches: the command is matched by value
    /// and the arm that binds nothing converts it.
    fn control(config: &SimConfig, command: ClientCommand) -> Result<SimConfig, SimError> {
        match command {
            ClientCommand::Network { .. } => Ok(SimConfig {
                network: config.network.patched(&NetworkPatch::try_from(&command)?)?,
                ..config.clone()
            }),
            ClientCommand::Reset { .. } => config.patched(&ConfigPatch::try_from(&command)?),
            _ => Err(SimError::BadConfig("not a configuration command".into())),
        }
    }

    #[test]
    fn patches_come_from_client_commands() {
        let c = SimConfig::default();
        let network = ClientCommand::Network {
            loss_probability: Some(0.5),
            duplicate_probability: None,
            latency_ms_min: None,
            latency_ms_max: Some(3),
        };
        let patched = control(&c, network).expect("valid");
        assert_eq!(patched.network.loss_probability, 0.5);
        assert_eq!(
            (
                patched.network.latency_ms_min,
                patched.network.latency_ms_max
            ),
            (3, 3)
        );
        let reset = |default_settings| ClientCommand::Reset {
            nodes: Some(7),
            seed: None,
            log_model: None,
            election_timeout_ms_min: Some(100),
            election_timeout_ms_max: None,
            heartbeat_interval_ms: None,
            default_settings,
        };
        let patched = control(&c, reset(false)).expect("valid");
        assert_eq!(patched.nodes, 7);
        assert_eq!(patched.timing.election_timeout_ms_min, 100);
        assert_eq!(patched.seed, c.seed);
        // From the default settings: a broken rule and a slow fsync go, the size stays.
        let mut lesson = c.clone();
        lesson.broken_rules.forget_vote_on_restart = true;
        lesson.timing.fsync_ms = 60;
        let patched = control(&lesson, reset(true)).expect("valid");
        assert!(!patched.broken_rules.any());
        assert_eq!(patched.timing.fsync_ms, Timing::default().fsync_ms);
        assert_eq!(
            patched.timing.election_timeout_ms_min, 100,
            "a field given wins"
        );
        assert_eq!(patched.nodes, 7);

        // The wrong command is refused, not read as an empty patch.
        assert!(NetworkPatch::try_from(&ClientCommand::Heal).is_err());
        assert!(ConfigPatch::try_from(&ClientCommand::Heal).is_err());
    }
}
