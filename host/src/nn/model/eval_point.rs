//! Schedule-free evaluation: the model at the optimizer's evaluation point `x` with batch-norm
//! statistics recomputed there, and back to the training point `y`, exactly.

use std::sync::Arc;

use super::Model;
use crate::nn::{models, NnDevice, NnError, Optimizer};

/// What [`Model::enter_eval_point`] replaced: the training point `y` and the BN running
/// statistics, restored bit for bit by [`Model::leave_eval_point`].
#[derive(Debug, Clone)]
pub struct TrainPoint {
    params: Vec<Arc<Vec<f32>>>,
    bn: Vec<(Vec<f32>, Vec<f32>)>,
}

impl<D: NnDevice> Model<D> {
    /// Moves every parameter to the evaluation point `x = lerp(y, z, 1 − 1/β)` of the
    /// schedule-free optimizer `opt` (what `schedulefree`'s `opt.eval()` does) and returns
    /// the training point to restore with [`Model::leave_eval_point`].
    ///
    /// `None`, with nothing changed, when `opt` is not schedule-free, has no `z` yet (no
    /// step taken: `x = y`) or `beta` is outside (0, 1]. The BN running statistics are left
    /// as they are (they belong to `y`); recompute them at `x` with [`Model::try_bn_pass`].
    pub fn enter_eval_point(&mut self, opt: &Optimizer, beta: f32) -> Option<TrainPoint> {
        let mut xs = Vec::new();
        models::visit_params(&self.layers, &mut |p| {
            xs.push(opt.eval_point(&p.name, &p.host, beta))
        });
        if xs.iter().all(Option::is_none) {
            return None;
        }
        let bn = self.bn_stats();
        let mut params = Vec::with_capacity(xs.len());
        let mut xs = xs.into_iter();
        models::visit_params_mut(&mut self.layers, &mut |p| {
            params.push(Arc::clone(&p.host));
            if let Some(Some(x)) = xs.next() {
                p.host = Arc::new(x);
                p.sync();
            }
        });
        Some(TrainPoint { params, bn })
    }

    /// Restores the parameters and BN statistics saved by [`Model::enter_eval_point`].
    pub fn leave_eval_point(&mut self, saved: TrainPoint) {
        let mut params = saved.params.into_iter();
        models::visit_params_mut(&mut self.layers, &mut |p| {
            if let Some(y) = params.next() {
                p.host = y;
                p.sync();
            }
        });
        self.set_bn_stats(&saved.bn);
    }

    /// Whether the network has batch-norm layers (whose statistics depend on the weights).
    pub fn has_batchnorm(&self) -> bool {
        let mut any = false;
        models::visit_bn(&self.layers, &mut |_| any = true);
        any
    }

    /// One training-mode forward pass over the batch `x` (NCHW) that folds its batch
    /// statistics into the BN running statistics as the plain average over passes: pass `i`
    /// (0-based) weighs `1/(i+1)`, so pass 0 replaces them and after `n` passes they are the
    /// mean of the `n` batches' statistics (PreciseBN). No gradient, no optimizer step.
    pub fn try_bn_pass(&mut self, x: &[f32], i: usize) -> Result<(), NnError> {
        let n = self.check_batch(x, None, 1)?;
        let mut stats = Vec::new();
        let _ = self.logits(x, n, true, &mut stats);
        let w = 1.0 / (i as f32 + 1.0);
        let mut k = 0;
        models::visit_bn_mut(&mut self.layers, &mut |l| {
            if let Some(s) = stats.get(k) {
                s.update_running(&mut l.running_mean, &mut l.running_var, w);
            }
            k += 1;
        });
        Ok(())
    }

    fn bn_stats(&self) -> Vec<(Vec<f32>, Vec<f32>)> {
        let mut v = Vec::new();
        models::visit_bn(&self.layers, &mut |l| {
            v.push((l.running_mean.clone(), l.running_var.clone()))
        });
        v
    }

    fn set_bn_stats(&mut self, s: &[(Vec<f32>, Vec<f32>)]) {
        let mut it = s.iter();
        models::visit_bn_mut(&mut self.layers, &mut |l| {
            if let Some((m, v)) = it.next() {
                l.running_mean.clone_from(m);
                l.running_var.clone_from(v);
            }
        });
    }
}
