//! The [`Schedule`] trait: a learning rate (and optionally a momentum) as a pure
//! function of the step.

use crate::Real;

/// A learning-rate schedule in closed form: `lr(step)` depends only on the
/// configuration and `step`, so resuming a run needs nothing but the step.
///
/// `step` counts optimizer steps from 0, like PyTorch's scheduler after `step` calls
/// of `scheduler.step()`. Implementations never panic and never return a
/// non-finite value, for any `step` up to `u32::MAX`.
pub trait Schedule<F: Real = f32> {
    /// The learning rate used by optimizer step `step`.
    fn lr(&self, step: u32) -> F;

    /// The momentum (SGD) or β1 (Adam) for step `step`, where the schedule cycles it
    /// (CLR, 1cycle); `None` where it leaves the optimizer's value alone.
    fn momentum(&self, _step: u32) -> Option<F> {
        None
    }
}

impl<F: Real, S: Schedule<F> + ?Sized> Schedule<F> for &S {
    fn lr(&self, step: u32) -> F {
        (**self).lr(step)
    }
    fn momentum(&self, step: u32) -> Option<F> {
        (**self).momentum(step)
    }
}
