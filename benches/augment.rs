//! Criterion benchmarks of `pneumoflow::augment`: every transform with p = 1 and the solution's
//! train Compose, at 1024² and 512², one thread, image + mask per call (Normalize: image only).
//! Throughput is in images, so criterion's "elem/s" is images/s (one call per iteration for
//! single transforms, the whole 160-id cycle per iteration for Compose rows).
//!
//! Same workload as `benches/albu_anchor.py`, which
//! reads `target/criterion/**/estimates.json` and prints the ratios against albumentations.
//! Run: `cargo bench --bench augment` (add `-- Compose` to run only the Compose rows).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pneumoflow::augment::{
    sample_rng, AugmentConfig, ElasticFieldMode, ImageU8, Normalize, Pipeline, Transform,
};
use std::hint::black_box;

/// A deterministic chest-X-ray-like image (body gradient, dark lungs, rib stripes, noise) and a
/// 0/255 blob mask, as in albu_bench.py's `synthetic_xray` (the exact pixels do not matter for speed).
fn synthetic_xray(size: usize) -> (ImageU8, ImageU8) {
    let mut state = 12345u64;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 12.0
    };
    let n = size as f64;
    let img = ImageU8::from_fn(size, size, |xi, yi| {
        let (x, y) = (xi as f64 / n, yi as f64 / n);
        let body = 170.0 - 90.0 * ((x - 0.5).powi(2) + 0.6 * (y - 0.55).powi(2));
        let ll = ((x - 0.31) / 0.17).powi(2) + ((y - 0.48) / 0.30).powi(2);
        let lr = ((x - 0.69) / 0.17).powi(2) + ((y - 0.48) / 0.30).powi(2);
        let lungs = (-ll.min(lr).powi(2)).exp() * 85.0;
        let ribs = 14.0
            * (2.0 * std::f64::consts::PI * (y * 11.0 + 0.8 * (x - 0.5).abs()))
                .sin()
                .powi(8);
        (body - lungs + ribs * (-ll.min(lr)).exp() + noise()).clamp(0.0, 255.0) as u8
    });
    let mask = ImageU8::from_fn(size, size, |xi, yi| {
        let (x, y) = (xi as f64 / n, yi as f64 / n);
        if ((x - 0.72) / 0.09).powi(2) + ((y - 0.30) / 0.14).powi(2) < 1.0 {
            255
        } else {
            0
        }
    });
    (img, mask)
}

/// The solution's train pipeline (train_transforms_complex_1024.json) with the given final size;
/// `force_all` sets every p to 1 (the OneOf choices stay random), as albu_bench's "all stages forced".
fn solution_pipeline(final_size: usize, force_all: bool) -> Pipeline {
    let (half, third) = if force_all { (1.0, 1.0) } else { (0.5, 0.3) };
    let toml = format!(
        r#"
[[transforms]]
type = "HorizontalFlip"
p = {half}
[[transforms]]
type = "OneOf"
p = {third}
[[transforms.transforms]]
type = "RandomContrast"
limit = 0.2
[[transforms.transforms]]
type = "RandomGamma"
[[transforms.transforms]]
type = "RandomBrightness"
limit = 0.2
[[transforms]]
type = "OneOf"
p = {third}
[[transforms.transforms]]
type = "ElasticTransform"
alpha = 120
sigma = 6.0
alpha_affine = 3.5999999999999996
[[transforms.transforms]]
type = "GridDistortion"
[[transforms.transforms]]
type = "OpticalDistortion"
distort_limit = 2
shift_limit = 0.5
[[transforms]]
type = "ShiftScaleRotate"
p = {half}
[[transforms]]
type = "Resize"
height = {final_size}
width = {final_size}
always_apply = true
[[transforms]]
type = "Normalize"
"#
    );
    AugmentConfig::from_toml_str(&toml, "bench")
        .unwrap()
        .build()
        .unwrap()
}

/// Every leaf of the solution pipeline with p = 1, plus Resize to half size.
fn leaves(size: usize) -> Vec<Transform> {
    let p = solution_pipeline(size / 2, true);
    let mut out = Vec::new();
    for t in &p.compose().transforms {
        match t {
            Transform::OneOf(o) => out.extend(o.transforms.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    out
}

/// `dst = src`, reusing `dst`'s buffer when the sizes agree.
fn reset(dst: &mut ImageU8, src: &ImageU8) {
    if (dst.width(), dst.height()) == (src.width(), src.height()) {
        dst.data_mut().copy_from_slice(src.data());
    } else {
        *dst = src.clone();
    }
}

/// Sample ids per Compose iteration.
const CYCLE: u64 = 160;

fn bench_size(c: &mut Criterion, size: usize) {
    let (img, mask) = synthetic_xray(size);
    let mut group = c.benchmark_group(format!("augment_{size}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(3));

    // every leaf, plus ElasticTransform with albumentations' draw-identical fields
    let mut rows: Vec<(String, Transform)> = leaves(size)
        .into_iter()
        .map(|t| {
            let name = if t.name() == "Resize" {
                format!("Resize_to_{}", size / 2)
            } else {
                t.name().to_string()
            };
            (name, t)
        })
        .collect();
    let numpy_elastic = rows.iter().find_map(|(_, t)| match t {
        Transform::ElasticTransform(e) => {
            let mut e = e.clone();
            e.fields = ElasticFieldMode::Numpy;
            Some(Transform::ElasticTransform(e))
        }
        _ => None,
    });
    rows.extend(numpy_elastic.map(|t| ("ElasticTransform_numpy_fields".to_string(), t)));
    for (name, t) in rows {
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    i += 1;
                    let params = t.sample(&mut sample_rng(0, i, "bench")).unwrap();
                    (img.clone(), mask.clone(), params)
                },
                |(mut im, mut m, params)| {
                    t.apply_params(&params, &mut im, Some(&mut m));
                    black_box((im, m))
                },
                BatchSize::LargeInput,
            )
        });
    }

    // ElasticTransform's displacement fields alone (affine + dx + dy), per generator
    for mode in [ElasticFieldMode::Fast, ElasticFieldMode::Numpy] {
        let mut t = match leaves(size)
            .into_iter()
            .find(|t| t.name() == "ElasticTransform")
        {
            Some(Transform::ElasticTransform(t)) => t,
            _ => unreachable!("the solution pipeline has an ElasticTransform"),
        };
        t.fields = mode;
        let mut seed = 0u32;
        let label = match mode {
            ElasticFieldMode::Fast => "ElasticFields_fast",
            ElasticFieldMode::Numpy => "ElasticFields_numpy",
        };
        group.bench_function(label, |b| {
            b.iter(|| {
                seed = (seed + 1) % 10_001;
                black_box(t.fields(seed, size, size))
            })
        });
    }

    let norm = Normalize::imagenet();
    for (name, channels) in [("Normalize", 1), ("Normalize_3ch_chw", 3)] {
        let mut out = vec![0f32; channels * size * size];
        group.bench_function(name, |b| {
            b.iter(|| {
                norm.apply_into(black_box(&img), channels, &mut out);
                black_box(&out);
            })
        });
    }

    // Compose rows: the uint8 pipeline, then Normalize. `channels = 1` matches albu_bench's
    // 1-channel rows; `_3ch` writes the 3 x H x W network input the solution fed (cf. albu_bench's
    // "3-channel image" row).
    let mut composes = vec![
        (
            format!("Compose_solution_p_resize{size}"),
            solution_pipeline(size, false),
            1,
        ),
        (
            format!("Compose_solution_p_resize{size}_3ch"),
            solution_pipeline(size, false),
            3,
        ),
    ];
    if size == 1024 {
        composes.push((
            "Compose_solution_p_resize512".into(),
            solution_pipeline(512, false),
            1,
        ));
    }
    composes.push((
        format!("Compose_all_forced_resize{size}"),
        solution_pipeline(size, true),
        1,
    ));
    // One iteration = the whole cycle of 160 sample ids (as albu_bench's 160 reseeded calls), so
    // every criterion sample sees the same mix of transforms; the copy of the input image and
    // mask into the working buffers (albumentations allocates new arrays instead) is timed too.
    group.throughput(Throughput::Elements(CYCLE));
    group.sample_size(10);
    for (name, pipeline, channels) in composes {
        let norm = pipeline
            .normalize()
            .expect("the bench pipeline ends with Normalize")
            .clone();
        let rngs: Vec<_> = (0..CYCLE)
            .map(|k| sample_rng(0, 0, &k.to_string()))
            .collect();
        let (mut im, mut m) = (img.clone(), mask.clone());
        let mut input = Vec::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                for rng in &rngs {
                    reset(&mut im, &img);
                    reset(&mut m, &mask);
                    pipeline
                        .apply(&mut im, Some(&mut m), &mut rng.clone())
                        .unwrap();
                    input.resize(channels * im.width() * im.height(), 0.0);
                    norm.apply_into(&im, channels, &mut input);
                    black_box((&input, &m));
                }
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_size(c, 1024);
    bench_size(c, 512);
}

criterion_group!(augment, benches);
criterion_main!(augment);
