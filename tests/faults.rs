//! Fault injection through the CLI: corrupted and truncated DICOMs, CSV and folds variants,
//! damaged shards and manifests, non-dataset output directories, concurrent writers, kill -9 at
//! several points and a file-size limit (a full disk). Every case asserts the exit code, that
//! the message names the file / record / key, that nothing panicked or hung (each command runs
//! under a timeout), and that a good dataset or user file present before is byte-identical
//! after.

use crate::cli_util::{bin, shard_content_checksum, shard_files};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` with a timeout; fails the test if it hangs.
fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("hung for {TIMEOUT:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd`, which must fail cleanly with exit code 2; returns stderr.
fn fails(cmd: &mut Command) -> String {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a clean failure (exit 2): {cmd:?}\nstderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        err.starts_with("error: ") || err.contains("\nerror: "),
        "{err}"
    );
    err
}

/// Runs `cmd`, which must succeed; returns stderr.
fn succeeds(cmd: &mut Command) -> String {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "command failed: {cmd:?}\nstderr:\n{err}"
    );
    err
}

/// Every file below `dir` (relative path → bytes).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Shard file names and content checksums (everything after the header).
fn contents(dir: &Path) -> Vec<(String, String)> {
    shard_files(dir)
        .into_iter()
        .map(|(n, b)| (n, shard_content_checksum(&b)))
        .collect()
}

/// A small SIIM input (8 train + 2 test images of 32²) and its prepped dataset.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    input: PathBuf,
    shards: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let input = crate::cli_util::synth(&root, 8, 2, 32, 21);
    let shards = root.join("shards");
    succeeds(&mut prep(&input, &shards));
    Fixture {
        _tmp: tmp,
        root,
        input,
        shards,
    }
}

fn prep(input: &Path, out: &Path) -> Command {
    let mut c = bin();
    c.args(["prep", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--size", "32", "--shard-records", "3", "--workers", "2"]);
    c
}

/// A copy of the SIIM input with `edit` applied to it.
fn input_copy(f: &Fixture, name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dst = f.root.join(name);
    copy_dir(&f.input, &dst);
    edit(&dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &to);
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
}

/// The first training DICOM of an input root.
fn first_dicom(root: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root.join("dicom-images-train")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "dcm") {
                found.push(p);
            }
        }
    }
    found.sort();
    found.remove(0)
}

fn patch(path: &Path, at_tag: &[u8], offset: usize, bytes: &[u8]) {
    let mut b = std::fs::read(path).unwrap();
    let i = b
        .windows(at_tag.len())
        .position(|w| w == at_tag)
        .expect("tag present");
    b[i + offset..i + offset + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, b).unwrap();
}

#[test]
fn broken_dicoms_fail_naming_the_file_without_panic_or_runaway_memory() {
    let f = fixture();
    type Edit = fn(&Path);
    let cases: [(&str, Edit); 6] = [
        ("truncated", |p| {
            let b = std::fs::read(p).unwrap();
            std::fs::write(p, &b[..b.len() / 2]).unwrap();
        }),
        ("garbage", |p| std::fs::write(p, vec![0x5a; 3000]).unwrap()),
        ("empty", |p| std::fs::write(p, b"").unwrap()),
        // Rows = Columns = 0 (explicit VR little endian: tag, "US", length 2, value).
        ("zero-size", |p| {
            patch(p, b"\x28\x00\x10\x00US", 8, &[0, 0]);
            patch(p, b"\x28\x00\x11\x00US", 8, &[0, 0]);
        }),
        // Pixel Data declares 0xFFFFFFF0 bytes in a 5 KB file.
        ("huge-length", |p| {
            patch(
                p,
                b"\xe0\x7f\x10\x00OB\x00\x00",
                8,
                &[0xf0, 0xff, 0xff, 0xff],
            )
        }),
        ("directory", |p| {
            std::fs::remove_file(p).unwrap();
            std::fs::create_dir(p).unwrap();
        }),
    ];
    for (name, edit) in cases {
        let input = input_copy(&f, name, |root| edit(&first_dicom(root)));
        // The file edited (for "directory" it is no longer a file, so take it from the original).
        let bad = first_dicom(&f.input);
        let out = f.root.join(format!("out-{name}"));
        // A 2 GiB address-space limit: declared lengths must be refused before allocating.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -v 2097152; exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_pneumoflow"))
            .args(["prep", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--size", "32", "--shard-records", "3", "--workers", "2"]);
        let err = fails(&mut cmd);
        let file = bad.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            err.contains(&file),
            "{name}: message must name the file:\n{err}"
        );
        assert!(!out.join("manifest.json").exists(), "{name}: no manifest");
        // The other shards are complete: fixing the input and re-running finishes the job.
        std::fs::remove_dir_all(&input).unwrap();
        copy_dir(&f.input, &input);
        succeeds(&mut prep(&input, &out));
        // The same records (headers differ: their fingerprints hash the input paths).
        assert_eq!(
            contents(&out),
            contents(&f.shards),
            "{name}: resumed output"
        );
    }
}

#[test]
fn csv_and_folds_faults_are_named() {
    let f = fixture();
    let csv = |root: &Path| root.join("train-rle.csv");
    // A malformed RLE row names the CSV line and the image.
    let input = input_copy(&f, "bad-rle", |root| {
        let text = std::fs::read_to_string(csv(root)).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let (id, _) = lines[1].split_once(',').unwrap();
        lines[1] = format!("{id}, 5 3 7");
        std::fs::write(csv(root), lines.join("\n") + "\n").unwrap();
    });
    let err = fails(&mut prep(&input, &f.root.join("o1")));
    assert!(
        err.contains("train-rle.csv:2") && err.contains("image"),
        "{err}"
    );
    // A missing CSV names the expected path.
    let input = input_copy(&f, "no-csv", |root| {
        std::fs::remove_file(csv(root)).unwrap()
    });
    let err = fails(&mut prep(&input, &f.root.join("o2")));
    assert!(
        err.contains("train-rle.csv") && err.contains("missing"),
        "{err}"
    );
    // A wrong header.
    let input = input_copy(&f, "bad-header", |root| {
        let text = std::fs::read_to_string(csv(root)).unwrap();
        std::fs::write(csv(root), text.replacen("ImageId", "Image", 1)).unwrap();
    });
    let err = fails(&mut prep(&input, &f.root.join("o3")));
    assert!(
        err.contains("header") && err.contains("train-rle.csv"),
        "{err}"
    );
    // A duplicated RLE row is reported (not counted twice); --strict makes it an error.
    let input = input_copy(&f, "dup-row", |root| {
        let text = std::fs::read_to_string(csv(root)).unwrap();
        let row = text
            .lines()
            .skip(1)
            .find(|l| !l.ends_with("-1"))
            .unwrap()
            .to_string();
        std::fs::write(csv(root), format!("{text}{row}\n")).unwrap();
    });
    let err = succeeds(&mut prep(&input, &f.root.join("o4")));
    assert!(err.to_lowercase().contains("duplicate"), "{err}");
    let err = fails(prep(&input, &f.root.join("o5")).arg("--strict"));
    assert!(err.to_lowercase().contains("duplicate"), "{err}");
    // A folds file with a bad fold value names the file and line.
    let folds = f.root.join("folds-bad.csv");
    std::fs::write(&folds, "fname,fold,exist_labels\nabc.png,x,0\n").unwrap();
    let err = fails(
        prep(&f.input, &f.root.join("o6"))
            .arg("--folds")
            .arg(&folds),
    );
    assert!(err.contains("folds-bad.csv:2"), "{err}");
}

#[test]
fn damaged_shards_and_manifests_are_refused_naming_what_is_wrong() {
    let f = fixture();
    let inspect = |dir: &Path| {
        let mut c = bin();
        c.arg("inspect").arg(dir).arg("--verify");
        c
    };
    let damaged = |name: &str, edit: &dyn Fn(&Path)| -> (PathBuf, String) {
        let dir = f.root.join(name);
        copy_dir(&f.shards, &dir);
        edit(&dir);
        let err = fails(&mut inspect(&dir));
        (dir, err)
    };
    // A flipped payload byte: verify names shard, record and id.
    let (_, err) = damaged("flip", &|d| {
        let p = d.join("shard-00001.pfs");
        let mut b = std::fs::read(&p).unwrap();
        b[4096 + 10] ^= 0x40;
        std::fs::write(&p, b).unwrap();
    });
    assert!(
        err.contains("shard-00001.pfs") && err.contains("record 0"),
        "{err}"
    );
    // A truncated shard and a missing shard name the file.
    let (_, err) = damaged("trunc", &|d| {
        let p = d.join("shard-00002.pfs");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 7]).unwrap();
    });
    assert!(err.contains("shard-00002.pfs"), "{err}");
    let (_, err) = damaged("missing", &|d| {
        std::fs::remove_file(d.join("shard-00000.pfs")).unwrap()
    });
    assert!(err.contains("shard-00000.pfs"), "{err}");
    // Manifest edits: a record removed, a wrong size, a path outside the dataset.
    let edit_manifest = |d: &Path, f: &dyn Fn(&mut serde_json::Value)| {
        let p = d.join("manifest.json");
        let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        f(&mut m);
        std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    };
    let (_, err) = damaged("no-record", &|d| {
        edit_manifest(d, &|m| {
            m["records"].as_array_mut().unwrap().remove(4);
        })
    });
    assert!(err.contains("manifest.json"), "{err}");
    let (_, err) = damaged("size", &|d| edit_manifest(d, &|m| m["size"] = 64.into()));
    assert!(err.contains("manifest.json") && err.contains("64"), "{err}");
    let (_, err) = damaged("escape", &|d| {
        edit_manifest(d, &|m| {
            m["shards"][0]["file"] = "../shards/shard-00000.pfs".into()
        })
    });
    assert!(err.contains("../shards/shard-00000.pfs"), "{err}");
    let (_, err) = damaged("absolute", &|d| {
        let abs = f.shards.join("shard-00000.pfs").display().to_string();
        edit_manifest(d, &|m| m["shards"][0]["file"] = abs.clone().into())
    });
    assert!(err.contains("shard-00000.pfs"), "{err}");
    // augment over a corrupted dataset names the record and writes no manifest.
    let (dir, _) = damaged("flip2", &|d| {
        let p = d.join("shard-00001.pfs");
        let mut b = std::fs::read(&p).unwrap();
        b[4096 + 10] ^= 0x40;
        std::fs::write(&p, b).unwrap();
    });
    let out = f.root.join("aug-of-flip");
    let tf = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo.toml");
    let err = fails(
        bin()
            .args(["augment", "--shards"])
            .arg(&dir)
            .arg("--transforms")
            .arg(&tf)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("shard-00001.pfs: record 0"), "{err}");
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn writes_never_destroy_what_is_there() {
    let f = fixture();
    // A directory that is not a dataset is refused, and left as it was.
    for (name, content) in [
        ("notes.txt", &b"my notes"[..]),
        ("shard-99999.pfs", &b"my own shard-named file"[..]),
        ("manifest.json", &b"{\"mine\": true}"[..]),
    ] {
        let out = f.root.join(format!("user-{name}"));
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join(name), content).unwrap();
        let before = snapshot(&out);
        let err = fails(&mut prep(&f.input, &out));
        assert!(err.contains(name) && err.contains("--force"), "{err}");
        assert_eq!(snapshot(&out), before, "{name} must be untouched");
    }
    // --force writes the dataset beside a user's file and leaves the file alone.
    let out = f.root.join("user-notes.txt");
    succeeds(prep(&f.input, &out).arg("--force"));
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"my notes");
    // export never overwrites a file of the dataset it reads.
    let shard = f.shards.join("shard-00000.pfs");
    let before = snapshot(&f.shards);
    let ids = run(bin().arg("inspect").arg(&f.shards).arg("--ids"));
    let id = String::from_utf8_lossy(&ids.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let err = fails(
        bin()
            .arg("export")
            .arg(&f.shards)
            .args(["--id", &id, "--image"])
            .arg(&shard),
    );
    assert!(
        err.contains("shard-00000.pfs") && err.contains("being read"),
        "{err}"
    );
    let png = f.root.join("same.png");
    let err = fails(
        bin()
            .arg("export")
            .arg(&f.shards)
            .args(["--id", &id, "--image"])
            .arg(&png)
            .arg("--mask")
            .arg(&png),
    );
    assert!(err.contains("same file"), "{err}");
    // A test record has no mask: neither half of the export is written.
    let test_id = String::from_utf8_lossy(&ids.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let (img, mask) = (f.root.join("t.png"), f.root.join("t-mask.png"));
    fails(
        bin()
            .arg("export")
            .arg(&f.shards)
            .args(["--id", &test_id, "--image"])
            .arg(&img)
            .arg("--mask")
            .arg(&mask),
    );
    assert!(!img.exists() && !mask.exists());
    // prep and augment never write into their inputs.
    let err = fails(&mut prep(&f.input, &f.input));
    assert!(err.contains("input"), "{err}");
    let tf = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/demo.toml");
    let err = fails(
        bin()
            .args(["augment", "--shards"])
            .arg(&f.shards)
            .arg("--transforms")
            .arg(&tf)
            .arg("--out")
            .arg(f.shards.join("inside")),
    );
    assert!(err.contains("input dataset"), "{err}");
    assert_eq!(snapshot(&f.shards), before);
    // An id in both train and test is found before anything is written.
    let input = input_copy(&f, "train-test", |root| {
        let train = first_dicom(root);
        let dir = root.join("dicom-images-test").join("x");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&train, dir.join(train.file_name().unwrap())).unwrap();
    });
    let good = f.root.join("good-copy");
    copy_dir(&f.shards, &good);
    let before = snapshot(&good);
    let err = fails(&mut prep(&input, &good));
    assert!(err.contains("dicom-images-test"), "{err}");
    assert_eq!(
        snapshot(&good),
        before,
        "a good dataset survives a refused run"
    );
}

#[test]
fn a_second_writer_is_refused_naming_the_holder() {
    let f = fixture();
    let out = f.root.join("locked");
    let _held = pneumoflow::data::writer::DatasetLock::acquire(&out, "the first run").unwrap();
    let err = fails(&mut prep(&f.input, &out));
    assert!(
        err.contains("being written by another pneumoflow run")
            && err.contains("the first run")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn config_and_flag_faults_are_refused_naming_the_key() {
    let f = fixture();
    let tf = f.root.join("t.toml");
    std::fs::write(
        &tf,
        "[augment]\np = 1.0\n[[augment.transforms]]\ntype = \"ElasticTransform\"\nalpha = 1e30\nsigma = 6.0\n",
    )
    .unwrap();
    let preview = |extra: &[&str]| {
        let mut c = bin();
        c.args(["augment", "--shards"])
            .arg(&f.shards)
            .arg("--transforms")
            .arg(&tf)
            .arg("--preview")
            .arg(f.root.join("p.png"))
            .args(extra);
        c
    };
    let err = fails(&mut preview(&[]));
    assert!(
        err.contains("t.toml")
            && err.contains("ElasticTransform.alpha")
            && err.contains("must be within"),
        "{err}"
    );
    let err = fails(&mut preview(&[
        "--set",
        "augment.transforms[0].alpha=120",
        "--set",
        "data.sise=3",
    ]));
    assert!(err.contains("data.sise"), "{err}");
    let err = fails(&mut preview(&["--set", "augment.transforms[3].p=1"]));
    assert!(err.contains("augment.transforms has 1 element(s)"), "{err}");
    let err = fails(
        bin()
            .args(["prep", "--input"])
            .arg(&f.input)
            .arg("--out")
            .arg(f.root.join("w0"))
            .args(["--workers", "0"]),
    );
    assert!(err.contains("--workers") && err.contains('0'), "{err}");
    let err = fails(bin().args([
        "model", "summary", "--model", "albunet", "--batch", "37000000",
    ]));
    assert!(err.contains("--batch") && err.contains("37000000"), "{err}");
}

#[test]
fn kill_9_at_any_moment_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = crate::cli_util::synth(tmp.path(), 60, 10, 128, 5);
    let clean = tmp.path().join("clean");
    succeeds(&mut prep(&input, &clean));
    let want = shard_files(&clean);
    for (i, delay_ms) in [5u64, 40, 120, 400].into_iter().enumerate() {
        let out = tmp.path().join(format!("killed{i}"));
        let mut child = prep(&input, &out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !out.join("manifest.json").exists() {
            // Unfinished: no reader accepts it.
            fails(bin().arg("inspect").arg(&out));
        }
        succeeds(&mut prep(&input, &out));
        assert_eq!(
            shard_files(&out),
            want,
            "resumed after kill at {delay_ms} ms"
        );
    }
    // Killed while re-writing over a good dataset: the old dataset stays readable throughout.
    let good = tmp.path().join("killed0");
    for delay_ms in [20u64, 150] {
        let mut child = prep(&input, &good)
            .args(["--level", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        succeeds(bin().arg("inspect").arg(&good).arg("--verify"));
    }
}

#[test]
fn a_full_disk_is_an_output_error_and_a_rerun_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = crate::cli_util::synth(tmp.path(), 12, 0, 128, 9);
    let out = tmp.path().join("out");
    let args = |c: &mut Command| {
        c.args(["prep", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--size", "128", "--shard-records", "4", "--level", "19"]);
    };
    // RLIMIT_FSIZE of 40 KiB (ulimit -f counts 1 KiB blocks), SIGXFSZ ignored so writes fail
    // with EFBIG as they would with ENOSPC.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 40; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_pneumoflow"));
    args(&mut cmd);
    let err = fails(&mut cmd);
    assert!(
        err.contains("could not write") && err.contains("nothing is wrong with the inputs"),
        "{err}"
    );
    assert!(!out.join("manifest.json").exists());
    let mut again = bin();
    args(&mut again);
    succeeds(&mut again);
    succeeds(bin().arg("inspect").arg(&out).arg("--verify"));
}

#[test]
fn a_panicking_worker_stops_the_job_instead_of_hanging() {
    let f = fixture();
    let ids = run(bin().arg("inspect").arg(&f.shards).arg("--ids"));
    let victim = String::from_utf8_lossy(&ids.stdout)
        .lines()
        .nth(3)
        .unwrap()
        .to_string();
    let out = f.root.join("panicked");
    let result = run(prep(&f.input, &out).env("PNEUMOFLOW_TEST_PANIC_ON", &victim));
    let err = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(3), "{err}");
    assert!(
        err.contains("internal error in timely:work-") && err.contains(&victim),
        "{err}"
    );
    assert!(!out.join("manifest.json").exists());
    succeeds(&mut prep(&f.input, &out));
}

#[test]
fn an_unknown_host_memory_setting_is_refused_naming_the_variable_and_value() {
    for command in [["inspect", "."], ["train", "missing.toml"]] {
        let message = fails(bin().args(command).env("PNEUMOFLOW_HOST_MEMORY", "off"));
        assert!(
            message.contains("PNEUMOFLOW_HOST_MEMORY=\"off\": unknown value"),
            "{command:?}: {message}"
        );
    }
}
