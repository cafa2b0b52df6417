//! Engine benchmarks against the embedded rule library.
//!
//! `cargo bench --bench engine`: the typical flow (CN -> US, contact data, 500,000
//! individuals, no `explain`) and the same flow with `explain`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use xborder::engine::{Snapshot, assess};
use xborder::model::Flow;
use xborder::rules_io;

fn typical_flow() -> Flow {
    Flow {
        origin: "CN".into(),
        destination: "US".into(),
        data_categories: vec!["user.contact".into()],
        data_subject_count: 500_000,
        safeguards: vec!["cn_standard_contract".into()],
        ..Flow::default()
    }
}

fn engine(c: &mut Criterion) {
    let library = match rules_io::embedded() {
        Ok(library) => library,
        Err(error) => panic!("embedded rule library is invalid:\n{error}"),
    };
    let snapshot = Snapshot::from_library(&library, 1, jiff::Timestamp::UNIX_EPOCH);
    let flow = typical_flow();
    let at = jiff::Timestamp::now();
    c.bench_function("assess/typical", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&flow), at, false))
    });
    c.bench_function("assess/typical_explain", |b| {
        b.iter(|| assess(black_box(&snapshot), black_box(&flow), at, true))
    });
}

criterion_group!(benches, engine);
criterion_main!(benches);
