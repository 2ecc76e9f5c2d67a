//! Checkpointable optimizers with a per-step learning rate and momentum / β₁ (set by the
//! schedule), following the reference implementations' update rules and op order exactly:
//!
//! * [`OptimizerKind::Sgd`] — `torch.optim.SGD` (dampening 0), [`sgd`];
//! * [`OptimizerKind::Adam`] — `torch.optim.Adam`, L2 decay added to the gradient, [`adam`];
//! * [`OptimizerKind::AdamW`] — `torch.optim.AdamW`, decoupled decay, [`adamw`];
//! * [`OptimizerKind::SfSgd`], [`OptimizerKind::SfAdamW`] — `schedulefree` 1.x
//!   `SGDScheduleFree` / `AdamWScheduleFree` (Defazio et al. 2024, "The Road Less Scheduled"),
//!   [`schedule_free`].
//!
//! The state (buffers and step count) is exported by name with [`Optimizer::state`] for
//! checkpoints; dfdx's own optimizers keep it private.
//!
//! Schedule-free optimizers hold two points per parameter: `y`, the tensor's value (the
//! gradient is taken there, so the model trains at `y`), and `z`, the base SGD / Adam
//! sequence. The evaluation point `x = lerp(y, z, 1 − 1/β)` is what `opt.eval()` puts in the
//! tensor; [`Optimizer::eval_point`] computes it. For them the `lr` given to
//! [`Optimizer::update`] is the *base* rate: the optimizer applies its own linear warmup and
//! averaging weights ([`lrate_core::ScheduleFree`]) from its step count, so the run's schedule
//! should normally be `constant`.

use std::collections::BTreeMap;

use lrate_core::OptimizerFamily;

use super::NnError;

pub mod adam;
pub mod adamw;
pub mod schedule_free;
pub mod sgd;
mod state;
#[cfg(test)]
mod tests;

/// Optimizer choice and its fixed hyper-parameters. Serialized externally tagged,
/// snake_case: `{"sgd": {"nesterov": true, "weight_decay": 5e-4}}`, `{"adamw": {…}}`,
/// `{"sf_sgd": {…}}`, `{"sf_adamw": {…}}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// SGD with (optionally Nesterov) momentum; momentum itself comes from the schedule.
    Sgd {
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 weight decay λ (PyTorch `weight_decay`), e.g. 5e-4.
        weight_decay: f32,
    },
    /// Adam; β₁ comes from the schedule.
    Adam {
        /// β₂ (PyTorch default 0.999).
        beta2: f32,
        /// ε (PyTorch default 1e-8).
        eps: f32,
        /// L2 weight decay λ added to the gradient.
        weight_decay: f32,
    },
    /// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay; β₁ from the
    /// schedule.
    #[serde(rename = "adamw")]
    AdamW {
        /// β₂ (PyTorch default 0.999).
        beta2: f32,
        /// ε (PyTorch default 1e-8).
        eps: f32,
        /// Decoupled weight decay λ: `p ← p·(1 − η·λ)` (PyTorch default 0.01).
        weight_decay: f32,
    },
    /// Schedule-free SGD (`schedulefree.SGDScheduleFree`); β (its `momentum`) comes from the
    /// `momentum` argument of [`Optimizer::update`].
    SfSgd {
        /// L2 weight decay λ, added to the gradient at `y`.
        weight_decay: f32,
        /// Linear warmup steps of the optimizer's own rate (0: none).
        warmup_steps: u32,
        /// Polynomial averaging exponent `r` (default 0).
        r: f32,
        /// Exponent of the warmed-up rate in the averaging weight (default 2).
        weight_lr_power: f32,
    },
    /// Schedule-free AdamW (`schedulefree.AdamWScheduleFree`); β₁ from the `momentum`
    /// argument of [`Optimizer::update`].
    #[serde(rename = "sf_adamw")]
    SfAdamW {
        /// β₂ (default 0.999).
        beta2: f32,
        /// ε (default 1e-8).
        eps: f32,
        /// Weight decay λ, added to the normalised gradient at `y`.
        weight_decay: f32,
        /// Linear warmup steps of the optimizer's own rate (0: none).
        warmup_steps: u32,
        /// Polynomial averaging exponent `r` (default 0).
        r: f32,
        /// Exponent of the warmed-up rate in the averaging weight (default 2).
        weight_lr_power: f32,
    },
}

impl OptimizerKind {
    /// The command-line names, in the order of the variants.
    pub const NAMES: [&'static str; 5] = ["sgd", "adam", "adamw", "sf-sgd", "sf-adamw"];

    /// The command-line name (`sgd`, `adam`, `adamw`, `sf-sgd`, `sf-adamw`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { .. } => "adam",
            OptimizerKind::AdamW { .. } => "adamw",
            OptimizerKind::SfSgd { .. } => "sf-sgd",
            OptimizerKind::SfAdamW { .. } => "sf-adamw",
        }
    }

    /// The family whose calibrated range-test factors apply: AdamW and schedule-free AdamW
    /// behave as Adam, schedule-free SGD as SGD.
    pub fn family(&self) -> OptimizerFamily {
        match self {
            OptimizerKind::Sgd { .. } | OptimizerKind::SfSgd { .. } => OptimizerFamily::Sgd,
            OptimizerKind::Adam { .. }
            | OptimizerKind::AdamW { .. }
            | OptimizerKind::SfAdamW { .. } => OptimizerFamily::Adam,
        }
    }

    /// Whether this is a schedule-free optimizer (it trains at `y` and evaluates at `x`).
    pub fn is_schedule_free(&self) -> bool {
        matches!(
            self,
            OptimizerKind::SfSgd { .. } | OptimizerKind::SfAdamW { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Buf {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// An optimizer of any [`OptimizerKind`] with exportable state.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// Completed steps (Adam's `t`; schedule-free's `k + 1`).
    step: u64,
    /// SGD: `momentum_buffer`; Adam / AdamW: `exp_avg`; schedule-free: `z`.
    first: BTreeMap<String, Buf>,
    /// Adam / AdamW / schedule-free AdamW: `exp_avg_sq`.
    second: BTreeMap<String, Buf>,
}

/// The buffer of `name` in `map`, created by `init` on first use; an error when its length
/// is not `n`.
fn buffer<'a>(
    map: &'a mut BTreeMap<String, Buf>,
    name: &str,
    shape: &[usize],
    n: usize,
    init: impl FnOnce() -> Vec<f32>,
) -> Result<&'a mut [f32], NnError> {
    let b = map.entry(name.to_string()).or_insert_with(|| Buf {
        shape: shape.to_vec(),
        data: init(),
    });
    if b.data.len() == n {
        Ok(&mut b.data)
    } else {
        Err(NnError::ShapeMismatch {
            name: name.to_string(),
            expected: shape.to_vec(),
            found: b.shape.clone(),
        })
    }
}

impl Optimizer {
    /// A fresh optimizer (no buffers, step 0).
    pub fn new(kind: OptimizerKind) -> Self {
        Optimizer {
            kind,
            step: 0,
            first: BTreeMap::new(),
            second: BTreeMap::new(),
        }
    }

    /// The optimizer kind.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// Number of completed steps.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Starts a step (increments the step count used by Adam's bias correction and the
    /// schedule-free warmup and averaging weights).
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// The 0-based index of the current step (after [`Optimizer::begin_step`]).
    fn step_index(&self) -> u64 {
        self.step.saturating_sub(1)
    }

    /// Updates one parameter `p` in place with gradient `g`, learning rate `lr` and momentum
    /// (SGD), β₁ (Adam, AdamW, schedule-free AdamW) or β (schedule-free SGD) `momentum`.
    /// Call [`Optimizer::begin_step`] once per step first. For schedule-free kinds `p` is `y`
    /// and `lr` the base rate.
    pub fn update(
        &mut self,
        name: &str,
        shape: &[usize],
        p: &mut [f32],
        g: &[f32],
        lr: f32,
        momentum: f32,
    ) -> Result<(), NnError> {
        if p.len() != g.len() {
            return Err(NnError::BadInput(format!(
                "parameter `{name}` has {} values but its gradient {}",
                p.len(),
                g.len()
            )));
        }
        let n = p.len();
        let t = self.step.max(1);
        let k = self.step_index();
        let zeros = || vec![0.0; n];
        match self.kind {
            OptimizerKind::Sgd {
                nesterov,
                weight_decay,
            } => {
                let h = sgd::Hyper {
                    lr,
                    momentum,
                    nesterov,
                    weight_decay,
                };
                if momentum == 0.0 {
                    sgd::step_plain(p, g, &h);
                } else if let Some(b) = self.first.get_mut(name) {
                    if b.data.len() != n {
                        return Err(NnError::ShapeMismatch {
                            name: name.to_string(),
                            expected: shape.to_vec(),
                            found: b.shape.clone(),
                        });
                    }
                    sgd::step(p, g, &mut b.data, &h);
                } else {
                    let data = sgd::first_step(p, g, &h);
                    let shape = shape.to_vec();
                    self.first.insert(name.to_string(), Buf { shape, data });
                }
            }
            OptimizerKind::Adam {
                beta2,
                eps,
                weight_decay,
            }
            | OptimizerKind::AdamW {
                beta2,
                eps,
                weight_decay,
            } => {
                let m = buffer(&mut self.first, name, shape, n, zeros)?;
                let v = buffer(&mut self.second, name, shape, n, zeros)?;
                let h = adam::Hyper {
                    lr,
                    beta1: momentum,
                    beta2,
                    eps,
                    weight_decay,
                    t,
                };
                if matches!(self.kind, OptimizerKind::AdamW { .. }) {
                    adamw::step(p, g, m, v, &h);
                } else {
                    adam::step(p, g, m, v, &h);
                }
            }
            OptimizerKind::SfSgd {
                weight_decay,
                warmup_steps,
                r,
                weight_lr_power,
            } => {
                let c = schedule_free::Coeffs::new(lr, warmup_steps, r, weight_lr_power, k)?;
                let y0 = p.to_vec();
                let z = buffer(&mut self.first, name, shape, n, || y0)?;
                schedule_free::sgd_step(p, g, z, &c, momentum, weight_decay);
            }
            OptimizerKind::SfAdamW {
                beta2,
                eps,
                weight_decay,
                warmup_steps,
                r,
                weight_lr_power,
            } => {
                let c = schedule_free::Coeffs::new(lr, warmup_steps, r, weight_lr_power, k)?;
                let y0 = p.to_vec();
                let z = buffer(&mut self.first, name, shape, n, || y0)?;
                let v = buffer(&mut self.second, name, shape, n, zeros)?;
                let h = schedule_free::AdamHyper {
                    beta1: momentum,
                    beta2,
                    eps,
                    weight_decay,
                    k,
                };
                schedule_free::adamw_step(p, g, z, v, &c, &h);
            }
        }
        Ok(())
    }

    /// The schedule-free evaluation point `x = lerp(y, z, 1 − 1/β)` of parameter `name` at
    /// `y` (its current value), as `schedulefree`'s `opt.eval()` computes it; `beta` is the
    /// schedule-free SGD momentum or AdamW β₁ in (0, 1].
    ///
    /// `None` for other kinds, for a parameter without `z` yet (before its first step,
    /// where `x = y`), a length mismatch, or `beta` outside (0, 1].
    pub fn eval_point(&self, name: &str, y: &[f32], beta: f32) -> Option<Vec<f32>> {
        let z = self.sf_z(name, y.len(), beta)?;
        Some(schedule_free::eval_point(y, z, beta))
    }

    /// The inverse of [`Optimizer::eval_point`]: `y = lerp(x, z, 1 − β)` (`opt.train()`).
    /// Rounds in `f32`, so keep a copy of `y` where the round trip must be exact.
    pub fn train_point(&self, name: &str, x: &[f32], beta: f32) -> Option<Vec<f32>> {
        let z = self.sf_z(name, x.len(), beta)?;
        Some(schedule_free::train_point(x, z, beta))
    }

    fn sf_z(&self, name: &str, n: usize, beta: f32) -> Option<&[f32]> {
        if !(self.kind.is_schedule_free() && beta > 0.0 && beta <= 1.0) {
            return None;
        }
        self.first
            .get(name)
            .map(|b| b.data.as_slice())
            .filter(|z| z.len() == n)
    }
}
