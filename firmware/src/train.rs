//! Backward passes and SGD with momentum.
//!
//! The update is PyTorch's `torch.optim.SGD` with `dampening = 0`, `nesterov = False`:
//! `g ← ∇L + λ w`, `v ← μ v + g`, `w ← w − η v`
//! (Sutskever et al., ICML 2013; PyTorch docs, `torch.optim.SGD`). `η` and `μ` are
//! supplied per step by an `lrate-core` [`Schedule`](lrate_core::Schedule).
//!
//! A step whose loss or gradient is not finite (bad sample that slipped through,
//! a learning rate that diverged during the range test) changes nothing: the
//! weights and velocity are left as they were and the step reports it.

use crate::model::{softmax_xent, Dense, Head, Model, HIDDEN, INPUT};
use crate::signal::CLASSES;

/// Gradient of one sample's loss w.r.t. the head, given its features `h`;
/// accumulated into `g`. Returns the loss.
pub fn backward_head(head: &Head, h: &[f32; HIDDEN], y: u8, g: &mut Head) -> f32 {
    let mut z = [0.0; CLASSES];
    head.forward(h, &mut z);
    let mut dz = [0.0; CLASSES];
    let loss = softmax_xent(&z, y, &mut dz);
    g.accumulate(h, &dz);
    loss
}

/// Gradient of one sample's loss w.r.t. every parameter, accumulated into `g`.
/// Returns the loss.
pub fn backward_full(m: &Model, x: &[f32; INPUT], y: u8, g: &mut Model) -> f32 {
    let mut pre = [0.0; HIDDEN];
    m.features.forward(x, &mut pre);
    let mut h = pre;
    h.iter_mut().for_each(|v| *v = v.max(0.0));
    let loss = backward_head(&m.head, &h, y, &mut g.head);
    // Recompute dz for the input gradient of the head.
    let mut z = [0.0; CLASSES];
    m.head.forward(&h, &mut z);
    let mut dz = [0.0; CLASSES];
    softmax_xent(&z, y, &mut dz);
    let mut dh = [0.0; HIDDEN];
    m.head.backprop_input(&dz, &mut dh);
    // ReLU': pass where the pre-activation was positive.
    for (d, p) in dh.iter_mut().zip(&pre) {
        if *p <= 0.0 {
            *d = 0.0;
        }
    }
    g.features.accumulate(x, &dh);
    loss
}

/// `v ← μ v + (g + λ w)`, `w ← w − η v` for one layer.
pub fn sgd_update<const I: usize, const O: usize>(
    w: &mut Dense<I, O>,
    g: &Dense<I, O>,
    v: &mut Dense<I, O>,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
) {
    for ((wi, gi), vi) in w.params_mut().zip(g.params()).zip(v.params_mut()) {
        *vi = momentum * *vi + *gi + weight_decay * *wi;
        *wi -= lr * *vi;
    }
}

/// What one optimizer step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Mean loss of the batch before the update (may be NaN/∞ if it diverged).
    pub loss: f32,
    /// False if the loss, gradient or hyper-parameters were not finite (the
    /// weights were left unchanged), or if the update overflowed (the weights are
    /// no longer finite: restore them from a snapshot).
    pub updated: bool,
}

/// SGD-with-momentum trainer for the head over frozen features (the on-device part).
#[derive(Clone, Debug)]
pub struct HeadTrainer {
    /// Gradient accumulator.
    pub grad: Head,
    /// Momentum buffer `v`.
    pub vel: Head,
    /// L2 weight decay `λ`.
    pub weight_decay: f32,
}

impl HeadTrainer {
    /// A trainer with zero velocity.
    pub const fn new(weight_decay: f32) -> Self {
        Self {
            grad: Dense::zeroed(),
            vel: Dense::zeroed(),
            weight_decay,
        }
    }

    /// Forgets the momentum.
    pub fn reset(&mut self) {
        self.vel.clear();
    }

    /// One step on a batch of features `h` with labels `y` (same length; extra
    /// entries of the longer slice are ignored; an empty batch is a no-op).
    pub fn step(
        &mut self,
        head: &mut Head,
        h: &[[f32; HIDDEN]],
        y: &[u8],
        lr: f32,
        momentum: f32,
    ) -> Step {
        let n = h.len().min(y.len());
        if n == 0 {
            return Step {
                loss: f32::NAN,
                updated: false,
            };
        }
        self.grad.clear();
        let mut loss = 0.0;
        for (hi, &yi) in h.iter().zip(y).take(n) {
            loss += backward_head(head, hi, yi, &mut self.grad);
        }
        let inv = 1.0 / n as f32;
        loss *= inv;
        self.grad.params_mut().for_each(|g| *g *= inv);
        let ok =
            loss.is_finite() && lr.is_finite() && momentum.is_finite() && self.grad.all_finite();
        if ok {
            sgd_update(
                head,
                &self.grad,
                &mut self.vel,
                lr,
                momentum,
                self.weight_decay,
            );
        }
        // Finite inputs can still overflow at an absurd lr (the top of a range
        // test). The step is then reported as not applied and the velocity is
        // cleared; the caller restores the head from its snapshot
        // (`finetune` keeps one around the range test and every CLR cycle).
        let updated = ok && head.all_finite() && self.vel.all_finite();
        if ok && !updated {
            self.vel.clear();
        }
        Step { loss, updated }
    }
}

/// SGD-with-momentum trainer for the whole model (host-side base training).
#[derive(Clone, Debug)]
pub struct FullTrainer {
    /// Gradient accumulator.
    pub grad: Model,
    /// Momentum buffer.
    pub vel: Model,
    /// L2 weight decay `λ`.
    pub weight_decay: f32,
}

impl FullTrainer {
    /// A trainer with zero velocity.
    pub const fn new(weight_decay: f32) -> Self {
        Self {
            grad: Model::zeroed(),
            vel: Model::zeroed(),
            weight_decay,
        }
    }

    /// One step on a batch of inputs `x` with labels `y`.
    pub fn step(
        &mut self,
        m: &mut Model,
        x: &[[f32; INPUT]],
        y: &[u8],
        lr: f32,
        momentum: f32,
    ) -> Step {
        let n = x.len().min(y.len());
        if n == 0 {
            return Step {
                loss: f32::NAN,
                updated: false,
            };
        }
        self.grad.features.clear();
        self.grad.head.clear();
        let mut loss = 0.0;
        for (xi, &yi) in x.iter().zip(y).take(n) {
            loss += backward_full(m, xi, yi, &mut self.grad);
        }
        let inv = 1.0 / n as f32;
        loss *= inv;
        self.grad.features.params_mut().for_each(|g| *g *= inv);
        self.grad.head.params_mut().for_each(|g| *g *= inv);
        let ok = loss.is_finite()
            && lr.is_finite()
            && momentum.is_finite()
            && self.grad.features.all_finite()
            && self.grad.head.all_finite();
        if ok {
            let wd = self.weight_decay;
            sgd_update(
                &mut m.features,
                &self.grad.features,
                &mut self.vel.features,
                lr,
                momentum,
                wd,
            );
            sgd_update(
                &mut m.head,
                &self.grad.head,
                &mut self.vel.head,
                lr,
                momentum,
                wd,
            );
        }
        Step { loss, updated: ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_matches_pytorch_formula() {
        let mut w = Dense::<1, 1> {
            w: [[1.0]],
            b: [0.5],
        };
        let g = Dense::<1, 1> {
            w: [[0.2]],
            b: [-0.1],
        };
        let mut v = Dense::<1, 1>::zeroed();
        sgd_update(&mut w, &g, &mut v, 0.1, 0.9, 0.01);
        // v = 0.2 + 0.01·1 = 0.21; w = 1 − 0.021
        assert!((w.w[0][0] - 0.979).abs() < 1e-6);
        sgd_update(&mut w, &g, &mut v, 0.1, 0.9, 0.0);
        // v = 0.9·0.21 + 0.2 = 0.389; w = 0.979 − 0.0389
        assert!((w.w[0][0] - 0.9401).abs() < 1e-6);
        // b: v = −0.1 + 0.005 = −0.095 → 0.5095; v = −0.0855 − 0.1 = −0.1855 → 0.52805
        assert!((w.b[0] - 0.52805).abs() < 1e-6);
    }

    #[test]
    fn nan_batch_leaves_weights_untouched() {
        let mut m = Model::zeroed();
        m.init(1);
        let before = m.head.clone();
        let mut t = HeadTrainer::new(0.0);
        let mut h = [[0.1; HIDDEN]; 2];
        h[1][3] = f32::NAN;
        let s = t.step(&mut m.head, &h, &[1, 2], 0.1, 0.9);
        assert!(!s.updated && s.loss.is_nan());
        assert_eq!(m.head, before);
        // Infinite lr is refused too.
        let s = t.step(&mut m.head, &[[0.1; HIDDEN]], &[1], f32::INFINITY, 0.9);
        assert!(!s.updated);
        assert_eq!(m.head, before);
        // Empty batch: no-op.
        assert!(!t.step(&mut m.head, &[], &[], 0.1, 0.9).updated);
        // An absurd lr overflows: reported, velocity cleared.
        let mut big = m.head.clone();
        let s = t.step(&mut big, &[[1e3; HIDDEN]], &[1], 3e38, 0.9);
        assert!(!s.updated && !big.all_finite() && t.vel.all_finite());
        // A normal batch does update.
        assert!(
            t.step(&mut m.head, &[[0.1; HIDDEN]], &[1], 0.1, 0.9)
                .updated
        );
        assert_ne!(m.head, before);
    }
}
