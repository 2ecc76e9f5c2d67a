//! Config text: the TOML of a config file (`FileConfig::parse`, resolved as `lrate train
//! --config` does, `resolve_train_with`, and the run's schedule built with
//! `sched::for_training`), a `[schedule]` table on its own (`sched::from_table`) and the
//! JSON of a schedule (`AnySchedule` through serde_json, `RunSchedule::from_json`).
//!
//! Promise: no panic; a bad file is an `Err` (naming the file where the file is known); a
//! schedule that is built is finite and ≥ 0 at every step and survives a JSON round trip.
#![no_main]

use std::path::{Path, PathBuf};

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use lrate::cli::TrainArgs;
use lrate::config::{resolve_train_with, FileConfig, MaxLr};
use lrate::sched::{self, Any, Peak, RunSchedule};
use lrate_fuzz::{check_any, check_schedule, steps};

const PATH: &str = "fuzz/config.toml";

fn check_file(text: &str) {
    let path = Path::new(PATH);
    let f = match FileConfig::parse(text, path) {
        Ok(f) => f,
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains(PATH), "error does not name the file: {e}");
            return;
        }
    };
    let mut a = TrainArgs::default();
    a.common.config = Some(PathBuf::from(PATH));
    if f.run.out.is_none() {
        // Not the default directory: resolving it would look at runs/ on disk.
        a.common.out = Some(PathBuf::from("runs/fuzz"));
    }
    let Ok(o) = resolve_train_with(&a, &f) else {
        return;
    };
    let c = &o.common;
    assert!(o.epochs >= 1 && c.batch >= 1);
    let find = &c.find;
    assert!(find.start_lr.is_finite() && find.start_lr > 0.0);
    assert!(find.end_lr.is_finite() && find.end_lr > find.start_lr);
    assert!(find.num_it >= 2);
    assert!((1..=lrate::config::MAX_REPEATS).contains(&find.repeats));
    assert!(c.optimizer.momentum.is_finite() && (0.0..1.0).contains(&c.optimizer.momentum));
    assert!(
        find.range_test().validate().is_ok(),
        "a resolved [find] gives an invalid range test: {find:?}"
    );
    let peak = match o.max_lr {
        MaxLr::Fixed(v) => {
            assert!(v.is_finite() && v > 0.0, "max_lr {v}");
            Some(Peak {
                max_lr: v,
                min_lr: None,
            })
        }
        MaxLr::FromSchedule => None,
        // What a range test hands over.
        MaxLr::Auto => Some(Peak {
            max_lr: 0.1,
            min_lr: Some(0.025),
        }),
    };
    if let lrate::config::ScheduleSource::Table(any) = &o.schedule {
        check_any(&**any, &mut Unstructured::new(&[]));
    }
    let spe = 7;
    let total = o.epochs.saturating_mul(spe);
    if let Ok((_, s)) = sched::for_training(&o.schedule, peak, total, spe) {
        check_schedule(&s, &steps(&mut Unstructured::new(&[]), &[total]));
        check_any(&s.0, &mut Unstructured::new(&[]));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_file(&text);
    // The text as the body of a [schedule] table.
    if let Ok(v) = toml::from_str::<toml::Value>(&text) {
        if let Ok(any) = sched::from_table(&v) {
            check_any(&any, &mut Unstructured::new(data));
        }
    }
    // The text as a schedule in JSON, as `lrate schedule` and checkpoints write it.
    if let Ok(any) = serde_json::from_str::<Any>(&text) {
        check_any(&any, &mut Unstructured::new(data));
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Ok(s) = RunSchedule::from_json(&v) {
            check_any(&s.0, &mut Unstructured::new(data));
        }
    }
});
