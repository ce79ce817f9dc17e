//! 8-bit PNG encoding (grayscale and RGB) with the `png` crate, written atomically.

use std::path::Path;

/// Encodes a row-major 8-bit grayscale image as PNG.
pub fn encode_gray(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    encode(width, height, pixels, png::ColorType::Grayscale)
}

/// Encodes a row-major interleaved 8-bit RGB image as PNG.
pub fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    encode(width, height, pixels, png::ColorType::Rgb)
}

fn encode(
    width: u32,
    height: u32,
    pixels: &[u8],
    color: png::ColorType,
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(pixels)?;
        w.finish()?;
    }
    Ok(out)
}

/// Why a PNG could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PngError {
    /// Encoding failed.
    #[error("{path}: cannot encode PNG: {source}")]
    Encode {
        /// The output file.
        path: std::path::PathBuf,
        /// The encoder's error.
        source: png::EncodingError,
    },
    /// Writing failed.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The output file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Decoding failed.
    #[error("cannot decode PNG: {0}")]
    Decode(#[from] png::DecodingError),
    /// Not an 8-bit grayscale PNG.
    #[error("expected an 8-bit grayscale PNG, found {color:?} {depth:?}")]
    NotGray8 {
        /// The colour type found.
        color: png::ColorType,
        /// The bit depth found.
        depth: png::BitDepth,
    },
}

/// Writes a grayscale PNG file atomically.
pub fn write_gray(path: &Path, width: u32, height: u32, pixels: &[u8]) -> Result<(), PngError> {
    let bytes = encode_gray(width, height, pixels).map_err(|source| PngError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    data_prep::atomic::write_bytes_atomic(path, &bytes).map_err(|source| PngError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Decodes an 8-bit grayscale PNG into (width, height, pixels).
pub fn decode_gray(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), PngError> {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info()?;
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf)?;
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        return Err(PngError::NotGray8 {
            color: info.color_type,
            depth: info.bit_depth,
        });
    }
    buf.truncate(info.buffer_size());
    Ok((info.width, info.height, buf))
}

#[cfg(test)]
mod tests {
    #[test]
    fn gray_round_trip() {
        let px: Vec<u8> = (0..12).map(|v| v * 20).collect();
        let png = super::encode_gray(4, 3, &px).unwrap();
        assert_eq!(super::decode_gray(&png).unwrap(), (4, 3, px));
    }
}
