//! The on-disk record format: framing (`len | crc32 | payload`), entry encoding and the recovery
//! scan that tells a torn tail from corruption. Pure byte work: must not open, write or sync files
//! (that is `file.rs`), so every rule here can be tested on a `Vec<u8>`.

use shared::{Entry, HardState, LogIndex, StorageError, Term};

/// Bytes before each payload: `len: u32 LE` then `crc32: u32 LE` (of the payload only).
pub const HEADER_BYTES: usize = 8;
/// Largest payload a writer produces. An entry is ~80 bytes of JSON; the limit exists so a garbage
/// length is recognised as garbage instead of being trusted (TigerBeetle: "put a limit on
/// everything").
pub const PAYLOAD_BYTES_MAX: usize = 1 << 20;

/// Append one framed record holding `payload` to `out`.
///
/// Callers guarantee `1 <= payload.len() <= PAYLOAD_BYTES_MAX` (JSON of an entry is never empty
/// and never near the limit); an empty payload is reserved so that zero-filled disk blocks, which a
/// power loss can leave at the end of a file, never parse as a record.
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        !payload.is_empty() && payload.len() <= PAYLOAD_BYTES_MAX,
        "record payload of {} bytes is outside 1..={PAYLOAD_BYTES_MAX}",
        payload.len()
    );
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The previous entry's position, to check that the next one continues the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogTail {
    /// Index of the last entry (0 for an empty log).
    pub last_index: LogIndex,
    /// Term of the last entry (0 for an empty log).
    pub last_term: Term,
}

/// The two log invariants a record must satisfy, checked before encoding and after decoding (pair
/// assertions): the index continues the log, and terms never go down (Raft §5.3: a leader only
/// appends entries of its own term, and terms only grow).
pub fn check_continues(tail: LogTail, entry: &Entry) -> Result<(), StorageError> {
    let expected = tail.last_index + 1;
    if entry.index != expected {
        return Err(StorageError::NotContiguous {
            expected,
            got: entry.index,
        });
    }
    if entry.term < tail.last_term {
        return Err(StorageError::Corrupt(format!(
            "entry {} has term {} below term {} of the entry before it; \
             a Raft log's terms never decrease",
            entry.index, entry.term, tail.last_term
        )));
    }
    Ok(())
}

/// Validate `entry` against `tail` and append its record to `out`. Returns the new tail.
pub fn encode_entry(
    tail: LogTail,
    entry: &Entry,
    out: &mut Vec<u8>,
) -> Result<LogTail, StorageError> {
    check_continues(tail, entry)?;
    let payload = serde_json::to_vec(entry)
        .map_err(|e| StorageError::Io(format!("cannot encode entry {}: {e}", entry.index)))?;
    if payload.len() > PAYLOAD_BYTES_MAX {
        // Unreachable with today's commands; an error rather than a panic if entries ever grow.
        return Err(StorageError::Io(format!(
            "entry {} encodes to {} bytes, above the record limit of {PAYLOAD_BYTES_MAX}",
            entry.index,
            payload.len()
        )));
    }
    encode_record(&payload, out);
    Ok(LogTail {
        last_index: entry.index,
        last_term: entry.term,
    })
}

/// Why the bytes at some offset are not a complete, intact record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Fewer than [`HEADER_BYTES`] bytes are left.
    ShortHeader {
        /// Bytes present.
        available: usize,
    },
    /// The length field is 0 or above [`PAYLOAD_BYTES_MAX`]: no writer produced it.
    BadLength {
        /// The length field as read.
        len: u32,
    },
    /// The header is whole but the payload runs past the end of the file.
    ShortPayload {
        /// Payload bytes the header announces.
        len: u32,
        /// Payload bytes present.
        available: usize,
    },
    /// The payload is complete but its checksum does not match.
    CrcMismatch {
        /// Checksum stored in the header.
        stored: u32,
        /// Checksum of the payload as read.
        computed: u32,
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Damage::ShortHeader { available } => write!(
                f,
                "torn header ({available} of {HEADER_BYTES} header bytes)"
            ),
            Damage::BadLength { len } => write!(
                f,
                "invalid length field {len} (records hold 1..={PAYLOAD_BYTES_MAX} bytes)"
            ),
            Damage::ShortPayload { len, available } => {
                write!(f, "torn payload ({available} of {len} bytes)")
            }
            Damage::CrcMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// One step of reading records.
enum Frame<'a> {
    /// No bytes left.
    End,
    /// An intact record: its payload and where the next record starts.
    Intact { payload: &'a [u8], next: usize },
    /// The bytes at the offset are not an intact record.
    Damaged(Damage),
}

fn read_frame(bytes: &[u8], offset: usize) -> Frame<'_> {
    let rest = &bytes[offset..];
    if rest.is_empty() {
        return Frame::End;
    }
    if rest.len() < HEADER_BYTES {
        return Frame::Damaged(Damage::ShortHeader {
            available: rest.len(),
        });
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let stored = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len == 0 || len as usize > PAYLOAD_BYTES_MAX {
        return Frame::Damaged(Damage::BadLength { len });
    }
    let available = rest.len() - HEADER_BYTES;
    if (len as usize) > available {
        return Frame::Damaged(Damage::ShortPayload { len, available });
    }
    let payload = &rest[HEADER_BYTES..HEADER_BYTES + len as usize];
    let computed = crc32fast::hash(payload);
    if computed != stored {
        return Frame::Damaged(Damage::CrcMismatch { stored, computed });
    }
    Frame::Intact {
        payload,
        next: offset + HEADER_BYTES + len as usize,
    }
}

/// Where a recovered log's damaged tail began and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailDamage {
    /// Byte offset of the first damaged record (the file is valid up to here).
    pub offset: u64,
    /// The index the damaged record would have had.
    pub index: LogIndex,
    /// What was wrong with it.
    pub damage: Damage,
}

/// One entry's place in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordPos {
    /// Byte offset of the record's header.
    pub offset: u64,
    /// The entry's term (kept so appends can check terms without reading the file).
    pub term: Term,
}

/// The result of scanning a log file.
#[derive(Debug)]
pub struct Scanned {
    /// Every intact entry, in order.
    pub entries: Vec<Entry>,
    /// Where each entry's record starts, parallel to `entries`.
    pub records: Vec<RecordPos>,
    /// Length of the valid prefix: the file should be truncated to this.
    pub valid_bytes: u64,
    /// Set when the file continues past `valid_bytes` with a torn or damaged tail.
    pub tail_damage: Option<TailDamage>,
}

/// Decode a whole log file.
///
/// The rule that separates a torn write from corruption: a damaged record (torn header, torn
/// payload, impossible length, checksum mismatch) is a **torn tail** only if no intact record
/// follows it anywhere in the rest of the file. A crash can only tear the last write, so the
/// damaged part and everything after it is dropped. If an intact record does follow, the damage
/// is in the middle of the log: that is corruption, and guessing which records to keep could
/// silently lose acknowledged entries, so it is reported as [`StorageError::Corrupt`].
///
/// An intact record whose payload does not decode to an entry, or whose entry does not continue
/// the log (pair assertion, see [`check_continues`]), is always corruption: its checksum proves
/// the bytes are the ones that were written.
pub fn scan_log(bytes: &[u8]) -> Result<Scanned, StorageError> {
    let mut entries = Vec::new();
    let mut records = Vec::new();
    let mut tail = LogTail::default();
    let mut offset = 0;
    loop {
        match read_frame(bytes, offset) {
            Frame::End => break,
            Frame::Intact { payload, next } => {
                let entry = decode_entry(payload, offset)?;
                check_continues(tail, &entry).map_err(|e| {
                    StorageError::Corrupt(format!(
                        "record at byte {offset} holds entry {} (term {}) after entry {} \
                         (term {}): {e}",
                        entry.index, entry.term, tail.last_index, tail.last_term
                    ))
                })?;
                tail = LogTail {
                    last_index: entry.index,
                    last_term: entry.term,
                };
                records.push(RecordPos {
                    offset: offset as u64,
                    term: entry.term,
                });
                entries.push(entry);
                offset = next;
            }
            Frame::Damaged(damage) => {
                let index = tail.last_index + 1;
                if let Some(found) = find_intact_record(bytes, offset + 1) {
                    return Err(StorageError::Corrupt(format!(
                        "record at byte {offset} (entry {index}) is damaged: {damage}; \
                         but an intact record follows at byte {found}, so this is not a torn \
                         write at the end of the log. Refusing to guess which entries to keep; \
                         restore the node's data directory or start it fresh"
                    )));
                }
                return Ok(Scanned {
                    entries,
                    records,
                    valid_bytes: offset as u64,
                    tail_damage: Some(TailDamage {
                        offset: offset as u64,
                        index,
                        damage,
                    }),
                });
            }
        }
    }
    Ok(Scanned {
        entries,
        records,
        valid_bytes: offset as u64,
        tail_damage: None,
    })
}

/// The first offset at or after `from` where an intact record holding an entry starts.
///
/// Only runs over a damaged region, which after a crash is at most the last write. JSON payloads
/// cannot be mistaken for headers: four printable bytes read as a length are above
/// [`PAYLOAD_BYTES_MAX`], and zero-filled blocks have length 0, which is never valid.
fn find_intact_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&offset| match read_frame(bytes, offset) {
        Frame::Intact { payload, .. } => serde_json::from_slice::<Entry>(payload).is_ok(),
        Frame::End | Frame::Damaged(_) => false,
    })
}

fn decode_entry(payload: &[u8], offset: usize) -> Result<Entry, StorageError> {
    serde_json::from_slice(payload).map_err(|e| {
        StorageError::Corrupt(format!(
            "record at byte {offset} has a valid checksum but does not hold an entry: {e}"
        ))
    })
}

/// The hard-state file: exactly one record holding the JSON of a [`HardState`].
pub fn encode_hard_state(hard_state: HardState) -> Vec<u8> {
    let payload = serde_json::to_vec(&hard_state).expect("a HardState always serializes");
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    encode_record(&payload, &mut out);
    out
}

/// Decode a hard-state file; the error says what is wrong with it.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, String> {
    match read_frame(bytes, 0) {
        Frame::End => Err("the file is empty".to_string()),
        Frame::Damaged(damage) => Err(damage.to_string()),
        Frame::Intact { payload, next } => {
            if next != bytes.len() {
                return Err(format!(
                    "{} unexpected bytes after the record",
                    bytes.len() - next
                ));
            }
            serde_json::from_slice(payload).map_err(|e| format!("not a hard state: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Command, EntryData, NodeId};

    fn entry(index: LogIndex, term: Term) -> Entry {
        Entry {
            index,
            term,
            data: EntryData::Request {
                command: Command::Add(index.get() as i64),
                client: None,
            },
        }
    }

    fn encode_all(entries: &[Entry]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut tail = LogTail::default();
        for e in entries {
            tail = encode_entry(tail, e, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn records_round_trip() {
        let entries = vec![
            entry(LogIndex(1), Term(1)),
            entry(LogIndex(2), Term(1)),
            entry(LogIndex(3), Term(4)),
        ];
        let bytes = encode_all(&entries);
        let scanned = scan_log(&bytes).unwrap();
        assert_eq!(scanned.entries, entries);
        assert_eq!(scanned.valid_bytes, bytes.len() as u64);
        assert_eq!(scanned.tail_damage, None);
        assert_eq!(scanned.records[0].offset, 0);
        assert_eq!(scanned.records[2].term, 4);
    }

    #[test]
    fn header_layout_is_len_then_crc_then_payload() {
        let bytes = encode_all(&[entry(LogIndex(1), Term(1))]);
        let payload = serde_json::to_vec(&entry(LogIndex(1), Term(1))).unwrap();
        assert_eq!(&bytes[0..4], &(payload.len() as u32).to_le_bytes());
        assert_eq!(&bytes[4..8], &crc32fast::hash(&payload).to_le_bytes());
        assert_eq!(&bytes[8..], &payload[..]);
    }

    #[test]
    fn encoding_refuses_a_gap_or_a_falling_term() {
        let mut out = Vec::new();
        let tail = LogTail {
            last_index: LogIndex(3),
            last_term: Term(2),
        };
        assert!(matches!(
            encode_entry(tail, &entry(LogIndex(5), Term(2)), &mut out),
            Err(StorageError::NotContiguous {
                expected: LogIndex(4),
                got: LogIndex(5)
            })
        ));
        assert!(matches!(
            encode_entry(tail, &entry(LogIndex(4), Term(1)), &mut out),
            Err(StorageError::Corrupt(_))
        ));
        assert!(out.is_empty(), "nothing is encoded for a refused entry");
    }

    #[test]
    fn every_torn_length_of_the_last_record_is_a_torn_tail() {
        let bytes = encode_all(&[entry(LogIndex(1), Term(1)), entry(LogIndex(2), Term(1))]);
        let first_len = encode_all(&[entry(LogIndex(1), Term(1))]).len();
        for cut in first_len + 1..bytes.len() {
            let scanned = scan_log(&bytes[..cut]).unwrap();
            assert_eq!(
                scanned.entries,
                vec![entry(LogIndex(1), Term(1))],
                "cut at {cut}"
            );
            assert_eq!(scanned.valid_bytes, first_len as u64);
            let damage = scanned.tail_damage.expect("a torn tail is reported");
            assert_eq!(damage.index, 2);
        }
    }

    #[test]
    fn zero_filled_tail_is_torn_not_a_record() {
        let mut bytes = encode_all(&[entry(LogIndex(1), Term(1))]);
        let valid = bytes.len() as u64;
        bytes.extend_from_slice(&[0; 4096]);
        let scanned = scan_log(&bytes).unwrap();
        assert_eq!(scanned.entries.len(), 1);
        assert_eq!(scanned.valid_bytes, valid);
        assert_eq!(
            scanned.tail_damage.map(|d| d.damage),
            Some(Damage::BadLength { len: 0 })
        );
    }

    #[test]
    fn damage_followed_by_an_intact_record_is_corruption() {
        let mut bytes = encode_all(&[
            entry(LogIndex(1), Term(1)),
            entry(LogIndex(2), Term(1)),
            entry(LogIndex(3), Term(1)),
        ]);
        let second = encode_all(&[entry(LogIndex(1), Term(1))]).len();
        // Corrupt the length field of the middle record: the scan cannot find the next record by
        // length, but still finds it by searching.
        bytes[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = scan_log(&bytes).unwrap_err();
        assert!(
            matches!(&err, StorageError::Corrupt(m) if m.contains("entry 2") && m.contains("invalid length")),
            "{err}"
        );
    }

    #[test]
    fn intact_record_with_wrong_index_is_corruption() {
        let mut bytes = encode_all(&[entry(LogIndex(1), Term(1))]);
        let payload = serde_json::to_vec(&entry(LogIndex(3), Term(1))).unwrap();
        encode_record(&payload, &mut bytes);
        let err = scan_log(&bytes).unwrap_err();
        assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
    }

    #[test]
    fn hard_state_round_trips_and_rejects_damage() {
        let hs = HardState {
            current_term: Term(7),
            voted_for: Some(NodeId(2)),
        };
        let bytes = encode_hard_state(hs);
        assert_eq!(decode_hard_state(&bytes), Ok(hs));
        assert!(decode_hard_state(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_hard_state(&[]).is_err());
        let mut extra = bytes.clone();
        extra.push(b'x');
        assert!(decode_hard_state(&extra).is_err());
        let mut flipped = bytes;
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        assert!(decode_hard_state(&flipped).is_err());
    }
}
