//! Worker and cluster flags shared by the dataflow commands (`--workers`, `--processes`,
//! `--process-id`, `--hostfile`), turned into an [`Execution`].

use anyhow::{bail, Context};
use clap::Args;
use pneumoflow::dataflow::Execution;
use std::path::PathBuf;
use std::time::Duration;

/// Where the dataflow runs: threads per process and, optionally, several processes.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Worker threads per process (default: all cores).
    #[arg(long, short = 'w', value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    /// Processes in the job (each runs the same command with its own --process-id).
    #[arg(long, short = 'n', default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub processes: u64,
    /// This process's index, 0..processes; process 0 writes the manifest.
    #[arg(long, short = 'p', visible_alias = "process", default_value_t = 0)]
    pub process_id: u64,
    /// File with one `host:port` per line, in process order (default: 127.0.0.1:2101+i).
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// Seconds to wait for every process to connect.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub connect_timeout: u64,
}

/// The machine's cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl ClusterArgs {
    /// Threads per process.
    pub fn threads(&self) -> usize {
        self.workers
            .map(|w| w as usize)
            .unwrap_or_else(default_workers)
    }

    /// Whether this process collects results and writes the manifest.
    pub fn is_first_process(&self) -> bool {
        self.process_id == 0
    }

    /// A one-line description (`2 worker(s)` or `2 worker(s) x 3 processes`).
    pub fn describe(&self) -> String {
        if self.processes > 1 {
            format!(
                "{} worker(s) in each of {} processes (this is process {})",
                self.threads(),
                self.processes,
                self.process_id
            )
        } else {
            format!("{} worker(s)", self.threads())
        }
    }

    /// The execution; `job` is a token every process must agree on.
    pub fn execution(&self, job: u64) -> anyhow::Result<Execution> {
        let threads = self.threads();
        let (n, p) = (self.processes as usize, self.process_id as usize);
        if p >= n {
            bail!("--process-id {p} is out of range for --processes {n} (0..{n})");
        }
        if n == 1 {
            if self.hostfile.is_some() {
                bail!("--hostfile needs --processes > 1");
            }
            return Ok(Execution::threads(threads).with_job(job));
        }
        let addresses = match &self.hostfile {
            Some(path) => read_hostfile(path, n)?,
            None => (0..n).map(|i| format!("127.0.0.1:{}", 2101 + i)).collect(),
        };
        crate::cli::fail_fast::set_peers(addresses.clone());
        let execution = Execution::cluster(threads, p, addresses)
            .with_job(job)
            .with_connect_timeout(Duration::from_secs(self.connect_timeout));
        Ok(execution)
    }
}

/// Reads `n` `host:port` lines (blank lines and `#` comments skipped).
fn read_hostfile(path: &std::path::Path, n: usize) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hosts = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line
            .rsplit_once(':')
            .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok())
        {
            bail!(
                "{}:{}: expected host:port, found {line:?}",
                path.display(),
                line_no + 1
            );
        }
        hosts.push(line.to_string());
    }
    if hosts.len() < n {
        bail!(
            "{} lists {} host(s), --processes is {n}",
            path.display(),
            hosts.len()
        );
    }
    hosts.truncate(n);
    Ok(hosts)
}
