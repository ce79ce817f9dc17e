//! Parity of the training recipe (`pneumoflow::train`) with PyTorch 2.13, replaying the fixtures
//! of tests/fixtures/train/gen_train_fixtures.py:
//!
//! - ComboLoss: 15 weight/eps variants over 6 input cases: total, terms and d total/d logits;
//! - training: two 5-step runs of a two-conv network (forward → ComboLoss → backward →
//!   clip_grad_norm → Adam.step → zero_grad; the second with gradient accumulation, a frozen
//!   first conv for two steps and a learning-rate change): losses, total norms, every parameter
//!   after every step and Adam's final state;
//! - Adam and clip_grad_norm_ alone on float32/float64 values spanning 1e-4..1e4;
//! - schedulers: 40-epoch learning-rate sequences of PyTorch's own classes.
//!
//! Tensors must be bit-identical on a CPU with the generator's dispatch-relevant ISA flags (AVX2,
//! FMA, the AVX-512 families; `manifest.json`) when no kernel-dispatch override is set; on other
//! CPUs the kernels sum in other orders and the tolerances below apply. Both sides run on one
//! intra-op thread (oneDNN's convolution weight gradients depend on the thread count). The
//! schedulers are float64 with libm's `cos`/`pow` and must match exactly everywhere.
use pneumoflow::train::{
    clip_grad_norm, Adam, AdamConfig, ComboLoss, ComboLossConfig, CosineConfig, LrScheduler,
    PlateauConfig, SchedulerConfig, SchedulerState, WarmRestartsConfig,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// Loss values and gradients off the generator's CPU: relative to max(1, |reference|).
const LOSS_TOL: f64 = 1e-6;
/// Parameters and Adam state after five steps off the generator's CPU (absolute; Adam moves the
/// parameters by ~1e-3 a step, so this is 0.1% of one step).
const PARAM_TOL: f64 = 1e-6;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/train")
}

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).expect("fixture json");
    serde_json::from_str(&text).expect("fixture json parses")
}

fn tensors(name: &str) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(dir().join(name))
        .expect("fixture safetensors")
        .into_iter()
        .collect()
}

fn get<'a>(map: &'a BTreeMap<String, Tensor>, key: &str) -> &'a Tensor {
    map.get(key)
        .unwrap_or_else(|| panic!("fixture lacks {key}"))
}

/// Linux `/proc/cpuinfo` flag → the name the generator records.
const ISA_FLAGS: [(&str, &str); 10] = [
    ("avx2", "avx2"),
    ("fma", "fma"),
    ("avx512f", "avx512f"),
    ("avx512bw", "avx512bw"),
    ("avx512vl", "avx512vl"),
    ("avx512dq", "avx512dq"),
    ("avx512_vnni", "avx512vnni"),
    ("avx512_bf16", "avx512bf16"),
    ("avx512_fp16", "avx512fp16"),
    ("amx_tile", "amx-tile"),
];
const DISPATCH_OVERRIDES: [&str; 5] = [
    "ATEN_CPU_CAPABILITY",
    "DNNL_MAX_CPU_ISA",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR",
];

/// Whether this CPU dispatches the kernels the generator's did (then results must be exact).
fn exact_expected() -> bool {
    let manifest = json("manifest.json");
    if std::env::consts::ARCH != manifest["machine"].as_str().unwrap_or_default() {
        return false;
    }
    if DISPATCH_OVERRIDES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    {
        return false;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().collect())
        .unwrap_or_default();
    let mut ours: Vec<&str> = ISA_FLAGS
        .iter()
        .filter(|(linux, _)| flags.contains(linux))
        .map(|&(_, name)| name)
        .collect();
    ours.sort_unstable();
    let theirs: Vec<&str> = manifest["isa_flags"]
        .as_array()
        .expect("isa_flags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    !cpuinfo.is_empty() && ours == theirs
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size(), "shapes differ");
    let d = (a.to_kind(Kind::Double) - b.to_kind(Kind::Double)).abs();
    if d.numel() == 0 {
        0.0
    } else {
        d.max().double_value(&[])
    }
}

/// Tracks the largest difference of one kind and checks it against exactness or a tolerance.
struct Worst {
    what: &'static str,
    max: f64,
    at: String,
}

impl Worst {
    fn new(what: &'static str) -> Self {
        Worst {
            what,
            max: 0.0,
            at: String::new(),
        }
    }

    fn see(&mut self, at: impl Into<String>, diff: f64) {
        if diff > self.max || diff.is_nan() {
            self.max = diff;
            self.at = at.into();
        }
    }

    fn check(&self, exact: bool, tol: f64) {
        eprintln!("{}: max |Δ| = {:.3e} {}", self.what, self.max, self.at);
        if exact {
            assert!(
                self.max == 0.0,
                "{} differs from PyTorch by {} at {} on the generator's CPU",
                self.what,
                self.max,
                self.at
            );
        } else {
            assert!(
                self.max <= tol,
                "{} differs from PyTorch by {} at {}",
                self.what,
                self.max,
                self.at
            );
        }
    }
}

#[derive(Debug, Deserialize)]
struct LossVariant {
    name: String,
    bce: f64,
    dice: f64,
    focal: f64,
    dice_eps: f64,
    parts: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct LossCase {
    case: String,
    variants: Vec<LossVariant>,
}

#[test]
fn combo_loss_matches_pytorch_values_and_gradients() {
    tch::set_num_threads(1);
    let exact = exact_expected();
    let fx = tensors("loss.safetensors");
    let cases: Vec<LossCase> = serde_json::from_value(json("loss.json")["cases"].clone()).unwrap();
    let (mut values, mut grads) = (
        Worst::new("ComboLoss values"),
        Worst::new("ComboLoss gradients"),
    );
    let mut n = 0;
    for case in &cases {
        let logits = get(&fx, &format!("{}.logits", case.case));
        let targets = get(&fx, &format!("{}.targets", case.case));
        for v in &case.variants {
            let key = format!("{}/{}", case.case, v.name);
            let loss = ComboLoss::new(ComboLossConfig {
                bce: v.bce,
                dice: v.dice,
                focal: v.focal,
                dice_eps: v.dice_eps,
            })
            .unwrap();
            let x = logits.detach().copy().set_requires_grad(true);
            let out = loss.forward(&x, targets).unwrap();
            out.total.backward();
            let ours = [
                ("total", Some(&out.total)),
                ("bce", out.bce.as_ref()),
                ("dice", out.dice.as_ref()),
                ("focal", out.focal.as_ref()),
            ];
            for (part, t) in ours {
                let reference = fx.get(&format!("{key}.{part}"));
                assert_eq!(
                    t.is_some(),
                    reference.is_some(),
                    "{key}: {part} present on one side only"
                );
                assert_eq!(
                    part == "total" || v.parts.iter().any(|p| p == part),
                    t.is_some(),
                    "{key}.{part}"
                );
                if let (Some(t), Some(r)) = (t, reference) {
                    let scale = r.double_value(&[]).abs().max(1.0);
                    values.see(
                        format!("{key}.{part}"),
                        max_abs_diff(t, r) / if exact { 1.0 } else { scale },
                    );
                }
            }
            let reference = get(&fx, &format!("{key}.grad"));
            let scale = reference.abs().max().double_value(&[]).max(1.0);
            grads.see(
                format!("{key}.grad"),
                max_abs_diff(&x.grad(), reference) / if exact { 1.0 } else { scale },
            );
            n += 1;
        }
    }
    assert_eq!(n, 15, "variants replayed");
    eprintln!("ComboLoss: {n} variants, exact expected: {exact}");
    values.check(exact, LOSS_TOL);
    grads.check(exact, LOSS_TOL);
}

#[derive(Debug, Deserialize)]
struct Run {
    steps: usize,
    accumulate: usize,
    frozen_until: usize,
    lr: Vec<f64>,
    max_norm: f64,
    weight_decay: f64,
    weights: [f64; 3],
    dice_eps: f64,
}

struct TinyNet {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
}

impl TinyNet {
    fn new(vs: &nn::VarStore) -> Self {
        let cfg = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        TinyNet {
            conv1: nn::conv2d(vs.root() / "conv1", 2, 4, 3, cfg),
            conv2: nn::conv2d(vs.root() / "conv2", 4, 1, 3, cfg),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        self.conv2.forward(&self.conv1.forward(x).relu())
    }
}

#[test]
fn adam_clip_and_loss_follow_pytorch_training_steps() {
    tch::set_num_threads(1);
    let exact = exact_expected();
    let fx = tensors("trajectory.safetensors");
    let meta = json("trajectory.json");
    let order: Vec<String> = serde_json::from_value(meta["param_order"].clone()).unwrap();
    let runs: BTreeMap<String, Run> = serde_json::from_value(meta["runs"].clone()).unwrap();
    assert_eq!(runs.len(), 2);
    let (mut losses, mut norms, mut params, mut state) = (
        Worst::new("training losses"),
        Worst::new("clip total norms"),
        Worst::new("parameters after each step"),
        Worst::new("Adam state after the last step"),
    );
    for (name, run) in &runs {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = TinyNet::new(&vs);
        let vars = vs.variables();
        tch::no_grad(|| {
            for n in &order {
                vars[n]
                    .shallow_clone()
                    .copy_(get(&fx, &format!("init.{n}")));
            }
        });
        // PyTorch's model.parameters() order, which fixes the clip norm's last rounding.
        let named: Vec<(String, Tensor)> = order
            .iter()
            .map(|n| (n.clone(), vars[n].shallow_clone()))
            .collect();
        let config = AdamConfig {
            lr: run.lr[0],
            weight_decay: run.weight_decay,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(named, config).unwrap();
        let [bce, dice, focal] = run.weights;
        let loss = ComboLoss::new(ComboLossConfig {
            bce,
            dice,
            focal,
            dice_eps: run.dice_eps,
        })
        .unwrap();
        let ref_totals = get(&fx, &format!("{name}.total"));
        let mut micro = 0;
        for step in 0..run.steps {
            let frozen = step < run.frozen_until;
            for n in ["conv1.weight", "conv1.bias"] {
                let _ = vars[n].set_requires_grad(!frozen);
            }
            adam.set_lr(run.lr[step]).unwrap();
            for m in 0..run.accumulate {
                let b = (step * run.accumulate + m) % 2;
                let x = get(&fx, &format!("input.{b}"));
                let t = get(&fx, &format!("target.{b}"));
                let out = loss.forward(&net.forward(x), t).unwrap();
                out.total.backward();
                for (part, ours) in [
                    ("total", Some(&out.total)),
                    ("bce", out.bce.as_ref()),
                    ("dice", out.dice.as_ref()),
                    ("focal", out.focal.as_ref()),
                ] {
                    let reference = get(&fx, &format!("{name}.{part}")).get(micro as i64);
                    losses.see(
                        format!("{name} step {step} micro {m} {part}"),
                        max_abs_diff(ours.unwrap(), &reference),
                    );
                }
                micro += 1;
            }
            let norm = clip_grad_norm(adam.params().iter().map(|(_, p)| p), run.max_norm).unwrap();
            let ref_norm = get(&fx, &format!("{name}.norm")).double_value(&[step as i64]);
            norms.see(format!("{name} step {step}"), (norm - ref_norm).abs());
            adam.step().unwrap();
            adam.zero_grad();
            for n in &order {
                let reference = get(&fx, &format!("{name}.params.{n}")).get(step as i64);
                params.see(
                    format!("{name} step {step} {n}"),
                    max_abs_diff(&vars[n], &reference),
                );
            }
        }
        assert_eq!(micro as i64, ref_totals.size()[0]);
        for n in &order {
            let s = adam.state(n).expect("every parameter has stepped");
            let ref_step = get(&fx, &format!("{name}.state.{n}.step")).double_value(&[]);
            assert_eq!(f64::from(s.step), ref_step, "{name} {n} step count");
            for (field, ours) in [("exp_avg", &s.exp_avg), ("exp_avg_sq", &s.exp_avg_sq)] {
                let reference = get(&fx, &format!("{name}.state.{n}.{field}"));
                state.see(format!("{name} {n}.{field}"), max_abs_diff(ours, reference));
            }
        }
    }
    eprintln!("training: exact expected: {exact}");
    losses.check(exact, LOSS_TOL);
    norms.check(exact, LOSS_TOL);
    params.check(exact, PARAM_TOL);
    state.check(exact, PARAM_TOL);
}

#[derive(Debug, Deserialize)]
struct AdamCase {
    lr: f64,
    weight_decay: f64,
    betas: [f64; 2],
    eps: f64,
    steps: usize,
    step: f64,
}

/// Adam and clip_grad_norm_ alone on wide value ranges, where every rounding of the update
/// (the fused multiply-adds of the weight decay and of `exp_avg_sq`, the bias corrections, the
/// clip coefficient) shows in some element.
#[test]
fn adam_and_clip_match_pytorch_on_wide_ranges() {
    tch::set_num_threads(1);
    let exact = exact_expected();
    let fx = tensors("optim.safetensors");
    let meta = json("optim.json");
    let cases: BTreeMap<String, AdamCase> = serde_json::from_value(meta["adam"].clone()).unwrap();
    let (mut params, mut state) = (
        Worst::new("Adam parameters (wide ranges)"),
        Worst::new("Adam state (wide ranges)"),
    );
    for (name, c) in &cases {
        let p = get(&fx, &format!("adam.{name}.init"))
            .copy()
            .set_requires_grad(true);
        let config = AdamConfig {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
        };
        let mut adam = Adam::new(vec![("p".to_string(), p.shallow_clone())], config).unwrap();
        for k in 0..c.steps {
            let g = get(&fx, &format!("adam.{name}.grad.{k}"));
            (&p * g).sum(p.kind()).backward();
            assert!(p.grad().equal(g), "the gradient is set exactly");
            adam.step().unwrap();
            adam.zero_grad();
            let reference = get(&fx, &format!("adam.{name}.param.{k}"));
            let scale = if exact {
                1.0
            } else {
                reference.abs().max().double_value(&[]).max(1.0)
            };
            params.see(
                format!("{name} step {k}"),
                max_abs_diff(&p, reference) / scale,
            );
        }
        let s = adam.state("p").unwrap();
        assert_eq!(f64::from(s.step), c.step);
        for (field, ours) in [("exp_avg", &s.exp_avg), ("exp_avg_sq", &s.exp_avg_sq)] {
            let reference = get(&fx, &format!("adam.{name}.{field}"));
            let scale = if exact {
                1.0
            } else {
                reference.abs().max().double_value(&[]).max(1.0)
            };
            state.see(
                format!("{name}.{field}"),
                max_abs_diff(ours, reference) / scale,
            );
        }
    }
    let (mut totals, mut clipped) = (
        Worst::new("clip_grad_norm total"),
        Worst::new("clipped gradients"),
    );
    let clips = meta["clip"].as_array().unwrap();
    for (c, clip) in clips.iter().enumerate() {
        let max_norm = clip["max_norm"].as_f64().unwrap();
        let ps: Vec<Tensor> = (0..4)
            .map(|j| {
                let g = get(&fx, &format!("clip.{c}.grad.{j}"));
                let p = Tensor::zeros_like(g).set_requires_grad(true);
                (&p * g).sum(Kind::Float).backward();
                p
            })
            .collect();
        let total = clip_grad_norm(&ps, max_norm).unwrap();
        let reference = get(&fx, &format!("clip.{c}.total")).double_value(&[]);
        totals.see(
            format!("clip {c}"),
            (total - reference).abs() / if exact { 1.0 } else { reference },
        );
        for (j, p) in ps.iter().enumerate() {
            let reference = get(&fx, &format!("clip.{c}.clipped.{j}"));
            clipped.see(
                format!("clip {c} grad {j}"),
                max_abs_diff(&p.grad(), reference),
            );
        }
    }
    let unclipped = clips
        .iter()
        .filter(|c| c["total"].as_f64().unwrap() + 1e-6 <= c["max_norm"].as_f64().unwrap())
        .count();
    assert!(
        unclipped >= 1 && unclipped < clips.len(),
        "the fixture clips some sets and not others"
    );
    eprintln!("Adam/clip on wide ranges: exact expected: {exact}");
    params.check(exact, LOSS_TOL);
    state.check(exact, LOSS_TOL);
    totals.check(exact, LOSS_TOL);
    clipped.check(exact, LOSS_TOL);
}

fn f64s(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).expect("float list")
}

#[test]
fn schedulers_match_pytorch_classes() {
    let fx = json("schedules.json");
    let epochs = fx["epochs"].as_u64().unwrap() as usize;
    let mut recursive_drift: f64 = 0.0;
    for c in fx["cosine"].as_array().unwrap() {
        let config = SchedulerConfig::Cosine(CosineConfig {
            t_max: c["t_max"].as_u64().unwrap() as u32,
            eta_min: c["eta_min"].as_f64().unwrap(),
        });
        let mut s = LrScheduler::new(config, c["base_lr"].as_f64().unwrap()).unwrap();
        let mut ours = vec![s.lr()];
        ours.extend((0..epochs).map(|_| s.step(0.0)));
        assert_eq!(ours, f64s(&c["closed"]), "cosine closed form {config:?}");
        for (a, b) in ours.iter().zip(f64s(&c["recursive"])) {
            recursive_drift = recursive_drift.max((a - b).abs() / a.abs());
        }
    }
    eprintln!("cosine: PyTorch's recursive step() vs the closed form: max relative difference {recursive_drift:.3e}");
    assert!(
        recursive_drift < 1e-13,
        "recursive vs closed drift {recursive_drift}"
    );
    for c in fx["cosine_warm_restarts"].as_array().unwrap() {
        let config = SchedulerConfig::CosineWarmRestarts(WarmRestartsConfig {
            t_0: c["t_0"].as_u64().unwrap() as u32,
            t_mult: c["t_mult"].as_u64().unwrap() as u32,
            eta_min: c["eta_min"].as_f64().unwrap(),
        });
        let mut s = LrScheduler::new(config, c["base_lr"].as_f64().unwrap()).unwrap();
        let (mut lrs, mut t_cur, mut t_i) = (vec![s.lr()], Vec::new(), Vec::new());
        for e in 0..=epochs {
            if e > 0 {
                lrs.push(s.step(0.0));
            }
            let SchedulerState::CosineWarmRestarts {
                t_cur: c, t_i: i, ..
            } = *s.state()
            else {
                unreachable!()
            };
            t_cur.push(c);
            t_i.push(i);
        }
        assert_eq!(lrs, f64s(&c["lr"]), "warm restarts {config:?}");
        assert_eq!(
            t_cur,
            serde_json::from_value::<Vec<u64>>(c["t_cur"].clone()).unwrap()
        );
        assert_eq!(
            t_i,
            serde_json::from_value::<Vec<u64>>(c["t_i"].clone()).unwrap()
        );
    }
    for c in fx["reduce_on_plateau"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let plateau: PlateauConfig = serde_json::from_value(c["kwargs"].clone()).unwrap();
        let mut s = LrScheduler::new(
            SchedulerConfig::ReduceOnPlateau(plateau),
            c["base_lr"].as_f64().unwrap(),
        )
        .unwrap();
        let mut lrs = vec![s.lr()];
        for (e, score) in f64s(&c["scores"]).into_iter().enumerate() {
            lrs.push(s.step(score));
            let SchedulerState::ReduceOnPlateau {
                best,
                num_bad_epochs,
                cooldown_counter,
                ..
            } = *s.state()
            else {
                unreachable!()
            };
            assert_eq!(best, c["best"][e].as_f64(), "{name} epoch {e} best");
            assert_eq!(
                u64::from(num_bad_epochs),
                c["num_bad_epochs"][e].as_u64().unwrap(),
                "{name} epoch {e}"
            );
            assert_eq!(
                u64::from(cooldown_counter),
                c["cooldown_counter"][e].as_u64().unwrap(),
                "{name} epoch {e}"
            );
        }
        assert_eq!(lrs, f64s(&c["lr"]), "{name}");
        let reductions = lrs.windows(2).filter(|w| w[1] < w[0]).count();
        eprintln!(
            "reduce_on_plateau {name}: {reductions} reductions, final lr {:e}",
            lrs[epochs]
        );
    }
}
