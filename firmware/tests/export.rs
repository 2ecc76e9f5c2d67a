//! The committed weights file is exactly what the `export` example writes with its
//! defaults (`cargo run --release -p lrate-firmware --example export -- --out
//! firmware/model/base.bin --seed 2026`): same training code, same seed, same
//! bytes.

use lrate_firmware::export::{self, DEFAULT_OUT, DEFAULT_SEED, MIN_SOURCE_ACCURACY};
use lrate_firmware::model::Model;
use lrate_firmware::weights;
use std::path::Path;

#[test]
fn committed_base_model_is_reproducible() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/base.bin");
    let committed = std::fs::read(&path).expect("firmware/model/base.bin is committed");
    let mut blob = vec![0u8; weights::BLOB_LEN];
    let summary = export::train(DEFAULT_SEED, &mut blob).unwrap();
    assert!(
        summary.source_accuracy >= MIN_SOURCE_ACCURACY,
        "{summary:?}"
    );
    assert!(summary.shifted_accuracy < 0.3, "{summary:?}");
    assert!(
        blob[..summary.bytes] == committed[..],
        "regenerate with `cargo run --release -p lrate-firmware --example export -- \
         --out {DEFAULT_OUT} --seed {DEFAULT_SEED}`"
    );
    let mut m = Box::new(Model::zeroed());
    weights::load(&committed, &mut m).unwrap();
}
