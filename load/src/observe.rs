//! What the load tool reads beside its calls: the server's resident memory and the pages it
//! had to read back from disk, the CPU time the server and the load tool spend per call, and
//! the time the hypervisor took from this machine.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::driver::Measured;

/// What each interval line carries beside the calls' figures: the server's mean resident
/// memory and major page faults, when its pid is known, and the steal time.
pub struct IntervalLines {
    server: Option<(ResidentSampler, Increase)>,
    stolen: Increase,
}

impl IntervalLines {
    /// Samples memory of `pid`, if given, from `warmup` on.
    pub fn start(pid: Option<u32>, warmup: Duration) -> Self {
        IntervalLines {
            server: pid.map(|pid| {
                (
                    ResidentSampler::start(pid, warmup),
                    Increase::major_faults(pid),
                )
            }),
            stolen: Increase::stolen_time(),
        }
    }

    /// Prints `interval`'s line and returns its mean resident memory.
    pub fn print(&mut self, interval: &Measured) -> Option<u64> {
        let (rss, server) = match &mut self.server {
            Some((resident, faults)) => {
                let rss = resident.take_mean();
                (
                    rss,
                    format!("rss={} {} ", mebibytes(rss), faults.since_last()),
                )
            }
            None => (None, String::new()),
        };
        println!(
            "interval: {} {server}{}",
            interval.summary(),
            self.stolen.since_last()
        );
        rss
    }
}

/// `bytes` in MiB with one decimal, or `?`.
pub fn mebibytes(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| format!("{:.1}MiB", b as f64 / 1048576.0))
}

/// Resident memory of process `pid` in bytes, from /proc.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The fields of /proc/PID/stat after the command name, from the process state on (numbered
/// from 0 here, where proc(5) numbers them from 3).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; the fields after its last ')' do not.
    // The state is a letter: counted, not parsed.
    let after_name = stat.rsplit_once(')')?.1;
    Some(
        after_name
            .split_whitespace()
            .map(|field| field.parse().unwrap_or(0))
            .collect(),
    )
}

/// CPU time, user and system, process `pid` has used so far, from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    // utime and stime are proc(5)'s fields 14 and 15.
    let fields = stat_fields(pid)?;
    Some(clock_ticks(fields.get(11)? + fields.get(12)?))
}

/// Major page faults of process `pid` so far (proc(5)'s field 12, majflt): pages read back
/// from disk, such as parts of its binary the kernel had dropped while they were cold. A server
/// whose database lives in memory stalls on the disk only through these.
fn major_faults(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(9).copied()
}

/// A count of the clock ticks /proc reports times in: USER_HZ, which Linux fixes at 100 a
/// second.
fn clock_ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// CPU time a server and this process used over the measured part of a run: on a machine the
/// two share, throughput follows their sum, and each part says where a difference between
/// two services comes from.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUsed {
    server: Duration,
    client: Duration,
}

impl CpuUsed {
    /// Microseconds per call, the server's and this process's.
    pub fn per_call(self, calls: u64) -> [f64; 2] {
        let per_call = |used: Duration| used.as_secs_f64() * 1e6 / calls.max(1) as f64;
        [per_call(self.server), per_call(self.client)]
    }
}

impl std::ops::Add for CpuUsed {
    type Output = CpuUsed;

    fn add(self, other: CpuUsed) -> CpuUsed {
        CpuUsed {
            server: self.server + other.server,
            client: self.client + other.client,
        }
    }
}

/// Reads both processes' CPU time after a warm-up and again at the end.
pub struct CpuMeter {
    server: u32,
    at_start: Arc<Mutex<Option<[Duration; 2]>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CpuMeter {
    /// Takes the first reading once `warmup` has passed.
    pub fn start(server: u32, warmup: Duration) -> Self {
        let at_start = Arc::new(Mutex::new(None));
        let task = tokio::spawn({
            let at_start = at_start.clone();
            async move {
                tokio::time::sleep(warmup).await;
                *at_start.lock().unwrap_or_else(PoisonError::into_inner) = cpu_times(server);
            }
        });
        CpuMeter {
            server,
            at_start,
            task,
        }
    }

    /// The CPU time used since the first reading.
    pub fn finish(self) -> Option<CpuUsed> {
        let start = (*self.at_start.lock().unwrap_or_else(PoisonError::into_inner))?;
        let end = cpu_times(self.server)?;
        Some(CpuUsed {
            server: end[0] - start[0],
            client: end[1] - start[1],
        })
    }
}

impl Drop for CpuMeter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn cpu_times(server: u32) -> Option<[Duration; 2]> {
    Some([cpu_time(server)?, cpu_time(std::process::id())?])
}

/// Resident memory of a process sampled five times a second and averaged per interval: one
/// reading moves by a few percent of a small server with the allocator's purging (±1 MiB of
/// 28 MiB in the ten-minute soak), an interval's mean much less.
struct ResidentSampler {
    samples: Arc<Mutex<Vec<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ResidentSampler {
    /// Samples `pid` from `after` on.
    fn start(pid: u32, after: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let samples = samples.clone();
            async move {
                tokio::time::sleep(after).await;
                let mut every = tokio::time::interval(Duration::from_millis(200));
                loop {
                    every.tick().await;
                    if let Some(bytes) = resident_bytes(pid) {
                        lock(&samples).push(bytes);
                    }
                }
            }
        });
        ResidentSampler { samples, task }
    }

    /// The mean of the samples since the previous call.
    fn take_mean(&self) -> Option<u64> {
        let taken = std::mem::take(&mut *lock(&self.samples));
        (!taken.is_empty()).then(|| taken.iter().sum::<u64>() / taken.len() as u64)
    }
}

impl Drop for ResidentSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(samples: &Mutex<Vec<u64>>) -> std::sync::MutexGuard<'_, Vec<u64>> {
    samples.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running total from /proc, shown on each interval line as its increase since the
/// previous line (the first: since `start`, warm-up included), or as `?` where /proc does not
/// tell.
struct Increase {
    label: &'static str,
    unit: &'static str,
    read: Box<dyn Fn() -> Option<u64> + Send>,
    last: Option<u64>,
}

impl Increase {
    fn start(
        label: &'static str,
        unit: &'static str,
        read: impl Fn() -> Option<u64> + Send + 'static,
    ) -> Self {
        Increase {
            label,
            unit,
            last: read(),
            read: Box::new(read),
        }
    }

    /// Major page faults of process `pid`: `majflt=<n>`.
    fn major_faults(pid: u32) -> Self {
        Increase::start("majflt", "", move || major_faults(pid))
    }

    /// CPU time the hypervisor gave elsewhere while this machine's CPUs had work (the `steal`
    /// column of /proc/stat, summed over CPUs): `stolen=<ms>ms`. A pause of the whole virtual
    /// machine stalls the server and the load tool alike, and shows only here.
    fn stolen_time() -> Self {
        Increase::start("stolen", "ms", || {
            stolen().map(|time| time.as_millis() as u64)
        })
    }

    fn since_last(&mut self) -> String {
        let now = (self.read)();
        let text = match (self.last, now) {
            (Some(before), Some(now)) => {
                format!("{}={}{}", self.label, now.saturating_sub(before), self.unit)
            }
            _ => format!("{}=?", self.label),
        };
        self.last = now;
        text
    }
}

fn stolen() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: u64 = stat
        .lines()
        .next()?
        .split_whitespace()
        .nth(8)?
        .parse()
        .ok()?;
    Some(clock_ticks(ticks))
}
