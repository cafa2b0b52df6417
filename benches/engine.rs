//! Engine benchmarks against the embedded rule library.
//!
//! `cargo bench --bench engine`: the typical flow (CN -> US, contact data, 500,000
//! individuals) deciding only, with the full answer, and with `explain`; the worst case
//! (64 categories, 4 transit legs, every jurisdiction's rules consulted). Heap allocations
//! per call are counted by a counting allocator and printed first.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group};
use xborder::engine::{Snapshot, assess, decide};
use xborder::model::{Flow, Kind};
use xborder::rules_io;

/// Counts heap allocations so the bench can show the deciding path makes none.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn typical_flow() -> Flow {
    Flow {
        origin: "CN".into(),
        destination: "US".into(),
        data_categories: vec!["user.contact".into()],
        data_subject_count: Some(500_000),
        ..Flow::default()
    }
}

/// 64 categories (the vocabulary's, repeated), 4 transit countries, a volume that crosses
/// every threshold band, so the rules of every jurisdiction on the route are evaluated.
fn worst_flow(snapshot: &Snapshot) -> Flow {
    let names: Vec<String> = snapshot
        .vocabulary
        .ids(Kind::Category)
        .iter()
        .map(|(_, name)| name.to_owned())
        .collect();
    let categories: Vec<String> = names.iter().cycle().take(64).cloned().collect();
    Flow {
        origin: "FR".into(),
        transit: vec!["CN".into(), "HK".into(), "SG".into(), "JP".into()],
        destination: "US".into(),
        data_categories: categories,
        data_subject_count: Some(2_000_000),
        purpose: "analytics".into(),
        ..Flow::default()
    }
}

fn allocations<T>(work: impl Fn() -> T) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(work());
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn engine(c: &mut Criterion) {
    let library = match rules_io::embedded() {
        Ok(library) => library,
        Err(error) => panic!("embedded rule library is invalid:\n{error}"),
    };
    let snapshot = Snapshot::from_library(&library, 1, jiff::Timestamp::UNIX_EPOCH);
    let typical = typical_flow();
    let worst = worst_flow(&snapshot);
    let at: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().expect("timestamp");
    println!(
        "allocations per call: decide(typical) {}, assess(typical) {}, assess(typical, explain) {}, assess(worst) {}",
        allocations(|| decide(&snapshot, &typical, at)),
        allocations(|| assess(&snapshot, &typical, at, false)),
        allocations(|| assess(&snapshot, &typical, at, true)),
        allocations(|| assess(&snapshot, &worst, at, false)),
    );
    c.bench_function("decide/typical", |b| {
        b.iter(|| decide(black_box(&snapshot), black_box(&typical), at))
    });
    c.bench_function("assess/typical", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&typical), at, false))
    });
    c.bench_function("assess/typical_explain", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&typical), at, true))
    });
    c.bench_function("assess/worst", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&worst), at, false))
    });
    c.bench_function("assess/worst_explain", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&worst), at, true))
    });
}

criterion_group!(benches, engine);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
