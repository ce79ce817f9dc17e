//! Helpers shared by the CLI tests: run the `pneumoflow` binary, make a small synthetic SIIM
//! dataset, write a prediction set, list and checksum shard files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A `Command` for the `pneumoflow` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pneumoflow"))
}

/// Runs `cmd` and asserts it succeeded, printing its output otherwise.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn pneumoflow");
    assert!(
        out.status.success(),
        "command failed: {cmd:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, asserts it failed, and returns its stderr.
pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn pneumoflow");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "command should have failed: {cmd:?}\nstdout:\n{}\nstderr:\n{err}",
        String::from_utf8_lossy(&out.stdout),
    );
    err
}

/// `pneumoflow synth` into `dir/siim`: `train` + `test` images of `size`², the given seed.
pub fn synth(dir: &Path, train: usize, test: usize, size: usize, seed: u64) -> PathBuf {
    let input = dir.join("siim");
    run_ok(bin().args(["synth", "--out"]).arg(&input).args([
        "--train",
        &train.to_string(),
        "--test",
        &test.to_string(),
        "--size",
        &size.to_string(),
        "--seed",
        &seed.to_string(),
    ]));
    input
}

/// A synthetic dataset (`synth` with `train`/`test`/`size`/`seed`) prepped into `dir/shards`
/// with 3 stratified folds (fold seed `fold_seed`); returns the shards directory.
pub fn prepped(
    dir: &Path,
    (train, test, size, seed): (usize, usize, usize, u64),
    fold_seed: u64,
) -> PathBuf {
    let input = synth(dir, train, test, size, seed);
    let shards = dir.join("shards");
    let (size, fold_seed) = (size.to_string(), fold_seed.to_string());
    prep(
        &input,
        &shards,
        &["--size", &size, "--n-folds", "3", "--seed", &fold_seed],
    );
    shards
}

/// `pneumoflow prep --input INPUT --out OUT ARGS...`, which must succeed.
pub fn prep(input: &Path, out: &Path, args: &[&str]) -> Output {
    run_ok(
        bin()
            .args(["prep", "--input"])
            .arg(input)
            .arg("--out")
            .arg(out)
            .args(args),
    )
}

/// Files of `dir` with one of the extensions, as (name, bytes), sorted by name.
pub fn files_with(dir: &Path, extensions: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| extensions.iter().any(|e| x == *e))
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The shard files of `dir`, as (name, bytes), sorted by name.
pub fn shard_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_with(dir, &["pfs"])
}

/// FNV-1a 64 of `bytes`, as 16 hex digits.
pub fn fnv_hex(bytes: &[u8]) -> String {
    format!(
        "{:016x}",
        data_prep::shard::format::Fnv64::default().write(bytes).0
    )
}

/// Checksum of a shard's content: everything after the 72-byte header (record payloads, index,
/// id table). The header is left out because its fingerprint hashes the input paths and
/// modification times, which differ from run to run; the index covers every record's place,
/// size, CRC32 and metadata.
pub fn shard_content_checksum(bytes: &[u8]) -> String {
    fnv_hex(&bytes[data_prep::shard::format::HEADER_LEN..])
}

/// Writes `records` as a prediction set at `dir`: shards of `per_shard` records at zstd level 1,
/// then the manifest (`side`², source `source`), as `pneumoflow predict` leaves one.
pub fn write_prediction_set(
    dir: &Path,
    side: usize,
    records: &[data_prep::shard::Record],
    per_shard: usize,
    source: serde_json::Value,
) {
    use data_prep::shard::{encode_record, shard_file_name, write_shard};
    std::fs::create_dir_all(dir).unwrap();
    let ranges = data_prep::ingest::shard_ranges(records.len(), per_shard);
    for (s, r) in ranges.iter().enumerate() {
        let encoded: Vec<_> = records[r.clone()]
            .iter()
            .map(|rec| encode_record(rec, 1).unwrap())
            .collect();
        write_shard(&dir.join(shard_file_name(s)), &encoded, s as u64).unwrap();
    }
    let files: Vec<String> = (0..ranges.len()).map(shard_file_name).collect();
    pneumoflow::data::writer::manifest_from_shards(dir, side as u32, &files, source)
        .unwrap()
        .save(dir)
        .unwrap();
}
