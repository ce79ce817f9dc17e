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
        err.starts_with("p.toml: train: unknown field `train`"),
        "{err}"
    );
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
            assert!(p.augment.is_some(), "{}", path.display());
        }
    }
}
