//! One authorization decision, Moat and cedar-policy side by side: see `src/cases.rs` for the
//! cases. Criterion's "time" line estimates the mean; the median is in
//! `$CARGO_TARGET_DIR/criterion/decision/<case>/new/estimates.json` (`medians.py`
//! prints them all). The `percentiles` binary times single decisions for the median and 99th
//! percentile.
//!
//! `MOAT_BENCH_SKIP_100K=1` leaves out the account of 100,000 policies (its set-up parses
//! them all and takes a few seconds).

use std::hint::black_box;

use criterion::{criterion_group, Criterion, SamplingMode};
use moat_cedar_compare::cases;

fn bench(c: &mut Criterion) {
    let with_100000 = std::env::var_os("MOAT_BENCH_SKIP_100K").is_none();
    let cases = cases::all(with_100000, true);
    let mut group = c.benchmark_group("decision");
    for case in &cases {
        // Cedar over thousands of policies takes milliseconds a decision: fewer samples of a
        // fixed number of iterations keep the run short on a shared machine.
        if case.is_slow() {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        } else {
            group.sample_size(100).sampling_mode(SamplingMode::Auto);
        }
        let mut i = 0usize;
        group.bench_function(format!("{}/{}", case.engine.name(), case.name), |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                case.decide(black_box(i))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
