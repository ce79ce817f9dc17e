//! The frame header (SOF) of an encapsulated JPEG, read before decoding.
//!
//! dicom-rs's JPEG adapter sizes its output from the DICOM Rows/Columns and copies the decoder's
//! output into it with a slice that panics when the JPEG is larger; jpeg-decoder allocates from
//! the JPEG's own dimensions. Both are made safe by checking the frame header against the DICOM
//! attributes first.

/// What the first frame header of a JPEG stream says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegFrame {
    /// The SOF marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, ...
    pub marker: u8,
    /// Sample precision in bits.
    pub precision: u8,
    /// Number of lines (image height).
    pub height: u16,
    /// Samples per line (image width).
    pub width: u16,
    /// Number of image components.
    pub components: u8,
}

/// Finds and decodes the first frame header (SOFn) of the JPEG stream `data`; the error says
/// what was found instead.
pub(crate) fn frame_header(data: &[u8]) -> Result<JpegFrame, String> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        let found: Vec<String> = data.iter().take(2).map(|b| format!("{b:02X}")).collect();
        return Err(format!(
            "the JPEG data does not start with an SOI marker (FF D8); found {:?}",
            found.join(" ")
        ));
    }
    let mut i = 2;
    loop {
        match data.get(i) {
            None => return Err("the JPEG data ends before its frame header (SOF)".into()),
            Some(0xFF) => {}
            Some(b) => {
                return Err(format!(
                    "expected a JPEG marker at byte {i} of the JPEG data, found {b:02X}"
                ))
            }
        }
        while data.get(i) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let Some(&marker) = data.get(i) else {
            return Err("the JPEG data ends before its frame header (SOF)".into());
        };
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue, // standalone markers
            0xD9 | 0xDA => {
                return Err(format!(
                    "the JPEG data has no frame header (SOF) before its {}",
                    if marker == 0xDA {
                        "scan (SOS)"
                    } else {
                        "end (EOI)"
                    }
                ))
            }
            _ => {}
        }
        let Some(len) = data
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        else {
            return Err("the JPEG data ends inside a marker segment".into());
        };
        if len < 2 || i + len > data.len() {
            return Err(format!(
                "JPEG marker segment FF{marker:02X} at byte {} declares {len} bytes, {} remain",
                i - 2,
                data.len() - i
            ));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if len < 8 {
                return Err(format!(
                    "JPEG frame header FF{marker:02X} is {len} bytes, expected at least 8"
                ));
            }
            let s = &data[i..i + len];
            return Ok(JpegFrame {
                marker,
                precision: s[2],
                height: u16::from_be_bytes([s[3], s[4]]),
                width: u16::from_be_bytes([s[5], s[6]]),
                components: s[7],
            });
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(sof: u8, h: u16, w: u16, comps: u8) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F'];
        v.extend_from_slice(&[0xFF, 0xFF, sof, 0x00, 0x0B, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[comps, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn reads_the_first_frame_header_after_other_segments() {
        let f = frame_header(&jpeg(0xC0, 24, 32, 1)).unwrap();
        assert_eq!(
            f,
            JpegFrame {
                marker: 0xC0,
                precision: 8,
                height: 24,
                width: 32,
                components: 1
            }
        );
        assert_eq!(frame_header(&jpeg(0xC2, 1, 2, 3)).unwrap().marker, 0xC2);
    }

    #[test]
    fn malformed_streams_are_errors() {
        assert!(frame_header(b"").unwrap_err().contains("SOI"));
        assert!(frame_header(&[0xFF, 0xD8, 0xFF, 0xD9])
            .unwrap_err()
            .contains("end (EOI)"));
        let mut cut = jpeg(0xC0, 24, 32, 1);
        cut.truncate(14);
        assert_eq!(
            frame_header(&cut).unwrap_err(),
            "JPEG marker segment FFC0 at byte 9 declares 11 bytes, 3 remain"
        );
        cut.truncate(12);
        assert!(frame_header(&cut)
            .unwrap_err()
            .contains("inside a marker segment"));
        assert!(frame_header(&[0xFF, 0xD8, 0x00])
            .unwrap_err()
            .contains("expected a JPEG marker at byte 2"));
    }
}
