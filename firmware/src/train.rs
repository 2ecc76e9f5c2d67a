//! Backward passes and SGD with momentum.
//!
//! The update is PyTorch's `torch.optim.SGD` with `dampening = 0`, `nesterov = False`:
//! `g ← ∇L + λ w`, `v ← μ v + g`, `w ← w − η v`
//! (Sutskever et al., ICML 2013; PyTorch docs, `torch.optim.SGD`). `η` and `μ` are
//! supplied per step by an `lrate-core` [`Schedule`](lrate_core::Schedule).
//!
//! The head can also be trained with schedule-free SGD (Defazio, Yang, Mehta,
//! Mishchenko, Khaled and Cutkosky, "The Road Less Scheduled", NeurIPS 2024;
//! PyPI `schedulefree`'s `SGDScheduleFree`), see [`sf_sgd_update`] and
//! [`HeadTrainer::sf_step`]: its second sequence `z` lives in the momentum buffer,
//! so it needs exactly the RAM of SGD with momentum.
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

/// One schedule-free SGD step for one layer (`schedulefree`'s `SGDScheduleFree.step`,
/// `r`/warmup/averaging weight supplied by the caller from `lrate-core`'s
/// [`ScheduleFree`](lrate_core::ScheduleFree)): with `y` the weights the layer holds
/// while training (where `g` was taken), `z` the base sequence, `lr` the warmed-up
/// rate `lr_k`, `ckp1` the averaging weight `c` and `momentum` the interpolation `β`,
///
/// ```text
/// g ← g + λ y
/// y ← y + c (z − y)
/// y ← y + lr (β (1 − c) − 1) g
/// z ← z − lr g
/// ```
///
/// The evaluation point `x = y + (1 − 1/β)(z − y)` is never stored: see
/// [`HeadTrainer::sf_eval_mode`].
#[allow(clippy::too_many_arguments)]
pub fn sf_sgd_update<const I: usize, const O: usize>(
    y: &mut Dense<I, O>,
    g: &Dense<I, O>,
    z: &mut Dense<I, O>,
    lr: f32,
    ckp1: f32,
    momentum: f32,
    weight_decay: f32,
) {
    let y_step = lr * (momentum * (1.0 - ckp1) - 1.0);
    for ((yi, gi), zi) in y.params_mut().zip(g.params()).zip(z.params_mut()) {
        let g = *gi + weight_decay * *yi;
        *yi += ckp1 * (*zi - *yi);
        *yi += y_step * g;
        *zi -= lr * g;
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

/// SGD-with-momentum trainer for the head over frozen features (the on-device part);
/// also schedule-free SGD ([`Self::sf_step`]), whose `z` is the momentum buffer.
#[derive(Clone, Debug)]
pub struct HeadTrainer {
    /// Gradient accumulator.
    pub grad: Head,
    /// Momentum buffer `v`; under schedule-free SGD the sequence `z`.
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

    /// Mean loss and (into [`Self::grad`]) mean gradient of a batch at `head`;
    /// `None` for an empty batch.
    fn batch_gradient(&mut self, head: &Head, h: &[[f32; HIDDEN]], y: &[u8]) -> Option<f32> {
        let n = h.len().min(y.len());
        if n == 0 {
            return None;
        }
        self.grad.clear();
        let mut loss = 0.0;
        for (hi, &yi) in h.iter().zip(y).take(n) {
            loss += backward_head(head, hi, yi, &mut self.grad);
        }
        let inv = 1.0 / n as f32;
        self.grad.params_mut().for_each(|g| *g *= inv);
        Some(loss * inv)
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
        let Some(loss) = self.batch_gradient(head, h, y) else {
            return Step {
                loss: f32::NAN,
                updated: false,
            };
        };
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

    /// Starts schedule-free SGD at the head's weights: `z ← y` (`schedulefree`
    /// initialises `state['z']` as a copy of the parameters). Also the restart
    /// after the caller restored `head` from a snapshot.
    pub fn sf_begin(&mut self, head: &Head) {
        self.vel.copy_from(head);
    }

    /// One schedule-free SGD step ([`sf_sgd_update`]) on a batch, the gradient
    /// taken at `head` = `y`, `z` in [`Self::vel`] (call [`Self::sf_begin`] first).
    /// `lr` and `ckp1` are step `k`'s `ScheduleFree::lr(k)` and
    /// `ScheduleFree::ckp1(k)`, `momentum` is `β`. A non-finite loss, gradient
    /// or hyper-parameter leaves `y` and `z` untouched; an update that overflowed
    /// is reported as not applied, and the caller restores `head` from its
    /// snapshot and calls [`Self::sf_begin`] again.
    pub fn sf_step(
        &mut self,
        head: &mut Head,
        h: &[[f32; HIDDEN]],
        y: &[u8],
        lr: f32,
        ckp1: f32,
        momentum: f32,
    ) -> Step {
        let Some(loss) = self.batch_gradient(head, h, y) else {
            return Step {
                loss: f32::NAN,
                updated: false,
            };
        };
        let ok = loss.is_finite()
            && lr.is_finite()
            && ckp1.is_finite()
            && momentum.is_finite()
            && self.grad.all_finite();
        if ok {
            sf_sgd_update(
                head,
                &self.grad,
                &mut self.vel,
                lr,
                ckp1,
                momentum,
                self.weight_decay,
            );
        }
        Step {
            loss,
            updated: ok && head.all_finite() && self.vel.all_finite(),
        }
    }

    /// Switches the head from the training point `y` to the evaluation point
    /// `x = y + (1 − 1/β)(z − y)` in place (`schedulefree`'s `optimizer.eval()`:
    /// `p.lerp_(z, 1 − 1/β)`), `z` in [`Self::vel`], `β = momentum` in (0, 1).
    pub fn sf_eval_mode(&self, head: &mut Head, momentum: f32) {
        head.lerp(&self.vel, 1.0 - 1.0 / momentum);
    }

    /// The inverse of [`Self::sf_eval_mode`]: `y = x + (1 − β)(z − x)` in place
    /// (`schedulefree`'s `optimizer.train()`: `p.lerp_(z, 1 − β)`).
    pub fn sf_train_mode(&self, head: &mut Head, momentum: f32) {
        head.lerp(&self.vel, 1.0 - momentum);
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
    extern crate std;
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

    use lrate_core::{Schedule, ScheduleFree, ScheduleFreeConfig};

    /// The schedule-free SGD step written out in f64, parameter by parameter:
    /// `g ← ∇ + λy; y ← y + c(z − y); y ← y + lr(β(1−c) − 1)g; z ← z − lr·g`.
    fn sf_reference(
        y: &mut [f64],
        z: &mut [f64],
        grad: &[f64],
        lr: f64,
        c: f64,
        beta: f64,
        wd: f64,
    ) {
        for ((yi, zi), gi) in y.iter_mut().zip(z.iter_mut()).zip(grad) {
            let g = gi + wd * *yi;
            *yi += c * (*zi - *yi);
            *yi += lr * (beta * (1.0 - c) - 1.0) * g;
            *zi -= lr * g;
        }
    }

    fn close(a: f32, b: f64, tol: f64) -> bool {
        (a as f64 - b).abs() <= tol * (1.0 + b.abs())
    }

    /// `sf_sgd_update` on a quadratic `½‖y − t‖²` (gradient `y − t`, taken at the
    /// current `y` each step) against the f64 reference over the warmup and past
    /// it, `lr_k` and `ckp1(k)` from lrate-core's `ScheduleFree`.
    #[test]
    fn sf_sgd_matches_the_f64_reference() {
        let (beta, wd) = (0.9f32, 0.01f32);
        let sched32: ScheduleFree<f32> = ScheduleFreeConfig::new(0.5f32, 3).build().unwrap();
        let sched64: ScheduleFree<f64> = ScheduleFreeConfig::new(0.5f64, 3).build().unwrap();
        let target = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.1, 0.0, -2.5];
        let mut y = Dense::<3, 2> {
            w: [[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]],
            b: [0.5, -0.75],
        };
        let mut z = y.clone();
        let mut y64: std::vec::Vec<f64> = y.params().map(|&v| v as f64).collect();
        let mut z64 = y64.clone();
        let mut g = Dense::<3, 2>::zeroed();
        for k in 0..8u32 {
            g.params_mut()
                .zip(y.params().zip(&target))
                .for_each(|(g, (y, t))| *g = y - t);
            let g64: std::vec::Vec<f64> = y64
                .iter()
                .zip(&target)
                .map(|(y, &t)| y - t as f64)
                .collect();
            let (lr, c) = (sched32.lr(k), sched32.ckp1(k));
            sf_sgd_update(&mut y, &g, &mut z, lr, c, beta, wd);
            sf_reference(
                &mut y64,
                &mut z64,
                &g64,
                sched64.lr(k),
                sched64.ckp1(k),
                beta as f64,
                wd as f64,
            );
            for ((a, b), (za, zb)) in y.params().zip(&y64).zip(z.params().zip(&z64)) {
                assert!(close(*a, *b, 1e-5), "k={k}: y {a} vs {b}");
                assert!(close(*za, *zb, 1e-5), "k={k}: z {za} vs {zb}");
            }
        }
        // Step 0: ckp1 = 1, so y jumps to z first; the rates warm up linearly.
        assert_eq!(sched32.ckp1(0), 1.0);
        assert!((sched32.lr(0) - 0.5 / 3.0).abs() < 1e-7 && sched32.lr(5) == 0.5);
    }

    /// `HeadTrainer::sf_step` on the real head and a softmax loss: batch-mean
    /// gradient at `y`, weight decay, `z` in the momentum buffer, for a few steps,
    /// against the f64 reference fed with the gradient at its own `y`.
    #[test]
    fn head_trainer_sf_step_matches_the_reference() {
        let mut m = Model::zeroed();
        m.init(5);
        let mut rng = crate::rng::Rng::new(11);
        let mut h = [[0.0; HIDDEN]; 4];
        h.iter_mut()
            .flatten()
            .for_each(|v| *v = rng.range(0.0, 1.5));
        let labels = [1u8, 7, 3, 3];
        let (beta, wd) = (0.9f32, 1e-3f32);
        let sched: ScheduleFree<f32> = ScheduleFreeConfig::new(0.8f32, 2).build().unwrap();
        let mut t = HeadTrainer::new(wd);
        t.sf_begin(&m.head);
        assert_eq!(t.vel, m.head);
        let mut y64: std::vec::Vec<f64> = m.head.params().map(|&v| v as f64).collect();
        let mut z64 = y64.clone();
        for k in 0..5u32 {
            // The reference's gradient, at the reference's y.
            let mut at = Head::zeroed();
            at.params_mut().zip(&y64).for_each(|(p, &v)| *p = v as f32);
            let mut g = Head::zeroed();
            let mut loss = 0.0f32;
            for (hi, &yi) in h.iter().zip(&labels) {
                loss += backward_head(&at, hi, yi, &mut g);
            }
            let g64: std::vec::Vec<f64> = g.params().map(|&v| v as f64 / 4.0).collect();
            let (lr, c) = (sched.lr(k), sched.ckp1(k));
            let s = t.sf_step(&mut m.head, &h, &labels, lr, c, beta);
            assert!(s.updated);
            assert!((s.loss - loss / 4.0).abs() < 1e-4, "k={k}");
            sf_reference(
                &mut y64,
                &mut z64,
                &g64,
                lr as f64,
                c as f64,
                beta as f64,
                wd as f64,
            );
            for ((a, b), (za, zb)) in m.head.params().zip(&y64).zip(t.vel.params().zip(&z64)) {
                assert!(close(*a, *b, 1e-4), "k={k}: y {a} vs {b}");
                assert!(close(*za, *zb, 1e-4), "k={k}: z {za} vs {zb}");
            }
        }
        // A NaN batch or a NaN ckp1 leaves y and z untouched.
        let (y0, z0) = (m.head.clone(), t.vel.clone());
        let mut bad = h;
        bad[2][0] = f32::NAN;
        assert!(
            !t.sf_step(&mut m.head, &bad, &labels, 0.5, 0.1, beta)
                .updated
        );
        assert!(
            !t.sf_step(&mut m.head, &h, &labels, 0.5, f32::NAN, beta)
                .updated
        );
        assert!(!t.sf_step(&mut m.head, &[], &[], 0.5, 0.1, beta).updated);
        assert_eq!((&m.head, &t.vel), (&y0, &z0));
        // An absurd rate overflows: reported as not applied.
        let s = t.sf_step(&mut m.head, &[[1e3; HIDDEN]], &[1], 3e38, 0.1, beta);
        let finite = m.head.all_finite() && t.vel.all_finite();
        assert!(!s.updated && !finite);
    }

    /// The in-place switch to the evaluation point and back:
    /// `x = y + (1 − 1/β)(z − y)` and `y = x + (1 − β)(z − x)`.
    #[test]
    fn sf_eval_train_switch_round_trips() {
        let mut m = Model::zeroed();
        m.init(8);
        let mut t = HeadTrainer::new(0.0);
        let mut rng = crate::rng::Rng::new(2);
        t.vel
            .params_mut()
            .zip(m.head.params())
            .for_each(|(z, &y)| *z = y + rng.range(-0.5, 0.5));
        for beta in [0.5f32, 0.9, 0.95, 0.98] {
            let y = m.head.clone();
            t.sf_eval_mode(&mut m.head, beta);
            let a = 1.0 - 1.0 / beta as f64;
            for ((x, &y), &z) in m.head.params().zip(y.params()).zip(t.vel.params()) {
                let want = y as f64 + a * (z as f64 - y as f64);
                assert!(close(*x, want, 1e-6), "β={beta}: x {x} vs {want}");
            }
            t.sf_train_mode(&mut m.head, beta);
            for (back, &y) in m.head.params().zip(y.params()) {
                assert!(close(*back, y as f64, 1e-5), "β={beta}: {back} vs {y}");
            }
        }
        // z = y: x = y exactly (the state right after sf_begin).
        t.sf_begin(&m.head);
        let y = m.head.clone();
        t.sf_eval_mode(&mut m.head, 0.9);
        assert_eq!(m.head, y);
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
