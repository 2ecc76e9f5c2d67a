//! Training the base model on the source domain (runs on the host, through the
//! `export` example and [`crate::export`], with the same no_std code the device
//! uses).
//!
//! Plain mini-batch SGD with momentum over both layers on freshly synthesised
//! [`Domain::SOURCE`] windows (an endless stream, so no epochs), with the learning
//! rate and momentum taken from an `lrate-core` [`Schedule`] at every step.

use crate::model::{Model, INPUT};
use crate::pipeline::to_input;
use crate::rng::Rng;
use crate::signal::{synthesize, Domain, CLASSES, WINDOW};
use crate::train::FullTrainer;
use lrate_core::Schedule;

/// Batch size of base training.
pub const BASE_BATCH: usize = 32;
/// Momentum used when the schedule does not cycle one.
pub const DEFAULT_MOMENTUM: f32 = 0.9;

/// Draws one labelled, valid (unsaturated) input from `domain`.
pub fn draw(domain: &Domain, rng: &mut Rng, x: &mut [f32; INPUT]) -> u8 {
    let mut raw = [0i16; WINDOW];
    loop {
        let c = rng.below(CLASSES as u32) as u8;
        synthesize(domain, c, rng, &mut raw);
        if to_input(&raw, x).is_ok() {
            return c;
        }
    }
}

/// Trains `m` (already initialised) for `steps` steps of [`BASE_BATCH`] source
/// windows under `schedule`; calls `progress(step, lr, loss)` after each step.
pub fn train<S: Schedule<f32>>(
    m: &mut Model,
    schedule: &S,
    steps: u32,
    seed: u64,
    weight_decay: f32,
    mut progress: impl FnMut(u32, f32, f32),
) -> FullTrainer {
    let mut rng = Rng::new(seed);
    let mut t = FullTrainer::new(weight_decay);
    let mut xs = [[0.0; INPUT]; BASE_BATCH];
    let mut ys = [0u8; BASE_BATCH];
    for step in 0..steps {
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            *y = draw(&Domain::SOURCE, &mut rng, x);
        }
        let lr = schedule.lr(step);
        let mom = schedule.momentum(step).unwrap_or(DEFAULT_MOMENTUM);
        let s = t.step(m, &xs, &ys, lr, mom);
        progress(step, lr, s.loss);
    }
    t
}

/// Accuracy (0–1) of `m` on `n` fresh windows of `domain`.
pub fn accuracy(m: &Model, domain: &Domain, n: u32, seed: u64) -> f32 {
    let mut rng = Rng::new(seed);
    let mut x = [0.0; INPUT];
    let mut ok = 0u32;
    for _ in 0..n {
        let c = draw(domain, &mut rng, &mut x);
        ok += (m.predict(&x) == c) as u32;
    }
    ok as f32 / n.max(1) as f32
}
