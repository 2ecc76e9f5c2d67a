//! The CIFAR-10 binary format (Krizhevsky 2009,
//! <https://www.cs.toronto.edu/~kriz/cifar.html>): files `data_batch_1.bin` …
//! `data_batch_5.bin` and `test_batch.bin`, each a sequence of 3073-byte records
//! — one label byte (0–9), then 1024 red, 1024 green and 1024 blue bytes of a
//! 32×32 image in row-major order.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::Dataset;

/// Image side.
pub const SIDE: usize = 32;
/// Bytes per record: label plus 3×32×32 pixels.
pub const RECORD: usize = 1 + 3 * SIDE * SIDE;
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// The training files in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";

/// Parses the records of one file and appends them to `ds`.
pub fn parse_into(bytes: &[u8], path: &Path, ds: &mut Dataset) -> Result<()> {
    if bytes.is_empty() {
        bail!("{}: empty file (no CIFAR-10 record)", path.display());
    }
    if !bytes.len().is_multiple_of(RECORD) {
        bail!(
            "{}: truncated data: {} bytes is not a whole number of {RECORD}-byte records ({} complete, {} bytes left over)",
            path.display(),
            bytes.len(),
            bytes.len() / RECORD,
            bytes.len() % RECORD
        );
    }
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        let label = rec[0] as usize;
        if label >= NUM_CLASSES {
            bail!(
                "{}: label {label} of record {i} is out of range (expected 0..{})",
                path.display(),
                NUM_CLASSES - 1
            );
        }
        ds.labels.push(label);
        ds.images
            .extend(rec[1..].iter().map(|&p| f32::from(p) / 255.0));
    }
    Ok(())
}

/// An empty CIFAR-10 split (3 × 32 × 32, 10 classes) for [`parse_into`] to fill.
pub fn empty() -> Dataset {
    Dataset {
        c: 3,
        h: SIDE,
        w: SIDE,
        num_classes: NUM_CLASSES,
        images: Vec::new(),
        labels: Vec::new(),
        bytes: None,
    }
}

fn load_files(dir: &Path, names: &[&str]) -> Result<Dataset> {
    let mut ds = empty();
    for name in names {
        let path = dir.join(name);
        if !path.is_file() {
            bail!("missing file: {} does not exist", path.display());
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        parse_into(&bytes, &path, &mut ds)?;
    }
    Ok(ds)
}

/// Loads the five training batches and the test batch from `dir`, pixels in `[0, 1]`.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    if !dir.is_dir() {
        bail!("missing directory: {} does not exist", dir.display());
    }
    Ok((
        load_files(dir, &TRAIN_FILES)?,
        load_files(dir, &[TEST_FILE])?,
    ))
}

/// Encodes records in the CIFAR-10 binary format (used by tests and tools).
pub fn encode(labels: &[u8], pixels: &[u8]) -> Vec<u8> {
    let px = 3 * SIDE * SIDE;
    let mut out = Vec::with_capacity(labels.len() * RECORD);
    for (i, &l) in labels.iter().enumerate() {
        out.push(l);
        out.extend_from_slice(&pixels[i * px..(i + 1) * px]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_all(dir: &Path, per_file: usize) {
        for (k, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
            let labels: Vec<u8> = (0..per_file).map(|i| ((i + k) % 10) as u8).collect();
            let pixels: Vec<u8> = (0..per_file * 3072).map(|i| (i % 251) as u8).collect();
            std::fs::write(dir.join(name), encode(&labels, &pixels)).unwrap();
        }
    }

    #[test]
    fn loads_generated_files() {
        let d = tempfile::tempdir().unwrap();
        write_all(d.path(), 4);
        let (tr, te) = load_dir(d.path()).unwrap();
        assert_eq!((tr.len(), te.len(), tr.c, tr.h, tr.w), (20, 4, 3, 32, 32));
        assert_eq!(tr.labels[4], 1); // first record of data_batch_2
        assert!((tr.images[5] - 5.0 / 255.0).abs() < 1e-7);
        assert!((tr.images[3072 + 5] - (3077 % 251) as f32 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn missing_file() {
        let d = tempfile::tempdir().unwrap();
        write_all(d.path(), 2);
        std::fs::remove_file(d.path().join("data_batch_3.bin")).unwrap();
        let e = format!("{:#}", load_dir(d.path()).unwrap_err());
        assert!(
            e.contains("missing file") && e.contains("data_batch_3.bin"),
            "{e}"
        );
    }

    #[test]
    fn truncated_file() {
        let d = tempfile::tempdir().unwrap();
        write_all(d.path(), 2);
        let p = d.path().join(TEST_FILE);
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..RECORD + 100]).unwrap();
        let e = format!("{:#}", load_dir(d.path()).unwrap_err());
        assert!(
            e.contains("truncated") && e.contains("test_batch.bin") && e.contains("1 complete"),
            "{e}"
        );
    }

    #[test]
    fn label_out_of_range() {
        let d = tempfile::tempdir().unwrap();
        write_all(d.path(), 2);
        let p = d.path().join("data_batch_5.bin");
        let mut b = std::fs::read(&p).unwrap();
        b[RECORD] = 10;
        std::fs::write(&p, &b).unwrap();
        let e = format!("{:#}", load_dir(d.path()).unwrap_err());
        assert!(
            e.contains("label 10 of record 1") && e.contains("data_batch_5.bin"),
            "{e}"
        );
    }
}
