//! The IDX format of MNIST and Fashion-MNIST (LeCun et al.,
//! <http://yann.lecun.com/exdb/mnist/>), raw or gzip-compressed.
//!
//! A file starts with the big-endian magic `0x0000_08DD` (`08` = unsigned byte,
//! `DD` = number of dimensions: 3 for images, 1 for labels), then one big-endian
//! `u32` per dimension, then the bytes.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;

use super::Dataset;

/// Magic number of an IDX image file (`u8`, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX label file (`u8`, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes of MNIST and Fashion-MNIST.
pub const NUM_CLASSES: usize = 10;

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    let raw = dir.join(stem);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    bail!(
        "missing file: neither {} nor {} exists",
        raw.display(),
        gz.display()
    )
}

/// Reads a whole file, decompressing it when its name ends in `.gz` ([`decode_gz`]).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if path.extension().is_some_and(|e| e == "gz") {
        return decode_gz(file, path);
    }
    let mut bytes = Vec::new();
    let mut file = file;
    file.read_to_end(&mut bytes)
        .with_context(|| format!("{}: read error", path.display()))?;
    Ok(bytes)
}

/// Decompresses the gzip stream `gz` (a file, or bytes in memory) as [`read_maybe_gz`] does
/// for a `.gz` file; `path` only names the file in errors.
pub fn decode_gz(gz: impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    GzDecoder::new(gz)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: corrupt gzip data", path.display()))?;
    Ok(bytes)
}

fn be_u32(bytes: &[u8], at: usize, path: &Path) -> Result<u32> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => bail!(
            "{}: truncated header ({} bytes, need at least {})",
            path.display(),
            bytes.len(),
            at + 4
        ),
    }
}

/// Parses an IDX image file into `(n, rows, cols, pixels)`.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let magic = be_u32(bytes, 0, path)?;
    if magic != IMAGES_MAGIC {
        bail!(
            "{}: wrong magic number 0x{magic:08x} (an IDX image file starts with 0x{IMAGES_MAGIC:08x})",
            path.display()
        );
    }
    let n = be_u32(bytes, 4, path)? as usize;
    let rows = be_u32(bytes, 8, path)? as usize;
    let cols = be_u32(bytes, 12, path)? as usize;
    if rows == 0 || cols == 0 {
        bail!("{}: image size {rows}x{cols} is empty", path.display());
    }
    let need = n
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .with_context(|| {
            format!(
                "{}: image count overflows ({n} images of {rows}x{cols})",
                path.display()
            )
        })?;
    let body = &bytes[16..];
    if body.len() < need {
        bail!(
            "{}: truncated data: header announces {n} images of {rows}x{cols} ({need} bytes) but only {} bytes follow",
            path.display(),
            body.len()
        );
    }
    Ok((n, rows, cols, body[..need].to_vec()))
}

/// Parses an IDX label file, checking every label is below `num_classes`.
pub fn parse_labels(bytes: &[u8], path: &Path, num_classes: usize) -> Result<Vec<usize>> {
    let magic = be_u32(bytes, 0, path)?;
    if magic != LABELS_MAGIC {
        bail!(
            "{}: wrong magic number 0x{magic:08x} (an IDX label file starts with 0x{LABELS_MAGIC:08x})",
            path.display()
        );
    }
    let n = be_u32(bytes, 4, path)? as usize;
    let body = &bytes[8..];
    if body.len() < n {
        bail!(
            "{}: truncated data: header announces {n} labels but only {} bytes follow",
            path.display(),
            body.len()
        );
    }
    body[..n]
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if (l as usize) < num_classes {
                Ok(l as usize)
            } else {
                bail!(
                    "{}: label {l} of item {i} is out of range (expected 0..{})",
                    path.display(),
                    num_classes - 1
                )
            }
        })
        .collect()
}

/// Loads one split (`train` or `t10k`) from `dir`, pixels scaled to `[0, 1]`.
pub fn load_split(dir: &Path, prefix: &str) -> Result<Dataset> {
    let img_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lbl_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (n, rows, cols, pixels) = parse_images(&read_maybe_gz(&img_path)?, &img_path)?;
    let labels = parse_labels(&read_maybe_gz(&lbl_path)?, &lbl_path, NUM_CLASSES)?;
    if labels.len() != n {
        bail!(
            "count mismatch: {} holds {n} images but {} holds {} labels",
            img_path.display(),
            lbl_path.display(),
            labels.len()
        );
    }
    Ok(Dataset {
        c: 1,
        h: rows,
        w: cols,
        num_classes: NUM_CLASSES,
        images: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        labels,
        bytes: None,
    })
}

/// Loads `train-*` and `t10k-*` from `dir`.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    if !dir.is_dir() {
        bail!("missing directory: {} does not exist", dir.display());
    }
    let train = load_split(dir, "train")?;
    let test = load_split(dir, "t10k")?;
    if (train.h, train.w) != (test.h, test.w) {
        bail!(
            "{}: training images are {}x{} but test images are {}x{}",
            dir.display(),
            train.h,
            train.w,
            test.h,
            test.w
        );
    }
    Ok((train, test))
}

/// Encodes images in the IDX format (used by tests and tools).
pub fn encode_images(n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels in the IDX format (used by tests and tools).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn write_set(dir: &Path, prefix: &str, n: usize, gz: bool) {
        let pixels: Vec<u8> = (0..n * 4 * 4).map(|i| (i * 7 % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = encode_images(n, 4, 4, &pixels);
        let lbl = encode_labels(&labels);
        for (name, bytes) in [("images-idx3-ubyte", img), ("labels-idx1-ubyte", lbl)] {
            let stem = format!("{prefix}-{name}");
            if gz {
                let f = File::create(dir.join(format!("{stem}.gz"))).unwrap();
                let mut e = GzEncoder::new(f, flate2::Compression::fast());
                e.write_all(&bytes).unwrap();
                e.finish().unwrap();
            } else {
                std::fs::write(dir.join(stem), bytes).unwrap();
            }
        }
    }

    fn err(dir: &Path) -> String {
        format!("{:#}", load_dir(dir).unwrap_err())
    }

    #[test]
    fn loads_raw_and_gz() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 12, true);
        write_set(d.path(), "t10k", 5, false);
        let (tr, te) = load_dir(d.path()).unwrap();
        assert_eq!((tr.len(), te.len(), tr.h, tr.w, tr.c), (12, 5, 4, 4, 1));
        assert_eq!(tr.labels[11], 1);
        assert!((tr.images[1] - 7.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn missing_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 3, false);
        let e = err(d.path());
        assert!(
            e.contains("missing file") && e.contains("t10k-images-idx3-ubyte"),
            "{e}"
        );
    }

    #[test]
    fn wrong_magic() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 3, false);
        write_set(d.path(), "t10k", 3, false);
        let p = d.path().join("train-labels-idx1-ubyte");
        let mut b = std::fs::read(&p).unwrap();
        b[3] = 0x03;
        std::fs::write(&p, b).unwrap();
        let e = err(d.path());
        assert!(
            e.contains("wrong magic") && e.contains("train-labels-idx1-ubyte"),
            "{e}"
        );
    }

    #[test]
    fn truncated_images() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 3, false);
        write_set(d.path(), "t10k", 3, false);
        let p = d.path().join("t10k-images-idx3-ubyte");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 5]).unwrap();
        let e = err(d.path());
        assert!(e.contains("truncated") && e.contains("t10k-images"), "{e}");
        std::fs::write(&p, &b[..10]).unwrap();
        let e = err(d.path());
        assert!(e.contains("truncated header"), "{e}");
    }

    #[test]
    fn count_mismatch() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 3, false);
        write_set(d.path(), "t10k", 3, false);
        std::fs::write(
            d.path().join("t10k-labels-idx1-ubyte"),
            encode_labels(&[1, 2]),
        )
        .unwrap();
        let e = err(d.path());
        assert!(
            e.contains("count mismatch") && e.contains("3 images") && e.contains("2 labels"),
            "{e}"
        );
    }

    #[test]
    fn label_out_of_range() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "train", 3, false);
        write_set(d.path(), "t10k", 3, false);
        std::fs::write(
            d.path().join("train-labels-idx1-ubyte"),
            encode_labels(&[1, 12, 2]),
        )
        .unwrap();
        let e = err(d.path());
        assert!(e.contains("label 12 of item 1 is out of range"), "{e}");
    }

    /// Fuzz regression (`fuzz/regressions/idx/count-overflow`): a header whose
    /// `n · rows · cols` overflows was refused without naming the file.
    #[test]
    fn overflowing_header_names_the_file() {
        let bytes = encode_images(u32::MAX as usize, u32::MAX as usize, u32::MAX as usize, &[]);
        let p = Path::new("d/train-images-idx3-ubyte");
        let e = format!("{:#}", parse_images(&bytes, p).unwrap_err());
        assert!(
            e.contains("d/train-images-idx3-ubyte") && e.contains("overflows"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_gzip() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), "t10k", 3, false);
        write_set(d.path(), "train", 3, false);
        std::fs::remove_file(d.path().join("train-images-idx3-ubyte")).unwrap();
        std::fs::write(
            d.path().join("train-images-idx3-ubyte.gz"),
            b"not gzip at all",
        )
        .unwrap();
        let e = err(d.path());
        assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
    }
}
