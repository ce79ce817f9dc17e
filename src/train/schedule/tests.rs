//! Unit tests of the schedulers (parity with PyTorch's classes: tests/train_parity.rs).
use super::*;

fn parse(text: &str) -> Result<SchedulerConfig, toml::de::Error> {
    toml::from_str(text)
}

fn run(config: SchedulerConfig, base_lr: f64, scores: &[f64]) -> Vec<f64> {
    let mut s = LrScheduler::new(config, base_lr).unwrap();
    let mut lrs = vec![s.lr()];
    lrs.extend(scores.iter().map(|&x| s.step(x)));
    lrs
}

#[test]
fn configs_parse_from_toml_with_defaults() {
    let c = parse("type = \"cosine\"\nt_max = 8\neta_min = 1e-7").unwrap();
    assert_eq!(
        c,
        SchedulerConfig::Cosine(CosineConfig {
            t_max: 8,
            eta_min: 1e-7
        })
    );
    let c = parse("type = \"cosine_warm_restarts\"\nt_0 = 1\nt_mult = 2").unwrap();
    assert_eq!(
        c,
        SchedulerConfig::CosineWarmRestarts(WarmRestartsConfig {
            t_0: 1,
            t_mult: 2,
            eta_min: 0.0
        })
    );
    let c =
        parse("type = \"reduce_on_plateau\"\nmode = \"max\"\npatience = 2\nmin_lr = 1e-7").unwrap();
    let want = PlateauConfig {
        mode: PlateauMode::Max,
        patience: 2,
        min_lr: 1e-7,
        ..PlateauConfig::default()
    };
    assert_eq!(c, SchedulerConfig::ReduceOnPlateau(want));
    let d = PlateauConfig::default();
    assert_eq!(
        (
            d.factor,
            d.patience,
            d.threshold,
            d.cooldown,
            d.min_lr,
            d.eps
        ),
        (0.1, 10, 1e-4, 0, 0.0, 1e-8)
    );
    assert_eq!(
        (d.mode, d.threshold_mode),
        (PlateauMode::Min, ThresholdMode::Rel)
    );
}

#[test]
fn config_errors_name_the_key() {
    let unknown = parse("type = \"cosine\"\nt_max = 8\nT_0 = 2")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("T_0"), "{unknown}");
    let missing = parse("type = \"cosine\"\neta_min = 0.0")
        .unwrap_err()
        .to_string();
    assert!(missing.contains("t_max"), "{missing}");
    let kind = parse("type = \"step\"\nstep_size = 2")
        .unwrap_err()
        .to_string();
    assert!(
        kind.contains("step") && kind.contains("cosine_warm_restarts"),
        "{kind}"
    );
    let mode = parse("type = \"reduce_on_plateau\"\nmode = \"up\"")
        .unwrap_err()
        .to_string();
    assert!(mode.contains("up"), "{mode}");
    let key = |text: &str| parse(text).unwrap().validate().unwrap_err().key;
    assert_eq!(key("type = \"reduce_on_plateau\"\nfactor = 1.0"), "factor");
    assert_eq!(
        key("type = \"reduce_on_plateau\"\nthreshold = -1.0"),
        "threshold"
    );
    assert_eq!(
        key("type = \"reduce_on_plateau\"\nmin_lr = -1e-7"),
        "min_lr"
    );
    assert_eq!(key("type = \"reduce_on_plateau\"\neps = nan"), "eps");
    assert_eq!(key("type = \"cosine\"\nt_max = 0"), "t_max");
    assert_eq!(
        key("type = \"cosine\"\nt_max = 3\neta_min = inf"),
        "eta_min"
    );
    assert_eq!(key("type = \"cosine_warm_restarts\"\nt_0 = 0"), "t_0");
    assert_eq!(
        key("type = \"cosine_warm_restarts\"\nt_0 = 2\nt_mult = 0"),
        "t_mult"
    );
    let cosine = SchedulerConfig::Cosine(CosineConfig {
        t_max: 4,
        eta_min: 0.0,
    });
    assert_eq!(LrScheduler::new(cosine, -1.0).unwrap_err().key, "lr");
}

#[test]
fn cosine_reaches_eta_min_at_t_max_and_comes_back() {
    let c = SchedulerConfig::Cosine(CosineConfig {
        t_max: 4,
        eta_min: 1e-6,
    });
    let lrs = run(c, 1e-3, &[0.0; 8]);
    assert_eq!(lrs[0], 1e-3);
    assert_eq!(lrs[4], 1e-6);
    assert!(lrs[1] > lrs[2] && lrs[2] > lrs[3] && lrs[3] > lrs[4]);
    for e in 1..4 {
        assert!((lrs[4 + e] - lrs[4 - e]).abs() < 1e-18, "epoch {e}");
    }
    assert!((lrs[8] - 1e-3).abs() < 1e-18);
}

#[test]
fn warm_restarts_restart_after_growing_periods() {
    let c = SchedulerConfig::CosineWarmRestarts(WarmRestartsConfig {
        t_0: 1,
        t_mult: 2,
        eta_min: 0.0,
    });
    let lrs = run(c, 1e-4, &[0.0; 16]);
    let restarts: Vec<usize> = (0..lrs.len()).filter(|&e| lrs[e] == 1e-4).collect();
    assert_eq!(restarts, [0, 1, 3, 7, 15]);
    let c = SchedulerConfig::CosineWarmRestarts(WarmRestartsConfig {
        t_0: 3,
        t_mult: 1,
        eta_min: 0.0,
    });
    let lrs = run(c, 1e-4, &[0.0; 7]);
    assert_eq!(lrs[3], 1e-4);
    assert_eq!(lrs[6], 1e-4);
    assert_eq!(lrs[1], lrs[4]);
}

#[test]
fn plateau_waits_for_patience_then_cools_down_and_floors() {
    let c = PlateauConfig {
        mode: PlateauMode::Max,
        factor: 0.5,
        patience: 1,
        threshold: 0.01,
        threshold_mode: ThresholdMode::Abs,
        cooldown: 1,
        min_lr: 0.3,
        eps: 1e-8,
    };
    // 0.8 (best) | 0.805 within threshold: bad 1 | 0.79: bad 2 > 1 -> 0.5, cooldown 1
    // | 0.7: cooldown swallows it | 0.7: bad 1 | 0.7: bad 2 -> max(0.25, 0.3) = 0.3, cooldown
    // | 0.9 better | bad | bad | floor reached: 0.3 - 0.3 is not > eps, the rate stays
    let scores = [0.8, 0.805, 0.79, 0.7, 0.7, 0.7, 0.9, 0.5, 0.5, 0.5];
    let lrs = run(SchedulerConfig::ReduceOnPlateau(c), 1.0, &scores);
    assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]);
    // NaN never improves.
    let c = PlateauConfig {
        patience: 0,
        ..PlateauConfig::default()
    };
    let lrs = run(
        SchedulerConfig::ReduceOnPlateau(c),
        1.0,
        &[f64::NAN, f64::NAN],
    );
    assert_eq!(lrs, [1.0, 0.1, 0.010000000000000002]);
}

#[test]
fn state_round_trips_and_resumes() {
    let configs = [
        SchedulerConfig::ReduceOnPlateau(PlateauConfig {
            patience: 1,
            ..PlateauConfig::default()
        }),
        SchedulerConfig::Cosine(CosineConfig {
            t_max: 5,
            eta_min: 1e-6,
        }),
        SchedulerConfig::CosineWarmRestarts(WarmRestartsConfig {
            t_0: 2,
            t_mult: 3,
            eta_min: 1e-6,
        }),
    ];
    let scores = [0.9, 0.8, 0.85, 0.85, 0.85, 0.7, 0.7, 0.7, 0.71, 0.6];
    for config in configs {
        let mut whole = LrScheduler::new(config, 1e-3).unwrap();
        let mut first = LrScheduler::new(config, 1e-3).unwrap();
        for &s in &scores[..4] {
            whole.step(s);
            first.step(s);
        }
        let json = serde_json::to_string(first.state()).unwrap();
        let state: SchedulerState = serde_json::from_str(&json).unwrap();
        let mut resumed = LrScheduler::from_state(config, state).unwrap();
        assert_eq!(resumed, first);
        for &s in &scores[4..] {
            assert_eq!(whole.step(s), resumed.step(s), "{config:?}");
        }
        assert_eq!(resumed.epoch(), scores.len() as u64);
    }
    let cosine = SchedulerConfig::Cosine(CosineConfig {
        t_max: 5,
        eta_min: 0.0,
    });
    let plateau_state = *LrScheduler::new(configs_plateau(), 1e-3).unwrap().state();
    assert_eq!(
        LrScheduler::from_state(cosine, plateau_state)
            .unwrap_err()
            .key,
        "type"
    );
    let restarts = WarmRestartsConfig {
        t_0: 2,
        t_mult: 3,
        eta_min: 0.0,
    };
    let bad = SchedulerState::CosineWarmRestarts {
        base_lr: 1e-3,
        lr: 1e-3,
        last_epoch: 4,
        t_cur: 1,
        t_i: 4,
    };
    let err =
        LrScheduler::from_state(SchedulerConfig::CosineWarmRestarts(restarts), bad).unwrap_err();
    assert_eq!(err.key, "state");
    let unknown = serde_json::from_str::<SchedulerState>(
        r#"{"type":"cosine","base_lr":1,"lr":1,"last_epoch":0,"x":1}"#,
    );
    assert!(unknown.unwrap_err().to_string().contains('x'));
}

fn configs_plateau() -> SchedulerConfig {
    SchedulerConfig::ReduceOnPlateau(PlateauConfig::default())
}
