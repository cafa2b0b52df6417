//! Store benchmarks over the embedded rule library.
//!
//! `cargo bench --bench store`: commit latency (no durability), snapshot acquisition, one
//! commit waking 10,000 idle watcher cursors until all have the event, and (printed first)
//! the heap held by 100,000 retained revisions.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use xborder::model::{Library, RuleSet};
use xborder::rules_io;
use xborder::store::{At, Store, SystemClock};

/// Counts live heap bytes so the history's memory can be reported.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn library() -> Library {
    match rules_io::embedded() {
        Ok(library) => library,
        Err(error) => panic!("embedded rule library is invalid:\n{error}"),
    }
}

/// The next version of `jurisdiction`: its first rule retitled with `counter`.
fn next_version(store: &Store, jurisdiction: &str, counter: u64) -> (RuleSet, u64) {
    let (current, _) = store
        .rule_set(jurisdiction, At::Latest)
        .expect("rule set exists");
    let mut next = current.source.as_ref().clone();
    if let Some(first) = next.rules.first_mut() {
        Arc::make_mut(first).title = format!("revision counter {counter}");
    }
    (next, current.version)
}

fn report_history_memory() {
    const REVISIONS: u64 = 100_000;
    let library = library();
    let jurisdictions: Vec<String> = library.rule_sets.keys().cloned().collect();
    let before = LIVE.load(Ordering::Relaxed);
    let store = Store::new(&library, REVISIONS, Arc::new(SystemClock));
    let loaded = LIVE.load(Ordering::Relaxed);
    for counter in 0..REVISIONS {
        let jurisdiction = &jurisdictions[(counter as usize) % jurisdictions.len()];
        let (next, version) = next_version(&store, jurisdiction, counter);
        store
            .put_rule_set(next, version, false)
            .expect("valid write");
    }
    let after = LIVE.load(Ordering::Relaxed);
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "history memory: library {:.1} MiB; {REVISIONS} retained revisions {:.1} MiB ({} bytes per revision); oldest {} head {}",
        mib(loaded - before),
        mib(after - loaded),
        (after - loaded) / REVISIONS as usize,
        store.oldest(),
        store.head()
    );
}

fn store_benches(c: &mut Criterion) {
    let library = library();
    let store = Store::new(&library, 10_000, Arc::new(SystemClock));
    let mut counter = 0;
    c.bench_function("store/commit", |b| {
        b.iter(|| {
            counter += 1;
            let (next, version) = next_version(&store, "SG", counter);
            store
                .put_rule_set(next, version, false)
                .expect("valid write")
        })
    });
    c.bench_function("store/snapshot", |b| {
        b.iter(|| black_box(&store).snapshot())
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    const WATCHERS: usize = 10_000;
    let delivered = Arc::new(AtomicUsize::new(0));
    let all_delivered = Arc::new(tokio::sync::Notify::new());
    for _ in 0..WATCHERS {
        let mut watcher = store.watch(vec!["SG".into()], 0).expect("watch");
        let (delivered, all_delivered) = (Arc::clone(&delivered), Arc::clone(&all_delivered));
        runtime.spawn(async move {
            while watcher.next().await.is_ok() {
                if delivered.fetch_add(1, Ordering::AcqRel) + 1 == WATCHERS {
                    all_delivered.notify_one();
                }
            }
        });
    }
    let mut group = c.benchmark_group("store/wake");
    group.sample_size(20);
    group.bench_function("10000_watchers", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                delivered.store(0, Ordering::Release);
                counter += 1;
                let (next, version) = next_version(&store, "SG", counter);
                let start = Instant::now();
                store
                    .put_rule_set(next, version, false)
                    .expect("valid write");
                runtime.block_on(all_delivered.notified());
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, store_benches);

fn main() {
    report_history_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
