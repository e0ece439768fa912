//! Latency of `PolicyEngine::record_view`, the call made for every record a request returns:
//! a sales user looking at colleagues' records in their unit (the path that asks all four
//! questions). Prints p50/p99/max over 100,000 calls after a warm-up, for `record_view` (which
//! answers repeated shapes of question from its memo) and for `record_view_uncached` (Cedar
//! every time). A plain program rather than criterion because the target is a percentile, not
//! a mean.
//!
//! The machines this runs on are shared with other builds, so a p99 over wall-clock time
//! mostly measures the scheduler. On Linux the program also reads the thread's scheduler
//! statistics around each call and reports, separately, the percentiles of the calls that ran
//! without being descheduled, and the mean on-CPU time per call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sejf_policy::{PolicyEngine, Principal, RecordKind, Resource, Role};
use uuid::Uuid;

const CALLS: usize = 100_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = PolicyEngine::default_set()?;
    let me = Principal::User { id: Uuid::now_v7(), role: Role::Sales, units: vec!["north".into(), "pl-waw".into()] };
    // A different record of a different colleague every call, as when listing a team's
    // records; built beforehand so that only the decision is timed.
    let records: Vec<Resource> = (0..CALLS)
        .map(|_| Resource::Record {
            kind: RecordKind::Person,
            id: Uuid::now_v7(),
            owner: Uuid::now_v7(),
            owner_units: vec!["north".into()],
            unit: "north".into(),
        })
        .collect();
    let expected = (true, sejf_policy::FieldClasses::from_flags([true, true, false]));
    for record in records.iter().take(10_000) {
        if black_box(engine.record_view(&me, record)) != expected || engine.record_view_uncached(&me, record) != expected {
            return Err("unexpected decision".into());
        }
    }
    println!("record_view (sales, team record), {CALLS} calls, load average {}", load_average());
    measure("record_view", &records, |r| engine.record_view(black_box(&me), black_box(r)));
    measure("record_view_uncached (Cedar every time)", &records, |r| engine.record_view_uncached(black_box(&me), black_box(r)));
    Ok(())
}

fn measure(name: &str, records: &[Resource], f: impl Fn(&Resource) -> (bool, sejf_policy::FieldClasses)) {
    let mut all = Vec::with_capacity(records.len());
    let mut undisturbed = Vec::with_capacity(records.len());
    let cpu_before = schedstat();
    let started = Instant::now();
    for record in records {
        let before = schedstat();
        let start = Instant::now();
        black_box(f(record));
        let took = start.elapsed();
        let after = schedstat();
        all.push(took);
        // Same number of times scheduled in: the call ran in one stretch.
        if let (Some(b), Some(a)) = (before, after)
            && a.slices == b.slices
        {
            undisturbed.push(took);
        }
    }
    let wall = started.elapsed();
    let cpu_after = schedstat();
    println!("{name}");
    println!("  all calls:              {}", summary(&mut all));
    if !undisturbed.is_empty() {
        println!("  calls not descheduled:  {} ({} calls)", summary(&mut undisturbed), undisturbed.len());
    }
    if let (Some(b), Some(a)) = (cpu_before, cpu_after) {
        // Includes reading the statistics file twice per call, so it is an upper bound.
        let per_call = (a.run_ns - b.run_ns) as f64 / records.len() as f64 / 1e3;
        let waited = (a.wait_ns - b.wait_ns) as f64 / 1e6;
        println!("  on-CPU time per iteration (upper bound): {per_call:.1} µs; waited for a CPU {waited:.0} ms of {} ms", wall.as_millis());
    }
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6;
    format!("p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs", at(0.50), at(0.90), at(0.99), at(0.999), at(1.0))
}

#[derive(Clone, Copy)]
struct SchedStat {
    run_ns: u64,
    wait_ns: u64,
    slices: u64,
}

/// `/proc/thread-self/schedstat`: time on CPU, time waiting for one, times scheduled in.
fn schedstat() -> Option<SchedStat> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some(SchedStat { run_ns: fields.next()??, wait_ns: fields.next()??, slices: fields.next()?? })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".into(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}
