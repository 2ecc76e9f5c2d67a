//! The classifier: a frozen feature layer and a trainable head.
//!
//! `logits = W₂ · relu(W₁ x + b₁) + b₂` with `x` the window in g ([`INPUT`] values),
//! [`HIDDEN`] ReLU features and [`CLASSES`] logits. The loss is softmax cross-entropy,
//! `L = −log softmax(z)_y`, whose gradient is `∂L/∂z = softmax(z) − onehot(y)`
//! (Goodfellow, Bengio & Courville, *Deep Learning*, §6.2.2.3). On the device only
//! the head (`W₂, b₂`) is trained; the host trains both layers for the base model.
//!
//! Everything is fixed-size arrays: no allocator, no panics on any input (NaN
//! propagates into the loss, where [`crate::train`] catches it).

use crate::signal::{CLASSES, WINDOW};

/// Input length (one window).
pub const INPUT: usize = WINDOW;
/// Width of the frozen feature layer.
pub const HIDDEN: usize = 48;

/// A dense layer `y = W x + b` with `W` stored row-major (`O` rows of `I`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<const I: usize, const O: usize> {
    /// Weights, `w[o][i]`.
    pub w: [[f32; I]; O],
    /// Biases.
    pub b: [f32; O],
}

impl<const I: usize, const O: usize> Dense<I, O> {
    /// Number of parameters.
    pub const PARAMS: usize = I * O + O;

    /// All zeros (also the gradient / velocity accumulator).
    pub const fn zeroed() -> Self {
        Self {
            w: [[0.0; I]; O],
            b: [0.0; O],
        }
    }

    /// `y = W x + b`.
    pub fn forward(&self, x: &[f32; I], y: &mut [f32; O]) {
        for ((yo, row), bo) in y.iter_mut().zip(&self.w).zip(&self.b) {
            *yo = dot(row, x) + bo;
        }
    }

    /// Accumulates this sample's parameter gradient into `self`:
    /// `∂L/∂W += dy xᵀ`, `∂L/∂b += dy`.
    pub fn accumulate(&mut self, x: &[f32; I], dy: &[f32; O]) {
        for ((row, gb), d) in self.w.iter_mut().zip(self.b.iter_mut()).zip(dy) {
            *gb += d;
            for (g, xi) in row.iter_mut().zip(x) {
                *g += d * xi;
            }
        }
    }

    /// Back-propagates to the input: `dx = Wᵀ dy`.
    pub fn backprop_input(&self, dy: &[f32; O], dx: &mut [f32; I]) {
        dx.fill(0.0);
        for (row, d) in self.w.iter().zip(dy) {
            for (o, w) in dx.iter_mut().zip(row) {
                *o += d * w;
            }
        }
    }

    /// Visits every parameter (weights row by row, then biases) in blob order.
    pub fn params(&self) -> impl Iterator<Item = &f32> {
        self.w.iter().flatten().chain(self.b.iter())
    }

    /// Mutable [`Self::params`].
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut f32> {
        self.w.iter_mut().flatten().chain(self.b.iter_mut())
    }

    /// Copies `other` into `self` element by element (no temporary on the stack).
    pub fn copy_from(&mut self, other: &Self) {
        self.params_mut()
            .zip(other.params())
            .for_each(|(d, s)| *d = *s);
    }

    /// `self ← self + weight · (end − self)` element by element (PyTorch's
    /// `Tensor.lerp_(end, weight)`; `weight` may lie outside `[0, 1]`).
    pub fn lerp(&mut self, end: &Self, weight: f32) {
        self.params_mut()
            .zip(end.params())
            .for_each(|(p, e)| *p += weight * (*e - *p));
    }

    /// Sets every element to zero.
    pub fn clear(&mut self) {
        self.params_mut().for_each(|p| *p = 0.0);
    }

    /// True if every parameter is finite.
    pub fn all_finite(&self) -> bool {
        self.params().all(|p| p.is_finite())
    }
}

fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The frozen feature layer.
pub type Features = Dense<INPUT, HIDDEN>;
/// The trainable head.
pub type Head = Dense<HIDDEN, CLASSES>;

/// The whole classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// `W₁, b₁` (frozen on the device).
    pub features: Features,
    /// `W₂, b₂`.
    pub head: Head,
}

impl Model {
    /// All-zero weights (fill with [`crate::weights::load`] or [`Model::init`]).
    pub const fn zeroed() -> Self {
        Self {
            features: Dense::zeroed(),
            head: Dense::zeroed(),
        }
    }

    /// He-uniform initialisation, `W ~ U(±sqrt(6 / fan_in))`, zero biases
    /// (He et al., ICCV 2015), deterministic by `seed`.
    pub fn init(&mut self, seed: u64) {
        let mut rng = crate::rng::Rng::new(seed);
        let a1 = libm::sqrtf(6.0 / INPUT as f32);
        self.features
            .w
            .iter_mut()
            .flatten()
            .for_each(|w| *w = rng.range(-a1, a1));
        self.features.b.fill(0.0);
        let a2 = libm::sqrtf(6.0 / HIDDEN as f32);
        self.head
            .w
            .iter_mut()
            .flatten()
            .for_each(|w| *w = rng.range(-a2, a2));
        self.head.b.fill(0.0);
    }

    /// Hidden features `h = relu(W₁ x + b₁)`.
    pub fn features(&self, x: &[f32; INPUT], h: &mut [f32; HIDDEN]) {
        self.features.forward(x, h);
        h.iter_mut().for_each(|v| *v = v.max(0.0));
    }

    /// Logits for one input.
    pub fn logits(&self, x: &[f32; INPUT], z: &mut [f32; CLASSES]) {
        let mut h = [0.0; HIDDEN];
        self.features(x, &mut h);
        self.head.forward(&h, z);
    }

    /// Predicted class (index of the largest logit; a NaN logit never wins, an
    /// all-NaN row predicts class 0).
    pub fn predict(&self, x: &[f32; INPUT]) -> u8 {
        let mut z = [0.0; CLASSES];
        self.logits(x, &mut z);
        argmax(&z)
    }
}

/// Index of the largest finite-or-infinite value; NaNs are ignored.
pub fn argmax(z: &[f32]) -> u8 {
    let mut best = 0usize;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in z.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best as u8
}

/// Softmax cross-entropy of `z` against class `y`; writes `∂L/∂z = p − onehot(y)`
/// into `dz` and returns `L = logsumexp(z) − z_y` (max-shifted for stability).
/// A label out of range is treated as class 0's complement never happens here:
/// callers validate labels; an out-of-range `y` gives `L = NaN`.
pub fn softmax_xent(z: &[f32; CLASSES], y: u8, dz: &mut [f32; CLASSES]) -> f32 {
    let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut s = 0.0;
    for (d, &v) in dz.iter_mut().zip(z) {
        *d = libm::expf(v - m);
        s += *d;
    }
    for d in dz.iter_mut() {
        *d /= s;
    }
    let y = y as usize;
    if y >= CLASSES {
        return f32::NAN;
    }
    dz[y] -= 1.0;
    m + libm::logf(s) - z[y]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(m: &Model, x: &[f32; INPUT], y: u8) -> f32 {
        let mut z = [0.0; CLASSES];
        m.logits(x, &mut z);
        let mut dz = [0.0; CLASSES];
        softmax_xent(&z, y, &mut dz)
    }

    /// Analytic gradients of both layers against central finite differences
    /// (computed in f64 on a perturbed f32 model, step 1e-2 relative).
    #[test]
    fn gradients_match_finite_differences() {
        let mut m = Model::zeroed();
        m.init(3);
        m.features
            .b
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.05 * (i as f32 % 3.0));
        m.head
            .b
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.1 * i as f32);
        let mut rng = crate::rng::Rng::new(9);
        let mut x = [0.0; INPUT];
        x.iter_mut().for_each(|v| *v = rng.range(-1.0, 1.0));
        let y = 4;

        let mut g = Model::zeroed();
        crate::train::backward_full(&m, &x, y, &mut g);

        let eps = 1e-2f32;
        let check = |analytic: f32, plus: f32, minus: f32, what: &str| {
            let numeric = (plus as f64 - minus as f64) / (2.0 * eps as f64);
            let tol = 2e-3 + 2e-2 * numeric.abs();
            assert!(
                (analytic as f64 - numeric).abs() < tol,
                "{what}: analytic {analytic} numeric {numeric}"
            );
        };
        for o in (0..HIDDEN).step_by(5) {
            for i in (0..INPUT).step_by(7) {
                let mut p = m.clone();
                p.features.w[o][i] += eps;
                let mut q = m.clone();
                q.features.w[o][i] -= eps;
                check(g.features.w[o][i], loss(&p, &x, y), loss(&q, &x, y), "w1");
            }
            let mut p = m.clone();
            p.features.b[o] += eps;
            let mut q = m.clone();
            q.features.b[o] -= eps;
            check(g.features.b[o], loss(&p, &x, y), loss(&q, &x, y), "b1");
        }
        for o in 0..CLASSES {
            for i in (0..HIDDEN).step_by(3) {
                let mut p = m.clone();
                p.head.w[o][i] += eps;
                let mut q = m.clone();
                q.head.w[o][i] -= eps;
                check(g.head.w[o][i], loss(&p, &x, y), loss(&q, &x, y), "w2");
            }
            let mut p = m.clone();
            p.head.b[o] += eps;
            let mut q = m.clone();
            q.head.b[o] -= eps;
            check(g.head.b[o], loss(&p, &x, y), loss(&q, &x, y), "b2");
        }
        // The head-only path computes the same head gradient.
        let mut h = [0.0; HIDDEN];
        m.features(&x, &mut h);
        let mut gh = Head::zeroed();
        crate::train::backward_head(&m.head, &h, y, &mut gh);
        assert_eq!(gh, g.head);
    }

    #[test]
    fn softmax_xent_is_stable_and_nan_safe() {
        let mut dz = [0.0; CLASSES];
        let mut z = [0.0; CLASSES];
        z[2] = 1e4;
        let l = softmax_xent(&z, 2, &mut dz);
        assert!(l.is_finite() && l.abs() < 1e-3);
        assert!(softmax_xent(&z, 0, &mut dz) > 9e3);
        z[3] = f32::NAN;
        assert!(!softmax_xent(&z, 2, &mut dz).is_finite());
        assert_eq!(argmax(&z), 2);
        assert!(softmax_xent(&[0.0; CLASSES], 200, &mut dz).is_nan());
        assert_eq!(argmax(&[f32::NAN; CLASSES]), 0);
    }
}
