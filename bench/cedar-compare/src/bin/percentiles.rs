//! Median and 99th percentile of single decisions, which criterion does not give: each case is
//! timed call by call with `Instant`, the cost of reading the clock subtracted. The machine may
//! be shared, so the cases take turns over several rounds; the figures of the quietest round
//! (lowest median) are printed, and those of all rounds pooled.
//!
//! `cargo run --release --bin percentiles -- [ROUNDS] [--skip-100k] [--moat-only]`

#![expect(
    clippy::indexing_slicing,
    reason = "percentile positions are below the length of non-empty vectors"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use moat_cedar_compare::cases::{self, Case};

/// At most this many single decisions per case and round...
const MAX_CALLS: usize = 100_000;
/// ...and at least this many...
const MIN_CALLS: usize = 300;
/// ...aiming at about this long per case and round.
const BUDGET: Duration = Duration::from_millis(1_500);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let skip_100k = args.iter().any(|a| a == "--skip-100k");
    let moat_only = args.iter().any(|a| a == "--moat-only");
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3).max(1);

    let started = Instant::now();
    let cases = cases::all(!skip_100k, !moat_only);
    eprintln!("set-up took {:.1} s", started.elapsed().as_secs_f64());

    let overhead = clock_overhead();
    let calls: Vec<usize> = cases.iter().map(calls_for).collect();
    let mut times: Vec<Vec<Vec<u64>>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for ((case, &n), times) in cases.iter().zip(&calls).zip(&mut times) {
            times.push(time(case, n, overhead));
        }
    }

    println!("single decisions, {rounds} rounds, clock overhead {overhead} ns subtracted");
    println!(
        "| case | engine | decided over | calls/round | median µs | p99 µs | median µs (all rounds) | p99 µs (all rounds) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((case, n), rounds) in cases.iter().zip(&calls).zip(&times) {
        let quietest = rounds
            .iter()
            .min_by_key(|t| percentile(t, 500))
            .map_or(&[][..], Vec::as_slice);
        let mut pooled: Vec<u64> = rounds.iter().flatten().copied().collect();
        pooled.sort_unstable();
        println!(
            "| {} | {} | {} | {n} | {} | {} | {} | {} |",
            case.name,
            case.engine.name(),
            case.size,
            micros(percentile(quietest, 500)),
            micros(percentile(quietest, 990)),
            micros(percentile(&pooled, 500)),
            micros(percentile(&pooled, 990)),
        );
    }
}

/// The median cost of reading the clock twice, in nanoseconds.
fn clock_overhead() -> u64 {
    let mut clock: Vec<u64> = (0..MAX_CALLS)
        .map(|_| {
            let t = Instant::now();
            nanos(t.elapsed())
        })
        .collect();
    clock.sort_unstable();
    percentile(&clock, 500)
}

/// How many calls fit the budget, from the quickest of a few short trials.
fn calls_for(case: &Case) -> usize {
    let trial = 20;
    let each = (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..trial {
                black_box(case.decide(black_box(i)));
            }
            t.elapsed() / trial as u32
        })
        .min()
        .unwrap_or_default();
    let fit = BUDGET.as_nanos() / each.as_nanos().max(1);
    usize::try_from(fit)
        .unwrap_or(MAX_CALLS)
        .clamp(MIN_CALLS, MAX_CALLS)
}

/// `n` single decisions, sorted, in nanoseconds each.
fn time(case: &Case, n: usize, overhead: u64) -> Vec<u64> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        black_box(case.decide(black_box(i)));
        times.push(nanos(t.elapsed()).saturating_sub(overhead));
    }
    times.sort_unstable();
    times
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The value at `per_mille` of sorted `times` (0 when there are none).
fn percentile(times: &[u64], per_mille: usize) -> u64 {
    if times.is_empty() {
        return 0;
    }
    times[(times.len() * per_mille / 1000).min(times.len() - 1)]
}

fn micros(ns: u64) -> String {
    let us = ns as f64 / 1000.0;
    if us < 10.0 {
        format!("{us:.2}")
    } else if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}
