//! What `FileStorage::open` found and repaired, for the server's log and the tests. Owns the
//! report's types and its sentence; must not open or change any file.

use shared::HardState;

use super::codec::TailDamage;
use super::commit_floor::FloorFound;

/// What happened to a leftover hard-state temp file at open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TempHardState {
    /// There was none.
    Absent,
    /// It was complete and intact: the process died after writing it and before `sync` renamed it.
    /// A crash keeps written data, so it was made durable and installed.
    Installed,
    /// It was torn or damaged (the process died while writing it): it was deleted and the previous
    /// hard state kept, which is what an atomic replace promises.
    Discarded {
        /// What was wrong with it.
        reason: String,
    },
}

/// What `FileStorage::open` found and repaired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Entries read back intact.
    pub records_recovered: u64,
    /// Bytes cut from the end of the log file (a torn tail); 0 for a clean file.
    pub bytes_dropped: u64,
    /// Where the torn tail began and why it was judged torn; `None` for a clean file.
    pub tail_damage: Option<TailDamage>,
    /// The hard state recovered.
    pub hard_state: HardState,
    /// What happened to a leftover hard-state temp file.
    pub temp_hard_state: TempHardState,
    /// What the `commit_index` file held (the log was checked to reach it).
    pub commit_floor: FloorFound,
}

impl RecoveryReport {
    /// True when nothing had to be dropped or discarded.
    pub fn is_clean(&self) -> bool {
        self.bytes_dropped == 0 && !matches!(self.temp_hard_state, TempHardState::Discarded { .. })
    }
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovered {} entries, term {}, voted for {}",
            self.records_recovered,
            self.hard_state.current_term,
            self.hard_state
                .voted_for
                .map_or_else(|| "nobody".to_string(), |id| format!("S{id}"))
        )?;
        if let Some(tail) = &self.tail_damage {
            write!(
                f,
                "; dropped a torn tail of {} bytes at byte {} (entry {}: {})",
                self.bytes_dropped, tail.offset, tail.index, tail.damage
            )?;
        }
        match &self.temp_hard_state {
            TempHardState::Absent => {}
            TempHardState::Installed => write!(f, "; installed a complete hard-state temp file")?,
            TempHardState::Discarded { reason } => {
                write!(f, "; discarded a torn hard-state temp file ({reason})")?
            }
        }
        match &self.commit_floor {
            FloorFound::Read(_) => {}
            FloorFound::Missing => write!(f, "; no commit_index file: created, holding 0")?,
            FloorFound::Unreadable(why) => write!(
                f,
                "; an unreadable commit_index file ({why}): rewritten, holding 0"
            )?,
        }
        Ok(())
    }
}
