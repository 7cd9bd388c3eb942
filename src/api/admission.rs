//! Heavy work off the runtime: calls are classed by what their plan reads; light ones run at
//! once on the runtime's threads, heavy ones on a small pool of low-priority threads, admitted
//! through a bounded queue that no one caller can fill or hog. The runtime's threads, which
//! accept connections, answer health checks and serve cheap reads, never scan the record.
//!
//! A heavy call whose caller goes away (deadline, cancel, disconnect) raises its interrupt;
//! the scan stops at its next row and the pool slot is freed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::warn;

use super::ApiError;
use crate::query::interrupt::Interrupt;
use crate::telemetry;

/// Rows a light call may read: a page, a summary from the cube's classes, a series.
pub const LIGHT_ROWS: usize = 20_000;

/// What a call is expected to cost, from its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Reads about this many rows.
    Rows(usize),
    /// Reads the whole record or streams it out, whatever its size.
    Scan,
}

impl Cost {
    fn is_heavy(self) -> bool {
        match self {
            Cost::Rows(rows) => rows > LIGHT_ROWS,
            Cost::Scan => true,
        }
    }
}

/// How much heavy work runs and waits at once.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionLimits {
    /// Heavy calls running at once, each on a thread of its own.
    pub threads: usize,
    /// Heavy calls waiting for a thread; more are refused at once.
    pub queue: usize,
    /// Longest a heavy call waits for a thread before it is refused.
    pub max_wait: Duration,
}

impl AdmissionLimits {
    /// Threads for the CPUs this process may use (its cgroup's quota included), the queue
    /// twice that, waits of up to five seconds.
    pub fn for_this_machine() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        AdmissionLimits {
            threads,
            queue: 2 * threads,
            max_wait: Duration::from_secs(5),
        }
    }

    /// Heavy calls one caller may run at once: all but one thread, so another caller's
    /// call always finds one free when the running ones end.
    fn per_caller(&self) -> usize {
        self.threads.saturating_sub(1).max(1)
    }

    /// Heavy calls one caller may have waiting.
    fn queued_per_caller(&self) -> usize {
        self.queue.div_ceil(2).max(1)
    }
}

/// A job for the pool.
type Job = Box<dyn FnOnce() + Send>;

/// Runs calls by their cost; see the module documentation.
pub struct Admission {
    limits: AdmissionLimits,
    state: Arc<Mutex<Queue>>,
    jobs: mpsc::Sender<Job>,
}

/// Who runs and who waits.
#[derive(Default)]
struct Queue {
    running: usize,
    /// Running heavy calls by caller.
    by_caller: HashMap<String, usize>,
    waiting: VecDeque<Waiter>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    caller: String,
    grant: oneshot::Sender<Slot>,
}

/// One running heavy call's thread; freed when dropped.
struct Slot {
    caller: String,
    state: Arc<Mutex<Queue>>,
    limits: AdmissionLimits,
}

impl Drop for Slot {
    fn drop(&mut self) {
        release(&self.state, self.limits, &self.caller);
    }
}

fn lock(state: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Frees `caller`'s slot and hands the threads now free to the oldest waiters whose callers
/// are under their share.
fn release(state: &Arc<Mutex<Queue>>, limits: AdmissionLimits, caller: &str) {
    let granted = {
        let mut queue = lock(state);
        queue.running -= 1;
        if let Some(count) = queue.by_caller.get_mut(caller) {
            *count -= 1;
            if *count == 0 {
                queue.by_caller.remove(caller);
            }
        }
        let mut granted = Vec::new();
        while queue.running < limits.threads {
            let Some(at) = queue.waiting.iter().position(|w| {
                queue.by_caller.get(&w.caller).copied().unwrap_or(0) < limits.per_caller()
            }) else {
                break;
            };
            let waiter = queue.waiting.remove(at).expect("a waiter at that position");
            queue.running += 1;
            *queue.by_caller.entry(waiter.caller.clone()).or_default() += 1;
            granted.push(waiter);
        }
        report(&queue);
        granted
    };
    // Outside the lock: a waiter that has gone drops its slot, which releases it again.
    for waiter in granted {
        let slot = Slot {
            caller: waiter.caller,
            state: state.clone(),
            limits,
        };
        let _ = waiter.grant.send(slot);
    }
}

fn report(queue: &Queue) {
    let metrics = telemetry::metrics();
    metrics.heavy_running.set(queue.running as i64);
    metrics.heavy_queued.set(queue.waiting.len() as i64);
}

/// Removes a waiter that stopped waiting (timed out, or its call ended) from the queue.
struct WaitGuard<'a> {
    state: &'a Mutex<Queue>,
    id: u64,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        let mut queue = lock(self.state);
        queue.waiting.retain(|w| w.id != self.id);
        report(&queue);
    }
}

impl Admission {
    /// Starts the pool's threads.
    pub fn new(limits: AdmissionLimits) -> Self {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for number in 0..limits.threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("heavy-{number}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = {
                            let receiver = receiver
                                .lock()
                                .unwrap_or_else(|poisoned| poisoned.into_inner());
                            receiver.recv()
                        };
                        match job {
                            // A panicking job loses its call, not the pool's thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })
                .expect("the pool's threads start");
        }
        telemetry::metrics()
            .heavy_threads
            .set(limits.threads as i64);
        Admission {
            limits,
            state: Arc::new(Mutex::new(Queue::default())),
            jobs,
        }
    }

    /// Runs `job` as its cost says: at once if light, else on the pool once admitted. The job
    /// checks the interrupt it is given; it is raised when the returned future is dropped.
    pub async fn run<R: Send + 'static>(
        &self,
        caller: impl FnOnce() -> String,
        class: &'static str,
        cost: Cost,
        job: impl FnOnce(&Interrupt) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        // Light calls pay for nothing here: no metric, no caller key.
        if !cost.is_heavy() {
            return job(&Interrupt::default());
        }
        let metrics = telemetry::metrics();
        let waited = Instant::now();
        let slot = self.admit(caller()).await.inspect_err(|_| {
            metrics.refused.with_label_values(&[class]).inc();
        })?;
        metrics
            .heavy_wait
            .with_label_values(&[class])
            .observe(waited.elapsed().as_secs_f64());
        metrics.heavy_admitted.with_label_values(&[class]).inc();
        let interrupt = Interrupt::default();
        let _stop_when_dropped = interrupt.raise_on_drop();
        let (answer, answered) = oneshot::channel();
        let work: Job = Box::new(move || {
            let result = job(&interrupt);
            if interrupt.is_raised() {
                telemetry::metrics()
                    .interrupted
                    .with_label_values(&[class])
                    .inc();
            }
            drop(slot);
            let _ = answer.send(result);
        });
        if self.jobs.send(work).is_err() {
            return Err(ApiError::Internal {
                message: "the heavy-work pool has stopped".into(),
            });
        }
        answered.await.unwrap_or_else(|_| {
            Err(ApiError::Internal {
                message: "a heavy call's worker ended without an answer".into(),
            })
        })
    }

    /// A thread for one heavy call of `caller`: at once if one is free and the caller is under
    /// its share, after waiting in the queue otherwise; refused when the queue is full or the
    /// wait too long.
    async fn admit(&self, caller: String) -> Result<Slot, ApiError> {
        let limits = self.limits;
        let (grant, granted) = oneshot::channel();
        let id = {
            let mut queue = lock(&self.state);
            let mine = queue.by_caller.get(&caller).copied().unwrap_or(0);
            if queue.running < limits.threads && mine < limits.per_caller() {
                queue.running += 1;
                *queue.by_caller.entry(caller.clone()).or_default() += 1;
                report(&queue);
                return Ok(Slot {
                    caller,
                    state: self.state.clone(),
                    limits,
                });
            }
            let mine_waiting = queue.waiting.iter().filter(|w| w.caller == caller).count();
            if queue.waiting.len() >= limits.queue || mine_waiting >= limits.queued_per_caller() {
                return Err(busy(format!(
                    "{} heavy calls are running and {} waiting, the most this server queues{}; \
                     retry shortly",
                    queue.running,
                    queue.waiting.len(),
                    if mine_waiting >= limits.queued_per_caller() {
                        " for one caller"
                    } else {
                        ""
                    }
                )));
            }
            queue.next_id += 1;
            let id = queue.next_id;
            queue.waiting.push_back(Waiter { id, caller, grant });
            report(&queue);
            id
        };
        let _leave_queue = WaitGuard {
            state: &self.state,
            id,
        };
        match tokio::time::timeout(limits.max_wait, granted).await {
            Ok(Ok(slot)) => Ok(slot),
            Ok(Err(_)) | Err(_) => Err(ApiError::ResourceExhausted {
                reason: "HEAVY_WORK_WAIT_TOO_LONG",
                message: format!(
                    "no thread for heavy work came free within {:?}; retry shortly",
                    limits.max_wait
                ),
            }),
        }
    }
}

fn busy(message: String) -> ApiError {
    ApiError::ResourceExhausted {
        reason: "HEAVY_WORK_QUEUE_FULL",
        message,
    }
}

/// Lowers the calling thread's scheduling priority (nice 10): when the CPUs are short, the
/// runtime's threads, which serve the light calls and health checks, go first.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority on one's own thread id only
        // changes that thread's nice value.
        let result = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, thread, 10)
        };
        if result != 0 {
            warn!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the heavy-work threads' priority"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, channel};

    use super::*;

    fn limits(threads: usize, queue: usize, max_wait_ms: u64) -> AdmissionLimits {
        AdmissionLimits {
            threads,
            queue,
            max_wait: Duration::from_millis(max_wait_ms),
        }
    }

    /// A heavy job that runs until `release` receives, then answers `value`.
    fn held(
        release: Receiver<()>,
        value: u32,
    ) -> impl FnOnce(&Interrupt) -> Result<u32, ApiError> + Send + 'static {
        move |_| {
            let _ = release.recv();
            Ok(value)
        }
    }

    /// A heavy call of `caller` on its own task, held until `release` receives.
    fn spawn_held(
        admission: &Arc<Admission>,
        caller: &str,
        release: Receiver<()>,
        value: u32,
    ) -> tokio::task::JoinHandle<Result<u32, ApiError>> {
        let admission = admission.clone();
        let caller = caller.to_owned();
        tokio::spawn(async move {
            admission
                .run(|| caller, "t", heavy(), held(release, value))
                .await
        })
    }

    fn heavy() -> Cost {
        Cost::Rows(LIGHT_ROWS + 1)
    }

    fn queue_len(admission: &Admission) -> (usize, usize) {
        let queue = lock(&admission.state);
        (queue.running, queue.waiting.len())
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn light_calls_run_at_once_beside_a_full_pool() {
        let admission = Arc::new(Admission::new(limits(1, 0, 1000)));
        let (release, held_until) = channel();
        let busy = spawn_held(&admission, "a", held_until, 1);
        settle().await;
        assert_eq!(queue_len(&admission), (1, 0));
        let light = admission
            .run(|| "b".into(), "t", Cost::Rows(10), |_| Ok(2))
            .await
            .unwrap();
        assert_eq!(light, 2);
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn one_caller_cannot_take_every_thread_while_another_waits() {
        let admission = Arc::new(Admission::new(limits(2, 4, 5000)));
        let (release_a1, a1) = channel();
        let (release_a2, a2) = channel();
        let (release_b, b) = channel();
        let spawn = |caller, job, value| spawn_held(&admission, caller, job, value);
        let first = spawn("a", a1, 1);
        settle().await;
        let second = spawn("a", a2, 2);
        settle().await;
        assert_eq!(
            queue_len(&admission),
            (1, 1),
            "a's second call waits: one thread is kept"
        );
        let other = spawn("b", b, 3);
        settle().await;
        assert_eq!(
            queue_len(&admission),
            (2, 1),
            "b runs on the thread a could not take"
        );
        release_b.send(()).unwrap();
        assert_eq!(other.await.unwrap().unwrap(), 3);
        release_a1.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        release_a2.send(()).unwrap();
        assert_eq!(second.await.unwrap().unwrap(), 2);
    }

    #[tokio::test]
    async fn calls_beyond_the_queue_are_refused_at_once_and_long_waits_in_time() {
        let admission = Arc::new(Admission::new(limits(1, 1, 300)));
        let (release, held_until) = channel();
        let running = spawn_held(&admission, "a", held_until, 1);
        settle().await;
        let waiting = tokio::spawn({
            let admission = admission.clone();
            async move { admission.run(|| "b".into(), "t", heavy(), |_| Ok(2)).await }
        });
        settle().await;
        let started = Instant::now();
        let refused = admission.run(|| "c".into(), "t", heavy(), |_| Ok(3)).await;
        assert!(matches!(refused, Err(ApiError::ResourceExhausted { .. })));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused at once"
        );
        let waited = waiting.await.unwrap();
        assert!(
            matches!(waited, Err(ApiError::ResourceExhausted { .. })),
            "gave up after the wait limit"
        );
        assert_eq!(queue_len(&admission), (1, 0), "the waiter left the queue");
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap(), 1);
        assert_eq!(queue_len(&admission), (0, 0));
    }

    #[tokio::test]
    async fn a_call_dropped_midway_stops_its_job_and_frees_the_thread() {
        let admission = Arc::new(Admission::new(limits(1, 1, 1000)));
        let (stopped, saw_stop) = channel();
        let call = tokio::spawn({
            let admission = admission.clone();
            async move {
                admission
                    .run(
                        || "a".into(),
                        "t",
                        heavy(),
                        move |interrupt| {
                            while interrupt.check().is_ok() {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                            stopped.send(()).unwrap();
                            Err::<(), _>(interrupt.check().unwrap_err().into())
                        },
                    )
                    .await
            }
        });
        settle().await;
        assert_eq!(queue_len(&admission), (1, 0));
        call.abort();
        tokio::task::spawn_blocking(move || saw_stop.recv_timeout(Duration::from_millis(500)))
            .await
            .unwrap()
            .expect("the job saw its interrupt");
        settle().await;
        assert_eq!(queue_len(&admission), (0, 0), "the thread is free again");
        let next = admission.run(|| "b".into(), "t", heavy(), |_| Ok(5)).await;
        assert_eq!(next.unwrap(), 5);
    }
}
