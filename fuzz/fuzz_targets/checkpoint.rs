//! Checkpoints: `Checkpoint::from_bytes` (safetensors), its metadata (`Meta::from_json`),
//! the schedule stored in it (`RunSchedule::from_json`) and its tensors restored into a
//! model and each optimizer kind (`Model::load_state`, `Optimizer::load_state`), as
//! `lrate train --resume` does.
//!
//! Promise: no panic; a bad file is an `Err` naming the file; a parsed checkpoint holds
//! tensors whose shapes match their values and writes back (`to_bytes`) to the same
//! checkpoint; a stored schedule that loads is finite and ≥ 0 at every step.
#![no_main]

use std::cell::RefCell;
use std::path::Path;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use lrate::checkpoint::Checkpoint;
use lrate::meta::Meta;
use lrate::nn::{Cpu, Model, ModelKind, NamedTensor, Optimizer, OptimizerKind};
use lrate::sched::RunSchedule;
use lrate_fuzz::check_any;

const PATH: &str = "fuzz/checkpoint.safetensors";

/// The model of the seed checkpoint (`host/tests/fuzz_seeds.rs`): an MLP on 1×2×2 inputs,
/// 2 classes.
pub const INPUT: (usize, usize, usize) = (1, 2, 2);

thread_local! {
    static MODEL: RefCell<Model<Cpu>> = RefCell::new(
        Model::try_new(ModelKind::Mlp, INPUT, 2, 0, &Cpu::default()).expect("tiny mlp")
    );
}

const KINDS: [OptimizerKind; 5] = [
    OptimizerKind::Sgd {
        nesterov: true,
        weight_decay: 5e-4,
    },
    OptimizerKind::Adam {
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    },
    OptimizerKind::AdamW {
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    },
    OptimizerKind::SfSgd {
        weight_decay: 0.0,
        warmup_steps: 10,
        r: 0.0,
        weight_lr_power: 2.0,
    },
    OptimizerKind::SfAdamW {
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
        warmup_steps: 0,
        r: 0.5,
        weight_lr_power: 2.0,
    },
];

fn same(a: &[NamedTensor], b: &[NamedTensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.0 == y.0
                && x.1 == y.1
                && x.2.len() == y.2.len()
                && x.2
                    .iter()
                    .zip(&y.2)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

fn restore(ck: &Checkpoint, kind: OptimizerKind) {
    MODEL.with(|m| {
        let mut m = m.borrow_mut();
        let model_ok = m.load_state(&ck.model).is_ok();
        let mut opt = Optimizer::new(kind);
        if opt.load_state(&ck.optimizer).is_ok() && model_ok {
            let _ = m.check_optimizer(&opt);
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new(PATH);
    let ck = match Checkpoint::from_bytes(data, path) {
        Ok(ck) => ck,
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains(PATH), "error does not name the file: {e}");
            return;
        }
    };
    for (name, shape, values) in ck.model.iter().chain(&ck.optimizer) {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        assert_eq!(n, Some(values.len()), "tensor `{name}` {shape:?}");
    }
    let bytes = ck.to_bytes().expect("a parsed checkpoint serializes");
    let back = Checkpoint::from_bytes(&bytes, path).expect("a written checkpoint parses");
    assert_eq!(back.meta, ck.meta);
    assert!(same(&back.model, &ck.model) && same(&back.optimizer, &ck.optimizer));

    let meta = Meta::from_json(&ck.meta);
    for kind in KINDS {
        restore(&ck, kind);
    }
    if let Ok(meta) = meta {
        restore(&ck, meta.common.optimizer.kind);
        if let Ok(s) = RunSchedule::from_json(&meta.schedule) {
            check_any(&s.0, &mut Unstructured::new(data));
        }
    }
});
