//! The IDX format of MNIST-style datasets (LeCun et al., <http://yann.lecun.com/exdb/mnist/>),
//! gzip-compressed or not.
//!
//! A file is a big-endian header, two zero bytes, a type byte (`0x08`: unsigned byte; the only
//! type image datasets use and the only one read here), the number of dimensions, one `u32`
//! per dimension, then the values in row-major order. Images are `[n, rows, cols]`, labels
//! `[n]`. A gzip file is recognised by its magic bytes (`1f 8b`), not by its name.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The type byte of unsigned bytes (`0x08`).
pub const UBYTE: u8 = 0x08;
/// The most values one file may hold (2^32 bytes): a larger header is a corrupt file.
const MAX_VALUES: usize = 1 << 32;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions (`[n, rows, cols]` for images, `[n]` for labels).
    pub dims: Vec<usize>,
    /// The values, row-major (`dims.iter().product()` of them).
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes (gzip-compressed or not).
///
/// # Errors
/// A message naming the file: unreadable, not gzip when it says so, a wrong magic number, a
/// type other than unsigned bytes, or fewer (or more) values than the header announces.
pub fn read_idx(path: &Path) -> Result<IdxArray, String> {
    let at = path.display();
    let raw = std::fs::read(path).map_err(|e| format!("{at}: cannot read: {e}"))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{at}: not a readable gzip file (truncated or corrupt?): {e}"))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|e| format!("{at}: {e}"))
}

/// Parses the bytes of an (uncompressed) IDX file of unsigned bytes.
///
/// # Errors
/// What is wrong with the header or the length, as text.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!("not an IDX file: {} bytes, shorter than the 4-byte magic number", bytes.len()));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: magic number {magic:#010x} does not start with two zero bytes \
             (MNIST-style images start 0x00000803, labels 0x00000801)"
        ));
    }
    if bytes[2] != UBYTE {
        return Err(format!(
            "IDX type byte {:#04x} (magic number {magic:#010x}); only unsigned bytes (0x08) are read",
            bytes[2]
        ));
    }
    let ndim = usize::from(bytes[3]);
    if ndim == 0 {
        return Err(format!("IDX magic number {magic:#010x} declares 0 dimensions"));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(format!("truncated IDX file: {} bytes, shorter than its {header}-byte header", bytes.len()));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_VALUES);
    let Some(count) = count else {
        return Err(format!("IDX dimensions {dims:?} announce more than 2^32 values"));
    };
    let found = bytes.len() - header;
    if found != count {
        let what = if found < count { "truncated IDX file" } else { "IDX file longer than its header says" };
        return Err(format!("{what}: dimensions {dims:?} need {count} bytes of values, found {found}"));
    }
    Ok(IdxArray { dims, data: bytes[header..].to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dims: &[u32], values: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, UBYTE, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(values);
        b
    }

    #[test]
    fn parses_images_and_labels() {
        let a = parse_idx(&file(&[2, 1, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(a, IdxArray { dims: vec![2, 1, 3], data: vec![1, 2, 3, 4, 5, 6] });
        assert_eq!(parse_idx(&file(&[3], &[7, 8, 9])).unwrap().dims, vec![3]);
    }

    #[test]
    fn bad_headers_and_lengths_say_what_is_wrong() {
        let e = parse_idx(&file(&[2, 1, 3], &[1, 2, 3])).unwrap_err();
        assert!(e.starts_with("truncated IDX file: dimensions [2, 1, 3] need 6 bytes"), "{e}");
        let e = parse_idx(&file(&[2], &[1, 2, 3])).unwrap_err();
        assert!(e.contains("longer than its header says"), "{e}");
        let mut wrong = file(&[1], &[0]);
        wrong[0] = 0x1f;
        assert!(parse_idx(&wrong).unwrap_err().contains("magic number 0x1f000801"));
        let mut float = file(&[1], &[0, 0, 0, 0]);
        float[2] = 0x0d;
        assert!(parse_idx(&float).unwrap_err().contains("type byte 0x0d"));
        assert!(parse_idx(&[0, 0]).unwrap_err().contains("shorter than the 4-byte magic"));
        assert!(parse_idx(&[0, 0, 8, 3, 0]).unwrap_err().contains("shorter than its 16-byte header"));
        let huge = file(&[u32::MAX, u32::MAX], &[]);
        assert!(parse_idx(&huge).unwrap_err().contains("more than 2^32"));
    }
}
