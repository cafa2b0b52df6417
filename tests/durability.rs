//! The data directory: restart from the same revision, torn tails cut, corruption refused
//! with the file and offset (then kept to the valid prefix with `repair`), snapshots rotated.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use xborder::model::RuleSet;
use xborder::rules_io;
use xborder::store::{At, DurabilityOptions, PersistError, Store, SystemClock};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("xborder-durability-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &Path, options: &DurabilityOptions) -> Result<Arc<Store>, PersistError> {
    open_with_history(dir, options, 10_000)
}

fn open_with_history(
    dir: &Path,
    options: &DurabilityOptions,
    history: u64,
) -> Result<Arc<Store>, PersistError> {
    let library = rules_io::load(&common::files(), "").expect("fixture library");
    Store::open(dir, &library, history, Arc::new(SystemClock), options)
}

fn files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".xbs") || name.ends_with(".xbj"))
        .collect();
    files.sort();
    files
}

fn sg(store: &Store) -> RuleSet {
    store
        .rule_set("SG", At::Latest)
        .expect("SG")
        .0
        .source
        .as_ref()
        .clone()
}

/// Commits `count` renames of SG; returns the names by revision.
fn write(store: &Store, count: usize) -> Vec<(u64, String)> {
    (0..count)
        .map(|index| {
            let mut next = sg(store);
            next.name = format!("SG write {index}");
            let version = store.rule_set("SG", At::Latest).expect("SG").0.version;
            let outcome = store.put_rule_set(next, version, false).expect("write");
            (outcome.revision, format!("SG write {index}"))
        })
        .collect()
}

fn journal(dir: &Path) -> PathBuf {
    let mut journals: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "xbj"))
        .collect();
    journals.sort();
    journals.pop().expect("a journal")
}

#[test]
fn a_restart_continues_from_the_same_revision_with_the_same_content() {
    let dir = Dir::new("restart");
    let options = DurabilityOptions::default();
    let written = {
        let store = open(&dir.0, &options).expect("open");
        assert_eq!(store.head(), 1);
        let mut written = write(&store, 3);
        let mut group = store
            .group("concern", At::Latest)
            .expect("group")
            .0
            .group
            .as_ref()
            .clone();
        group.members.push("IR".into());
        written.push((
            store.put_group(group, 1, false).expect("group").revision,
            String::new(),
        ));
        store.delete_rule_set("CN", 1).expect("delete");
        written
    };
    let store = open(&dir.0, &options).expect("reopen");
    assert_eq!(store.head(), 6);
    for (revision, name) in written.iter().filter(|(_, name)| !name.is_empty()) {
        assert_eq!(
            &store
                .rule_set("SG", At::Revision(*revision))
                .expect("retained")
                .0
                .source
                .name,
            name
        );
    }
    assert_eq!(
        store
            .group("concern", At::Latest)
            .expect("group")
            .0
            .members
            .iter()
            .count(),
        3
    );
    assert!(
        store.rule_set("CN", At::Latest).is_err(),
        "the deletion survived"
    );
    let events: Vec<u64> = {
        let mut watcher = store.watch(Vec::new(), 2).expect("watch from 2");
        std::iter::from_fn(|| watcher.try_next().expect("open"))
            .map(|event| event.revision)
            .collect()
    };
    assert_eq!(
        events,
        [2, 3, 4, 5, 6],
        "the history was replayed event by event"
    );
    write(&store, 1);
    drop(store);
    assert_eq!(open(&dir.0, &options).expect("reopen again").head(), 7);
}

#[test]
fn a_torn_tail_is_cut_and_the_store_continues() {
    let dir = Dir::new("torn");
    let options = DurabilityOptions::default();
    write(&open(&dir.0, &options).expect("open"), 2);
    let path = journal(&dir.0);
    let length = std::fs::metadata(&path).expect("journal").len();
    // A crash in the middle of an append: a length prefix promising more than was written.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"']);
    std::fs::write(&path, &bytes).expect("write");
    let store = open(&dir.0, &options).expect("a torn tail does not stop the start");
    assert_eq!(store.head(), 3);
    assert_eq!(
        std::fs::metadata(&path).expect("journal").len(),
        length,
        "the torn bytes were cut"
    );
    write(&store, 1);
    drop(store);
    assert_eq!(open(&dir.0, &options).expect("reopen").head(), 4);
}

#[test]
fn a_bad_crc_in_the_middle_is_refused_then_repaired_to_the_valid_prefix() {
    let dir = Dir::new("crc");
    let options = DurabilityOptions::default();
    write(&open(&dir.0, &options).expect("open"), 3);
    let path = journal(&dir.0);
    let mut bytes = std::fs::read(&path).expect("read");
    // First record: magic (8 bytes), then length and CRC (8 bytes), then its payload.
    let first_length = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let second = 8 + 8 + first_length;
    bytes[second + 8 + 5] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");

    let error = match open(&dir.0, &options) {
        Err(error) => error,
        Ok(_) => panic!("a damaged journal was accepted"),
    };
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&format!("corrupt at byte offset {second}: CRC32C mismatch")),
        "{message}"
    );
    assert!(message.contains("--repair"), "{message}");

    let repaired = open(
        &dir.0,
        &DurabilityOptions {
            repair: true,
            ..options.clone()
        },
    )
    .expect("repair");
    assert_eq!(
        repaired.head(),
        2,
        "only the record before the damage is kept"
    );
    assert_eq!(
        repaired
            .rule_set("SG", At::Latest)
            .expect("SG")
            .0
            .source
            .name,
        "SG write 0"
    );
    drop(repaired);
    assert_eq!(
        open(&dir.0, &options).expect("clean after repair").head(),
        2
    );
}

#[test]
fn a_wrong_magic_names_the_file_at_offset_zero() {
    let dir = Dir::new("magic");
    let options = DurabilityOptions::default();
    write(&open(&dir.0, &options).expect("open"), 1);
    let path = journal(&dir.0);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[0] = b'Z';
    std::fs::write(&path, &bytes).expect("write");
    let message = open(&dir.0, &options).expect_err("refused").to_string();
    assert!(
        message.contains("corrupt at byte offset 0: wrong magic"),
        "{message}"
    );
    let repaired = open(
        &dir.0,
        &DurabilityOptions {
            repair: true,
            ..options
        },
    )
    .expect("repair");
    assert_eq!(repaired.head(), 1);
}

#[test]
fn snapshots_rotate_the_journal_and_a_restart_rebuilds_the_whole_history_window() {
    let dir = Dir::new("snapshots");
    let options = DurabilityOptions {
        snapshot_every: 3,
        ..DurabilityOptions::default()
    };
    let written = write(&open(&dir.0, &options).expect("open"), 7);
    assert_eq!(
        files(&dir.0),
        [
            "journal-00000000000000000002.xbj",
            "journal-00000000000000000005.xbj",
            "journal-00000000000000000008.xbj",
            "snapshot-00000000000000000001.xbs",
            "snapshot-00000000000000000004.xbs",
            "snapshot-00000000000000000007.xbs",
        ],
        "every revision is still in the history window, so every file is kept"
    );
    let store = open(&dir.0, &options).expect("reopen");
    assert_eq!(store.head(), 8);
    assert_eq!(
        store.rule_set("SG", At::Latest).expect("SG").0.source.name,
        written[6].1
    );
    assert_eq!(store.rule_set("SG", At::Latest).expect("SG").0.version, 8);
    let mut watcher = store
        .watch(Vec::new(), 2)
        .expect("a watcher can resume from before the snapshots");
    let replayed: Vec<u64> = std::iter::from_fn(|| watcher.try_next().expect("open"))
        .map(|e| e.revision)
        .collect();
    assert_eq!(replayed, (2..=8).collect::<Vec<u64>>());
    write(&store, 1);
    drop(watcher);
    drop(store);
    assert_eq!(open(&dir.0, &options).expect("reopen").head(), 9);
}

#[test]
fn journal_compaction_follows_history_compaction() {
    let dir = Dir::new("compaction");
    let options = DurabilityOptions {
        snapshot_every: 3,
        ..DurabilityOptions::default()
    };
    write(&open_with_history(&dir.0, &options, 2).expect("open"), 7);
    // Files are compacted when a snapshot is written (at 4 and 7). At 7 the oldest retained
    // revision was 6, so the snapshot at 4 and its journal are still needed; 1 and 2 are gone.
    assert_eq!(
        files(&dir.0),
        [
            "journal-00000000000000000005.xbj",
            "journal-00000000000000000008.xbj",
            "snapshot-00000000000000000004.xbs",
            "snapshot-00000000000000000007.xbs",
        ]
    );
    let store = open_with_history(&dir.0, &options, 2).expect("reopen");
    assert_eq!((store.head(), store.oldest()), (8, 7));
}

#[test]
fn a_second_store_on_a_locked_directory_is_refused_naming_the_holder() {
    let dir = Dir::new("locked");
    let options = DurabilityOptions::default();
    let first = open(&dir.0, &options).expect("open");
    let refused = open(&dir.0, &options).expect_err("the directory is locked");
    let message = refused.to_string();
    assert!(
        matches!(&refused, PersistError::Locked { holder, .. } if *holder == format!("pid {}", std::process::id())),
        "{message}"
    );
    write(&first, 1);
    drop(first);
    assert_eq!(
        open(&dir.0, &options).expect("free again").head(),
        2,
        "the lock goes with the store that held it"
    );
}

#[test]
fn the_store_id_survives_restarts_and_a_new_directory_gets_a_new_one() {
    let dir = Dir::new("identity");
    let other = Dir::new("identity-other");
    let options = DurabilityOptions::default();
    let id = open(&dir.0, &options).expect("open").store_id().to_owned();
    assert_eq!(id.len(), 26, "a ULID: {id}");
    assert_eq!(open(&dir.0, &options).expect("reopen").store_id(), id);
    assert_ne!(open(&other.0, &options).expect("open other").store_id(), id);
}

#[test]
fn versions_continue_after_a_delete_across_a_restart_and_a_snapshot() {
    let dir = Dir::new("tombstone");
    let options = DurabilityOptions {
        snapshot_every: 2,
        ..DurabilityOptions::default()
    };
    // One retained revision: the restart must start from the snapshot written after the
    // deletion, not replay it.
    let store = open_with_history(&dir.0, &options, 1).expect("open");
    let sg_now = sg(&store);
    write(&store, 1);
    store.delete_rule_set("SG", 2).expect("delete");
    write_unrelated(&store);
    drop(store);
    let store = open_with_history(&dir.0, &options, 1).expect("reopen from the snapshot");
    assert!(files(&dir.0).contains(&"snapshot-00000000000000000003.xbs".to_owned()));
    let created = store.put_rule_set(sg_now, 0, false).expect("re-create");
    assert_eq!(created.version, 3, "version 2 was deleted: the next is 3");
}

/// One commit that does not touch SG, so a snapshot is written after SG's deletion.
fn write_unrelated(store: &Store) {
    let (group, _) = store.group("concern", At::Latest).expect("concern");
    let mut next = group.group.as_ref().clone();
    next.members.retain(|member| member != "RU");
    store
        .put_group(next, group.version, false)
        .expect("group write");
}

#[test]
fn a_second_xborderd_on_the_same_data_dir_exits_1_naming_the_first_ones_pid() {
    use assert_cmd::cargo::CommandCargoExt;
    let dir = Dir::new("two-servers");
    let (mut first, _, _, _lines) =
        common::process::spawn_xborderd(&["--data-dir".as_ref(), dir.0.as_os_str()]);
    let second = std::process::Command::cargo_bin("xborderd")
        .expect("xborderd binary")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir.0)
        .output()
        .expect("run a second xborderd");
    let stderr = String::from_utf8_lossy(&second.stderr);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("in use by another xborderd (pid {})", first.id())),
        "{stderr}"
    );
}
