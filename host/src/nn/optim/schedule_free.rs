//! Schedule-free SGD and AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled and Cutkosky, "The
//! Road Less Scheduled", NeurIPS 2024), as `schedulefree` 1.x (facebookresearch/schedule_free)
//! computes them, in its op order.
//!
//! At step `k` (0-based) the warmed-up rate `lr_k` and the averaging weight `ckp1` come from
//! [`lrate_core::ScheduleFree`] in closed form (the reference's running `lr_max` /
//! `weight_sum`, exact for a constant base rate). Per parameter, `y` is the tensor's value
//! (the gradient is taken there) and `z` starts as a copy of `y`:
//!
//! * `SGDScheduleFree`: `g ← g + λ·y`; `y ← lerp(y, z, ckp1)`;
//!   `y ← y + lr_k·(β(1 − ckp1) − 1)·g`; `z ← z − lr_k·g`.
//! * `AdamWScheduleFree`: `v ← β₂v + (1 − β₂)g²`; `ĝ = g / (√(v / (1 − β₂^(k+1))) + ε)`;
//!   `ĝ ← ĝ + λ·y`; `y ← lerp(y, z, ckp1)`; `y ← y + lr_k·(β₁(1 − ckp1) − 1)·ĝ`;
//!   `z ← z − lr_k·ĝ`.
//!
//! The evaluation point is `x = lerp(y, z, 1 − 1/β)` ([`eval_point`], `opt.eval()`), and back
//! `y = lerp(x, z, 1 − β)` ([`train_point`], `opt.train()`).

use lrate_core::{Schedule, ScheduleFree, ScheduleFreeConfig};

use crate::nn::NnError;

/// `torch.lerp(a, b, w)` as its CPU kernel evaluates it: `a + w·(b − a)` for `|w| < 0.5`,
/// else `b − (b − a)·(1 − w)`.
#[inline]
pub fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}

/// The step's scalar coefficients, in f64 as the reference's Python floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// The warmed-up rate `lr_k`.
    pub lr: f64,
    /// The averaging weight `ckp1`.
    pub ckp1: f64,
}

impl Coeffs {
    /// The coefficients of step `k` (0-based) for base rate `lr`.
    pub fn new(
        lr: f32,
        warmup_steps: u32,
        r: f32,
        weight_lr_power: f32,
        k: u64,
    ) -> Result<Self, NnError> {
        let s = ScheduleFree::new(ScheduleFreeConfig {
            lr: f64::from(lr),
            warmup_steps,
            r: f64::from(r),
            weight_lr_power: f64::from(weight_lr_power),
        })
        .map_err(|e| NnError::BadInput(format!("schedule-free optimizer: {e}")))?;
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        Ok(Coeffs {
            lr: s.lr(k),
            ckp1: s.ckp1(k),
        })
    }

    /// `(ckp1, lr_k·(β(1 − ckp1) − 1), lr_k)` as the f32 scalars the kernels use.
    fn scalars(&self, beta: f32) -> (f32, f32, f32) {
        let y_lr = self.lr * (f64::from(beta) * (1.0 - self.ckp1) - 1.0);
        (self.ckp1 as f32, y_lr as f32, self.lr as f32)
    }
}

/// One `SGDScheduleFree` step of `y` (in place) and `z`, momentum `beta`.
pub fn sgd_step(y: &mut [f32], g: &[f32], z: &mut [f32], c: &Coeffs, beta: f32, weight_decay: f32) {
    let (ckp1, y_lr, lr) = c.scalars(beta);
    for i in 0..y.len() {
        let gi = g[i] + weight_decay * y[i];
        let yi = lerp(y[i], z[i], ckp1);
        y[i] = yi + y_lr * gi;
        z[i] -= lr * gi;
    }
}

/// Fixed and per-step hyper-parameters of [`adamw_step`].
#[derive(Debug, Clone, Copy)]
pub struct AdamHyper {
    /// β₁ of this step.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub eps: f32,
    /// Weight decay λ, at `y`.
    pub weight_decay: f32,
    /// The 0-based step index `k`.
    pub k: u64,
}

/// One `AdamWScheduleFree` step of `y` (in place), `z` and `exp_avg_sq` `v`.
pub fn adamw_step(
    y: &mut [f32],
    g: &[f32],
    z: &mut [f32],
    v: &mut [f32],
    c: &Coeffs,
    h: &AdamHyper,
) {
    let (ckp1, y_lr, lr) = c.scalars(h.beta1);
    let t = i32::try_from(h.k.saturating_add(1)).unwrap_or(i32::MAX);
    let bc2 = (1.0 - f64::from(h.beta2).powi(t)) as f32;
    let w2 = (1.0 - f64::from(h.beta2)) as f32;
    for i in 0..y.len() {
        let vi = v[i] * h.beta2 + w2 * g[i] * g[i];
        v[i] = vi;
        let gn = g[i] / ((vi / bc2).sqrt() + h.eps) + h.weight_decay * y[i];
        let yi = lerp(y[i], z[i], ckp1);
        y[i] = yi + y_lr * gn;
        z[i] -= lr * gn;
    }
}

/// `x = lerp(y, z, 1 − 1/β)`.
pub fn eval_point(y: &[f32], z: &[f32], beta: f32) -> Vec<f32> {
    let w = (1.0 - 1.0 / f64::from(beta)) as f32;
    y.iter().zip(z).map(|(&y, &z)| lerp(y, z, w)).collect()
}

/// `y = lerp(x, z, 1 − β)`.
pub fn train_point(x: &[f32], z: &[f32], beta: f32) -> Vec<f32> {
    let w = (1.0 - f64::from(beta)) as f32;
    x.iter().zip(z).map(|(&x, &z)| lerp(x, z, w)).collect()
}
