//! SIIM-style identifiers for synthetic cases, deterministic from (seed, split, index).
//!
//! The challenge's ImageId is the SOP Instance UID, e.g.
//! `1.2.276.0.7230010.3.1.4.8323329.5597.1517875188.959090`; its study and series UIDs share the
//! `<n>.<time>` part with `.3.1.2.` / `.3.1.3.` and the last number minus 1 / minus 2. We keep
//! that shape. `<n>` is `1 + 2·index` for train and `2 + 2·index` for test, plus a per-seed
//! offset, so ids are distinct within a dataset and between its splits.

use super::case::Split;
use super::rng::{case_seed, mix64};

const ROOT: &str = "1.2.276.0.7230010.3.1";
const SITE: &str = "8323329";

/// Identifiers of one case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseIds {
    /// SOP Instance UID = the challenge ImageId.
    pub sop_instance_uid: String,
    /// Study Instance UID (the first folder level under `dicom-images-*`).
    pub study_instance_uid: String,
    /// Series Instance UID (the second folder level).
    pub series_instance_uid: String,
    /// Patient ID, a UUID-shaped string as in the challenge files.
    pub patient_id: String,
}

impl CaseIds {
    /// The identifiers of case `index` of `split` in the dataset generated with `seed`.
    pub fn new(seed: u64, split: Split, index: usize) -> Self {
        let h = mix64(case_seed(seed, split, index as u64) ^ 0x1D5);
        let offset = mix64(seed ^ 0x0FF5E7) % 4000;
        let n = offset + 2 * index as u64 + if split == Split::Train { 1 } else { 2 };
        let time = 1_517_875_100 + (h % 150);
        let last = 1000 + (h >> 16) % 998_000;
        let uid = |kind: u32, last: u64| format!("{ROOT}.{kind}.{SITE}.{n}.{time}.{last}");
        let p = mix64(h ^ 0xBEEF);
        let q = mix64(p);
        let patient_id = format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            p >> 32,
            (p >> 16) & 0xFFFF,
            p & 0xFFF,
            8 + (q >> 62),
            (q >> 48) & 0xFFF,
            q & 0xFFFF_FFFF_FFFF
        );
        Self {
            sop_instance_uid: uid(4, last),
            study_instance_uid: uid(2, last - 1),
            series_instance_uid: uid(3, last - 2),
            patient_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_look_like_siim_and_are_valid_uids() {
        let ids = CaseIds::new(3, Split::Train, 17);
        let id = &ids.sop_instance_uid;
        assert!(id.starts_with("1.2.276.0.7230010.3.1.4.8323329."), "{id}");
        let parts: Vec<&str> = id.split('.').collect();
        assert_eq!(parts.len(), 12, "{id}");
        assert!(
            parts[10].starts_with("1517875") && parts[10].len() == 10,
            "{id}"
        );
        for uid in [
            &ids.sop_instance_uid,
            &ids.study_instance_uid,
            &ids.series_instance_uid,
        ] {
            assert!(uid.len() <= 64, "{uid}");
            assert!(
                uid.split('.')
                    .all(|c| !c.is_empty() && (c == "0" || !c.starts_with('0'))),
                "{uid}"
            );
            assert!(uid.chars().all(|c| c.is_ascii_digit() || c == '.'));
        }
        assert!(ids.study_instance_uid.contains(".3.1.2.8323329."));
        assert!(ids.series_instance_uid.contains(".3.1.3.8323329."));
        assert_eq!(ids.patient_id.len(), 36);
        assert_eq!(ids, CaseIds::new(3, Split::Train, 17));
    }

    #[test]
    fn ids_are_unique_across_splits() {
        let mut seen = HashSet::new();
        for split in [Split::Train, Split::Test] {
            for i in 0..3000 {
                assert!(
                    seen.insert(CaseIds::new(9, split, i).sop_instance_uid),
                    "{split:?} {i}"
                );
            }
        }
        assert_ne!(
            CaseIds::new(9, Split::Train, 0),
            CaseIds::new(10, Split::Train, 0)
        );
    }
}
