//! The framing shared by journal and snapshot files: an 8-byte magic, then records framed as
//! `[length u32 LE][CRC32C u32 LE][JSON payload]`.

/// First bytes of a journal file.
pub(super) const JOURNAL_MAGIC: &[u8; 8] = b"XBJRNL01";
/// First bytes of a snapshot file.
pub(super) const SNAPSHOT_MAGIC: &[u8; 8] = b"XBSNAP01";
/// Largest record accepted when reading: anything bigger is corruption.
const MAX_RECORD: usize = 64 * 1024 * 1024;

/// `payload` framed with its length and CRC32C.
pub(super) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// How a file of records ends.
pub(super) enum Ending {
    /// Every byte belongs to a valid record.
    Clean,
    /// An incomplete or damaged last record starting here: a crash mid-append.
    TornTail(usize),
    /// A damaged record with more data after it.
    Corrupt(usize, String),
}

/// The records of `bytes` after the magic, each with its offset, and how the file ends.
pub(super) fn records<'a>(bytes: &'a [u8], magic: &[u8; 8]) -> (Vec<(usize, &'a [u8])>, Ending) {
    if bytes.len() < magic.len() {
        return (Vec::new(), Ending::TornTail(0));
    }
    if &bytes[..magic.len()] != magic {
        return (
            Vec::new(),
            Ending::Corrupt(0, "wrong magic: not an xborder file of this kind".into()),
        );
    }
    let mut found = Vec::new();
    let mut at = magic.len();
    loop {
        let rest = &bytes[at..];
        if rest.is_empty() {
            return (found, Ending::Clean);
        }
        if rest.len() < 8 {
            return (found, Ending::TornTail(at));
        }
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if length > MAX_RECORD || 8 + length > rest.len() {
            // A length running past the end is a torn append; an absurd one with data
            // after it cannot be told from damage, so it is reported as damage.
            return if length <= MAX_RECORD {
                (found, Ending::TornTail(at))
            } else {
                (
                    found,
                    Ending::Corrupt(at, format!("record length {length} is not plausible")),
                )
            };
        }
        let payload = &rest[8..8 + length];
        if crc32c::crc32c(payload) != crc {
            return if 8 + length == rest.len() {
                (found, Ending::TornTail(at))
            } else {
                (found, Ending::Corrupt(at, "CRC32C mismatch".into()))
            };
        }
        found.push((at, payload));
        at += 8 + length;
    }
}
