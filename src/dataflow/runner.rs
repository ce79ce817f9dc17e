//! The generic dataflow runner: starts the workers of a `timely::Config` (threads, processes, or
//! a cluster whose peers are connected here with a timeout and clear errors), builds the
//! caller's graph on every worker behind a probe-gated source of items, gathers the graph's
//! output on worker 0 and returns it.
//!
//! Item `i` of the list is fed by process `i % processes`, whose worker threads claim its items
//! a few at a time, in order (a [`ClaimQueue`]). The returned records are those gathered by this
//! process's workers: all of them on process 0, none elsewhere.

use super::cluster::build_cluster;
use super::gated_source::{ClaimQueue, Gate, GatedSource};
use super::gather::Gather;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Probe;
use timely::dataflow::{Scope, StreamVec};
use timely::{CommunicationConfig, ExchangeData};

/// Why a dataflow could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataflowError {
    /// The cluster could not be formed (a peer did not connect, a port was taken, ...).
    #[error("{0}")]
    Cluster(String),
    /// Timely could not start the workers.
    #[error("cannot start the dataflow workers: {0}")]
    Start(String),
    /// A worker thread panicked (a bug); the message says where.
    #[error("dataflow worker {worker} panicked: {message}")]
    WorkerPanic {
        /// The worker's index in this process.
        worker: usize,
        /// The panic message.
        message: String,
    },
}

/// Where this worker sits: its index and the number of workers of the whole job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Index of this worker among all workers of all processes.
    pub index: usize,
    /// Workers of all processes.
    pub peers: usize,
}

/// How to run: the timely configuration, how long cluster peers may take to connect, and how
/// the source feeds.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Threads, processes, or a cluster (`CommunicationConfig::Cluster`).
    pub config: timely::Config,
    /// How long to wait for every cluster peer to connect.
    pub connect_timeout: Duration,
    /// Items per timestamp and timestamps in flight.
    pub gate: Gate,
    /// A token every process of a cluster must agree on (a hash of the job's plan).
    pub job: u64,
}

impl Execution {
    /// Runs on `config` with a 60 s connect timeout and the default gate.
    pub fn new(config: timely::Config) -> Execution {
        Execution {
            config,
            connect_timeout: Duration::from_secs(60),
            gate: Gate::default(),
            job: 0,
        }
    }

    /// `threads` worker threads in this process (one process).
    pub fn threads(threads: usize) -> Execution {
        Execution::new(if threads <= 1 {
            timely::Config::thread()
        } else {
            timely::Config::process(threads)
        })
    }

    /// Process `process` of a cluster whose processes listen on `addresses` (in process order),
    /// each with `threads` worker threads.
    pub fn cluster(threads: usize, process: usize, addresses: Vec<String>) -> Execution {
        Execution::new(timely::Config {
            communication: CommunicationConfig::Cluster {
                threads,
                process,
                addresses,
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        })
    }

    /// Sets how long cluster peers may take to connect.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Execution {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the gate.
    pub fn with_gate(mut self, gate: Gate) -> Execution {
        self.gate = gate;
        self
    }

    /// Sets the job token.
    pub fn with_job(mut self, job: u64) -> Execution {
        self.job = job;
        self
    }

    /// This process's index (0 unless it is one process of a cluster).
    pub fn process_index(&self) -> usize {
        match &self.config.communication {
            CommunicationConfig::Cluster { process, .. } => *process,
            _ => 0,
        }
    }

    /// The processes of the execution (1 unless it is a cluster).
    pub fn processes(&self) -> usize {
        match &self.config.communication {
            CommunicationConfig::Cluster { addresses, .. } => addresses.len().max(1),
            _ => 1,
        }
    }

    /// The worker threads of each process.
    pub fn threads_per_process(&self) -> usize {
        match &self.config.communication {
            CommunicationConfig::Thread => 1,
            CommunicationConfig::Process(threads)
            | CommunicationConfig::ProcessBinary(threads)
            | CommunicationConfig::Cluster { threads, .. } => (*threads).max(1),
        }
    }

    /// Whether this process collects the gathered output (process 0).
    pub fn is_first_process(&self) -> bool {
        self.process_index() == 0
    }
}

/// Runs the graph `build` on every worker of `execution` over `items` and returns the records
/// of its output stream gathered on worker 0 (in arrival order; sort them if order matters).
/// `observe` is called on worker 0 for each record as it arrives (progress reporting).
pub fn run_dataflow<I, R, B, O>(
    execution: &Execution,
    items: Arc<Vec<I>>,
    build: B,
    observe: O,
) -> Result<Vec<R>, DataflowError>
where
    I: Clone + Send + Sync + 'static,
    R: ExchangeData,
    B: for<'s> Fn(WorkerInfo, StreamVec<'s, usize, I>) -> StreamVec<'s, usize, R>
        + Send
        + Sync
        + 'static,
    O: Fn(&R) + Send + Sync + 'static,
{
    let (builders, others) = match &execution.config.communication {
        CommunicationConfig::Cluster {
            threads,
            process,
            addresses,
            ..
        } => build_cluster(
            *threads,
            *process,
            addresses,
            execution.connect_timeout,
            execution.job,
        )
        .map_err(|e| DataflowError::Cluster(e.to_string()))?,
        other => other.clone().try_build().map_err(DataflowError::Start)?,
    };
    let gate = execution.gate;
    let queue = Arc::new(ClaimQueue::new(
        items,
        execution.process_index(),
        execution.processes(),
        execution.threads_per_process(),
    ));
    let observe = Arc::new(observe);
    let guards = timely::execute::execute_from(
        builders,
        others,
        execution.config.worker.clone(),
        move |worker| {
            let info = WorkerInfo {
                index: worker.index(),
                peers: worker.peers(),
            };
            let collected = Rc::new(RefCell::new(Vec::<R>::new()));
            let sink = Rc::clone(&collected);
            let observe = Arc::clone(&observe);
            let source = worker.dataflow::<usize, _, _>(|scope: Scope<'_, usize>| {
                let (source, stream) = GatedSource::<I>::new(scope, gate);
                build(info, stream)
                    .gather()
                    .probe_with(source.probe())
                    .sink(Pipeline, "Collect", move |(input, _frontier)| {
                        input.for_each(|_cap, data| {
                            for r in data.drain(..) {
                                observe(&r);
                                sink.borrow_mut().push(r);
                            }
                        });
                    });
                source
            });
            source.feed(worker, &queue);
            while worker.step_or_park(None) {}
            let out = std::mem::take(&mut *collected.borrow_mut());
            out
        },
    )
    .map_err(DataflowError::Start)?;
    let mut all = Vec::new();
    for (worker, result) in guards.join().into_iter().enumerate() {
        match result {
            Ok(records) => all.extend(records),
            Err(message) => return Err(DataflowError::WorkerPanic { worker, message }),
        }
    }
    Ok(all)
}
