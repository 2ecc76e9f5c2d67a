//! The firmware's fine-tuning settings are the winners of the validation-stream
//! search (`lrate_firmware::tune`), so nothing in `Config::default()` was chosen
//! on the device's test streams. Changing a searched default without re-running
//! the search (`cargo run --release -p lrate-firmware --example tune`) fails here.

use lrate_firmware::finetune::{Config, Workspace};
use lrate_firmware::model::Model;
use lrate_firmware::tune;

#[test]
fn defaults_are_the_validation_winners() {
    let mut model = Box::new(Model::zeroed());
    let mut ws = Box::new(Workspace::new());
    let base = Config::default();
    let (clr, sf) = tune::search(&base, &mut model, &mut ws).expect("search runs");
    let c = clr[tune::best(&clr).unwrap()];
    let s = sf[tune::best(&sf).unwrap()];
    assert!(c.mean > 0.5 && s.mean > 0.5, "{c:?} {s:?}");
    assert_eq!(
        (c.config.cycles, c.config.step_size, c.config.bounds_div),
        (base.cycles, base.step_size, base.bounds_div),
        "CLR winner on the validation streams vs Config::default()"
    );
    assert_eq!(
        (s.config.sf_lr_scale, s.config.sf_warmup_pct),
        (base.sf_lr_scale, base.sf_warmup_pct),
        "schedule-free winner on the validation streams vs Config::default()"
    );
}
