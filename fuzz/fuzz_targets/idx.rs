//! IDX (MNIST, Fashion-MNIST) files, raw and gzip-compressed: `parse_images`, `parse_labels`
//! and the loader's gzip decoding (`decode_gz`, what `read_maybe_gz` runs on a `.gz` file).
//!
//! Promise: no panic; a malformed file is an `Err` naming the file; an `Ok` holds exactly
//! what the header announces (`n · rows · cols` pixels, `n` labels below the class count).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrate::data::idx::{decode_gz, parse_images, parse_labels, NUM_CLASSES};

const NAME: &str = "fuzz/train-images-idx3-ubyte";

fn check(bytes: &[u8], path: &Path) {
    match parse_images(bytes, path) {
        Ok((n, rows, cols, pixels)) => {
            assert!(
                rows > 0 && cols > 0,
                "empty image size {rows}x{cols} accepted"
            );
            assert_eq!(
                Some(pixels.len()),
                n.checked_mul(rows * cols),
                "pixel count"
            );
            assert!(pixels.len() + 16 <= bytes.len(), "more pixels than bytes");
        }
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains(NAME), "error does not name the file: {e}");
        }
    }
    for classes in [NUM_CLASSES, 1, 256] {
        match parse_labels(bytes, path, classes) {
            Ok(labels) => {
                assert!(labels.len() + 8 <= bytes.len(), "more labels than bytes");
                assert!(labels.iter().all(|&l| l < classes), "label out of range");
            }
            Err(e) => {
                let e = format!("{e:#}");
                assert!(e.contains(NAME), "error does not name the file: {e}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new(NAME);
    check(data, path);
    let gz = Path::new("fuzz/train-images-idx3-ubyte.gz");
    match decode_gz(data, gz) {
        Ok(raw) => check(&raw, path),
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
        }
    }
});
