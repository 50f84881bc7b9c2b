//! What the page says and does that is neither the reducer's story nor geometry: the words in
//! the centre of the ring (who leads, and which leader is out of date) and their sentence for a
//! screen reader, the advice of the offline screen (for whom is the server unreachable), when the
//! help overlay pauses the run, and what a new cluster would keep of a lesson's settings.
//! Plain functions of the view model and of the page's address, unit-tested natively; must not
//! change the model or touch the browser.

use shared::types::{LogIndex, NodeId, Role};

use shared::protocol::{NetworkView, Timing};
use shared::raft::BrokenRules;
use shared::sim::SimConfig;

use crate::decimal::Fixed;
use crate::model::ClusterView;

/// The centre of the ring: a title, a line under it, and a warning line when a server still
/// believes it leads a term the cluster has left behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CentreText {
    /// "S1 leads" or "no leader".
    pub title: String,
    /// "term 4 · commit 7".
    pub sub: String,
    /// "S3 believes it leads term 3; the cluster is at term 4 (S1 leads)".
    pub stale: Option<String>,
}

/// What the centre of the ring says about `view`.
pub fn centre_text(view: &ClusterView) -> CentreText {
    let leader = view.leader();
    let cluster_term = view.majority_term();
    let term = leader
        .and_then(|l| view.node(l))
        .map_or(cluster_term, |n| n.current_term);
    let who = leader.map_or("no leader yet".to_string(), |l| format!("S{l} leads"));
    let stale = view.stale_leaders();
    let stale = (!stale.is_empty()).then(|| {
        let names: Vec<String> = stale
            .iter()
            .map(|(id, term)| format!("S{id} believes it leads term {term}"))
            .collect();
        format!(
            "{}; the cluster is at term {cluster_term} ({who})",
            names.join(", ")
        )
    });
    // Two leaders of one term: what the break-Raft lab shows. Both are named, rather than one
    // of them called the leader.
    let rivals = view.leaders_now();
    if rivals.len() > 1 {
        let mut names: Vec<String> = rivals.iter().map(|id| format!("S{id}")).collect();
        let last = names.pop().unwrap_or_default();
        let both = if names.len() == 1 { "both" } else { "all" };
        return CentreText {
            title: format!("{} and {last} {both} lead", names.join(", ")),
            sub: format!("term {term} · commit {}", view.commit_index()),
            // No third line: the safety panel says what is broken, and in a 3-server ring the
            // line would run over the lower servers.
            stale: None,
        };
    }
    // Before anyone has stood for election (a new cluster: at 1/100× the first timer takes
    // 15–30 s to run out), say what the class is waiting for rather than "term 0 · commit 0".
    let nobody_stood = view.nodes.iter().all(|n| n.current_term == 0);
    let sub = if leader.is_none() && nobody_stood {
        // Paused, no timer runs: say only that no one has stood yet.
        if view.paused {
            "no election yet"
        } else {
            "election timers running"
        }
        .to_string()
    } else {
        format!("term {term} · commit {}", view.commit_index())
    };
    CentreText {
        title: leader.map_or("no leader".to_string(), |l| format!("S{l} leads")),
        sub,
        stale,
    }
}

/// The election timer the class waits for: when it runs out (virtual ms), at what speed the run
/// goes, and the line's words around the count. Read from the view only when it changes; the
/// count itself ([`NextTimeout::text`]) is arithmetic on the animated clock, every frame.
#[derive(Clone, Debug, PartialEq)]
pub struct NextTimeout {
    /// When the first running timer runs out (virtual ms).
    pub due_ms: u64,
    /// Virtual ms per wall ms.
    pub speed: f64,
    /// "first timeout" or "term 3 · next timeout".
    pub what: String,
}

impl NextTimeout {
    /// "first timeout in 12 s", counted in wall-clock seconds at `now_ms` (animated virtual
    /// time), rounded up; `None` once it is due (its event is on its way).
    pub fn text(&self, now_ms: f64) -> Option<String> {
        let left_ms = self.due_ms as f64 - now_ms;
        (left_ms > 0.0).then(|| {
            let wall_s = (left_ms / self.speed / 1000.0).ceil() as u64;
            format!("{} in {wall_s} s", self.what)
        })
    }
}

/// What a screen reader is told when the cluster's state changes (the page's polite live
/// region): who leads in which term, and which servers are down. Only these: a sentence per
/// message or commit would drown the listener at any speed.
pub fn announcement(view: &ClusterView) -> String {
    let who = match view.leader() {
        Some(l) => {
            let term = view
                .node(l)
                .map_or(view.majority_term(), |n| n.current_term);
            format!("S{l} leads term {term}.")
        }
        None => format!("No leader in term {}.", view.majority_term()),
    };
    let down: Vec<String> = view
        .nodes
        .iter()
        .filter(|n| !n.up)
        .map(|n| format!("S{}", n.id))
        .collect();
    match down.as_slice() {
        [] => who,
        [one] => format!("{who} {one} is down."),
        many => format!("{who} {} are down.", many.join(", ")),
    }
}

/// The timer the centre counts down to while the class waits for an election: at 1/100× a timer
/// of 150–300 ms takes 15–30 s to run out, and a room should see that something is coming (and
/// that the speed slider brings it sooner). `None` (keep `centre_text`'s line) when a leader
/// leads, someone is already standing, the run is paused or at full speed, or no timer runs.
pub fn next_timeout(view: &ClusterView) -> Option<NextTimeout> {
    if view.paused || view.speed <= 0.0 || view.leader().is_some() {
        return None;
    }
    let standing = view.nodes.iter().any(|n| n.up && n.role == Role::Candidate);
    if standing {
        return None;
    }
    let due_ms = view
        .nodes
        .iter()
        .filter(|n| n.up)
        .filter_map(|n| n.election_deadline_ms)
        .min()?;
    let what = if view.nodes.iter().all(|n| n.current_term == 0) {
        "first timeout".to_string()
    } else {
        format!("term {} · next timeout", view.majority_term())
    };
    Some(NextTimeout {
        due_ms,
        speed: view.speed,
        what,
    })
}

/// The centre's line under the title at `now_ms` while the class waits for an election timer
/// ([`next_timeout`], counted down by [`NextTimeout::text`]).
pub fn timeout_countdown(view: &ClusterView, now_ms: f64) -> Option<String> {
    next_timeout(view)?.text(now_ms)
}

/// True when server `id` acts as leader of a term the cluster has left behind.
pub fn is_stale_leader(view: &ClusterView, id: NodeId) -> bool {
    view.stale_leaders().iter().any(|(s, _)| *s == id)
}

/// The quorum counter's tooltip: exactly what it counts (the servers whose disk holds the
/// leader's entry `i`, named) and what commits the entry.
pub fn quorum_title(i: LogIndex, disks: &[NodeId], of: usize, old_term: bool) -> String {
    let names: Vec<String> = disks.iter().map(|d| format!("S{d}")).collect();
    let on = if names.is_empty() {
        format!("on no server's disk yet (0 of {of})")
    } else {
        format!(
            "on the disks of {} of {of} servers ({})",
            names.len(),
            names.join(", ")
        )
    };
    let rule = if old_term {
        "it is from an older term: a leader commits it only by committing an entry of its own \
         term (Raft §5.4.2)"
            .to_string()
    } else {
        format!(
            "the leader commits it once it hears that {} of {of} servers have it on disk",
            of / 2 + 1
        )
    };
    format!("Entry {i} is {on}; {rule}")
}

/// What the offline screen tells the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineAdvice {
    /// The heading.
    pub title: &'static str,
    /// The explanation.
    pub text: &'static str,
    /// A command to run, for whoever can start the server.
    pub command: Option<&'static str>,
}

/// True for the addresses of this very machine.
pub fn is_loopback(hostname: &str) -> bool {
    let h = hostname.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.ends_with(".localhost") || h == "::1" || h.starts_with("127.")
}

/// What the presenter's strip adds to a viewer URL students cannot open: the server was started
/// on this machine's loopback address only (the default `--bind 127.0.0.1`), so the URL and its
/// QR code lead every other machine nowhere.
pub fn viewer_url_warning(url: &str) -> Option<&'static str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The host, without the port (an IPv6 address keeps its brackets).
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    is_loopback(host).then_some(
        "only this computer can open it: for students, start the server with --bind 0.0.0.0",
    )
}

/// The offline advice for a page served from `hostname`, opened with a presenter token or not.
/// On this machine, whoever reads it can start the server; a viewer on another machine cannot,
/// and is told it is the presenter's server that cannot be reached.
pub fn offline_advice(hostname: &str, has_token: bool) -> OfflineAdvice {
    if is_loopback(hostname) {
        OfflineAdvice {
            title: "The logscope server is not reachable",
            text: "This page draws a cluster that runs in the logscope server. Start it from the repository:",
            command: Some("./scripts/run.sh"),
        }
    } else if has_token {
        OfflineAdvice {
            title: "Your logscope server is not reachable",
            text:
                "This presenter page draws the cluster that runs in logscope on the machine that \
                   printed its address. Check that logscope is still running there and that this \
                   machine can reach it.",
            command: None,
        }
    } else {
        OfflineAdvice {
            title: "The presenter's server cannot be reached",
            text: "This page shows the cluster that runs on the presenter's machine, and that \
                   machine does not answer. There is nothing to start on yours: the presenter has \
                   to restart logscope, or your device has to be on the same network.",
            command: None,
        }
    }
}

/// Whether the page opened with a presenter token: `token=` in its query or fragment.
pub fn has_presenter_token(search: &str, hash: &str) -> bool {
    [search, hash].iter().any(|part| {
        part.trim_start_matches(['?', '#'])
            .split('&')
            .any(|kv| kv.strip_prefix("token=").is_some_and(|t| !t.is_empty()))
    })
}

/// What opening or closing the help does to the run. RaftScope pauses while its help is open;
/// so does this page, and it resumes on close only if it was the help that paused it (a run the
/// teacher had paused stays paused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpPause {
    /// Send a pause.
    Pause,
    /// Send a resume.
    Resume,
    /// Leave the run alone.
    Nothing,
}

/// `open`: the help is being opened (else closed); `paused`: the run is paused now;
/// `paused_by_help`: the help paused it when it opened. Returns the action and the new
/// `paused_by_help`.
pub fn help_pause(open: bool, paused: bool, paused_by_help: bool) -> (HelpPause, bool) {
    match (open, paused, paused_by_help) {
        (true, false, _) => (HelpPause::Pause, true),
        (true, true, by_help) => (HelpPause::Nothing, by_help),
        // Closed before the help's own pause was seen (`?` pressed twice within a round trip),
        // or resumed by hand while it was open: resume. The resume follows the pause on the
        // same connection, so the run ends as it was; a run already going does not notice it.
        // (Left alone, the late pause stopped the class's run with nothing on screen to say why.)
        (false, false, true) => (HelpPause::Resume, false),
        (false, false, false) => (HelpPause::Nothing, false),
        (false, true, true) => (HelpPause::Resume, false),
        (false, true, false) => (HelpPause::Nothing, false),
    }
}

/// What the sandbox bar says: whose cluster it is, from when, and that the class is not touched.
/// `link`: the run of a share link the student opened, not a copy of the class's.
pub fn sandbox_notice(at_ms: u64, link: bool) -> String {
    let whose = if link {
        format!(
            "the run of the link you opened, as it was at {}",
            crate::timeline::format_instant(at_ms)
        )
    } else {
        format!(
            "the class's cluster as it was at {}",
            crate::timeline::format_instant(at_ms)
        )
    };
    format!(
        "Your sandbox: {whose}, running only in this browser. Crash, cut and break it freely: \
         the class does not see it."
    )
}

/// What a reset would keep that the *New cluster* dialog has no field for, or that a lesson set:
/// Raft rules switched off, the network's latency, loss and duplication, and election timeouts
/// or a heartbeat other than the defaults. Empty when every one is the default. The dialog
/// offers to start from the default settings when it is not (`default_settings` of `reset`).
pub fn settings_left(timing: &Timing, network: &NetworkView, rules: &BrokenRules) -> Vec<String> {
    let defaults = SimConfig::default();
    let mut left = Vec::new();
    let off = rules.names();
    if !off.is_empty() {
        let words: Vec<String> = off.iter().map(|n| n.replace('_', " ")).collect();
        left.push(format!("Raft rules off: {}", words.join(", ")));
    }
    let t = defaults.timing;
    if (
        timing.election_timeout_ms_min,
        timing.election_timeout_ms_max,
    ) != (t.election_timeout_ms_min, t.election_timeout_ms_max)
    {
        left.push(format!(
            "election timeout {}–{} ms",
            timing.election_timeout_ms_min, timing.election_timeout_ms_max
        ));
    }
    if timing.heartbeat_interval_ms != t.heartbeat_interval_ms {
        left.push(format!("heartbeat {} ms", timing.heartbeat_interval_ms));
    }
    // No field of the dialog shows these two; lessons set them (crash-vs-power-loss, figure-8).
    if timing.fsync_ms != t.fsync_ms {
        left.push(format!("fsync {} ms", timing.fsync_ms));
    }
    if timing.max_entries_per_append != t.max_entries_per_append {
        left.push(format!(
            "at most {} per AppendEntries",
            crate::model::count(timing.max_entries_per_append, "entry", "entries")
        ));
    }
    let n = defaults.network;
    if (network.latency_ms_min, network.latency_ms_max) != (n.latency_ms_min, n.latency_ms_max) {
        left.push(format!(
            "latency {}–{} ms",
            network.latency_ms_min, network.latency_ms_max
        ));
    }
    for (what, p) in [
        ("loss", network.loss_probability),
        ("duplication", network.duplicate_probability),
    ] {
        if p > 0.0 {
            // "loss 0 %" for 0.2 % said nothing was lost.
            let digits = if p < 0.01 { 1 } else { 0 };
            left.push(format!("{what} {} %", Fixed(p * 100.0, digits)));
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_viewer_url_is_said_to_reach_no_student() {
        for url in [
            "http://127.0.0.1:7878/",
            "http://localhost:7878/",
            "http://[::1]:7878/",
        ] {
            assert!(viewer_url_warning(url).is_some(), "{url}");
        }
        for url in [
            "http://192.168.1.20:7878/",
            "http://lab-pc.local:7878/",
            "http://[fe80::1]:7878/",
        ] {
            assert_eq!(viewer_url_warning(url), None, "{url}");
        }
    }

    /// Every built-in lesson's configuration: named by the dialog exactly when it differs from
    /// the defaults in anything a reset with `default_settings` puts back (fsync and batch size
    /// were missed: after crash-vs-power-loss the next demo kept 60 ms fsyncs unsaid).
    #[test]
    fn every_lessons_settings_are_named_when_they_differ_from_the_defaults() {
        let defaults = SimConfig::default();
        for name in shared::lesson::BUILTIN.iter().map(|(name, _)| *name) {
            let text = shared::lesson::builtin(name).expect("built in");
            let staged = shared::lesson::stage(&shared::lesson::parse(text).expect("parses"))
                .expect("stages");
            let c = &staged.trace.config;
            let n = &c.network;
            let network = NetworkView {
                partitions: Vec::new(),
                cut_links: Vec::new(),
                loss_probability: n.loss_probability,
                duplicate_probability: n.duplicate_probability,
                latency_ms_min: n.latency_ms_min,
                latency_ms_max: n.latency_ms_max,
            };
            let differs = c.timing != defaults.timing
                || c.network != defaults.network
                || c.broken_rules != defaults.broken_rules;
            let left = settings_left(&c.timing, &network, &c.broken_rules);
            assert_eq!(!left.is_empty(), differs, "{name}: {left:?}");
        }
    }

    #[test]
    fn a_new_cluster_names_what_a_lesson_left_behind() {
        let defaults = SimConfig::default();
        let network = |latency_ms_min, latency_ms_max, loss_probability| NetworkView {
            partitions: Vec::new(),
            cut_links: Vec::new(),
            loss_probability,
            duplicate_probability: 0.0,
            latency_ms_min,
            latency_ms_max,
        };
        let rules = BrokenRules::default();
        let usual = network(5, 15, 0.0);
        assert!(settings_left(&defaults.timing, &usual, &rules).is_empty());
        let mut broken = rules;
        broken.forget_vote_on_restart = true;
        let mut slow = defaults.timing;
        slow.election_timeout_ms_min = 30_000;
        slow.election_timeout_ms_max = 40_000;
        assert_eq!(
            settings_left(&slow, &network(5, 5, 0.2), &broken),
            vec![
                "Raft rules off: forget vote on restart".to_string(),
                "election timeout 30000–40000 ms".to_string(),
                "latency 5–5 ms".to_string(),
                "loss 20 %".to_string(),
            ]
        );
    }

    #[test]
    fn the_sandbox_says_from_when_and_that_it_is_private() {
        let text = sandbox_notice(12_340, false);
        assert!(text.contains("t=12.3 s"), "{text}");
        assert!(text.contains("only in this browser"), "{text}");
    }

    #[test]
    fn the_offline_screen_tells_a_viewer_it_is_the_presenters_server() {
        let local = offline_advice("127.0.0.1", false);
        assert_eq!(local.command, Some("./scripts/run.sh"));
        assert_eq!(
            offline_advice("localhost", true).command,
            Some("./scripts/run.sh")
        );
        assert!(is_loopback("[::1]"));
        let viewer = offline_advice("192.168.1.20", false);
        assert_eq!(
            viewer.command, None,
            "a student cannot start the presenter's server"
        );
        assert!(viewer
            .title
            .contains("presenter's server cannot be reached"));
        assert!(!viewer.text.contains("run.sh"));
        let presenter = offline_advice("192.168.1.20", true);
        assert_eq!(presenter.command, None);
        assert!(presenter.text.contains("still running"));
    }

    #[test]
    fn the_quorum_tooltip_says_what_the_counter_counts() {
        assert_eq!(
            quorum_title(LogIndex(7), &[], 5, false),
            "Entry 7 is on no server's disk yet (0 of 5); the leader commits it once it hears \
             that 3 of 5 servers have it on disk"
        );
        let title = quorum_title(LogIndex(7), &[NodeId(1), NodeId(3)], 5, false);
        assert!(title.starts_with("Entry 7 is on the disks of 2 of 5 servers (S1, S3);"));
        assert!(!title.contains("servers' disks"));
        assert!(
            quorum_title(LogIndex(7), &[NodeId(1), NodeId(3), NodeId(4)], 5, true)
                .contains("older term")
        );
    }

    #[test]
    fn a_presenter_token_is_read_from_the_query_or_the_fragment() {
        assert!(has_presenter_token("?token=abc", ""));
        assert!(has_presenter_token("?x=1&token=abc", ""));
        assert!(has_presenter_token("", "#token=abc"));
        assert!(!has_presenter_token("?token=", ""));
        assert!(!has_presenter_token("?mytoken=abc", ""));
        assert!(!has_presenter_token("", ""));
    }

    #[test]
    fn the_help_pauses_the_run_and_resumes_only_what_it_paused() {
        // Running: opening pauses, closing resumes.
        let (act, by_help) = help_pause(true, false, false);
        assert_eq!(act, HelpPause::Pause);
        assert!(by_help);
        assert_eq!(help_pause(false, true, by_help), (HelpPause::Resume, false));
        // Already paused by the teacher: the help leaves it paused.
        let (act, by_help) = help_pause(true, true, false);
        assert_eq!(act, HelpPause::Nothing);
        assert_eq!(
            help_pause(false, true, by_help),
            (HelpPause::Nothing, false)
        );
        // Closed before its pause was seen, or resumed by hand meanwhile: closing resumes
        // (harmless for a run already going).
        assert_eq!(help_pause(false, false, true), (HelpPause::Resume, false));
        assert_eq!(help_pause(false, false, false), (HelpPause::Nothing, false));
    }
}
