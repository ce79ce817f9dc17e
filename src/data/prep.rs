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
    let decoded = decode_image(item, size)
        .map_err(|e| RecordError::new(item_origin(item), Stage::Decode, &e))?;
    build_record(item, decoded, csv)
        .map_err(|e| RecordError::new(item_origin(item), Stage::Decode, &e))
}
