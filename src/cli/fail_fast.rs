//! Fail fast: a panic in any thread ends the process with a clear message and exit code 3.
//!
//! In a dataflow, the other workers would otherwise wait forever for a worker that panicked,
//! and timely's networking threads panic when a peer process disappears. Nothing half-written is
//! lost by exiting: every output file is written atomically, the manifest last, and a re-run
//! resumes.

use std::sync::OnceLock;

/// Exit code of a process stopped by a panic or a lost peer.
pub const EXIT_PANIC: i32 = 3;

static PEERS: OnceLock<Vec<String>> = OnceLock::new();

/// Records the cluster's process addresses, so a lost connection names the peer.
pub fn set_peers(addresses: Vec<String>) {
    let _ = PEERS.set(addresses);
}

/// Installs the panic hook.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed thread").to_string();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let peer = name
            .strip_prefix("timely:recv-")
            .or_else(|| name.strip_prefix("timely:send-"))
            .and_then(|i| i.parse::<usize>().ok());
        match peer {
            Some(p) => {
                let address = PEERS
                    .get()
                    .and_then(|a| a.get(p))
                    .map(|a| format!(" at {a}"))
                    .unwrap_or_default();
                eprintln!(
                    "error: lost the connection to process {p}{address} ({message}); \
                     stopping: no manifest was written, re-run every process to resume"
                );
            }
            None => {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                eprintln!(
                    "error: internal error in {name}: {message}{at}; stopping: \
                     completed shards are kept, no manifest was written, a re-run resumes \
                     (please report this)"
                );
            }
        }
        std::process::exit(EXIT_PANIC);
    }));
}
