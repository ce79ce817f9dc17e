//! Per-image ingestion for prep: one plan item (a DICOM and its RLE rows) into a shard record.

use super::error::{RecordError, RecordOrigin, Stage};
use data_prep::ingest::{build_record, decode_image};
use data_prep::shard::Record;
use data_prep::siim::PrepItem;
use std::path::Path;

/// Where a plan item comes from, for error messages.
pub fn item_origin(item: &PrepItem) -> RecordOrigin {
    RecordOrigin::File {
        path: item.path.clone(),
        id: item.id.clone(),
    }
}

/// Decodes `item`'s DICOM at `size`², merges its RLE rows (read from `csv`) into the mask, and
/// builds the record with its label, fold and object count.
pub fn prep_record(item: &PrepItem, size: u32, csv: &Path) -> Result<Record, RecordError> {
    // Fault injection for the test suite (debug builds only): panic on one image, to check that
    // a panicking worker stops the whole job instead of leaving the others waiting.
    #[cfg(debug_assertions)]
    if std::env::var_os("PNEUMOFLOW_TEST_PANIC_ON").is_some_and(|id| id == item.id.as_str()) {
        panic!("injected fault on image {}", item.id);
    }
    let decoded = decode_image(item, size)
        .map_err(|e| RecordError::new(item_origin(item), Stage::Decode, &e))?;
    build_record(item, decoded, csv)
        .map_err(|e| RecordError::new(item_origin(item), Stage::Decode, &e))
}
