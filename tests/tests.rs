//! Integration tests (one binary).
// Helpers shared by the CLI tests.
mod cli_util;
// make demo's prep and augment outputs, pinned byte for byte.
mod pinned_outputs;
// prep and augment on two processes over loopback.
mod cluster;
// Fault injection: bad inputs, damaged datasets, foreign directories, kill -9, a full disk.
mod faults;
// Property tests: the pipeline and transform loaders never panic on mutated input.
mod loader_props;
// Training end to end: run directory, worker independence, kill -9 and resume, NaN stop.
mod training;
// Foundation: synth -> prep -> inspect/export end to end, resume, corruption.
mod prep;
// Bulk re-augmentation and previews through the CLI.
mod augment_cli;
// Model zoo: parity with the PyTorch reference and the weights-import round trip.
mod model_parity;
// Augmentation: bit-exact parity with albumentations 0.3.1 + OpenCV 4.8.1 fixtures, config
// loading (TOML / the solution's JSON) and errors, sampling statistics and determinism.
mod augment_config;
mod augment_parity;
mod augment_pipeline;
// Post-processing: contours, areas, remove_smallest / extract_largest against OpenCV 4.8.1 fixtures.
mod metric_parity;
// Training recipe: ComboLoss, Adam + clip_grad_norm_ steps and LR schedulers against PyTorch 2.13.
mod train_parity;
// precision = "bf16": real bfloat16 convolutions on the CPU, close to float32, and training.
mod train_precision;
// Predictions and the submission: out-of-fold/test sets, TTA, averaging, RLE round trip.
mod predict_submit;
// Blends of experiments' prediction sets, and a blend pipeline under `run`.
mod blend;
// The whole pipeline with `run`, and a re-run that redoes nothing.
mod run_pipeline;
