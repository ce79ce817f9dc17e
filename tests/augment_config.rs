//! Loading transform lists: the solution's albumentations JSON, the TOML pipelines, and the errors
//! for unknown transforms / parameters and out-of-range values.

use pneumoflow::augment::{
    load_transforms, AugmentConfig, AugmentError, ElasticFieldMode, Interpolation, Transform,
};
use std::path::{Path, PathBuf};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Writes `text` to a temporary file named `name` and loads it.
fn load_text(name: &str, text: &str) -> Result<pneumoflow::augment::Pipeline, AugmentError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    load_transforms(&path)
}

fn err_text(name: &str, text: &str) -> String {
    match load_text(name, text) {
        Ok(p) => panic!("{name} should not load, got {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn solution_json_files_load_with_their_structure() {
    for size in [1024usize, 512] {
        let p = load_transforms(repo(&format!(
            "pipelines/transforms/train_transforms_complex_{size}.json"
        )))
        .unwrap();
        let names: Vec<&str> = p.compose().transforms.iter().map(Transform::name).collect();
        assert_eq!(
            names,
            [
                "HorizontalFlip",
                "OneOf",
                "OneOf",
                "ShiftScaleRotate",
                "Resize"
            ]
        );
        assert!(p.normalize().is_some());
        assert_eq!(p.fixed_output_size(), Some((size, size)));
        match &p.compose().transforms[2] {
            Transform::OneOf(o) => {
                assert_eq!(o.p, 0.3);
                let w = o.weights();
                assert!(w.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-12), "{w:?}");
                match &o.transforms[0] {
                    Transform::ElasticTransform(e) => {
                        assert_eq!(
                            (e.alpha, e.sigma, e.alpha_affine),
                            (120.0, 6.0, 120.0 * 0.03)
                        );
                        assert_eq!(e.interpolation, Interpolation::Linear);
                        // the solution's JSON gets the default (fast) field generator
                        assert_eq!(e.fields, ElasticFieldMode::Fast);
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
        let old = load_transforms(repo(&format!(
            "pipelines/transforms/train_transforms_complex_{size}_old.json"
        )))
        .unwrap();
        assert!(old.normalize().is_none());
        assert_eq!(old.compose(), p.compose());
        let valid = load_transforms(repo(&format!(
            "pipelines/transforms/valid_transforms_{size}.json"
        )))
        .unwrap();
        assert_eq!(valid.compose().transforms.len(), 1);
        assert!(valid.normalize().is_some());
        let valid_old = load_transforms(repo(&format!(
            "pipelines/transforms/valid_transforms_{size}_old.json"
        )))
        .unwrap();
        assert!(valid_old.normalize().is_none());
    }
}

#[test]
fn toml_pipelines_equal_the_solution_json() {
    for size in [1024, 512] {
        let toml =
            load_transforms(repo(&format!("pipelines/augment_complex_{size}.toml"))).unwrap();
        let json = load_transforms(repo(&format!(
            "pipelines/transforms/train_transforms_complex_{size}.json"
        )))
        .unwrap();
        assert_eq!(toml, json, "size {size}");
    }
}

#[test]
fn top_level_transforms_and_embedded_section_parse() {
    let top = "p = 1.0\n[[transforms]]\ntype = \"HorizontalFlip\"\np = 0.25\n";
    let p = load_text("t.toml", top).unwrap();
    assert_eq!(p.compose().transforms.len(), 1);
    // a whole pipeline file: other sections are ignored, [augment] is used
    let full = "[model]\nencoder = \"x\"\n[augment]\n[[augment.transforms]]\ntype = \"RandomGamma\"\ngamma_limit = [100, 100]\n";
    let cfg = AugmentConfig::from_toml_str(full, "full.toml").unwrap();
    assert_eq!(cfg.transforms.len(), 1);
    assert!(cfg.build().is_ok());
    // AugmentConfig is also a plain serde type for a larger config
    let via_serde: AugmentConfig =
        toml::from_str("[[transforms]]\ntype = \"HorizontalFlip\"\n").unwrap();
    assert_eq!(via_serde.build().unwrap().compose().transforms[0].p(), 0.5);
}

#[test]
fn unknown_transform_is_named_with_file_and_position() {
    let e = err_text("bad.toml", "[augment]\n[[augment.transforms]]\ntype = \"HorizontalFlip\"\n[[augment.transforms]]\ntype = \"RandomFog\"\n");
    assert!(
        e.contains("bad.toml")
            && e.contains("augment.transforms[1]")
            && e.contains("unknown transform `RandomFog`"),
        "{e}"
    );
    let json = r#"{"__version__": "0.3.1", "transform": {"__class_fullname__": "albumentations.core.composition.Compose", "p": 1.0,
        "transforms": [{"__class_fullname__": "albumentations.augmentations.transforms.CLAHE", "p": 0.5}]}}"#;
    let e = err_text("bad.json", json);
    assert!(
        e.contains("bad.json")
            && e.contains("transform.transforms[0]")
            && e.contains("albumentations.augmentations.transforms.CLAHE"),
        "{e}"
    );
}

#[test]
fn unknown_or_mistyped_parameter_is_named() {
    let e = err_text("p.toml", "[[transforms]]\ntype = \"OneOf\"\n[[transforms.transforms]]\ntype = \"RandomContrast\"\nlimt = 0.1\n");
    assert!(
        e.contains("p.toml")
            && e.contains("transforms[0].transforms[0]")
            && e.contains("RandomContrast")
            && e.contains("limt"),
        "{e}"
    );
    let e = err_text(
        "t.toml",
        "[[transforms]]\ntype = \"Resize\"\nheight = \"big\"\nwidth = 4\n",
    );
    assert!(e.contains("Resize") && e.contains("invalid type"), "{e}");
    let e = err_text("m.toml", "[[transforms]]\ntype = \"Resize\"\nwidth = 4\n");
    assert!(e.contains("missing field `height`"), "{e}");
    let e = err_text(
        "k.toml",
        "[augment]\nprobability = 1\n[[augment.transforms]]\ntype = \"HorizontalFlip\"\n",
    );
    assert!(e.contains("probability"), "{e}");
}

#[test]
fn out_of_range_values_are_rejected_with_their_name() {
    let cases = [
        (
            "type = \"HorizontalFlip\"\np = 1.5",
            "HorizontalFlip.p = 1.5",
        ),
        (
            "type = \"RandomContrast\"\nlimit = [0.3, 0.1]",
            "RandomContrast.limit = [0.3, 0.1]",
        ),
        (
            "type = \"RandomGamma\"\ngamma_limit = [80.5, 120]",
            "RandomGamma.gamma_limit",
        ),
        (
            "type = \"GridDistortion\"\ninterpolation = 2",
            "GridDistortion.interpolation = 2",
        ),
        (
            "type = \"OpticalDistortion\"\nborder_mode = 7",
            "OpticalDistortion.border_mode = 7",
        ),
        (
            "type = \"ShiftScaleRotate\"\nscale_limit = 1.0",
            "ShiftScaleRotate.scale_limit",
        ),
        (
            "type = \"ShiftScaleRotate\"\nvalue = 300",
            "ShiftScaleRotate.value = 300",
        ),
        (
            "type = \"ElasticTransform\"\nsigma = 0",
            "ElasticTransform.sigma = 0",
        ),
        (
            "type = \"ElasticTransform\"\napproximate = true",
            "ElasticTransform.approximate = true",
        ),
        (
            "type = \"ElasticTransform\"\nfields = \"scipy\"",
            "ElasticTransform.fields = \"scipy\"",
        ),
        (
            "type = \"Resize\"\nheight = 0\nwidth = 4",
            "Resize.height = 0",
        ),
        ("type = \"OneOf\"", "OneOf.transforms = 0"),
    ];
    for (body, want) in cases {
        let e = err_text("range.toml", &format!("[[transforms]]\n{body}\n"));
        assert!(
            e.contains("range.toml") && e.contains("transforms[0]") && e.contains(want),
            "{body}: {e}"
        );
    }
    let e = err_text(
        "norm.toml",
        "[[transforms]]\ntype = \"Normalize\"\n[[transforms]]\ntype = \"HorizontalFlip\"\n",
    );
    assert!(
        e.contains("Normalize is supported only as the last top-level transform"),
        "{e}"
    );
}

#[test]
fn elastic_field_generator_is_selectable() {
    for (text, want) in [
        ("", ElasticFieldMode::Fast),
        ("fields = \"fast\"\n", ElasticFieldMode::Fast),
        ("fields = \"numpy\"\n", ElasticFieldMode::Numpy),
    ] {
        let p = load_text(
            "e.toml",
            &format!("[[transforms]]\ntype = \"ElasticTransform\"\n{text}"),
        )
        .unwrap();
        match &p.compose().transforms[0] {
            Transform::ElasticTransform(e) => assert_eq!(e.fields, want, "{text}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn json_version_and_shape_errors() {
    let e = err_text(
        "v.json",
        r#"{"__version__": "1.4.0", "transform": {"__class_fullname__": "albumentations.core.composition.Compose", "transforms": []}}"#,
    );
    assert!(
        e.contains("v.json") && e.contains("albumentations 1.4.0"),
        "{e}"
    );
    let e = err_text("n.json", r#"{"transform": {}}"#);
    assert!(e.contains("__version__"), "{e}");
    let e = err_text("s.json", "{not json");
    assert!(e.contains("s.json") && e.contains("invalid JSON"), "{e}");
    let e = err_text(
        "b.json",
        r#"{"__version__": "0.3.1", "transform": {"__class_fullname__": "albumentations.core.composition.Compose",
        "transforms": [], "bbox_params": {"format": "coco"}}}"#,
    );
    assert!(e.contains("bbox_params"), "{e}");
    assert!(matches!(
        load_text("x.yaml", "a: 1"),
        Err(AugmentError::UnsupportedFile { .. })
    ));
    assert!(matches!(
        load_transforms("/nonexistent/t.toml"),
        Err(AugmentError::Io { .. })
    ));
    let e = err_text("empty.toml", "[model]\nx = 1\n");
    assert!(e.contains("no [augment] section"), "{e}");
}
