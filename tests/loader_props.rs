//! Property tests of the pipeline and transform loaders: random text and mutations of the
//! shipped pipelines (TOML) and the solution's albumentations JSON must give an error or a valid
//! pipeline, never a panic.

use pneumoflow::augment::AugmentConfig;
use pneumoflow::config::Pipeline;
use proptest::prelude::*;
use std::path::Path;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// `text` with `edits` applied: each (position, byte) replaces, inserts or deletes a byte.
fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut b = text.as_bytes().to_vec();
    for &(at, kind, byte) in edits {
        if b.is_empty() {
            break;
        }
        let i = at % b.len();
        match kind % 3 {
            0 => b[i] = byte,
            1 => b.insert(i, byte),
            _ => {
                b.remove(i);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Bytes that matter to the grammars: digits, signs, brackets, quotes, separators, letters.
fn interesting() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'0'),
        Just(b'9'),
        Just(b'-'),
        Just(b'.'),
        Just(b'e'),
        Just(b'['),
        Just(b']'),
        Just(b'{'),
        Just(b'}'),
        Just(b'"'),
        Just(b'='),
        Just(b','),
        Just(b'\n'),
        any::<u8>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), interesting()), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_pipeline_toml_never_panics(e in edits()) {
        let text = mutate(&shipped("pipelines/augment_complex_1024.toml"), &e);
        let _ = Pipeline::from_toml_str(&text, "mutated.toml", &[]);
    }

    #[test]
    fn mutated_albumentations_json_never_panics(e in edits()) {
        let text = mutate(&shipped("pipelines/transforms/train_transforms_complex_1024.json"), &e);
        if let Ok(c) = AugmentConfig::from_albumentations_json(&text, "mutated.json") {
            let _ = c.build();
        }
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        let _ = Pipeline::from_toml_str(&text, "random.toml", &[]);
        let _ = AugmentConfig::from_albumentations_json(&text, "random.json");
    }

    #[test]
    fn random_overrides_never_panic(key in "[a-z.\\[\\]0-9]{1,30}", value in "\\PC{0,20}") {
        let text = shipped("pipelines/demo.toml");
        let _ = Pipeline::from_toml_str(&text, "demo.toml", &[format!("{key}={value}")]);
    }
}
