//! Checkpointable SGD and Adam with per-step learning rate and momentum / β₁ (set by the
//! schedule), following PyTorch's update rules exactly.
//!
//! SGD (`torch.optim.SGD`, dampening 0): `g ← ∇ + λ·p`; when `μ ≠ 0`:
//! `buf ← g` on its first use, else `buf ← μ·buf + g`; then `g ← g + μ·buf` (Nesterov) or
//! `g ← buf`; finally `p ← p − η·g`.
//!
//! Adam (`torch.optim.Adam`, L2 weight decay added to the gradient, Kingma & Ba 2015):
//! `t ← t + 1`, `g ← ∇ + λ·p`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `p ← p − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`; β₁ is read at every step, as PyTorch
//! does when a scheduler changes `betas`.
//!
//! The state (buffers and step count) is exported by name with [`Optimizer::state`] for
//! checkpoints; dfdx's own optimizers keep it private.

use std::collections::BTreeMap;

use super::{NamedTensor, NnError};

/// Optimizer choice and its fixed hyper-parameters. Serialized externally tagged,
/// snake_case: `{"sgd": {"nesterov": true, "weight_decay": 5e-4}}`.
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
}

impl OptimizerKind {
    /// The command-line name (`sgd`, `adam`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { .. } => "adam",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Buf {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// SGD or Adam with exportable state.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// Completed steps (Adam's `t`).
    step: u64,
    /// SGD: `momentum_buffer`; Adam: `exp_avg`.
    first: BTreeMap<String, Buf>,
    /// Adam: `exp_avg_sq`.
    second: BTreeMap<String, Buf>,
}

const SGD_BUF: &str = "optim.sgd.momentum_buffer.";
const ADAM_M: &str = "optim.adam.exp_avg.";
const ADAM_V: &str = "optim.adam.exp_avg_sq.";
const STEP: &str = "optim.step";

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

    /// Starts a step (increments the step count used by Adam's bias correction).
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Updates one parameter `p` in place with gradient `g`, learning rate `lr` and momentum
    /// (SGD) or β₁ (Adam) `momentum`. Call [`Optimizer::begin_step`] once per step first.
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
        let check = |b: &Buf| -> Result<(), NnError> {
            if b.data.len() == p.len() {
                Ok(())
            } else {
                Err(NnError::ShapeMismatch {
                    name: name.to_string(),
                    expected: shape.to_vec(),
                    found: b.shape.clone(),
                })
            }
        };
        match self.kind {
            OptimizerKind::Sgd {
                nesterov,
                weight_decay,
            } => {
                if momentum == 0.0 {
                    for i in 0..p.len() {
                        p[i] -= lr * (g[i] + weight_decay * p[i]);
                    }
                    return Ok(());
                }
                match self.first.get_mut(name) {
                    None => {
                        let buf: Vec<f32> =
                            (0..p.len()).map(|i| g[i] + weight_decay * p[i]).collect();
                        for i in 0..p.len() {
                            let d = if nesterov {
                                buf[i] + momentum * buf[i]
                            } else {
                                buf[i]
                            };
                            p[i] -= lr * d;
                        }
                        self.first.insert(
                            name.to_string(),
                            Buf {
                                shape: shape.to_vec(),
                                data: buf,
                            },
                        );
                    }
                    Some(b) => {
                        check(b)?;
                        for i in 0..p.len() {
                            let gi = g[i] + weight_decay * p[i];
                            let bi = momentum * b.data[i] + gi;
                            b.data[i] = bi;
                            p[i] -= lr * if nesterov { gi + momentum * bi } else { bi };
                        }
                    }
                }
            }
            OptimizerKind::Adam {
                beta2,
                eps,
                weight_decay,
            } => {
                let t = self.step.max(1) as i32;
                let bc1 = 1.0 - (momentum as f64).powi(t);
                let bc2 = 1.0 - (beta2 as f64).powi(t);
                let zeros = || Buf {
                    shape: shape.to_vec(),
                    data: vec![0.0; p.len()],
                };
                let m = self.first.entry(name.to_string()).or_insert_with(zeros);
                check(m)?;
                let v = self.second.entry(name.to_string()).or_insert_with(zeros);
                check(v)?;
                let step_size = (lr as f64 / bc1) as f32;
                let sbc2 = bc2.sqrt() as f32;
                for i in 0..p.len() {
                    let gi = g[i] + weight_decay * p[i];
                    let mi = momentum * m.data[i] + (1.0 - momentum) * gi;
                    let vi = beta2 * v.data[i] + (1.0 - beta2) * gi * gi;
                    m.data[i] = mi;
                    v.data[i] = vi;
                    p[i] -= step_size * mi / (vi.sqrt() / sbc2 + eps);
                }
            }
        }
        Ok(())
    }

    /// Checks that every buffer matches the named parameter shapes (after [`load_state`]).
    ///
    /// [`load_state`]: Optimizer::load_state
    pub fn check_params(&self, params: &[(String, Vec<usize>)]) -> Result<(), NnError> {
        for map in [&self.first, &self.second] {
            for (name, b) in map {
                match params.iter().find(|(n, _)| n == name) {
                    None => {
                        return Err(NnError::BadInput(format!(
                            "optimizer state for unknown parameter `{name}`"
                        )))
                    }
                    Some((_, s)) if *s != b.shape => {
                        return Err(NnError::ShapeMismatch {
                            name: name.clone(),
                            expected: s.clone(),
                            found: b.shape.clone(),
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// All state tensors by name: `optim.step` (shape `[1]`), and per parameter
    /// `optim.sgd.momentum_buffer.<param>` or `optim.adam.exp_avg.<param>` /
    /// `optim.adam.exp_avg_sq.<param>`.
    pub fn state(&self) -> Vec<NamedTensor> {
        let mut out = vec![(STEP.to_string(), vec![2], split_u64(self.step).to_vec())];
        let (p1, p2) = match self.kind {
            OptimizerKind::Sgd { .. } => (SGD_BUF, ""),
            OptimizerKind::Adam { .. } => (ADAM_M, ADAM_V),
        };
        for (name, b) in &self.first {
            out.push((format!("{p1}{name}"), b.shape.clone(), b.data.clone()));
        }
        for (name, b) in &self.second {
            out.push((format!("{p2}{name}"), b.shape.clone(), b.data.clone()));
        }
        out
    }

    /// Restores [`Optimizer::state`] output. Entries not starting with `optim.` are ignored (so
    /// a whole checkpoint can be passed); state of the other optimizer kind is an error.
    pub fn load_state(&mut self, s: &[NamedTensor]) -> Result<(), NnError> {
        let (p1, p2) = match self.kind {
            OptimizerKind::Sgd { .. } => (SGD_BUF, None),
            OptimizerKind::Adam { .. } => (ADAM_M, Some(ADAM_V)),
        };
        let mut step = None;
        let (mut first, mut second) = (BTreeMap::new(), BTreeMap::new());
        for (name, shape, data) in s {
            if shape.iter().product::<usize>() != data.len() {
                return Err(NnError::BadInput(format!(
                    "tensor `{name}`: shape {shape:?} but {} values",
                    data.len()
                )));
            }
            let buf = || Buf {
                shape: shape.clone(),
                data: data.clone(),
            };
            if name == STEP {
                if data.len() != 2 {
                    return Err(NnError::ShapeMismatch {
                        name: name.clone(),
                        expected: vec![2],
                        found: shape.clone(),
                    });
                }
                step = Some(join_u64([data[0], data[1]]).ok_or_else(|| {
                    NnError::BadInput(format!("tensor `{name}` is not a step count"))
                })?);
            } else if let Some(n) = name.strip_prefix(p1) {
                first.insert(n.to_string(), buf());
            } else if let Some(n) = p2.and_then(|p| name.strip_prefix(p)) {
                second.insert(n.to_string(), buf());
            } else if name.starts_with("optim.") {
                return Err(NnError::BadInput(format!(
                    "optimizer state `{name}` does not belong to {:?}",
                    self.kind
                )));
            }
        }
        self.step = step.ok_or_else(|| NnError::MissingTensor(STEP.to_string()))?;
        self.first = first;
        self.second = second;
        Ok(())
    }
}

/// A u64 as two f32 holding its 24-bit limbs (exact), low first.
fn split_u64(v: u64) -> [f32; 2] {
    [(v & 0xff_ffff) as f32, (v >> 24) as f32]
}

fn join_u64(v: [f32; 2]) -> Option<u64> {
    let ok = |x: f32| x >= 0.0 && x.fract() == 0.0 && x < 16_777_216.0;
    (ok(v[0]) && ok(v[1])).then(|| v[0] as u64 | ((v[1] as u64) << 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-written PyTorch SGD for one scalar over several steps.
    #[test]
    fn sgd_matches_pytorch_formulas() {
        for nesterov in [false, true] {
            let mut opt = Optimizer::new(OptimizerKind::Sgd {
                nesterov,
                weight_decay: 5e-4,
            });
            let mut p = [1.0f32, -2.0];
            let grads = [[0.5f32, 0.1], [-0.3, 0.2], [0.05, -0.4]];
            let moms = [0.95f32, 0.9, 0.85];
            let lrs = [0.1f32, 0.2, 0.05];
            let (mut rp, mut buf) = ([1.0f64, -2.0], [0.0f64; 2]);
            for s in 0..3 {
                opt.begin_step();
                opt.update("w", &[2], &mut p, &grads[s], lrs[s], moms[s])
                    .unwrap();
                for i in 0..2 {
                    let g = grads[s][i] as f64 + 5e-4 * rp[i];
                    let mu = moms[s] as f64;
                    buf[i] = if s == 0 { g } else { mu * buf[i] + g };
                    let d = if nesterov { g + mu * buf[i] } else { buf[i] };
                    rp[i] -= lrs[s] as f64 * d;
                }
                for i in 0..2 {
                    assert!(
                        (p[i] as f64 - rp[i]).abs() < 1e-6,
                        "step {s}: {} vs {}",
                        p[i],
                        rp[i]
                    );
                }
            }
        }
    }

    #[test]
    fn adam_matches_pytorch_formulas() {
        let mut opt = Optimizer::new(OptimizerKind::Adam {
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 1e-2,
        });
        let mut p = [0.5f32];
        let (mut rp, mut m, mut v) = (0.5f64, 0.0f64, 0.0f64);
        for (t, (g, b1)) in [(0.2f32, 0.95f32), (-0.1, 0.9), (0.3, 0.85)]
            .iter()
            .enumerate()
        {
            opt.begin_step();
            opt.update("w", &[1], &mut p, &[*g], 0.01, *b1).unwrap();
            let t = t as i32 + 1;
            let gg = *g as f64 + 1e-2 * rp;
            let b1 = *b1 as f64;
            m = b1 * m + (1.0 - b1) * gg;
            v = 0.99 * v + 0.01 * gg * gg;
            let mh = m / (1.0 - b1.powi(t));
            let vh = v / (1.0 - 0.99f64.powi(t));
            rp -= 0.01 * mh / (vh.sqrt() + 1e-8);
            assert!((p[0] as f64 - rp).abs() < 1e-6, "{} vs {rp}", p[0]);
        }
        assert_eq!(opt.steps(), 3);
    }

    #[test]
    fn state_round_trips_and_continues_identically() {
        for kind in [
            OptimizerKind::Sgd {
                nesterov: true,
                weight_decay: 5e-4,
            },
            OptimizerKind::Adam {
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        ] {
            let mut a = Optimizer::new(kind);
            let mut pa = [1.0f32, 2.0, 3.0];
            a.begin_step();
            a.update("w", &[3], &mut pa, &[0.1, 0.2, 0.3], 0.1, 0.9)
                .unwrap();
            let mut b = Optimizer::new(kind);
            b.load_state(&a.state()).unwrap();
            assert_eq!(a, b);
            let mut pb = pa;
            for (o, p) in [(&mut a, &mut pa), (&mut b, &mut pb)] {
                o.begin_step();
                o.update("w", &[3], p, &[-0.1, 0.0, 0.5], 0.05, 0.85)
                    .unwrap();
            }
            assert_eq!(pa, pb);
            assert!(b.check_params(&[("w".into(), vec![3])]).is_ok());
            assert!(b.check_params(&[("w".into(), vec![4])]).is_err());
        }
    }

    #[test]
    fn load_state_rejects_bad_input() {
        let mut o = Optimizer::new(OptimizerKind::Sgd {
            nesterov: false,
            weight_decay: 0.0,
        });
        assert!(matches!(o.load_state(&[]), Err(NnError::MissingTensor(_))));
        let adam = Optimizer::new(OptimizerKind::Adam {
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        });
        let mut st = adam.state();
        st.push(("optim.adam.exp_avg.w".into(), vec![1], vec![0.0]));
        assert!(o.load_state(&st).is_err());
        let bad = vec![("optim.step".to_string(), vec![2], vec![0.5, 0.0])];
        assert!(o.load_state(&bad).is_err());
        let mut p = [0.0f32; 2];
        assert!(o.update("w", &[2], &mut p, &[0.0], 0.1, 0.9).is_err());
        assert_eq!(split_u64(123_456_789_012).len(), 2);
        assert_eq!(join_u64(split_u64(123_456_789_012)), Some(123_456_789_012));
    }
}
