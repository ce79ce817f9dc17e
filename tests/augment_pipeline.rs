//! Pipeline semantics: sampling distributions (statistical tests), albumentations 0.3.1
//! probability rules (OneOf weights + forced child, always_apply, Compose p), and determinism
//! of `sample_rng(seed, epoch, id)` across calls, order and threads.

use pneumoflow::augment::{
    load_transforms, sample_rng, AugmentConfig, ElasticFieldMode, ElasticTransform, ImageU8,
    Params, Pipeline, Transform,
};
use rand::Rng;
use std::collections::HashMap;
use std::path::Path;

/// The solution's train pipeline (`_old`: no Normalize) with its final Resize set to `size`.
fn solution(size: usize) -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/transforms/train_transforms_complex_1024_old.json");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace(
        "\"height\": 1024, \"width\": 1024",
        &format!("\"height\": {size}, \"width\": {size}"),
    );
    AugmentConfig::from_albumentations_json(&text, "train_transforms_complex_1024_old.json")
        .unwrap()
        .build()
        .unwrap()
}

fn build(toml: &str) -> Pipeline {
    AugmentConfig::from_toml_str(toml, "test.toml")
        .unwrap()
        .build()
        .unwrap()
}

fn image(w: usize, h: usize) -> (ImageU8, ImageU8) {
    let img = ImageU8::from_fn(w, h, |x, y| ((x * 37 + y * 11 + (x * y) % 17) % 256) as u8);
    let mask = ImageU8::from_fn(w, h, |x, y| {
        if x > w / 3 && x < w / 2 && y > h / 4 {
            255
        } else {
            0
        }
    });
    (img, mask)
}

/// `|observed - n p| <= 5 sigma` for a binomial count (false-failure rate ~ 6e-7 per check).
fn assert_rate(name: &str, count: usize, n: usize, p: f64) {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (count as f64 - mean).abs() <= 5.0 * sd + 1e-9,
        "{name}: {count} of {n}, expected {mean:.1} +- {:.1}",
        5.0 * sd
    );
}

/// Pearson chi-square statistic of `counts` against equal expected frequencies.
fn chi_square_uniform(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    let e = n as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

#[test]
fn solution_pipeline_effective_rates() {
    // flip 0.5; each intensity 0.3 / 3 = 0.1; each distortion 0.1; SSR 0.5; Resize always.
    let p = solution(24);
    let n = 4000;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let (img0, mask0) = image(24, 20);
    for i in 0..n {
        let (mut img, mut mask) = (img0.clone(), mask0.clone());
        let mut rng = sample_rng(7, 0, &format!("id{i}"));
        let trace = p.apply_traced(&mut img, Some(&mut mask), &mut rng).unwrap();
        for t in trace {
            *counts.entry(t.name).or_default() += 1;
        }
        assert_eq!((img.width(), img.height()), (24, 24));
    }
    assert_eq!(counts["Resize"], n);
    for (name, p) in [
        ("HorizontalFlip", 0.5),
        ("RandomContrast", 0.1),
        ("RandomGamma", 0.1),
        ("RandomBrightness", 0.1),
        ("ElasticTransform", 0.1),
        ("GridDistortion", 0.1),
        ("OpticalDistortion", 0.1),
        ("ShiftScaleRotate", 0.5),
    ] {
        assert_rate(name, counts.get(name).copied().unwrap_or(0), n, p);
    }
}

#[test]
fn plan_is_the_trace_without_pixels() {
    // the same leaves, parameters and generator state as applying, for every sample
    let p = solution(24);
    assert_eq!(
        p.leaf_names(),
        [
            "HorizontalFlip",
            "RandomContrast",
            "RandomGamma",
            "RandomBrightness",
            "ElasticTransform",
            "GridDistortion",
            "OpticalDistortion",
            "ShiftScaleRotate",
            "Resize"
        ]
    );
    let (img0, mask0) = image(24, 20);
    for i in 0..500 {
        let (mut img, mut mask) = (img0.clone(), mask0.clone());
        let id = format!("id{i}");
        let mut applied_rng = sample_rng(3, 1, &id);
        let trace = p
            .apply_traced(&mut img, Some(&mut mask), &mut applied_rng)
            .unwrap();
        let mut planned_rng = sample_rng(3, 1, &id);
        assert_eq!(p.plan(&mut planned_rng), trace, "{id}");
        assert_eq!(
            planned_rng.random::<u64>(),
            applied_rng.random::<u64>(),
            "{id}"
        );
    }
}

#[test]
fn blank_masks_take_the_output_size_and_constant_mask_borders_fill_them() {
    // The solution's pipeline keeps a blank mask blank: it comes out blank at the output size.
    let p = solution(16);
    assert!(p.keeps_blank_masks());
    let (img0, _) = image(24, 20);
    for i in 0..50 {
        let (mut img, mut mask) = (img0.clone(), ImageU8::new(24, 20));
        p.apply(
            &mut img,
            Some(&mut mask),
            &mut sample_rng(0, 0, &i.to_string()),
        )
        .unwrap();
        assert_eq!((mask.width(), mask.height()), (16, 16));
        assert!(mask.data().iter().all(|&v| v == 0));
    }
    // A warp that fills mask borders with 255 does not: a blank mask gains the filled corners
    // of a rotation, as albumentations gives them.
    let rotate = |mask_value: &str| {
        build(&format!(
            "[[transforms]]\ntype = \"ShiftScaleRotate\"\nshift_limit = 0\nscale_limit = 0\n\
             rotate_limit = [30, 30]\nborder_mode = 0\nmask_value = {mask_value}\np = 1.0\n"
        ))
    };
    assert!(rotate("0").keeps_blank_masks());
    let filled = rotate("255");
    assert!(!filled.keeps_blank_masks());
    let (mut img, mut mask) = (img0.clone(), ImageU8::new(24, 20));
    filled
        .apply(&mut img, Some(&mut mask), &mut sample_rng(0, 0, "x"))
        .unwrap();
    assert_eq!(
        mask.data()[0],
        255,
        "the top-left corner comes from outside the image"
    );
}

#[test]
fn oneof_children_p_are_weights_and_the_choice_is_forced() {
    // child p = 0.01 would almost never run on its own coin; inside OneOf(p=1) it always runs.
    let p = build("[[transforms]]\ntype = \"OneOf\"\np = 1.0\n[[transforms.transforms]]\ntype = \"HorizontalFlip\"\np = 0.01\n[[transforms.transforms]]\ntype = \"RandomGamma\"\np = 0.03\n");
    let (img0, _) = image(8, 6);
    let n = 4000;
    let mut flips = 0;
    for i in 0..n {
        let mut img = img0.clone();
        let trace = p
            .apply_traced(&mut img, None, &mut sample_rng(1, 2, &i.to_string()))
            .unwrap();
        assert_eq!(trace.len(), 1, "exactly one child runs");
        flips += usize::from(trace[0].name == "HorizontalFlip");
    }
    assert_rate("OneOf weight 0.01 / 0.04", flips, n, 0.25);
}

#[test]
fn always_apply_runs_when_compose_is_skipped() {
    // albumentations' find_always_apply_transforms: Compose(p=0) still runs always_apply leaves,
    // including those nested in OneOf.
    let p = build("p = 0.0\n[[transforms]]\ntype = \"HorizontalFlip\"\np = 1.0\n[[transforms]]\ntype = \"OneOf\"\n[[transforms.transforms]]\ntype = \"RandomGamma\"\nalways_apply = true\n[[transforms]]\ntype = \"Resize\"\nheight = 4\nwidth = 6\nalways_apply = true\n");
    let (mut img, _) = image(12, 8);
    let trace = p
        .apply_traced(&mut img, None, &mut sample_rng(0, 0, "x"))
        .unwrap();
    let names: Vec<&str> = trace.iter().map(|t| t.name).collect();
    assert_eq!(names, ["RandomGamma", "Resize"]);
    assert_eq!((img.width(), img.height()), (6, 4));
}

fn sample_params(p: &Pipeline, n: usize) -> Vec<Params> {
    let Transform::OneOf(o) = &p.compose().transforms[0] else {
        panic!()
    };
    let t = &o.transforms[0];
    (0..n)
        .map(|i| t.sample(&mut sample_rng(3, 0, &i.to_string())).unwrap())
        .collect()
}

#[test]
fn gamma_is_an_integer_hundredth_uniform_over_41_values() {
    let p = build("[[transforms]]\ntype = \"OneOf\"\n[[transforms.transforms]]\ntype = \"RandomGamma\"\ngamma_limit = [80, 120]\n");
    let mut counts = [0usize; 41];
    for prm in sample_params(&p, 41 * 300) {
        let Params::RandomGamma { gamma } = prm else {
            panic!()
        };
        let h = (gamma * 100.0).round();
        assert_eq!(
            gamma,
            h / 100.0,
            "gamma {gamma} is not an integer hundredth"
        );
        counts[(h as usize) - 80] += 1;
    }
    assert!(
        counts.iter().all(|&c| c > 0),
        "both ends inclusive: {counts:?}"
    );
    // 40 degrees of freedom: P(chi2 > 80) ~ 2e-4
    let chi2 = chi_square_uniform(&counts);
    assert!(chi2 < 80.0, "chi2 = {chi2}: {counts:?}");
}

/// Checks a continuous U(lo, hi) sample: range, mean, variance and a 20-bin chi-square.
fn assert_uniform(name: &str, xs: &[f64], lo: f64, hi: f64) {
    let n = xs.len() as f64;
    assert!(
        xs.iter()
            .all(|&x| x >= lo && x < hi || (lo == hi && x == lo)),
        "{name}: out of [{lo}, {hi})"
    );
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let w = hi - lo;
    assert!(
        (mean - (lo + hi) / 2.0).abs() < 5.0 * w / (12.0 * n).sqrt(),
        "{name}: mean {mean}"
    );
    assert!(
        (var / (w * w / 12.0) - 1.0).abs() < 0.05,
        "{name}: variance {var}"
    );
    let mut bins = [0usize; 20];
    for &x in xs {
        bins[(((x - lo) / w) * 20.0).min(19.0) as usize] += 1;
    }
    let chi2 = chi_square_uniform(&bins);
    assert!(chi2 < 50.0, "{name}: chi2 {chi2} {bins:?}"); // 19 dof: P(> 50) ~ 1e-4
}

#[test]
fn continuous_parameters_are_uniform_on_their_ranges() {
    let p = solution(1024);
    let leaf = |i: usize, j: Option<usize>| -> Transform {
        let t = p.compose().transforms[i].clone();
        match (t, j) {
            (Transform::OneOf(o), Some(j)) => o.transforms[j].clone(),
            (t, _) => t,
        }
    };
    let n = 20000;
    let draw = |t: &Transform| -> Vec<Params> {
        (0..n)
            .map(|i| t.sample(&mut sample_rng(11, 1, &i.to_string())).unwrap())
            .collect()
    };
    let contrast: Vec<f64> = draw(&leaf(1, Some(0)))
        .into_iter()
        .map(|p| match p {
            Params::RandomContrast { alpha } => alpha,
            _ => panic!(),
        })
        .collect();
    assert_uniform("contrast alpha", &contrast, 0.8, 1.2);
    let beta: Vec<f64> = draw(&leaf(1, Some(2)))
        .into_iter()
        .map(|p| match p {
            Params::RandomBrightness { beta } => beta,
            _ => panic!(),
        })
        .collect();
    assert_uniform("brightness beta", &beta, -0.2, 0.2);
    let ssr = draw(&leaf(3, None));
    let get = |f: fn(&pneumoflow::augment::SsrParams) -> f64| -> Vec<f64> {
        ssr.iter()
            .map(|p| match p {
                Params::ShiftScaleRotate(s) => f(s),
                _ => panic!(),
            })
            .collect()
    };
    assert_uniform("ssr angle", &get(|s| s.angle), -45.0, 45.0);
    assert_uniform("ssr scale", &get(|s| s.scale), 0.9, 1.1 + 1e-15);
    assert_uniform("ssr dx", &get(|s| s.dx), -0.0625, 0.0625);
    assert_uniform("ssr dy", &get(|s| s.dy), -0.0625, 0.0625);
    let grid = draw(&leaf(2, Some(1)));
    let steps: Vec<f64> = grid
        .iter()
        .flat_map(|p| match p {
            Params::GridDistortion(g) => {
                assert_eq!((g.stepsx.len(), g.stepsy.len()), (6, 6));
                g.stepsx.clone()
            }
            _ => panic!(),
        })
        .collect();
    assert_uniform("grid steps", &steps, 0.7, 1.3);
    let optical = draw(&leaf(2, Some(2)));
    let ks: Vec<f64> = optical
        .iter()
        .map(|p| match p {
            Params::OpticalDistortion(o) => {
                assert_eq!((o.dx, o.dy), (0, 0), "round-half-even of U(-0.5, 0.5)");
                o.k
            }
            _ => panic!(),
        })
        .collect();
    assert_uniform("optical k", &ks, -2.0, 2.0);
    let seeds: Vec<f64> = draw(&leaf(2, Some(0)))
        .into_iter()
        .map(|p| match p {
            Params::ElasticTransform(e) => f64::from(e.seed),
            _ => panic!(),
        })
        .collect();
    assert!(seeds.iter().all(|&s| (0.0..=10000.0).contains(&s)));
    assert!(
        (seeds.iter().sum::<f64>() / n as f64 - 5000.0).abs() < 5.0 * 2887.0 / (n as f64).sqrt()
    );
}

#[test]
fn optical_shift_rounds_half_to_even() {
    // shift_limit (-1.5, 1.5): round-half-even maps U to -1, 0, 1 with probabilities 1/3 each
    // (|u| <= 0.5 -> 0, 0.5 < u < 1.5 -> 1; -1.5 <= u < -0.5 -> -1, with the ties at +-0.5 -> 0).
    let p = build("[[transforms]]\ntype = \"OneOf\"\n[[transforms.transforms]]\ntype = \"OpticalDistortion\"\nshift_limit = [-1.5, 1.5]\n");
    let mut c = [0usize; 3];
    let n = 6000;
    for prm in sample_params(&p, n) {
        let Params::OpticalDistortion(o) = prm else {
            panic!()
        };
        c[(o.dx + 1) as usize] += 1;
    }
    for (i, &k) in c.iter().enumerate() {
        assert_rate(&format!("dx = {}", i as i64 - 1), k, n, 1.0 / 3.0);
    }
}

#[test]
fn pinned_ranges_make_transforms_deterministic() {
    let p = build(
        "[[transforms]]\ntype = \"RandomContrast\"\nlimit = [0.1, 0.1]\np = 1\n\
         [[transforms]]\ntype = \"ShiftScaleRotate\"\nshift_limit = [0.01, 0.01]\nscale_limit = [0.05, 0.05]\nrotate_limit = [10, 10]\np = 1\n\
         [[transforms]]\ntype = \"ElasticTransform\"\nalpha = 30\nsigma = 3\nalpha_affine = 2\nseed = 77\np = 1\n",
    );
    let (img0, mask0) = image(32, 24);
    let run = |id: &str| {
        let (mut img, mut mask) = (img0.clone(), mask0.clone());
        p.apply(&mut img, Some(&mut mask), &mut sample_rng(5, 9, id))
            .unwrap();
        (img, mask)
    };
    let a = run("a");
    assert_eq!(a, run("b"));
    assert_ne!(a.0, img0);
}

#[test]
fn output_depends_only_on_seed_epoch_and_id() {
    let p = solution(48);
    let (img0, mask0) = image(40, 40);
    let ids: Vec<String> = (0..24).map(|i| format!("1.2.3.{i}")).collect();
    let run = |seed: u64, epoch: u64, id: &str| {
        let (mut img, mut mask) = (img0.clone(), mask0.clone());
        p.apply(&mut img, Some(&mut mask), &mut sample_rng(seed, epoch, id))
            .unwrap();
        (img, mask)
    };
    let forward: Vec<_> = ids.iter().map(|id| run(42, 3, id)).collect();
    let backward: Vec<_> = ids.iter().rev().map(|id| run(42, 3, id)).collect();
    assert!(
        forward.iter().eq(backward.iter().rev()),
        "order changed the outputs"
    );
    // two worker threads, ids interleaved
    let threaded: Vec<(usize, (ImageU8, ImageU8))> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let ids = &ids;
                let run = &run;
                s.spawn(move || {
                    ids.iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == w)
                        .map(|(i, id)| (i, run(42, 3, id)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (i, out) in threaded {
        assert_eq!(out, forward[i], "thread result differs for {}", ids[i]);
    }
    let other_epoch: Vec<_> = ids.iter().map(|id| run(42, 4, id)).collect();
    assert_ne!(forward, other_epoch);
    let mask_values_ok = forward
        .iter()
        .all(|(_, m)| m.data().iter().all(|&v| v == 0 || v == 255));
    assert!(mask_values_ok, "nearest keeps mask values in {{0, 255}}");
}

#[test]
fn mask_size_mismatch_is_an_error() {
    let p = solution(512);
    let (mut img, _) = image(10, 10);
    let mut mask = ImageU8::new(9, 10);
    assert!(p
        .apply(&mut img, Some(&mut mask), &mut sample_rng(0, 0, "x"))
        .is_err());
}

#[test]
fn network_input_is_normalized_or_unit_scaled() {
    let norm = load_transforms(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines/transforms/valid_transforms_512.json"),
    )
    .unwrap();
    let old = solution(512);
    let img = ImageU8::from_vec(2, 1, vec![0, 255]).unwrap();
    let mut a = vec![0.0; 6];
    norm.network_input_into(&img, &mut a);
    assert!(
        (a[0] + 0.485 / 0.229).abs() < 1e-5 && (a[5] - (1.0 - 0.406) / 0.225).abs() < 1e-5,
        "{a:?}"
    );
    old.network_input_into(&img, &mut a);
    assert_eq!(a, vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
}

/// Pooled statistics of ElasticTransform displacement fields (dx and dy of several seeds).
struct FieldStats {
    mean: f64,
    std: f64,
    /// Quantiles at `QUANTILES`.
    q: Vec<f64>,
    /// Autocorrelation `E[f(p) f(p + L)] / E[f^2]` at the lags `LAGS`, along x and along y.
    acf_x: Vec<f64>,
    acf_y: Vec<f64>,
    /// Correlation of dx and dy at the same pixel.
    cross: f64,
}

const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
const LAGS: [usize; 3] = [1, 6, 12];

fn field_stats(t: &ElasticTransform, seeds: std::ops::Range<u32>, n: usize) -> FieldStats {
    let (mut all, mut cross, mut sq) = (Vec::new(), 0.0, 0.0);
    let (mut ax, mut ay) = (vec![0.0; LAGS.len()], vec![0.0; LAGS.len()]);
    let mut norm = 0.0;
    for seed in seeds {
        let f = t.fields(seed, n, n);
        for field in [&f.dx, &f.dy] {
            let v = |x: usize, y: usize| f64::from(field[y * n + x]);
            let e2 = field.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>() / (n * n) as f64;
            norm += 1.0;
            for (k, &lag) in LAGS.iter().enumerate() {
                let (mut sx, mut sy) = (0.0, 0.0);
                for y in 0..n - lag {
                    for x in 0..n - lag {
                        sx += v(x, y) * v(x + lag, y);
                        sy += v(x, y) * v(x, y + lag);
                    }
                }
                let pairs = ((n - lag) * (n - lag)) as f64;
                ax[k] += sx / pairs / e2;
                ay[k] += sy / pairs / e2;
            }
            all.extend(field.iter().map(|&a| f64::from(a)));
        }
        cross +=
            f.dx.iter()
                .zip(&f.dy)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>();
        sq +=
            f.dx.iter()
                .chain(&f.dy)
                .map(|&a| f64::from(a).powi(2))
                .sum::<f64>()
                / 2.0;
    }
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let std = (all.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / all.len() as f64).sqrt();
    all.sort_by(f64::total_cmp);
    let q = QUANTILES
        .iter()
        .map(|p| all[(p * all.len() as f64) as usize])
        .collect();
    FieldStats {
        mean,
        std,
        q,
        acf_x: ax.iter().map(|a| a / norm).collect(),
        acf_y: ay.iter().map(|a| a / norm).collect(),
        cross: cross / sq,
    }
}

/// The checks `got` fails against the reference statistics `want` (empty: same distribution
/// within the tolerances). Tolerances are ~4 standard errors of these pooled estimates.
fn distribution_mismatches(got: &FieldStats, want: &FieldStats, sigma: f64) -> Vec<String> {
    let mut bad = Vec::new();
    let mut check = |name: String, ok: bool| {
        if !ok {
            bad.push(name);
        }
    };
    check(format!("mean {:.3}", got.mean), got.mean.abs() < 0.25);
    let ratio = got.std / want.std;
    check(
        format!("std {:.3} vs {:.3}", got.std, want.std),
        (ratio - 1.0).abs() < 0.05,
    );
    for (i, p) in QUANTILES.iter().enumerate() {
        check(
            format!("quantile {p}: {:.3} vs {:.3}", got.q[i], want.q[i]),
            (got.q[i] - want.q[i]).abs() < 0.12 * want.std,
        );
    }
    for (k, &lag) in LAGS.iter().enumerate() {
        // continuous-Gaussian theory for the autocorrelation of smoothed white noise
        let theory = (-((lag * lag) as f64) / (4.0 * sigma * sigma)).exp();
        let tol = if lag == 1 { 0.005 } else { 0.03 };
        for (axis, g, w) in [
            ("x", &got.acf_x, &want.acf_x),
            ("y", &got.acf_y, &want.acf_y),
        ] {
            check(
                format!("acf_{axis}({lag}) {:.4} vs {:.4}", g[k], w[k]),
                (g[k] - w[k]).abs() < tol,
            );
            check(
                format!("acf_{axis}({lag}) {:.4} vs theory {theory:.4}", g[k]),
                (g[k] - theory).abs() < 0.05,
            );
        }
    }
    check(
        format!("dx/dy correlation {:.3}", got.cross),
        got.cross.abs() < 0.05,
    );
    bad
}

fn elastic_leaf(alpha: f64, sigma: f64, fields: ElasticFieldMode) -> ElasticTransform {
    let p = build(&format!(
        "[[transforms]]\ntype = \"ElasticTransform\"\nalpha = {alpha}\nsigma = {sigma}\nalpha_affine = 3.6\n\
         fields = \"{}\"\np = 1\n",
        match fields {
            ElasticFieldMode::Fast => "fast",
            ElasticFieldMode::Numpy => "numpy",
        }
    ));
    match &p.compose().transforms[0] {
        Transform::ElasticTransform(e) => e.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fast_elastic_fields_match_numpy_fields_in_distribution() {
    // The solution's parameters (alpha 120, sigma 6) on 256 x 256, 24 seeds per generator.
    let n = 256;
    let numpy = field_stats(&elastic_leaf(120.0, 6.0, ElasticFieldMode::Numpy), 0..24, n);
    let fast = field_stats(
        &elastic_leaf(120.0, 6.0, ElasticFieldMode::Fast),
        100..124,
        n,
    );
    // theory: std = alpha / sqrt(3) / (2 sqrt(pi) sigma) = 3.26 px (borders add a little)
    assert!(
        (numpy.std / 3.257 - 1.0).abs() < 0.08,
        "numpy std {}",
        numpy.std
    );
    let bad = distribution_mismatches(&fast, &numpy, 6.0);
    assert!(bad.is_empty(), "fast vs numpy fields: {bad:?}");
    eprintln!(
        "fields 256^2 x 48: std fast {:.3} numpy {:.3}; mean fast {:.3} numpy {:.3}; \
         acf_x(1,6,12) fast {:.4?} numpy {:.4?}; acf_y fast {:.4?} numpy {:.4?}; \
         q01/q99 fast {:.2}/{:.2} numpy {:.2}/{:.2}; cross fast {:.4} numpy {:.4}",
        fast.std,
        numpy.std,
        fast.mean,
        numpy.mean,
        fast.acf_x,
        numpy.acf_x,
        fast.acf_y,
        numpy.acf_y,
        fast.q[0],
        fast.q[6],
        numpy.q[0],
        numpy.q[6],
        fast.cross,
        numpy.cross
    );
    // the comparison has teeth: a 10 % larger alpha or sigma 5 instead of 6 is rejected
    let louder = field_stats(
        &elastic_leaf(132.0, 6.0, ElasticFieldMode::Fast),
        100..124,
        n,
    );
    assert!(
        !distribution_mismatches(&louder, &numpy, 6.0).is_empty(),
        "alpha x1.1 accepted"
    );
    let rougher = field_stats(
        &elastic_leaf(120.0, 5.0, ElasticFieldMode::Fast),
        100..124,
        n,
    );
    let bad = distribution_mismatches(&rougher, &numpy, 6.0);
    assert!(
        bad.iter().any(|b| b.contains("acf")),
        "sigma 5 accepted: {bad:?}"
    );
}
