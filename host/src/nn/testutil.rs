//! Helpers shared by the layer tests: random data, finite differences, tolerant comparison.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};

/// `n` values uniform in `[-1, 1)`, deterministic by `seed`.
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// Central finite differences of `f` at `x`, `∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)`,
/// with the step actually representable in f32 in the denominator.
pub fn finite_diff(x: &[f32], f: impl Fn(&[f32]) -> f64) -> Vec<f64> {
    let mut xx = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = 1e-3f32.max(x[i].abs() * 1e-3);
            xx[i] = x[i] + h;
            let fp = f(&xx);
            let up = xx[i] as f64;
            xx[i] = x[i] - h;
            let fm = f(&xx);
            let dn = xx[i] as f64;
            xx[i] = x[i];
            (fp - fm) / (up - dn)
        })
        .collect()
}

/// Asserts `|got − want| ≤ tol · (1 + |want|)` element-wise.
pub fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

/// Back-propagates `L = Σ y ⊙ r` (so `dL/dy = r`) and returns the gradients.
pub fn grads_of<S: Shape>(
    y: Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>,
    r: &[f32],
) -> Gradients<f32, Cpu> {
    let dev = y.device().clone();
    let rt = dev.tensor_from_vec(r.to_vec(), *y.shape());
    (y * rt).sum::<Rank0, _>().backward()
}
