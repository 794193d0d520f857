//! NumPy's `.npy` arrays (the header through `npyz`) and `.npz` archives of them (a zip file of
//! `NAME.npy` members, stored or deflated, as `numpy.savez` and `numpy.savez_compressed`
//! write them).
//!
//! Arrays are read in C order with one of the dtypes image and label data use: `uint8`,
//! `float32`, `float64`, `int64` (either byte order). Any other dtype (strings, objects,
//! `int32`, ...) is an error naming the file and the dtype.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// An array's values in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// `uint8` (`|u1`): kept as bytes (pixels).
    U8(Vec<u8>),
    /// `float32` (`<f4`, `>f4`).
    F32(Vec<f32>),
    /// `float64` (`<f8`, `>f8`).
    F64(Vec<f64>),
    /// `int64` (`<i8`, `>i8`).
    I64(Vec<i64>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::U8(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::I64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The NumPy name of the type (`uint8`, `float32`, `float64`, `int64`).
    pub fn dtype(&self) -> &'static str {
        match self {
            Values::U8(_) => "uint8",
            Values::F32(_) => "float32",
            Values::F64(_) => "float64",
            Values::I64(_) => "int64",
        }
    }
}

/// An n-dimensional array read from a `.npy` file or a `.npz` member.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// The shape (C order).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Values,
}

/// Reads a `.npy` file.
///
/// # Errors
/// A message naming the file: unreadable, not `.npy`, Fortran order, or an unsupported dtype.
pub fn read_npy(path: &Path) -> Result<NdArray, String> {
    let at = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{at}: cannot read: {e}"))?;
    parse_npy(&bytes[..]).map_err(|e| format!("{at}: {e}"))
}

/// Reads every array of a `.npz` archive, by name (the member name without `.npy`).
///
/// # Errors
/// A message naming the file (and the member): not a zip file, a member that is not `.npy`.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, NdArray>, String> {
    let at = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{at}: cannot read: {e}"))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{at}: not a readable .npz (zip) file: {e}"))?;
    let mut arrays = BTreeMap::new();
    for i in 0..zip.len() {
        let member = zip.by_index_raw(i).map_err(|e| format!("{at}: member {i}: {e}"))?;
        let name = member.name().to_string();
        let bytes = member_bytes(member).map_err(|e| format!("{at}: member `{name}`: {e}"))?;
        let array = parse_npy(&bytes[..]).map_err(|e| format!("{at}: member `{name}`: {e}"))?;
        arrays.insert(name.trim_end_matches(".npy").to_string(), array);
    }
    Ok(arrays)
}

/// A member's bytes: stored as they are, or inflated (deflate).
fn member_bytes(mut member: zip::read::ZipFile<'_>) -> Result<Vec<u8>, String> {
    let method = member.compression();
    let mut bytes = Vec::new();
    let read = if method == zip::CompressionMethod::STORE {
        member.read_to_end(&mut bytes)
    } else if method == zip::CompressionMethod::DEFLATE {
        flate2::read::DeflateDecoder::new(member).read_to_end(&mut bytes)
    } else {
        return Err(format!("compressed with {method}; only stored and deflated members are read"));
    };
    read.map_err(|e| format!("cannot inflate (truncated or corrupt?): {e}"))?;
    Ok(bytes)
}

/// Parses the bytes of a `.npy` file.
///
/// # Errors
/// What is wrong, as text (without the file name).
pub fn parse_npy(bytes: &[u8]) -> Result<NdArray, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a readable .npy file: {e}"))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if shape.len() > 1 && npy.order() != npyz::Order::C {
        return Err("is in Fortran order; save it in C order (numpy.ascontiguousarray)".into());
    }
    let descr = npy.dtype().descr();
    let code = descr.trim_matches('\'');
    let bad = |e: std::io::Error| format!("dtype {code}: {e} (truncated?)");
    let values = match code.trim_start_matches(['<', '>', '|', '=']) {
        "u1" => Values::U8(npy.into_vec::<u8>().map_err(bad)?),
        "f4" => Values::F32(npy.into_vec::<f32>().map_err(bad)?),
        "f8" => Values::F64(npy.into_vec::<f64>().map_err(bad)?),
        "i8" => Values::I64(npy.into_vec::<i64>().map_err(bad)?),
        _ => {
            return Err(format!(
                "has dtype {} ({}); expected uint8, float32, float64 or int64",
                code,
                numpy_name(code)
            ));
        }
    };
    Ok(NdArray { shape, values })
}

/// A readable name for a NumPy type code (`<U5`: unicode strings).
fn numpy_name(code: &str) -> String {
    let kind = code.trim_start_matches(['<', '>', '|', '=']);
    let what = match kind.chars().next() {
        Some('U') => "unicode strings",
        Some('S') | Some('a') => "byte strings",
        Some('O') => "Python objects",
        Some('b') => "booleans",
        Some('V') => "a structured or void type",
        Some('c') => "complex numbers",
        Some('i') => "signed integers of another width",
        Some('u') => "unsigned integers of another width",
        Some('f') => "floats of another width",
        _ => "an unsupported type",
    };
    what.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 `.npy` file with this descr, shape and raw data.
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn reads_the_four_dtypes_in_either_byte_order() {
        let a = parse_npy(&npy("|u1", "(2, 2)", &[1, 2, 3, 4])).unwrap();
        assert_eq!((a.shape, a.values), (vec![2, 2], Values::U8(vec![1, 2, 3, 4])));
        let f: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<f4", "(2,)", &f)).unwrap().values, Values::F32(vec![1.5, -2.0]));
        let d: Vec<u8> = [0.25f64].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(parse_npy(&npy(">f8", "(1,)", &d)).unwrap().values, Values::F64(vec![0.25]));
        let i: Vec<u8> = [7i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<i8", "(2,)", &i)).unwrap().values, Values::I64(vec![7, -1]));
    }

    #[test]
    fn other_dtypes_are_named() {
        let e = parse_npy(&npy("<U3", "(1,)", &[0; 12])).unwrap_err();
        assert_eq!(e, "has dtype <U3 (unicode strings); expected uint8, float32, float64 or int64");
        let e = parse_npy(&npy("<i4", "(1,)", &[0; 4])).unwrap_err();
        assert!(e.contains("<i4 (signed integers of another width)"), "{e}");
        assert!(parse_npy(b"not numpy").unwrap_err().starts_with("not a readable .npy file"));
    }
}
