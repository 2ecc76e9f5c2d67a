//! CIFAR-10 binary batches: `parse_into`.
//!
//! Promise: no panic; a malformed file (empty, not whole records, a label ≥ 10) is an
//! `Err` naming the file; an `Ok` appends one label below 10 and 3072 pixels in [0, 1] per
//! 3073-byte record.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrate::data::cifar10::{self, parse_into, NUM_CLASSES, RECORD, SIDE};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz/data_batch_1.bin");
    let mut ds = cifar10::empty();
    // Appending to a split that already holds a record, as the loader does file after file.
    let first = [0u8; RECORD];
    parse_into(&first, path, &mut ds).expect("a record of zeros is valid");
    match parse_into(data, path, &mut ds) {
        Ok(()) => {
            assert_eq!(data.len() % RECORD, 0);
            let n = 1 + data.len() / RECORD;
            assert_eq!(ds.len(), n, "one label per record");
            assert_eq!(
                ds.images.len(),
                n * ds.image_size(),
                "3072 pixels per record"
            );
            assert!(ds.labels.iter().all(|&l| l < NUM_CLASSES));
            assert!(ds.images.iter().all(|p| (0.0..=1.0).contains(p)));
            for (i, rec) in data.chunks_exact(RECORD).enumerate() {
                assert_eq!(ds.labels[1 + i], usize::from(rec[0]));
            }
        }
        Err(e) => {
            let e = format!("{e:#}");
            assert!(
                e.contains("data_batch_1.bin"),
                "error does not name the file: {e}"
            );
        }
    }
});
