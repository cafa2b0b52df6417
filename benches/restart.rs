//! Restart time of a store with more than 100,000 journaled revisions.
//!
//! `cargo bench --bench restart`: builds a data directory at revision 110,000 (each
//! retitling one rule of one jurisdiction, cycling over the library; appends not fsynced, to
//! build it quickly), then times `Store::open` (newest snapshot + journal replay) with the
//! default snapshot interval (10,000) and with one snapshot only (all 100,000 replayed).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xborder::model::Library;
use xborder::rules_io;
use xborder::store::{At, DurabilityOptions, Store, SystemClock};

/// Commits after the loaded library: the head is revision 110,000. With the default history
/// (10,000 revisions) and a snapshot every 10,000 commits, the oldest retained revision is
/// 100,001, so a restart loads the snapshot at 90,001 and replays 19,999 records: the most
/// it ever replays with these settings.
const COMMITS: u64 = 109_999;

fn build(dir: &Path, library: &Library, options: &DurabilityOptions) {
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open(dir, library, 10_000, Arc::new(SystemClock), options).expect("open");
    let jurisdictions: Vec<String> = library.rule_sets.keys().cloned().collect();
    for counter in 0..COMMITS {
        let jurisdiction = &jurisdictions[(counter as usize) % jurisdictions.len()];
        let (current, _) = store.rule_set(jurisdiction, At::Latest).expect("rule set");
        let mut next = current.source.as_ref().clone();
        if let Some(first) = next.rules.first_mut() {
            Arc::make_mut(first).title = format!("revision counter {counter}");
        }
        store
            .put_rule_set(next, current.version, false)
            .expect("write");
    }
}

fn time_open(dir: &Path, library: &Library, options: &DurabilityOptions) -> Duration {
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let store =
                Store::open(dir, library, 10_000, Arc::new(SystemClock), options).expect("reopen");
            let elapsed = started.elapsed();
            assert_eq!(store.head(), COMMITS + 1);
            elapsed
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let library = match rules_io::embedded() {
        Ok(library) => library,
        Err(error) => panic!("embedded rule library is invalid:\n{error}"),
    };
    let dir = std::env::temp_dir().join(format!("xborder-restart-{}", std::process::id()));
    for (label, snapshot_every) in [
        (
            "snapshot every 10,000, history 10,000: 19,999 replayed",
            10_000,
        ),
        (
            "no snapshot since revision 1: 109,999 replayed",
            COMMITS + 1,
        ),
    ] {
        let options = DurabilityOptions {
            snapshot_every,
            sync: false,
            ..DurabilityOptions::default()
        };
        build(&dir, &library, &options);
        let median = time_open(&dir, &library, &options);
        println!(
            "restart at revision {} ({label}): median of 5 opens {:.1} ms",
            COMMITS + 1,
            median.as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
