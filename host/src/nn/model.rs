//! [`Model`]: a network's parameters and BN running statistics on a device, with the
//! training step, evaluation, prediction and the state used by checkpoints.

use std::sync::Arc;

use dfdx::prelude::*;
use rand::SeedableRng;

use super::def::ModelDef;
use super::{
    batchnorm, linear, models, Act2, BatchStats, NamedTensor, NnDevice, NnError, Optimizer,
};

mod eval_point;

pub use eval_point::TrainPoint;

/// The dropout seed of a training batch: FNV-1a over its pixels' bits. A batch's masks
/// thus follow from the batch itself (which the run's seed, epoch and position determine),
/// so a resumed run draws the masks of an uninterrupted one with no RNG state to store.
fn batch_seed(x: &[f32]) -> u64 {
    x.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A network with its parameters and BN running statistics on device `D`.
pub struct Model<D: NnDevice> {
    def: ModelDef,
    input: (usize, usize, usize),
    num_classes: usize,
    dev: D,
    layers: Vec<models::Layer<D>>,
    portable: bool,
    /// The network has a dropout layer, so training batches need a dropout seed.
    dropout: bool,
}

impl<D: NnDevice> Model<D> {
    /// Builds `def` (a [`ModelDef`], or a built-in [`super::ModelKind`]) for
    /// `input = (C, H, W)` images and `num_classes` classes, initialised like PyTorch (see
    /// [`super::init`]) from `seed`.
    ///
    /// # Panics
    /// When the input does not fit the network (see [`Model::try_new`]).
    pub fn new(
        def: impl Into<ModelDef>,
        input: (usize, usize, usize),
        num_classes: usize,
        seed: u64,
        dev: &D,
    ) -> Self {
        match Self::try_new(def, input, num_classes, seed, dev) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Model::new`], but returns an error, naming the layer and the shapes, when the
    /// input does not fit the network (cnn-s and resnet9 need at least 8×8).
    pub fn try_new(
        def: impl Into<ModelDef>,
        input: (usize, usize, usize),
        num_classes: usize,
        seed: u64,
        dev: &D,
    ) -> Result<Self, NnError> {
        let def = def.into();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let layers = models::build(def.spec(), input, num_classes, &mut rng, dev).map_err(|e| {
            NnError::BadInput(format!(
                "model {}: {}",
                def.label(),
                e.to_string().trim_start_matches("bad input: ")
            ))
        })?;
        let dropout = models::has_dropout(&layers);
        Ok(Model {
            def,
            input,
            num_classes,
            dev: dev.clone(),
            layers,
            portable: false,
            dropout,
        })
    }

    /// The network's description.
    pub fn def(&self) -> &ModelDef {
        &self.def
    }

    /// Input shape `(C, H, W)`.
    pub fn input(&self) -> (usize, usize, usize) {
        self.input
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Uses the portable dfdx-op kernels even on the CPU (slower; for comparisons).
    pub fn set_portable(&mut self, portable: bool) {
        self.portable = portable;
    }

    fn check_batch(
        &self,
        x: &[f32],
        labels: Option<&[usize]>,
        batch: usize,
    ) -> Result<usize, NnError> {
        let (c, h, w) = self.input;
        let per = c * h * w;
        if x.is_empty() || !x.len().is_multiple_of(per) {
            return Err(NnError::BadInput(format!(
                "input has {} values, not a positive multiple of {c}x{h}x{w} = {per}",
                x.len()
            )));
        }
        let n = x.len() / per;
        if let Some(l) = labels {
            if l.len() != n {
                return Err(NnError::BadInput(format!(
                    "{n} images but {} labels",
                    l.len()
                )));
            }
            if let Some(bad) = l.iter().find(|v| **v >= self.num_classes) {
                return Err(NnError::BadInput(format!(
                    "label {bad} out of range 0..{}",
                    self.num_classes
                )));
            }
        }
        if batch == 0 {
            return Err(NnError::BadInput("batch size 0".into()));
        }
        Ok(n)
    }

    /// Logits `(B, classes)` of a batch.
    fn logits(&self, x: &[f32], n: usize, train: bool, stats: &mut Vec<BatchStats>) -> Act2<D> {
        let (c, h, w) = self.input;
        let xt = self
            .dev
            .tensor_from_vec(x.to_vec(), (n, c, h, w))
            .traced(Gradients::leaky());
        let mode = models::Mode {
            train,
            portable: self.portable,
            // Hashing the batch costs a pass over it: only for a net that drops out.
            dropout_seed: if train && self.dropout {
                batch_seed(x)
            } else {
                0
            },
        };
        match models::forward(
            &self.layers,
            models::Act::Img(xt),
            mode,
            stats,
            true,
            &mut 0,
        ) {
            models::Act::Flat(f) => f,
            models::Act::Img(_) => unreachable!("every network ends in a linear layer"),
        }
    }

    /// One optimizer step on a batch; see [`Model::try_train_step`].
    ///
    /// # Panics
    /// On inconsistent input or optimizer state; use [`Model::try_train_step`] to get an error.
    pub fn train_step(
        &mut self,
        x: &[f32],
        labels: &[usize],
        opt: &mut Optimizer,
        lr: f32,
        momentum: f32,
    ) -> f32 {
        match self.try_train_step(x, labels, opt, lr, momentum) {
            Ok(l) => l,
            Err(e) => panic!("train_step: {e}"),
        }
    }

    /// One optimizer step on a batch: `x` is NCHW f32 (`len = B·C·H·W`), labels in
    /// `0..num_classes`; BN uses batch statistics and updates its running statistics; the
    /// optimizer uses `lr` and `momentum` (SGD momentum or Adam β₁) for this step.
    ///
    /// Returns the mean cross-entropy of the batch before the update. When it is not finite,
    /// nothing is updated (weights, BN statistics and optimizer state stay as they were).
    pub fn try_train_step(
        &mut self,
        x: &[f32],
        labels: &[usize],
        opt: &mut Optimizer,
        lr: f32,
        momentum: f32,
    ) -> Result<f32, NnError> {
        let n = self.check_batch(x, Some(labels), 1)?;
        let mut stats = Vec::new();
        let logits = self.logits(x, n, true, &mut stats);
        let loss = linear::cross_entropy(logits, labels);
        let lv = loss.as_vec()[0];
        let grads = loss.backward();
        if !lv.is_finite() {
            return Ok(lv);
        }
        let mut grads_host = Vec::new();
        models::visit_params(&self.layers, &mut |p| {
            grads_host.push(grads.get(&p.t).as_vec())
        });
        drop(grads);
        opt.begin_step();
        let mut res = Ok(());
        let mut i = 0;
        models::visit_params_mut(&mut self.layers, &mut |p| {
            if res.is_ok() {
                let shape = p.shape.clone();
                let host: &mut Vec<f32> = Arc::make_mut(&mut p.host);
                res = opt.update(&p.name, &shape, host, &grads_host[i], lr, momentum);
                p.sync();
            }
            i += 1;
        });
        res?;
        let mut k = 0;
        models::visit_bn_mut(&mut self.layers, &mut |l| {
            stats[k].update_running(
                &mut l.running_mean,
                &mut l.running_var,
                batchnorm::BN_MOMENTUM,
            );
            k += 1;
        });
        Ok(lv)
    }

    /// Mean cross-entropy in evaluation mode (BN running statistics), without updating anything.
    pub fn loss(&self, x: &[f32], labels: &[usize]) -> Result<f32, NnError> {
        let n = self.check_batch(x, Some(labels), 1)?;
        let logits = self.logits(x, n, false, &mut Vec::new());
        Ok(linear::cross_entropy(logits, labels).as_vec()[0])
    }

    /// Predicted classes in evaluation mode (BN running statistics), computed `batch` images
    /// at a time.
    ///
    /// # Panics
    /// On inconsistent input; see [`Model::try_predict`].
    pub fn predict(&self, x: &[f32], batch: usize) -> Vec<usize> {
        match self.try_predict(x, batch) {
            Ok(p) => p,
            Err(e) => panic!("predict: {e}"),
        }
    }

    /// Like [`Model::predict`], with an error for inconsistent input. An empty input gives an
    /// empty result.
    pub fn try_predict(&self, x: &[f32], batch: usize) -> Result<Vec<usize>, NnError> {
        self.eval_rows(x, batch, |row| {
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best
        })
    }

    /// Class probabilities (softmax of the logits) in evaluation mode, `batch` images at a
    /// time: one row of `num_classes` per image.
    pub fn try_probabilities(&self, x: &[f32], batch: usize) -> Result<Vec<Vec<f32>>, NnError> {
        self.eval_rows(x, batch, |row| {
            let mx = row.iter().fold(f32::NEG_INFINITY, |a, b| a.max(*b));
            let e: Vec<f64> = row.iter().map(|v| ((v - mx) as f64).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| (v / s) as f32).collect()
        })
    }

    /// `f` of each image's logits in evaluation mode, computed `batch` images at a time.
    fn eval_rows<T>(
        &self,
        x: &[f32],
        batch: usize,
        f: impl Fn(&[f32]) -> T,
    ) -> Result<Vec<T>, NnError> {
        if x.is_empty() && batch > 0 {
            return Ok(Vec::new());
        }
        let n = self.check_batch(x, None, batch)?;
        let per = x.len() / n;
        let mut out = Vec::with_capacity(n);
        for chunk in x.chunks(batch * per) {
            let m = chunk.len() / per;
            let z = self.logits(chunk, m, false, &mut Vec::new()).as_vec();
            out.extend(z.chunks(self.num_classes).map(&f));
        }
        Ok(out)
    }

    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        let mut n = 0;
        models::visit_params(&self.layers, &mut |p| n += p.len());
        n
    }

    /// Names and shapes of the trainable parameters (for [`Optimizer::check_params`]).
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut v = Vec::new();
        models::visit_params(&self.layers, &mut |p| {
            v.push((p.name.clone(), p.shape.clone()))
        });
        v
    }

    /// Every tensor by stable name: parameters (`<layer>.weight`, `<layer>.bias`, ...) and BN
    /// running statistics (`<layer>.bn.running_mean`, `<layer>.bn.running_var`).
    pub fn state(&self) -> Vec<NamedTensor> {
        let mut v = Vec::new();
        models::visit_params(&self.layers, &mut |p| {
            v.push((p.name.clone(), p.shape.clone(), p.host.to_vec()))
        });
        models::visit_bn(&self.layers, &mut |l| {
            let c = l.running_mean.len();
            v.push((
                format!("{}.running_mean", l.name),
                vec![c],
                l.running_mean.clone(),
            ));
            v.push((
                format!("{}.running_var", l.name),
                vec![c],
                l.running_var.clone(),
            ));
        });
        v
    }

    /// Restores [`Model::state`] output. Every model tensor must be present with its shape;
    /// other entries (e.g. optimizer state in the same checkpoint) are ignored. Nothing is
    /// changed when an error is returned.
    pub fn load_state(&mut self, s: &[NamedTensor]) -> Result<(), NnError> {
        let find = |name: &str, shape: &[usize]| -> Result<&Vec<f32>, NnError> {
            let (_, sh, data) = s
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| NnError::MissingTensor(name.to_string()))?;
            if sh != shape || data.len() != shape.iter().product::<usize>() {
                return Err(NnError::ShapeMismatch {
                    name: name.to_string(),
                    expected: shape.to_vec(),
                    found: sh.clone(),
                });
            }
            Ok(data)
        };
        // Validate everything first.
        for (name, shape, _) in self.state() {
            find(&name, &shape)?;
        }
        models::visit_params_mut(&mut self.layers, &mut |p| {
            if let Ok(d) = find(&p.name, &p.shape) {
                p.set(d);
            }
        });
        models::visit_bn_mut(&mut self.layers, &mut |l| {
            let c = [l.running_mean.len()];
            if let Ok(d) = find(&format!("{}.running_mean", l.name), &c) {
                l.running_mean.copy_from_slice(d);
            }
            if let Ok(d) = find(&format!("{}.running_var", l.name), &c) {
                l.running_var.copy_from_slice(d);
            }
        });
        Ok(())
    }

    /// Checks that loaded optimizer state fits this model's parameters.
    pub fn check_optimizer(&self, opt: &Optimizer) -> Result<(), NnError> {
        opt.check_params(&self.param_shapes())
    }
}
