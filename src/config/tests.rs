//! Tests of pipeline loading, key-path errors and `--set` overrides.

use super::*;

const DEMO: &str = r#"
[data]
shards = "demo-out/shards"
size = 256
seed = 3

[model]
arch = "albunet"

[augment]
p = 1.0

[[augment.transforms]]
type = "HorizontalFlip"
p = 0.5

[[augment.transforms]]
type = "Resize"
height = 128
width = 128
always_apply = true
"#;

fn load(text: &str, overrides: &[&str]) -> Result<Pipeline, ConfigError> {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Pipeline::from_toml_str(text, "p.toml", &o)
}

#[test]
fn sections_load_and_overrides_apply() {
    let p = load(DEMO, &[]).unwrap();
    let data = p.data.as_ref().unwrap();
    assert_eq!(data.size, Some(256));
    assert_eq!(data.seed, 3);
    assert_eq!(p.model.as_ref().unwrap().arch, ModelKind::Albunet);
    assert_eq!(
        p.augment.as_ref().unwrap().fixed_output_size(),
        Some((128, 128))
    );

    let p = load(
        DEMO,
        &[
            "data.size=512",
            "data.folds=folds.csv",
            "augment.transforms[1].height=64",
            "augment.transforms[1].width=64",
        ],
    )
    .unwrap();
    let data = p.data.as_ref().unwrap();
    assert_eq!(data.size, Some(512));
    assert_eq!(data.folds.as_deref(), Some(Path::new("folds.csv")));
    assert_eq!(p.augment.unwrap().fixed_output_size(), Some((64, 64)));
    assert!(p.document["data"]["size"].as_integer() == Some(512));
}

#[test]
fn errors_name_file_key_path_and_value() {
    let err = load(DEMO, &["data.size=big"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: data.size: ") && err.contains("\"big\""),
        "{err}"
    );
    let err = load(DEMO, &["data.size=4"]).unwrap_err().to_string();
    assert_eq!(err, "p.toml: data.size: 4 is out of range (8..=8192)");
    let err = load(DEMO, &["data.shard=x"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: data.shard: unknown field `shard`"),
        "{err}"
    );
    let err = load(DEMO, &["model.arch=unet"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: model.arch: ") && err.contains("unet"),
        "{err}"
    );
    let err = load(DEMO, &["train.lr=0.1"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: train.lr: unknown field `lr`"),
        "{err}"
    );
    let err = load(DEMO, &["predict.split=test"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: predict.split: unknown field `split`"),
        "{err}"
    );
    let err = load(DEMO, &["sweep.top=0.5"]).unwrap_err().to_string();
    assert!(
        err.starts_with("p.toml: sweep.top: unknown field `top`"),
        "{err}"
    );
    let err = load(DEMO, &["predict.batch_size=0"])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("p.toml: predict.batch_size: 0"), "{err}");
    let err = load(
        DEMO,
        &["submit.top=1.5", "submit.area=1", "submit.bottom=0.3"],
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("p.toml: submit.top: 1.5"), "{err}");
    let err = load(DEMO, &["augment.transforms[1].p=2"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("p.toml") && err.contains("augment.transforms[1]") && err.contains('2'),
        "{err}"
    );
    let err = load("[data\n", &[]).unwrap_err().to_string();
    assert!(err.starts_with("p.toml: invalid TOML"), "{err}");
}

#[test]
fn malformed_overrides_are_refused() {
    let err = load(DEMO, &["data.size"]).unwrap_err().to_string();
    assert_eq!(err, "--set data.size: expected KEY=VALUE");
    let err = load(DEMO, &["data..size=1"]).unwrap_err().to_string();
    assert!(err.contains("not a key path"), "{err}");
    let err = load(DEMO, &["augment.transforms[9].p=1"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("augment.transforms has 2 element(s), no index 9"),
        "{err}"
    );
    let err = load(DEMO, &["data.size.x=1"]).unwrap_err().to_string();
    assert!(err.contains("data.size is a integer"), "{err}");
}

#[test]
fn legacy_transform_files_and_shipped_pipelines_load() {
    let legacy = "p = 1.0\n[[transforms]]\ntype = \"HorizontalFlip\"\n";
    assert!(load(legacy, &[]).unwrap().augment.is_some());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let p = Pipeline::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                p.augment.is_some() || p.train.is_some() || p.blend.is_some(),
                "{}",
                path.display()
            );
        }
    }
}

const TRAIN: &str = r#"
[train]
folds = [0]
[[train.parts]]
lr = 1e-4
weight_decay = 5e-6
sample_rate = 0.8
epochs = 5
early_stopping = 10
top_k = 5
loss = { bce = 3, dice = 1, focal = 4 }
scheduler = { type = "reduce_on_plateau", mode = "max", factor = 0.1, patience = 2 }
[[train.parts]]
lr = 1e-5
sample_rate = 0.6
epochs = 5
early_stopping = 12
top_k = 3
loss = { bce = 3, dice = 1, focal = 4 }
scheduler = { type = "cosine", t_max = 8, eta_min = 1e-7 }
"#;

#[test]
fn train_sections_load_and_errors_name_the_part_key() {
    let p = load(TRAIN, &[]).unwrap();
    let t = p.train.unwrap();
    assert_eq!(t.parts.len(), 2);
    assert_eq!(t.parts[1].lr, 1e-5);
    let err = load(TRAIN, &["train.parts[1].lr=-1"])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "p.toml: train.parts[1].lr: -1: must be finite and >= 0"
    );
    let err = load(TRAIN, &["train.parts[0].sample_rate=\"high\""])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("p.toml: train.parts[0].sample_rate: "),
        "{err}"
    );
    let err = load(TRAIN, &["train.parts[1].scheduler.t_max=0"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("p.toml: train.parts[1].scheduler.t_max"),
        "{err}"
    );
    let err = load(TRAIN, &["train.parts[0].loss.focal=-4"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("p.toml: train.parts[0].loss.focal"),
        "{err}"
    );
}

#[test]
fn the_solution_experiments_carry_its_settings() {
    use crate::train::{PlateauMode, SchedulerConfig};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let load = |name: &str| {
        Pipeline::load(&dir.join(format!("{name}.toml")), &[]).unwrap_or_else(|e| panic!("{e}"))
    };
    // (experiment, model, loss weights, sample rates of parts 0, 1, 2 and the 2nd stage)
    let table = [
        (
            "albunet_valid",
            ModelKind::Albunet,
            (3.0, 1.0, 4.0),
            [0.8, 0.6, 0.4, 0.4],
        ),
        (
            "albunet_public",
            ModelKind::Albunet,
            (1.0, 1.0, 1.0),
            [0.8, 0.4, 0.6, 0.4],
        ),
        (
            "resnet50",
            ModelKind::Resnet50Unet,
            (2.0, 1.0, 2.0),
            [0.8, 0.6, 0.4, 0.5],
        ),
        (
            "seunet",
            ModelKind::Seresnext50Unet,
            (3.0, 1.0, 4.0),
            [0.8, 0.6, 0.4, 0.5],
        ),
    ];
    for (name, arch, (b, d, f), rates) in table {
        let p = load(name);
        assert_eq!(p.model.as_ref().unwrap().arch, arch, "{name}");
        let t = p.train.unwrap();
        assert_eq!(
            (t.batch_size, t.accumulation, t.clip),
            (2, 1, 0.1),
            "{name}"
        );
        assert_eq!(t.folds, vec![0, 1, 2, 3, 4]);
        assert_eq!(t.triplets.len(), 8);
        assert_eq!(t.parts.len(), 4, "{name}: parts 0-2 and the second stage");
        for (i, part) in t.parts.iter().enumerate() {
            assert_eq!(
                (part.loss.bce, part.loss.dice, part.loss.focal),
                (b, d, f),
                "{name} {i}"
            );
            assert_eq!(part.sample_rate, rates[i], "{name} part {i}");
            assert_eq!(part.lr, if i == 0 { 1e-4 } else { 1e-5 }, "{name} part {i}");
            assert_eq!(
                (part.epochs, part.early_stopping, part.top_k),
                match i {
                    0 => (50, 10, 5),
                    3 => (40, 12, 3),
                    _ => (50, 12, 3),
                },
                "{name} part {i}"
            );
        }
        match t.parts[0].scheduler {
            SchedulerConfig::ReduceOnPlateau(c) => {
                assert_eq!((c.mode, c.factor, c.patience), (PlateauMode::Max, 0.1, 2));
                assert_eq!((c.threshold, c.min_lr), (1e-7, 1e-7));
            }
            other => panic!("{name}: part 0 scheduler {other:?}"),
        }
        let second = &t.parts[3];
        assert!(second
            .folds_file
            .as_ref()
            .is_some_and(|f| f.ends_with("2nd_stage_folds.csv")));
        match (name, second.scheduler, second.weight_decay) {
            ("seunet", SchedulerConfig::Cosine(c), wd) => {
                assert_eq!((c.t_max, c.eta_min, wd), (8, 1e-8, 5e-7))
            }
            (_, SchedulerConfig::Cosine(c), wd) => {
                assert_eq!((c.t_max, c.eta_min, wd), (8, 1e-7, 5e-6))
            }
            (_, other, _) => panic!("{name}: second stage scheduler {other:?}"),
        }
    }
}

#[test]
fn the_final_blends_carry_the_solutions_weights_and_thresholds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    // (file, weights of albunet_public, albunet_valid, seunet, resnet50, AREA, TOP)
    let table = [
        ("blend_v1", [0.4, 0.2, 0.2, 0.2], 800.0, 0.70),
        ("blend_v2", [0.2, 0.15, 0.4, 0.25], 1500.0, 0.75),
    ];
    for (name, weights, area, top) in table {
        let p = Pipeline::load(&dir.join(format!("{name}.toml")), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let blend = p.blend.expect("[blend]");
        let members: Vec<(String, f64)> = blend
            .members
            .iter()
            .map(|m| (m.predictions.display().to_string(), m.weight))
            .collect();
        let stores = ["albunet_public", "albunet_valid", "seunet", "resnet50"]
            .map(|e| format!("runs/{e}/predictions"));
        assert_eq!(
            members,
            stores.iter().cloned().zip(weights).collect::<Vec<_>>(),
            "{name}"
        );
        let s = p.submit.expect("[submit]");
        assert_eq!((s.area, s.top, s.bottom), (area, top, 0.3), "{name}");
        assert_eq!(
            (s.min_contour_area, s.leak, s.use_contours),
            (100.0, None, false),
            "{name}"
        );
        assert_eq!(s.area_resolution, Some(1024));
        assert!(p.sweep.is_some() && p.train.is_none() && p.predict.is_none());
    }
    // Weights that do not sum to 1 name the key.
    let err = Pipeline::from_toml_str(
        "[[blend.members]]\npredictions = \"a\"\nweight = 0.5\n\
         [[blend.members]]\npredictions = \"b\"\nweight = 0.4\n",
        "b.toml",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("b.toml") && err.contains("blend.members") && err.contains("sum to 0.9"),
        "{err}"
    );
}
