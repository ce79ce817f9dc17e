//! Unit tests of the optimizer and the gradient clip (parity with PyTorch: tests/train_parity.rs).
use super::*;
use tch::{nn, Device};

fn param(values: &[f64]) -> Tensor {
    Tensor::from_slice(values).set_requires_grad(true)
}

/// Sets `p.grad` to `g` through a backward of `sum(p * g)`.
fn set_grad(p: &Tensor, g: &[f64]) {
    (p * Tensor::from_slice(g)).sum(Kind::Double).backward();
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.detach().flatten(0, -1)).unwrap()
}

fn adam(params: &[(&str, &Tensor)], config: AdamConfig) -> Adam {
    let named = params
        .iter()
        .map(|(n, t)| (n.to_string(), t.shallow_clone()))
        .collect();
    Adam::new(named, config).unwrap()
}

#[test]
fn first_step_moves_by_lr_against_the_gradient() {
    let p = param(&[1.0, -2.0, 0.5]);
    let mut opt = adam(
        &[("p", &p)],
        AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        },
    );
    set_grad(&p, &[0.3, -4.0, 1e-3]);
    opt.step().unwrap();
    // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps)
    let got = values(&p);
    for (x, (p0, g)) in got.iter().zip([(1.0, 0.3), (-2.0, -4.0), (0.5, 1e-3)]) {
        let want = p0 - 0.01 * g / (f64::abs(g) + 1e-8);
        assert!((x - want).abs() < 1e-12, "{x} vs {want}");
    }
    let s = opt.state("p").unwrap();
    assert_eq!(s.step, 1.0);
    assert!((values(&s.exp_avg)[1] - (-0.4)).abs() < 1e-12);
    assert!((values(&s.exp_avg_sq)[1] - 0.016).abs() < 1e-12);
}

#[test]
fn weight_decay_is_coupled_l2_on_the_gradient() {
    // A zero gradient with weight decay still moves the parameter: grad' = wd·p (not AdamW).
    let p = param(&[2.0]);
    let mut opt = adam(
        &[("p", &p)],
        AdamConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..AdamConfig::default()
        },
    );
    set_grad(&p, &[0.0]);
    opt.step().unwrap();
    let want = 2.0 - 0.1 * 1.0 / (1.0 + 1e-8);
    assert!((values(&p)[0] - want).abs() < 1e-12, "{:?}", values(&p));
}

#[test]
fn frozen_and_gradless_parameters_are_skipped_until_they_train() {
    let a = param(&[1.0, 1.0]);
    let frozen = param(&[3.0]);
    let unused = param(&[5.0]);
    let mut opt = adam(
        &[("a", &a), ("frozen", &frozen), ("unused", &unused)],
        AdamConfig::default(),
    );
    set_grad(&frozen, &[1.0]);
    let _ = frozen.set_requires_grad(false);
    for _ in 0..2 {
        set_grad(&a, &[1.0, -1.0]);
        opt.step().unwrap();
        opt.zero_grad();
    }
    assert_eq!(values(&frozen), [3.0]);
    assert_eq!(values(&unused), [5.0]);
    assert!(opt.state("frozen").is_none() && opt.state("unused").is_none());
    assert_eq!(opt.state("a").unwrap().step, 2.0);
    // Unfrozen, it starts its own count at 1 (lazy state), as PyTorch's per-parameter step.
    let _ = frozen.set_requires_grad(true);
    set_grad(&frozen, &[1.0]);
    opt.step().unwrap();
    assert_eq!(opt.state("frozen").unwrap().step, 1.0);
    assert_eq!(opt.state("a").unwrap().step, 3.0);
    assert!(values(&frozen)[0] < 3.0);
    assert_eq!(opt.state_tensors().len(), 6);
    opt.reset();
    assert!(opt.state("a").is_none() && opt.state_tensors().is_empty());
}

#[test]
fn saved_state_resumes_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adam.safetensors");
    let grads = [[0.3, -1.0], [0.1, 0.7], [-0.2, 0.05]];
    let config = AdamConfig {
        lr: 0.05,
        weight_decay: 1e-3,
        ..AdamConfig::default()
    };
    let p = Tensor::from_slice(&[0.5f32, -0.25]).set_requires_grad(true);
    let mut opt = adam(&[("w", &p)], config);
    let step = |opt: &mut Adam, p: &Tensor, g: &[f64; 2]| {
        (p * Tensor::from_slice(g).to_kind(Kind::Float))
            .sum(Kind::Float)
            .backward();
        opt.step().unwrap();
        opt.zero_grad();
    };
    step(&mut opt, &p, &grads[0]);
    step(&mut opt, &p, &grads[1]);
    opt.save_state(&path).unwrap();
    let resumed_p = p.detach().copy().set_requires_grad(true);
    let mut resumed = adam(&[("w", &resumed_p)], config);
    resumed.load_state(&path).unwrap();
    assert_eq!(resumed.state("w").unwrap().step, 2.0);
    step(&mut opt, &p, &grads[2]);
    step(&mut resumed, &resumed_p, &grads[2]);
    assert!(p.equal(&resumed_p), "{p:?} vs {resumed_p:?}");
}

#[test]
fn bad_states_are_refused_and_change_nothing() {
    let p = param(&[1.0, 2.0]);
    let mut opt = adam(&[("w", &p)], AdamConfig::default());
    set_grad(&p, &[1.0, 1.0]);
    opt.step().unwrap();
    let good = opt.state_tensors();
    let with = |key: &str, t: Tensor| {
        let mut v: Vec<(String, Tensor)> = good
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, t)| (k.clone(), t.shallow_clone()))
            .collect();
        v.push((key.to_string(), t));
        v
    };
    let cases = [
        (
            with("x.exp_avg", Tensor::zeros([2], (Kind::Double, Device::Cpu))),
            "x.exp_avg",
            "no parameter x",
        ),
        (
            with("w.exp_avg", Tensor::zeros([3], (Kind::Double, Device::Cpu))),
            "w.exp_avg",
            "does not fit",
        ),
        (
            with(
                "w.momentum",
                Tensor::zeros([2], (Kind::Double, Device::Cpu)),
            ),
            "w.momentum",
            "not <parameter>",
        ),
        (
            with("w.step", Tensor::from(1.5f32)),
            "w.step",
            "whole number",
        ),
        (
            with("w.step", Tensor::from(1.0f64)),
            "w.step",
            "0-dim float32",
        ),
        (
            good.iter()
                .filter(|(k, _)| k != "w.exp_avg_sq")
                .map(|(k, t)| (k.clone(), t.shallow_clone()))
                .collect(),
            "w.exp_avg_sq",
            "missing",
        ),
    ];
    for (tensors, key, problem) in cases {
        match opt.load_state_tensors(tensors) {
            Err(TrainError::State { key: k, problem: p }) => {
                assert_eq!(k, key);
                assert!(p.contains(problem), "{key}: {p}");
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    assert_eq!(opt.state("w").unwrap().step, 1.0);
    let missing = opt
        .load_state(Path::new("/nonexistent/adam.safetensors"))
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("/nonexistent/adam.safetensors"),
        "{missing}"
    );
}

#[test]
fn config_is_checked_by_key() {
    let bad = |c: AdamConfig| c.validate().unwrap_err().key;
    let d = AdamConfig::default();
    assert_eq!(bad(AdamConfig { lr: -1.0, ..d }), "lr");
    assert_eq!(bad(AdamConfig { eps: f64::NAN, ..d }), "eps");
    assert_eq!(
        bad(AdamConfig {
            weight_decay: -1e-6,
            ..d
        }),
        "weight_decay"
    );
    assert_eq!(
        bad(AdamConfig {
            betas: [0.9, 1.0],
            ..d
        }),
        "betas[1]"
    );
    let parsed: AdamConfig = toml::from_str("lr = 1e-4\nweight_decay = 5e-6").unwrap();
    assert_eq!(
        parsed,
        AdamConfig {
            lr: 1e-4,
            weight_decay: 5e-6,
            ..d
        }
    );
    assert!(toml::from_str::<AdamConfig>("lr = 1\namsgrad = true")
        .unwrap_err()
        .to_string()
        .contains("amsgrad"));
    let p = param(&[1.0]);
    let twice = vec![
        ("p".to_string(), p.shallow_clone()),
        ("p".to_string(), p.shallow_clone()),
    ];
    assert!(matches!(
        Adam::new(twice, d),
        Err(TrainError::DuplicateParameter { .. })
    ));
    let mut opt = adam(&[("p", &p)], d);
    opt.set_lr(1e-5).unwrap();
    assert_eq!(opt.lr(), 1e-5);
    assert!(opt.set_lr(f64::INFINITY).is_err());
    assert_eq!(opt.lr(), 1e-5);
}

#[test]
fn clip_scales_by_max_norm_over_the_total_norm() {
    let a = param(&[0.0, 0.0]);
    let b = param(&[0.0]);
    let frozen = param(&[0.0]);
    set_grad(&frozen, &[100.0]);
    let _ = frozen.set_requires_grad(false);
    set_grad(&a, &[3.0, 0.0]);
    set_grad(&b, &[4.0]);
    let total = clip_grad_norm([&a, &b, &frozen], 1.0).unwrap();
    assert_eq!(total, 5.0);
    let coef = 1.0 / (5.0 + 1e-6);
    assert_eq!(values(&a.grad()), [3.0 * coef, 0.0]);
    assert_eq!(values(&b.grad()), [4.0 * coef]);
    assert_eq!(values(&frozen.grad()), [100.0]);
    // Below max_norm the coefficient clamps to 1: gradients unchanged.
    let before = values(&a.grad());
    let total = clip_grad_norm([&a, &b], 10.0).unwrap();
    assert!((total - 1.0).abs() < 1e-6);
    assert_eq!(values(&a.grad()), before);
    let none = param(&[1.0]);
    assert_eq!(clip_grad_norm([&none], 1.0).unwrap(), 0.0);
    for bad in [0.0, -1.0, f64::NAN] {
        assert!(
            matches!(clip_grad_norm([&a], bad), Err(TrainError::Config(k)) if k.key == "max_norm")
        );
    }
}

#[test]
fn var_store_parameters_are_named_trainables_without_buffers() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let _conv = nn::conv2d(&root / "conv", 1, 2, 3, Default::default());
    let _bn = nn::batch_norm2d(&root / "bn", 2, Default::default());
    let names: Vec<String> = var_store_parameters(&vs)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["bn.bias", "bn.weight", "conv.bias", "conv.weight"]);
    let mut vs = vs;
    vs.freeze();
    assert_eq!(var_store_parameters(&vs).len(), 4);
}

/// One Adam step of one parameter as fresh-tensor ops (PyTorch's `_single_tensor_adam`, the L2
/// term as one addcmul): what [`Adam::step`] computes in place and in its scratch buffers.
fn reference_adam_step(
    p: &Tensor,
    g: &Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    step: f64,
    c: &AdamConfig,
) {
    let [beta1, beta2] = c.betas;
    let g = g.addcmul(
        p,
        &Tensor::scalar_tensor(c.weight_decay, (p.kind(), p.device())),
    );
    let _ = m.lerp_(&g, 1.0 - beta1);
    let _ = v
        .f_mul_scalar_(beta2)
        .unwrap()
        .addcmul_(&(&g * (1.0 - beta2)), &g);
    let bc2_sqrt = (1.0 - beta2.powf(step)).powf(std::hint::black_box(0.5));
    let denom = v.sqrt() / bc2_sqrt + c.eps;
    let step_size = c.lr / (1.0 - beta1.powf(step));
    let _ = p.shallow_clone().addcdiv_(&(&*m * -step_size), &denom);
}

#[test]
fn scratch_steps_equal_the_fresh_tensor_ops_bit_for_bit() {
    tch::manual_seed(5);
    let config = AdamConfig {
        lr: 3e-3,
        weight_decay: 1e-2,
        ..AdamConfig::default()
    };
    // Parameters of several sizes and shapes: the scratch is sized for the largest, the others
    // use views of it; one float64 parameter gets fresh temporaries.
    let shapes: [&[i64]; 3] = [&[7, 3, 3], &[5], &[2, 40]];
    let params: Vec<Tensor> = (shapes.iter())
        .map(|s| Tensor::randn(*s, (Kind::Float, Device::Cpu)).set_requires_grad(true))
        .chain([Tensor::randn([6], (Kind::Double, Device::Cpu)).set_requires_grad(true)])
        .collect();
    let named: Vec<(String, Tensor)> = (params.iter().enumerate())
        .map(|(i, p)| (format!("p{i}"), p.shallow_clone()))
        .collect();
    let mut opt = Adam::new(named, config).unwrap();
    let refs: Vec<Tensor> = params.iter().map(|p| p.detach().copy()).collect();
    let mut ms: Vec<Tensor> = refs.iter().map(Tensor::zeros_like).collect();
    let mut vs: Vec<Tensor> = refs.iter().map(Tensor::zeros_like).collect();
    for step in 1..=4 {
        let grads: Vec<Tensor> = params.iter().map(|p| p.randn_like() * 0.1).collect();
        for ((p, g), (r, (m, v))) in params
            .iter()
            .zip(&grads)
            .zip(refs.iter().zip(ms.iter_mut().zip(vs.iter_mut())))
        {
            (p * g).sum(p.kind()).backward();
            tch::no_grad(|| reference_adam_step(r, g, m, v, f64::from(step), &config));
        }
        opt.step().unwrap();
        opt.zero_grad();
        for (i, (p, r)) in params.iter().zip(&refs).enumerate() {
            assert!(p.detach().equal(r), "parameter {i} after step {step}");
            let s = opt.state(&format!("p{i}")).unwrap();
            assert!(
                s.exp_avg.equal(&ms[i]) && s.exp_avg_sq.equal(&vs[i]),
                "state {i}"
            );
        }
    }
}
