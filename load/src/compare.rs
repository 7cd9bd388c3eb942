//! GetProject against the echo service, measured the same way: the same connections and
//! callers, in short slices that take turns. This VM's speed moves by a third within seconds
//! (the same calls cost 16 µs of CPU one second and 27 µs the next, docs/RELIABILITY.md), so
//! services measured one after the other in long rounds are measured on different machines;
//! many short slices in turn weigh the slow and the fast seconds on each alike.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::driver::{Callers, Measured, Run, drive};
use crate::observe::{CpuMeter, CpuUsed, mebibytes, resident_bytes};
use crate::servers::{self, Served};
use crate::workload::{Target, Workload};

/// Unmeasured time at the start of each slice, while the callers start: the connections are
/// warm from the first warm-up on.
const SETTLE: Duration = Duration::from_millis(100);

/// How `compare` measures.
pub struct Settings {
    pub server_binary: Option<PathBuf>,
    pub callers: Callers,
    /// Once per service, before the first round.
    pub warmup: Duration,
    /// Each service's slice of a round.
    pub slice: Duration,
    pub rounds: usize,
    /// Fail unless GetProject reaches this share of the small echo's throughput.
    pub require_ratio: Option<f64>,
}

/// One service under measurement, and what its slices added up to.
struct Contender<'a> {
    label: &'static str,
    served: &'a Served,
    target: Arc<Target>,
    workload: Workload,
    total: Measured,
    cpu: Option<CpuUsed>,
    rates: Vec<f64>,
}

impl<'a> Contender<'a> {
    fn new(
        label: &'static str,
        served: &'a Served,
        target: Arc<Target>,
        workload: Workload,
    ) -> Self {
        Contender {
            label,
            served,
            target,
            workload,
            total: Measured::new(),
            cpu: Some(CpuUsed::default()),
            rates: Vec::new(),
        }
    }

    fn run(&self, settings: &Settings, warmup: Duration, duration: Duration) -> Run {
        settings
            .callers
            .closed_loop(self.workload, warmup, duration)
    }

    /// Measures one slice, prints it and adds it to the totals.
    async fn slice(&mut self, settings: &Settings, round: usize) -> Result<(), String> {
        let run = self.run(settings, SETTLE, settings.slice);
        let cpu = CpuMeter::start(self.served.pid(), SETTLE);
        let figures = drive(self.target.clone(), &run, |_| {}).await;
        let used = cpu.finish();
        println!(
            "round {round} {:<16} {} {}",
            self.label,
            figures.summary(),
            cpu_text(used.map(|u| u.per_call(figures.calls())))
        );
        if figures.error_count() > 0 {
            return Err("calls failed during the comparison".into());
        }
        self.rates.push(figures.throughput());
        self.cpu = match (self.cpu, used) {
            (Some(total), Some(used)) => Some(total + used),
            _ => None,
        };
        self.total.add(&figures);
        Ok(())
    }
}

/// Runs the comparison; `Ok(false)` when GetProject falls short of `require_ratio`.
pub async fn compare(settings: Settings) -> Result<bool, String> {
    let echo = servers::start_echo()?;
    let server = servers::start_pairing_aid(
        &servers::server_binary(settings.server_binary.as_deref()),
        &[],
    )?;
    let connect = |served: &Served, workload, echo_bytes| {
        let endpoint = served.endpoint.clone();
        let connections = settings.callers.connections;
        async move {
            Target::connect(&endpoint, None, workload, connections, echo_bytes)
                .await
                .map(Arc::new)
        }
    };
    let get = connect(&server, Workload::Get, 0).await?;
    let response_bytes = get.mean_get_response_bytes().await?;
    // Echo is measured twice: with a small payload (what the framework costs per call), and
    // with the bytes of a GetProject response each way (the same bytes on the wire as Get).
    let mut contenders = Vec::new();
    for (label, bytes) in [("echo 32 B", 32), ("echo same bytes", response_bytes)] {
        let target = connect(&echo, Workload::Echo, bytes).await?;
        contenders.push(Contender::new(label, &echo, target, Workload::Echo));
    }
    contenders.push(Contender::new("get", &server, get, Workload::Get));

    for contender in &contenders {
        let run = contender.run(&settings, settings.warmup, Duration::ZERO);
        drive(contender.target.clone(), &run, |_| {}).await;
    }
    let count = contenders.len();
    for round in 1..=settings.rounds.max(1) {
        // Each service takes each place in the order in turn: none always follows the same one.
        for place in 0..count {
            contenders[(round - 1 + place) % count]
                .slice(&settings, round)
                .await?;
        }
    }

    let get = &contenders[count - 1];
    let get_rate = get.total.throughput();
    println!(
        "GetProject: {get_rate:.0}/s over {} slices of {:?} (responses of {response_bytes} B), {}; connections={}, concurrency={}, server rss {}",
        get.rates.len(),
        settings.slice,
        cpu_text(get.cpu.map(|u| u.per_call(get.total.calls()))),
        settings.callers.connections,
        settings.callers.concurrency,
        mebibytes(resident_bytes(server.pid()))
    );
    for echo in &contenders[..count - 1] {
        let by_round: Vec<f64> = get
            .rates
            .iter()
            .zip(&echo.rates)
            .map(|(g, e)| g / e)
            .collect();
        let [low, middle, high] = quartiles(by_round);
        println!(
            "  {:<16} {:.0}/s, {}: GetProject reaches {:.2} of it (round by round: median {middle:.2}, middle half {low:.2}-{high:.2})",
            echo.label,
            echo.total.throughput(),
            cpu_text(echo.cpu.map(|u| u.per_call(echo.total.calls()))),
            get_rate / echo.total.throughput(),
        );
    }
    let ratio = get_rate / contenders[0].total.throughput();
    Ok(settings
        .require_ratio
        .is_none_or(|required| ratio >= required))
}

fn cpu_text(per_call: Option<[f64; 2]>) -> String {
    per_call.map_or("cpu/call ?".into(), |[server, client]| {
        format!("cpu/call server={server:.1}us client={client:.1}us")
    })
}

/// The first quartile, the median and the third quartile (nearest rank).
fn quartiles(mut values: Vec<f64>) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}

#[cfg(test)]
mod tests {
    use super::quartiles;

    #[test]
    fn quartiles_of_a_few_rounds() {
        assert_eq!(quartiles(vec![0.9]), [0.9, 0.9, 0.9]);
        assert_eq!(quartiles(vec![0.7, 0.9, 0.8]), [0.8, 0.8, 0.9]);
        assert_eq!(quartiles(vec![5.0, 1.0, 4.0, 2.0, 3.0]), [2.0, 3.0, 4.0]);
    }
}
