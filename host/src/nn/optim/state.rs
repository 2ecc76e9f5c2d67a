//! Exporting and restoring an [`Optimizer`]'s state by name (checkpoints).

use std::collections::BTreeMap;

use super::{Buf, Optimizer, OptimizerKind};
use crate::nn::{NamedTensor, NnError};

const SGD_BUF: &str = "optim.sgd.momentum_buffer.";
const ADAM_M: &str = "optim.adam.exp_avg.";
const ADAM_V: &str = "optim.adam.exp_avg_sq.";
const ADAMW_M: &str = "optim.adamw.exp_avg.";
const ADAMW_V: &str = "optim.adamw.exp_avg_sq.";
const SF_Z: &str = "optim.sf.z.";
const SF_V: &str = "optim.sf.exp_avg_sq.";
const STEP: &str = "optim.step";

/// Name prefixes of the first and (if the kind has one) second per-parameter buffer.
fn prefixes(kind: OptimizerKind) -> (&'static str, Option<&'static str>) {
    match kind {
        OptimizerKind::Sgd { .. } => (SGD_BUF, None),
        OptimizerKind::Adam { .. } => (ADAM_M, Some(ADAM_V)),
        OptimizerKind::AdamW { .. } => (ADAMW_M, Some(ADAMW_V)),
        OptimizerKind::SfSgd { .. } => (SF_Z, None),
        OptimizerKind::SfAdamW { .. } => (SF_Z, Some(SF_V)),
    }
}

impl Optimizer {
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

    /// All state tensors by name: `optim.step` (shape `[2]`, two exact 24-bit limbs), and per
    /// parameter `optim.sgd.momentum_buffer.<param>`, `optim.adam.exp_avg.<param>` /
    /// `optim.adam.exp_avg_sq.<param>`, `optim.adamw.exp_avg.<param>` /
    /// `optim.adamw.exp_avg_sq.<param>`, or (schedule-free) `optim.sf.z.<param>` and, for
    /// schedule-free AdamW, `optim.sf.exp_avg_sq.<param>`. Schedule-free `y` is the
    /// parameter itself (saved with the model).
    pub fn state(&self) -> Vec<NamedTensor> {
        let mut out = vec![(STEP.to_string(), vec![2], split_u64(self.step).to_vec())];
        let (p1, p2) = prefixes(self.kind);
        for (name, b) in &self.first {
            out.push((format!("{p1}{name}"), b.shape.clone(), b.data.clone()));
        }
        for (name, b) in &self.second {
            out.push((
                format!("{}{name}", p2.unwrap_or_default()),
                b.shape.clone(),
                b.data.clone(),
            ));
        }
        out
    }

    /// Restores [`Optimizer::state`] output. Entries not starting with `optim.` are ignored (so
    /// a whole checkpoint can be passed); state of another optimizer kind is an error, and so
    /// is a parameter with only one of its kind's two buffers.
    pub fn load_state(&mut self, s: &[NamedTensor]) -> Result<(), NnError> {
        let (p1, p2) = prefixes(self.kind);
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
            } else if let Some(n) = p2.and_then(|p| name.strip_prefix(p)) {
                second.insert(n.to_string(), buf());
            } else if let Some(n) = name.strip_prefix(p1) {
                first.insert(n.to_string(), buf());
            } else if name.starts_with("optim.") {
                return Err(NnError::BadInput(format!(
                    "optimizer state `{name}` does not belong to {:?}",
                    self.kind
                )));
            }
        }
        if p2.is_some() {
            if let Some(n) = first
                .keys()
                .find(|n| !second.contains_key(*n))
                .or_else(|| second.keys().find(|n| !first.contains_key(*n)))
            {
                return Err(NnError::BadInput(format!(
                    "optimizer state of `{n}` is incomplete (the {} optimizer keeps two buffers)",
                    self.kind.name()
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
pub(super) fn split_u64(v: u64) -> [f32; 2] {
    [(v & 0xff_ffff) as f32, (v >> 24) as f32]
}

pub(super) fn join_u64(v: [f32; 2]) -> Option<u64> {
    let ok = |x: f32| x >= 0.0 && x.fract() == 0.0 && x < 16_777_216.0;
    (ok(v[0]) && ok(v[1])).then(|| v[0] as u64 | ((v[1] as u64) << 24))
}
