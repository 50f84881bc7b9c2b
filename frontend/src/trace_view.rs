//! A trace's outline as the page reads it (`TraceView`): its version, configuration, start,
//! inputs and end, for a download's name, for whether returning to a branch abandons something,
//! and for checking a share link. Pure and tested natively (timeline_tests.rs); must not fetch.

use shared::trace::{TraceError, TRACE_VERSION};

use crate::wire::{Fields, FromJson, Json};

/// What the page reads of a trace (`GET /api/trace`, a branch, a share link's JSON): the
/// version, the configuration, the start and the inputs as JSON values, and the end. Reading
/// the whole `shared::trace::Trace` would put the readers of every type inside it (the
/// simulator's configuration, every kind of input, the start disks) in the page module for
/// this alone, ≈ 33 KB brotli (docs/bench-frontend.md); the server and the engine read and
/// check the whole trace themselves when it is posted. Unknown fields are ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceView {
    /// Format version (checked first: a newer trace gets that sentence).
    version: Option<u64>,
    /// The simulator's configuration, as written.
    config: Json<'static>,
    /// What the disks held at the start, as written.
    start: Json<'static>,
    /// Every input as written: `{"at_ms": …, "input": {"type": …, …}, …}`.
    inputs: Vec<Json<'static>>,
    /// Where the run ends (virtual ms).
    end_ms: Option<u64>,
}

impl FromJson for TraceView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a trace")?;
        Ok(TraceView {
            version: f.get("version")?,
            config: f.get::<Option<Json>>("config")?.unwrap_or(Json::Null),
            start: f.get::<Option<Json>>("start")?.unwrap_or(Json::Null),
            inputs: f.or_default("inputs")?,
            end_ms: f.get("end_ms")?,
        })
    }
}

impl TraceView {
    /// Read `text` as a trace's outline: refused (in the words of `shared::trace`) when it is
    /// not JSON, when its version is missing or newer than this logscope's, or when the
    /// configuration or the end is missing. What this does not check (the configuration's
    /// values, the inputs, whether the run re-executes) the server checks when it is posted.
    pub fn from_json(text: &str) -> Result<TraceView, TraceError> {
        let malformed = |e: String| TraceError::Malformed(e);
        let view: TraceView = crate::wire::read(text).map_err(malformed)?;
        match view.version {
            Some(v) if v > u64::from(TRACE_VERSION) => {
                return Err(TraceError::FutureVersion {
                    found: u32::try_from(v).unwrap_or(u32::MAX),
                })
            }
            Some(_) => {}
            None => return Err(malformed("missing or non-numeric \"version\"".into())),
        }
        if !view.config.is_object() {
            return Err(malformed("missing field `config`".into()));
        }
        if view.end_ms.is_none() {
            return Err(malformed("missing field `end_ms`".into()));
        }
        Ok(view)
    }

    /// The run's seed (0 when the configuration has none: the server would refuse that trace).
    pub fn seed(&self) -> u64 {
        self.config.get("seed").and_then(Json::as_u64).unwrap_or(0)
    }

    /// Where the run ends (virtual ms).
    pub fn end_ms(&self) -> u64 {
        self.end_ms.unwrap_or(0)
    }

    /// The inputs that are actions (pause and speed changes, `"type": "control"`, are not),
    /// each as written.
    fn actions(&self) -> Vec<&Json<'static>> {
        fn kind<'a>(input: &'a Json<'a>) -> Option<&'a str> {
            input.get("input")?.get("type")?.as_str()
        }
        self.inputs
            .iter()
            .filter(|i| kind(i) != Some(shared::trace::CONTROL_TYPE))
            .collect()
    }
}

/// The name the server gives a trace's download ([`shared::trace::file_name`]).
pub fn trace_file_name(trace: &TraceView) -> String {
    shared::trace::file_name(trace.seed(), trace.end_ms())
}

/// Whether returning to `branch` would abandon something people did in `current` (so the page
/// asks first): an action (pause and speed are not) of the current run that the branch does not
/// also hold, in the same order. After an undo or a fork with nothing done since, the current
/// run is the start of the branch it left, and returning loses nothing. Both traces come from
/// the same writer (`shared::trace`), so comparing them as JSON values is comparing the runs.
pub fn abandons(current: &TraceView, branch: &TraceView) -> bool {
    let mine = current.actions();
    if mine.is_empty() {
        return false;
    }
    let same_start = current.config == branch.config && current.start == branch.start;
    !same_start || !branch.actions().starts_with(&mine)
}
