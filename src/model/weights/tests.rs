//! Tests of the weights import: key mapping, aliases, encoder-only files, strictness, atomic writes.
use super::*;
use tch::Device;

fn source(net: &Net) -> Vec<(String, Tensor)> {
    net.pytorch_state_dict()
        .into_iter()
        .map(|(k, t)| (k, t.copy()))
        .collect()
}

fn mismatch(err: WeightsError) -> Mismatch {
    match err {
        WeightsError::Mismatch { mismatch, .. } => mismatch,
        other => panic!("expected a mismatch, got {other}"),
    }
}

#[test]
fn full_albunet_state_dict_folds_aliases_and_module_prefix() {
    let net = Net::new(ModelKind::Albunet, Device::Cpu);
    let src: Vec<_> = source(&net)
        .into_iter()
        .map(|(k, t)| (format!("module.{k}"), t))
        .collect();
    let n = src.len();
    let imported = import_state_dict(&net, src).expect("import");
    let r = &imported.report;
    assert_eq!(r.layout, SourceLayout::FullModel);
    assert_eq!((r.stripped_module, r.mapped + r.aliases), (n, n));
    assert_eq!(imported.tensors.len(), net.var_store().len());
    // Only aliases: still complete.
    let only_aliases: Vec<_> = source(&net)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("encoder.") || k.starts_with("encoder.fc."))
        .collect();
    assert_eq!(
        import_state_dict(&net, only_aliases)
            .expect("aliases only")
            .tensors
            .len(),
        net.var_store().len()
    );
}

#[test]
fn differing_alias_is_refused() {
    let net = Net::new(ModelKind::Albunet, Device::Cpu);
    let src: Vec<_> = source(&net)
        .into_iter()
        .map(|(k, t)| {
            if k == "conv3.1.bn2.bias" {
                (k, t + 1.0)
            } else {
                (k, t)
            }
        })
        .collect();
    match import_state_dict(&net, src) {
        Err(WeightsError::AliasConflict { alias, canonical }) => {
            assert_eq!(
                (alias.as_str(), canonical.as_str()),
                ("conv3.1.bn2.bias", "encoder.layer2.1.bn2.bias")
            );
        }
        other => panic!("expected an alias conflict, got {other:?}"),
    }
}

#[test]
fn missing_unexpected_and_misshaped_keys_are_all_reported() {
    let net = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
    let mut src: Vec<_> = source(&net)
        .into_iter()
        .filter(|(k, _)| k != "final.0.bias")
        .map(|(k, t)| {
            if k == "bottlenecks.1.seq.0.weight" {
                (k, t.narrow(0, 0, 8))
            } else {
                (k, t)
            }
        })
        .collect();
    src.push((
        "decoder_stages.9.layer.1.weight".into(),
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
    ));
    let m = mismatch(import_state_dict(&net, src).unwrap_err());
    assert_eq!(m.missing, ["final.0.bias"]);
    assert_eq!(m.unexpected, ["decoder_stages.9.layer.1.weight"]);
    assert_eq!(
        m.shapes,
        [(
            "bottlenecks.1.seq.0.weight".to_string(),
            vec![256, 768, 3, 3],
            vec![8, 768, 3, 3]
        )]
    );
    let text = WeightsError::Mismatch {
        model: net.kind(),
        layout: SourceLayout::FullModel,
        mismatch: m,
    }
    .to_string();
    assert!(
        text.contains("1 missing")
            && text.contains("final.0.bias")
            && text.contains("model [256, 768, 3, 3]")
    );
}

#[test]
fn imagenet_encoder_file_fills_the_encoder_only() {
    tch::manual_seed(3);
    let net = Net::new(ModelKind::Resnet50Unet, Device::Cpu);
    // A torchvision resnet50 state_dict, from our encoder renamed back, plus its fc head,
    // without num_batches_tracked (as in pre-0.4.1 files).
    let rename = [
        ("encoder_stages.0.0.", "conv1."),
        ("encoder_stages.0.1.", "bn1."),
        ("encoder_stages.1.1.", "layer1."),
        ("encoder_stages.2.", "layer2."),
        ("encoder_stages.3.", "layer3."),
        ("encoder_stages.4.", "layer4."),
    ];
    let mut src: Vec<(String, Tensor)> = source(&net)
        .into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .filter_map(|(k, t)| {
            rename.iter().find_map(|(ours, tv)| {
                k.strip_prefix(ours)
                    .map(|rest| (format!("{tv}{rest}"), t.ones_like()))
            })
        })
        .collect();
    src.push((
        "fc.weight".into(),
        Tensor::zeros([1000, 2048], (Kind::Float, Device::Cpu)),
    ));
    src.push((
        "fc.bias".into(),
        Tensor::zeros([1000], (Kind::Float, Device::Cpu)),
    ));
    let imported = import_state_dict(&net, src).expect("import");
    let r = &imported.report;
    assert_eq!(r.layout, SourceLayout::ImagenetEncoder);
    assert_eq!(r.ignored, ["fc.weight", "fc.bias"]);
    assert_eq!(r.fresh, 20); // 4 bottlenecks, 4 decoder stages, last_upsample, final: weight + bias
    assert_eq!(r.zeroed_counters, 53);
    let got: HashMap<String, Tensor> = imported.tensors.into_iter().collect();
    assert_eq!(
        got["encoder_stages.3.2.conv2.weight"]
            .mean(Kind::Float)
            .double_value(&[]),
        1.0
    );
    assert!(got["final.0.weight"].equal(&net.var_store().variables()["final.0.weight"]));
}

#[test]
fn unrelated_files_are_unrecognised() {
    let net = Net::new(ModelKind::Seresnext50Unet, Device::Cpu);
    let src = vec![(
        "backbone.stem.weight".to_string(),
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
    )];
    assert!(matches!(
        import_state_dict(&net, src),
        Err(WeightsError::Unrecognised { .. })
    ));
}

#[test]
fn pickles_point_at_the_helper_and_unknown_extensions_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pth = dir.path().join("model.pth");
    std::fs::write(&pth, b"PK\x03\x04 not really a zip").expect("write");
    let err = read_state_dict(&pth).unwrap_err();
    assert!(matches!(err, WeightsError::Pickle { .. }));
    assert!(
        err.to_string().contains("scripts/pth_to_safetensors.py"),
        "{err}"
    );
    let npz = dir.path().join("model.npz");
    std::fs::write(&npz, b"x").expect("write");
    assert!(matches!(
        read_state_dict(&npz),
        Err(WeightsError::UnknownFormat { .. })
    ));
    assert!(matches!(
        read_state_dict(&dir.path().join("absent.safetensors")),
        Err(WeightsError::Io { .. })
    ));
}

#[test]
fn atomic_write_round_trips_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.safetensors");
    let t = vec![
        (
            "a.weight".to_string(),
            Tensor::from_slice(&[1.0f32, 2.0]).view([1, 2]),
        ),
        ("a.num_batches_tracked".to_string(), Tensor::from(7i64)),
    ];
    write_safetensors_atomic(&path, &t).expect("write");
    write_safetensors_atomic(&path, &t).expect("overwrite");
    let back: HashMap<String, Tensor> = read_state_dict(&path).expect("read").into_iter().collect();
    assert!(back["a.weight"].equal(&t[0].1));
    assert_eq!(back["a.num_batches_tracked"].kind(), Kind::Int64);
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
}
