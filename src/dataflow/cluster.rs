//! Forming a cluster of processes: connects every pair of processes over TCP (timely's
//! protocol: process `i` dials every `j < i` and accepts every `j > i`), with a deadline and
//! errors that name the peer, then hands the sockets to timely's networking.
//!
//! Before the sockets go to timely, both ends exchange a greeting (magic, process index,
//! process count, job token), so a process of another job or another cluster size is refused
//! by name instead of corrupting the run.

use std::any::Any;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use thiserror::Error;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};

const MAGIC: [u8; 8] = *b"PNFLOW01";

/// Why the cluster could not be formed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The address list does not fit the process index.
    #[error("process index {process} is out of range for {processes} process address(es)")]
    BadIndex {
        /// This process's index.
        process: usize,
        /// Addresses given.
        processes: usize,
    },
    /// This process could not listen on its own address.
    #[error("process {process} cannot listen on {address}: {source}")]
    Listen {
        /// This process's index.
        process: usize,
        /// Its address.
        address: String,
        /// The socket error.
        source: io::Error,
    },
    /// A peer did not accept a connection before the deadline.
    #[error("process {peer} at {address} did not accept a connection within {seconds} s (last error: {last})")]
    Dial {
        /// The peer's index.
        peer: usize,
        /// Its address.
        address: String,
        /// The deadline in seconds.
        seconds: u64,
        /// The last connection error.
        last: String,
    },
    /// Some peers did not connect before the deadline.
    #[error("process(es) {missing} did not connect to {address} within {seconds} s; start every process with the same hostfile and --processes")]
    Missing {
        /// The peers that did not connect (`1 (host:port), 2 (host:port)`).
        missing: String,
        /// This process's address.
        address: String,
        /// The deadline in seconds.
        seconds: u64,
    },
    /// A peer answered, but not as a process of this job.
    #[error("{address}: {problem}")]
    Handshake {
        /// The peer's address.
        address: String,
        /// What did not match.
        problem: String,
    },
    /// Timely's networking could not start on the connected sockets.
    #[error("cannot start networking: {0}")]
    Networking(io::Error),
}

/// Connects this process (`process` of `addresses.len()`) to all the others, then builds
/// timely's allocators for `threads` workers per process. `job` must be equal on every process
/// (a hash of the job's plan): a peer with another token is refused.
pub fn build_cluster(
    threads: usize,
    process: usize,
    addresses: &[String],
    timeout: Duration,
    job: u64,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn Any + Send>), ClusterError> {
    let sockets = connect_peers(process, addresses, timeout, job)?;
    let hooks = Hooks::default();
    let local =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(local, sockets, process, threads, hooks)
            .map_err(ClusterError::Networking)?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}

/// One socket per other process, in process order (`None` at `process`).
pub fn connect_peers(
    process: usize,
    addresses: &[String],
    timeout: Duration,
    job: u64,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let n = addresses.len();
    if process >= n {
        return Err(ClusterError::BadIndex {
            process,
            processes: n,
        });
    }
    let deadline = Instant::now() + timeout;
    let seconds = timeout.as_secs();
    let me = &addresses[process];
    // Listen first, so that peers dialling us while we dial others are queued.
    let listener = if process + 1 < n {
        let l = TcpListener::bind(me.as_str()).map_err(|source| ClusterError::Listen {
            process,
            address: me.clone(),
            source,
        })?;
        l.set_nonblocking(true)
            .map_err(|source| ClusterError::Listen {
                process,
                address: me.clone(),
                source,
            })?;
        Some(l)
    } else {
        None
    };
    let mut sockets: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    for (peer, address) in addresses.iter().enumerate().take(process) {
        let stream = loop {
            let error = match TcpStream::connect(address.as_str()) {
                Ok(s) => break s,
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(ClusterError::Dial {
                    peer,
                    address: address.clone(),
                    seconds,
                    last: error.to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stream = stream;
        greet(&mut stream, process, n, job).map_err(|e| handshake(address, e))?;
        let (their, _) =
            read_greeting(&mut stream, n, job, deadline).map_err(|e| handshake(address, e))?;
        if their != peer {
            return Err(handshake(
                address,
                format!("answered as process {their}, expected process {peer}"),
            ));
        }
        sockets[peer] = Some(stream);
    }
    if let Some(listener) = listener {
        while sockets[process + 1..].iter().any(Option::is_none) {
            match listener.accept() {
                Ok((mut stream, remote)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(ClusterError::Networking)?;
                    let remote = remote.to_string();
                    greet(&mut stream, process, n, job).map_err(|e| handshake(&remote, e))?;
                    let (their, _) = read_greeting(&mut stream, n, job, deadline)
                        .map_err(|e| handshake(&remote, e))?;
                    if their <= process || sockets[their].is_some() {
                        return Err(handshake(
                            &remote,
                            format!("connected as process {their}, which process {process} does not expect"),
                        ));
                    }
                    sockets[their] = Some(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let missing: Vec<String> = (process + 1..n)
                            .filter(|&j| sockets[j].is_none())
                            .map(|j| format!("{j} ({})", addresses[j]))
                            .collect();
                        return Err(ClusterError::Missing {
                            missing: missing.join(", "),
                            address: me.clone(),
                            seconds,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(ClusterError::Networking(e)),
            }
        }
    }
    for s in sockets.iter().flatten() {
        s.set_nodelay(true).map_err(ClusterError::Networking)?;
    }
    Ok(sockets)
}

fn handshake(address: &str, problem: impl Into<String>) -> ClusterError {
    ClusterError::Handshake {
        address: address.to_string(),
        problem: problem.into(),
    }
}

fn greet(stream: &mut TcpStream, process: usize, n: usize, job: u64) -> Result<(), String> {
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&(process as u64).to_be_bytes());
    b.extend_from_slice(&(n as u64).to_be_bytes());
    b.extend_from_slice(&job.to_be_bytes());
    stream
        .write_all(&b)
        .map_err(|e| format!("cannot send the greeting: {e}"))
}

/// Reads a peer's greeting; returns its process index and job token after checking them.
fn read_greeting(
    stream: &mut TcpStream,
    n: usize,
    job: u64,
    deadline: Instant,
) -> Result<(usize, u64), String> {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream
        .set_read_timeout(Some(left))
        .map_err(|e| e.to_string())?;
    let mut b = [0u8; 32];
    stream.read_exact(&mut b).map_err(|e| {
        format!("no greeting from the peer ({e}); is it a pneumoflow process of this job?")
    })?;
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    if b[..8] != MAGIC {
        return Err("not a pneumoflow process (bad greeting)".into());
    }
    let word = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let (their, their_n, their_job) = (word(8) as usize, word(16) as usize, word(24));
    if their_n != n {
        return Err(format!(
            "process {their} was started with {their_n} processes, this one with {n}"
        ));
    }
    if their >= n {
        return Err(format!(
            "process index {their} is out of range for {n} processes"
        ));
    }
    if their_job != job {
        return Err(format!(
            "process {their} runs a different job (token {their_job:016x}, ours {job:016x}); start every process with the same inputs and settings"
        ));
    }
    Ok((their, their_job))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_addresses(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect()
    }

    #[test]
    fn three_processes_connect_and_a_missing_peer_is_named() {
        let addrs = free_addresses(3);
        let handles: Vec<_> = (0..3)
            .map(|p| {
                let a = addrs.clone();
                std::thread::spawn(move || {
                    connect_peers(p, &a, Duration::from_secs(10), 7)
                        .map(|s| s.iter().map(Option::is_some).collect::<Vec<_>>())
                })
            })
            .collect();
        for (p, h) in handles.into_iter().enumerate() {
            let got = h.join().unwrap().unwrap();
            assert_eq!(got, (0..3).map(|j| j != p).collect::<Vec<_>>());
        }
        let addrs = free_addresses(2);
        let err = connect_peers(0, &addrs, Duration::from_millis(300), 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("1 ({})", addrs[1])), "{err}");
        let err = connect_peers(1, &addrs, Duration::from_millis(300), 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("process 0 at {}", addrs[0])), "{err}");
    }

    #[test]
    fn a_process_of_another_job_is_refused() {
        let addrs = free_addresses(2);
        let a = addrs.clone();
        let h = std::thread::spawn(move || connect_peers(0, &a, Duration::from_secs(5), 1));
        let err = connect_peers(1, &addrs, Duration::from_secs(5), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("different job"), "{err}");
        let _ = h.join();
    }
}
