//! The learning rate of each batch of the sweep.

use super::config::{RangeTestConfig, Sweep, SweepEnd};
use crate::Real;

/// The learning rate of batch `i` (from 0):
///
/// * `pos = i / num_it` ([`SweepEnd::Exclusive`], fastai) or `i / (num_it − 1)`
///   ([`SweepEnd::Inclusive`], torch-lr-finder);
/// * `lr = start · (end / start)^pos` ([`Sweep::Exponential`]) or
///   `start + pos · (end − start)` ([`Sweep::Linear`]),
///
/// clamped to `[start_lr, end_lr]` so that rounding never leaves the swept range
/// (batch 0 is `start_lr` exactly). `config` must be valid.
pub(crate) fn lr_at<F: Real>(config: &RangeTestConfig<F>, i: u32) -> F {
    let (start, end) = (config.start_lr, config.end_lr);
    if i == 0 {
        return start;
    }
    let denom = match config.sweep_end {
        SweepEnd::Exclusive => config.num_it,
        SweepEnd::Inclusive => config.num_it.saturating_sub(1).max(1),
    };
    let pos = F::from_u32(i) / F::from_u32(denom);
    let lr = match config.sweep {
        Sweep::Exponential => start * (end / start).powf(pos),
        Sweep::Linear => start + pos * (end - start),
    };
    // `min`/`max` drop a NaN operand, so even a NaN here would become a bound.
    lr.max(start).min(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastai_and_torch_endpoints() {
        let fa = RangeTestConfig::<f64>::fastai();
        assert_eq!(lr_at(&fa, 0), 1e-7);
        // fastai: batch 50 of 100 is at the geometric midpoint 1e-3.
        assert!((lr_at(&fa, 50) / 1e-3 - 1.0).abs() < 1e-12);
        assert!(lr_at(&fa, 99) < 10.0);
        let t = RangeTestConfig::<f64>::torch_lr_finder();
        assert_eq!(lr_at(&t, 99), 10.0);
        let lin = t.sweep(Sweep::Linear).range(1.0, 3.0, 3);
        assert_eq!(lr_at(&lin, 1), 2.0);
        assert_eq!(lr_at(&lin, 2), 3.0);
        // Past the sweep the lr stays at end_lr.
        assert_eq!(lr_at(&lin, 1000), 3.0);
    }
}
