//! How the fine-tuning settings of [`Config::default`] were chosen: a grid search
//! scored on the validation streams only ([`VALIDATION_SEEDS`]), never on the
//! device's test streams ([`TEST_SEEDS`](crate::evaluation::TEST_SEEDS)).
//!
//! Each candidate runs the whole device procedure ([`finetune::run`]: fresh base
//! weights, held-out set of its own stream, range test, fine-tuning) once per
//! validation stream; its score is the mean held-out accuracy after fine-tuning.
//! Every candidate gets the same budget, [`STEP_BUDGET`] fine-tuning steps. The
//! best score wins; ties go to the earlier candidate in the grid.
//!
//! 1. [`CLR_GRID`], for the CLR image: how the budget is split into cycles
//!    × the bounds divisor (`base_lr = max_lr / div`; 3, 4 and 10 are the CLR
//!    paper's "max/3–max/4 … or 1/10"). The momentum range 0.95 ↔ 0.85 (Smith
//!    2018), the weight decay, and the range test's own settings are not searched.
//! 2. [`SF_GRID`], for the schedule-free image, at the CLR winner's step count:
//!    the base-rate multiple of `max_lr` (`schedulefree`'s "10x to 50x" range for
//!    SGD) × the warmup share.
//!
//! `examples/tune.rs` prints both tables; `tests/tuning.rs` runs the search and
//! checks that [`Config::default`] is its winner. Host only, like
//! [`crate::export`].

use crate::evaluation::{config_for, mean_sd, stream, VALIDATION_SEEDS};
use crate::events::{Event, Observer};
use crate::finetune::{self, Config, FineTuneOptimizer, Workspace};
use crate::model::Model;
use crate::sensor::{Accel, ADDRESS};
use crate::weights::{self, WeightsError};
use embedded_hal::delay::DelayNs;

/// The base model the firmware embeds.
static BASE_WEIGHTS: &[u8] = include_bytes!("../model/base.bin");

/// The fine-tuning budget every candidate gets: 240 steps (about 71 M
/// instructions on the Cortex-M4F at the measured cost per step).
pub const STEP_BUDGET: u32 = 240;

/// The CLR candidates `(cycles, step_size, bounds_div)`: every way of splitting
/// [`STEP_BUDGET`] into 1, 3, 6 or 12 whole cycles (`2 × step_size` steps each),
/// times the bounds divisors 3, 4 and 10.
pub const CLR_GRID: [(u32, u32, f32); 12] = {
    let cycles = [1, 3, 6, 12];
    let div = [3.0, 4.0, 10.0];
    let mut out = [(0, 0, 0.0); 12];
    let mut i = 0;
    while i < 12 {
        let c = cycles[i / 3];
        out[i] = (c, STEP_BUDGET / (2 * c), div[i % 3]);
        i += 1;
    }
    out
};

/// The schedule-free candidates: `(sf_lr_scale, sf_warmup_pct)`.
pub const SF_GRID: [(f32, u32); 9] = [
    (10.0, 5),
    (10.0, 10),
    (10.0, 20),
    (20.0, 5),
    (20.0, 10),
    (20.0, 20),
    (50.0, 5),
    (50.0, 10),
    (50.0, 20),
];

/// One candidate's result.
#[derive(Clone, Copy, Debug)]
pub struct Score {
    /// The settings.
    pub config: Config,
    /// Mean held-out accuracy after fine-tuning over the validation streams.
    pub mean: f32,
    /// Its sample sd.
    pub sd: f32,
}

/// No delay: the simulated sensor never needs one on the host.
struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _: u32) {}
}

/// Drops every event.
struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _: &Event) {}
}

/// What can stop the search: the embedded weights do not load, or a stream's
/// sensor does not initialise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TuneError {
    /// `model/base.bin` was rejected.
    Weights(WeightsError),
    /// The simulated sensor of the stream with this seed failed to initialise.
    Sensor(u64),
}

/// Held-out accuracy after fine-tuning with `cfg` on each of `seeds`' streams,
/// as mean and sample sd (`model` and `ws` are scratch space).
pub fn score(
    cfg: &Config,
    seeds: &[u64],
    model: &mut Model,
    ws: &mut Workspace,
) -> Result<Score, TuneError> {
    let mut acc = [0.0f32; VALIDATION_SEEDS.len()];
    let n = seeds.len().min(acc.len());
    for (a, &seed) in acc.iter_mut().zip(&seeds[..n]) {
        weights::load(BASE_WEIGHTS, model).map_err(TuneError::Weights)?;
        let mut sensor = Accel::new(stream(seed), NoDelay, ADDRESS);
        sensor.init().map_err(|_| TuneError::Sensor(seed))?;
        let out = finetune::run(model, &mut sensor, ws, &config_for(cfg, seed), &mut Quiet);
        *a = out.acc_after;
    }
    let (mean, sd) = mean_sd(&acc[..n]);
    Ok(Score {
        config: *cfg,
        mean,
        sd,
    })
}

/// The CLR candidate `(cycles, step_size, bounds_div)` over `base`.
pub fn clr_candidate(base: &Config, (cycles, step_size, bounds_div): (u32, u32, f32)) -> Config {
    Config {
        optimizer: FineTuneOptimizer::ClrSgd,
        cycles,
        step_size,
        bounds_div,
        ..*base
    }
}

/// The schedule-free candidate `(sf_lr_scale, sf_warmup_pct)` over `base`
/// (whose cycles and step size fix the step count).
pub fn sf_candidate(base: &Config, (sf_lr_scale, sf_warmup_pct): (f32, u32)) -> Config {
    Config {
        optimizer: FineTuneOptimizer::ScheduleFreeSgd,
        sf_lr_scale,
        sf_warmup_pct,
        ..*base
    }
}

/// Fine-tuning steps of `cfg` (`cycles × 2 × step_size`).
pub fn steps(cfg: &Config) -> u32 {
    cfg.cycles.saturating_mul(2 * cfg.step_size)
}

/// Index of the winner in `scores`: highest mean, then fewer steps, then first
/// (every grid here has one step count, so only the last rule breaks ties).
pub fn best(scores: &[Score]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, s) in scores.iter().enumerate() {
        let better = match best {
            None => true,
            Some(b) => {
                let b = &scores[b];
                s.mean > b.mean || (s.mean == b.mean && steps(&s.config) < steps(&b.config))
            }
        };
        if better {
            best = Some(i);
        }
    }
    best
}

/// Both searches over `base` (the settings not searched come from it): the CLR
/// grid's scores, then the schedule-free grid's at the CLR winner's steps.
pub fn search(
    base: &Config,
    model: &mut Model,
    ws: &mut Workspace,
) -> Result<([Score; 12], [Score; 9]), TuneError> {
    let empty = Score {
        config: *base,
        mean: 0.0,
        sd: 0.0,
    };
    let mut clr = [empty; 12];
    for (s, &c) in clr.iter_mut().zip(&CLR_GRID) {
        *s = score(&clr_candidate(base, c), &VALIDATION_SEEDS, model, ws)?;
    }
    let winner = best(&clr).map_or(*base, |i| clr[i].config);
    let mut sf = [empty; 9];
    for (s, &c) in sf.iter_mut().zip(&SF_GRID) {
        *s = score(&sf_candidate(&winner, c), &VALIDATION_SEEDS, model, ws)?;
    }
    Ok((clr, sf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clr_grid_splits_the_budget() {
        for (c, s) in [(1, 120), (3, 40), (6, 20), (12, 10)] {
            for d in [3.0, 4.0, 10.0] {
                assert_eq!(CLR_GRID.iter().filter(|&&g| g == (c, s, d)).count(), 1);
            }
        }
        for &(c, s, _) in &CLR_GRID {
            assert_eq!(2 * c * s, STEP_BUDGET);
        }
    }

    #[test]
    fn ties_go_to_fewer_steps_then_the_first() {
        let base = Config::default();
        let s = |cycles, mean| Score {
            config: Config { cycles, ..base },
            mean,
            sd: 0.0,
        };
        assert_eq!(best(&[s(6, 0.8), s(3, 0.8), s(12, 0.7)]), Some(1));
        assert_eq!(best(&[s(6, 0.8), s(6, 0.8)]), Some(0));
        assert_eq!(best(&[s(6, 0.7), s(12, 0.9)]), Some(1));
        assert_eq!(best(&[]), None);
    }
}
