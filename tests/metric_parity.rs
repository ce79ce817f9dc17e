//! Parity of `pneumoflow::metric`'s contour code with OpenCV 4.8.1 (numpy 1.23.5).
//!
//! Replays every case of `tests/fixtures/metric/manifest.json`, written by
//! `tests/fixtures/metric/gen_metric_fixtures.py` with the real `cv2`: the contours of
//! `findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)` (same order, same points, same parents and hole
//! flags), `contourArea` of each (equal as f64), and the solution's `remove_smallest` /
//! `extract_largest` outputs with zero differing pixels.

use pneumoflow::metric::{ContourFinder, Contours, PostProcessor};
use pneumoflow::png_io::decode_gray;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metric")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("manifest.json"))
        .expect("manifest.json (run gen_metric_fixtures.py)");
    serde_json::from_str(&text).expect("manifest JSON")
}

fn load_png(rel: &str) -> (usize, usize, Vec<u8>) {
    let path = fixture_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h, px) = decode_gray(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (w as usize, h as usize, px)
}

/// Differences between our contours and OpenCV's, as readable lines (empty when identical).
fn contour_differences(name: &str, ours: &Contours, case: &Value) -> Vec<String> {
    let want = case["contours"].as_array().expect("contours");
    let areas = case["areas"].as_array().expect("areas");
    if ours.len() != want.len() {
        return vec![format!(
            "{name}: {} contours, OpenCV has {}",
            ours.len(),
            want.len()
        )];
    }
    let mut diffs = Vec::new();
    for (i, c) in want.iter().enumerate() {
        let pts: Vec<i32> = c["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() as i32)
            .collect();
        let got: Vec<i32> = ours.points(i).iter().flatten().copied().collect();
        if got != pts {
            diffs.push(format!(
                "{name}: contour {i} points {got:?}, OpenCV {pts:?}"
            ));
        }
        let parent = c["parent"].as_i64().unwrap();
        let got_parent = ours.parent(i).map_or(-1, |p| p as i64);
        if got_parent != parent {
            diffs.push(format!(
                "{name}: contour {i} parent {got_parent}, OpenCV {parent}"
            ));
        }
        if ours.is_hole(i) != c["hole"].as_bool().unwrap() {
            diffs.push(format!("{name}: contour {i} hole flag differs"));
        }
        let area = areas[i].as_f64().unwrap();
        if ours.area(i) != area {
            diffs.push(format!(
                "{name}: contour {i} area {}, OpenCV {area}",
                ours.area(i)
            ));
        }
    }
    diffs
}

/// One post-processing setting of a fixture case, in the order the outputs are stacked.
#[derive(Debug, Clone, Copy)]
enum Setting {
    /// `remove_smallest(mask, A)`.
    AreaAbove(f64),
    /// `extract_largest(mask, n)`.
    Largest(usize),
}

#[test]
fn contours_areas_and_post_processing_match_opencv() {
    let m = manifest();
    assert_eq!(m["versions"]["opencv"], "4.8.1");
    let thresholds: Vec<f64> = m["area_thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let n_objects: Vec<usize> = m["n_objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let cases = m["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30, "{} cases", cases.len());

    let mut finder = ContourFinder::new();
    let mut found = Contours::default();
    let mut pp = PostProcessor::new();
    let mut sweep = PostProcessor::new();
    let mut failures = Vec::new();
    let (mut n_contours, mut compared, mut differing, mut outputs) = (0usize, 0usize, 0usize, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (w, h, mask) = load_png(case["input"].as_str().unwrap());
        assert_eq!(
            (w as u64, h as u64),
            (
                case["width"].as_u64().unwrap(),
                case["height"].as_u64().unwrap()
            )
        );
        finder.find(&mask, w, h, &mut found).unwrap();
        n_contours += found.len();
        failures.extend(contour_differences(name, &found, case));

        let (ow, oh, stacked) = load_png(case["outputs"].as_str().unwrap());
        assert_eq!(
            (ow, oh),
            (w, h * (thresholds.len() + n_objects.len())),
            "{name}"
        );
        let want: Vec<&[u8]> = stacked.chunks_exact(w * h).collect();
        let (mut out, mut swept) = (vec![0u8; w * h], vec![0u8; w * h]);
        // the sweep path: trace once, draw every setting
        sweep.trace(&mask, w, h).unwrap();
        let settings = thresholds
            .iter()
            .map(|&a| Setting::AreaAbove(a))
            .chain(n_objects.iter().map(|&n| Setting::Largest(n)));
        for (setting, want) in settings.zip(&want) {
            match setting {
                Setting::AreaAbove(a) => {
                    pp.remove_smallest_into(&mask, w, h, a, &mut out).unwrap();
                    sweep.draw_area_above_into(a, &mut swept).unwrap();
                }
                Setting::Largest(n) => {
                    pp.extract_largest_into(&mask, w, h, n, &mut out).unwrap();
                    sweep.draw_largest_into(n, &mut swept).unwrap();
                }
            }
            let bad = out.iter().zip(*want).filter(|(a, b)| a != b).count();
            compared += out.len();
            differing += bad;
            outputs += 1;
            if bad > 0 {
                failures.push(format!("{name}: {setting:?}: {bad} differing pixels"));
            }
            if swept != out {
                failures.push(format!("{name}: {setting:?}: trace-once path differs"));
            }
        }
    }
    println!(
        "metric parity: {} cases, {n_contours} contours, {outputs} outputs, {compared} pixels \
         compared, {differing} differing",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
