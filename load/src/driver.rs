//! Runs calls closed-loop (each caller starts its next call when the last one ends) or at a
//! fixed rate, and measures them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::workload::{Rng, Target, Workload};

/// How calls are issued.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// `concurrency` callers, each one call at a time.
    ClosedLoop { concurrency: usize },
    /// `rate` calls a second whatever the latency. Latency counts from the scheduled start,
    /// and a call not answered `deadline` after it is abandoned and counts as failed, as a
    /// client with that deadline would see it; that also bounds the calls in flight.
    FixedRate { rate: f64, deadline: Duration },
}

/// What a run, or one interval of it, measured.
pub struct Measured {
    pub elapsed: Duration,
    pub latencies_us: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Measured {
    pub fn new() -> Self {
        Measured {
            elapsed: Duration::ZERO,
            latencies_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            errors: BTreeMap::new(),
        }
    }

    fn record(&mut self, latency: Duration, outcome: Result<(), String>) {
        let _ = self
            .latencies_us
            .record((latency.as_micros() as u64).clamp(1, 60_000_000));
        if let Err(code) = outcome {
            *self.errors.entry(code).or_default() += 1;
        }
    }

    /// Adds `other`'s calls, time and errors to these.
    pub fn add(&mut self, other: &Measured) {
        self.elapsed += other.elapsed;
        self.latencies_us
            .add(&other.latencies_us)
            .expect("histograms of the same bounds");
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
    }

    pub fn calls(&self) -> u64 {
        self.latencies_us.len()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn throughput(&self) -> f64 {
        self.calls() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latencies_us.value_at_quantile(q) as f64 / 1000.0
    }

    /// One line: calls, errors, throughput and latency quantiles.
    pub fn summary(&self) -> String {
        format!(
            "calls={} errors={} throughput={:.0}/s p50={:.3}ms p99={:.3}ms p999={:.3}ms max={:.3}ms{}",
            self.calls(),
            self.error_count(),
            self.throughput(),
            self.quantile_ms(0.5),
            self.quantile_ms(0.99),
            self.quantile_ms(0.999),
            self.latencies_us.max() as f64 / 1000.0,
            if self.errors.is_empty() {
                String::new()
            } else {
                format!(" error_codes={:?}", self.errors)
            }
        )
    }
}

/// Measurements shared by the callers: the whole run after warm-up, and the current interval.
struct Shared {
    recording: bool,
    total: Measured,
    interval: Measured,
}

type SharedMeasured = Arc<Mutex<Shared>>;

fn lock(shared: &SharedMeasured) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

fn record(shared: &SharedMeasured, latency: Duration, outcome: Result<(), tonic::Code>) {
    let outcome = outcome.map_err(|code| format!("{code:?}"));
    let mut shared = lock(shared);
    if shared.recording {
        shared.total.record(latency, outcome.clone());
        shared.interval.record(latency, outcome);
    }
}

/// How many connections and callers a run uses.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Callers {
    /// HTTP/2 connections.
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    /// Callers in a closed loop.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

impl Callers {
    /// A closed-loop run of `workload` with these callers.
    pub fn closed_loop(self, workload: Workload, warmup: Duration, duration: Duration) -> Run {
        Run {
            workload,
            connections: self.connections,
            pace: Pace::ClosedLoop {
                concurrency: self.concurrency,
            },
            warmup,
            duration,
            report_every: None,
        }
    }
}

/// Settings of one run.
pub struct Run {
    pub workload: Workload,
    pub connections: usize,
    pub pace: Pace,
    pub warmup: Duration,
    pub duration: Duration,
    /// Print an interval line this often, with `interval` called on each interval's figures.
    pub report_every: Option<Duration>,
}

/// Runs `run` against `target`; `on_interval` sees each interval's figures.
pub async fn drive(
    target: Arc<Target>,
    run: &Run,
    mut on_interval: impl FnMut(&Measured),
) -> Measured {
    let shared: SharedMeasured = Arc::new(Mutex::new(Shared {
        recording: false,
        total: Measured::new(),
        interval: Measured::new(),
    }));
    let start = Instant::now();
    let end = start + run.warmup + run.duration;
    let callers = match run.pace {
        Pace::ClosedLoop { concurrency } => closed_loop(&target, run, concurrency, end, &shared),
        Pace::FixedRate { rate, deadline } => {
            vec![fixed_rate(&target, run, rate, deadline, end, &shared)]
        }
    };
    tokio::time::sleep(run.warmup).await;
    lock(&shared).recording = true;
    let measuring_since = Instant::now();
    let mut interval_since = measuring_since;
    let every = run.report_every.unwrap_or(run.duration);
    while Instant::now() + Duration::from_millis(1) < end {
        let next = (interval_since + every).min(end);
        tokio::time::sleep_until(next.into()).await;
        let mut finished = std::mem::replace(&mut lock(&shared).interval, Measured::new());
        finished.elapsed = next - interval_since;
        interval_since = next;
        if run.report_every.is_some() {
            on_interval(&finished);
        }
    }
    lock(&shared).recording = false;
    for caller in callers {
        let _ = caller.await;
    }
    let mut total = std::mem::replace(&mut lock(&shared).total, Measured::new());
    total.elapsed = end - measuring_since;
    total
}

fn closed_loop(
    target: &Arc<Target>,
    run: &Run,
    concurrency: usize,
    end: Instant,
    shared: &SharedMeasured,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..concurrency)
        .map(|caller| {
            let (target, shared, workload) = (target.clone(), shared.clone(), run.workload);
            let connection = caller % run.connections.max(1);
            tokio::spawn(async move {
                let mut rng = Rng::new(caller as u64 + 1);
                while Instant::now() < end {
                    let started = Instant::now();
                    let outcome = target.call(workload, connection, &mut rng).await;
                    record(&shared, started.elapsed(), outcome);
                }
            })
        })
        .collect()
}

fn fixed_rate(
    target: &Arc<Target>,
    run: &Run,
    rate: f64,
    deadline: Duration,
    end: Instant,
    shared: &SharedMeasured,
) -> tokio::task::JoinHandle<()> {
    let (target, shared, workload) = (target.clone(), shared.clone(), run.workload);
    let connections = run.connections.max(1);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut rng = Rng::new(0x5EED);
        let mut sent = 0usize;
        let mut calls = tokio::task::JoinSet::new();
        loop {
            let scheduled = ticks.tick().await.into_std();
            if scheduled >= end {
                break;
            }
            let (target, shared) = (target.clone(), shared.clone());
            let mut call_rng = Rng::new(rng.below(usize::MAX) as u64);
            let connection = sent % connections;
            sent += 1;
            calls.spawn(async move {
                let call = target.call(workload, connection, &mut call_rng);
                let outcome = tokio::time::timeout_at((scheduled + deadline).into(), call)
                    .await
                    .unwrap_or(Err(tonic::Code::DeadlineExceeded));
                record(&shared, scheduled.elapsed(), outcome);
            });
            while calls.try_join_next().is_some() {}
        }
        while calls.join_next().await.is_some() {}
    })
}
