//! `prep` and `augment --out` on two processes over 127.0.0.1 (free ports chosen here): the same
//! bytes as one process; a peer that never connects is an error naming it.

use crate::cli_util::{bin, files_with, run_err, run_ok, synth};
use std::path::Path;
use std::process::Command;

/// Two free TCP ports on 127.0.0.1, written as a hostfile in `dir`.
fn hostfile(dir: &Path) -> std::path::PathBuf {
    let listeners: Vec<_> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let text: String = listeners
        .iter()
        .map(|l| format!("{}\n", l.local_addr().unwrap()))
        .collect();
    let path = dir.join("hosts.txt");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `args` as process 1 (background) and process 0 of a 2-process job; both must succeed.
fn two_processes(args: &[&str], hosts: &Path) {
    let with = |p: &str| {
        let mut c = bin();
        c.args(args)
            .args(["--workers", "1", "--processes", "2", "--process-id", p])
            .arg("--hostfile")
            .arg(hosts);
        c
    };
    let mut second = with("1").spawn().expect("spawn process 1");
    run_ok(&mut with("0"));
    assert!(second.wait().unwrap().success(), "process 1 failed");
}

fn dataset_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_with(dir, &["pfs", "json", "csv"])
}

#[test]
fn two_processes_write_the_same_bytes_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 30, 6, 64, 11);
    let hosts = hostfile(tmp.path());
    let input_s = input.to_str().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let prep = |out: &Path| -> Vec<String> {
        ["prep", "--input", input_s, "--out", out.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .chain(["--size", "48", "--shard-records", "4"].map(String::from))
            .collect()
    };
    run_ok(bin().args(prep(&one)).args(["--workers", "2"]));
    let args = prep(&two);
    two_processes(&args.iter().map(String::as_str).collect::<Vec<_>>(), &hosts);
    let (a, b) = (dataset_files(&one), dataset_files(&two));
    assert_eq!(a.len(), 11, "9 shards + manifest + folds.csv");
    assert_eq!(a, b, "2 processes must write the bytes of 1");

    let transforms = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo.toml");
    let augment = |out: &Path| -> Vec<String> {
        [
            "augment",
            "--shards",
            one.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(["--transforms", transforms.to_str().unwrap()].map(String::from))
        .chain(["--copies", "2", "--shard-records", "5"].map(String::from))
        .collect()
    };
    let (aug1, aug2) = (tmp.path().join("aug1"), tmp.path().join("aug2"));
    run_ok(bin().args(augment(&aug1)).args(["--workers", "1"]));
    let args = augment(&aug2);
    two_processes(&args.iter().map(String::as_str).collect::<Vec<_>>(), &hosts);
    let (a, b) = (dataset_files(&aug1), dataset_files(&aug2));
    assert_eq!(a.len(), 16, "15 shards + manifest");
    assert_eq!(a, b, "2 processes must write the bytes of 1");
}

#[test]
fn a_peer_that_never_connects_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 4, 0, 32, 1);
    let hosts = hostfile(tmp.path());
    let peer = std::fs::read_to_string(&hosts).unwrap();
    let peer = peer.lines().nth(1).unwrap().to_string();
    let err = run_err(
        Command::new(env!("CARGO_BIN_EXE_pneumoflow"))
            .args(["prep", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .args(["--size", "32", "--processes", "2", "--process-id", "0"])
            .args(["--connect-timeout", "1", "--hostfile"])
            .arg(&hosts),
    );
    assert!(
        err.contains(&format!("process(es) 1 ({peer}) did not connect")),
        "{err}"
    );
    assert!(!tmp.path().join("out/manifest.json").exists());
    let err = run_err(
        bin()
            .args(["prep", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .args(["--processes", "2", "--process-id", "2"]),
    );
    assert!(err.contains("--process-id 2 is out of range"), "{err}");
}

#[test]
fn a_peer_that_dies_stops_the_others_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 12, 0, 32, 4);
    let hosts = hostfile(tmp.path());
    let peer = std::fs::read_to_string(&hosts).unwrap();
    let peer = peer.lines().nth(1).unwrap().to_string();
    let out = tmp.path().join("out");
    // Process 1 panics on its first image (a debug-build fault injection); it fails fast, and
    // process 0 must stop too instead of waiting for it.
    let first_id = {
        let csv = std::fs::read_to_string(input.join("train-rle.csv")).unwrap();
        let mut ids: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids[1].clone() // fed by worker 1 = process 1
    };
    let with = |p: &str| {
        let mut c = bin();
        c.args(["prep", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--size", "32", "--shard-records", "2"])
            .args(["--workers", "1", "--processes", "2", "--process-id", p])
            .arg("--hostfile")
            .arg(&hosts);
        c
    };
    let second = with("1")
        .env("PNEUMOFLOW_TEST_PANIC_ON", &first_id)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = with("0").output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(3));
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("lost the connection to process 1 at {peer}")),
        "{err}"
    );
    assert!(!out.join("manifest.json").exists());
}
