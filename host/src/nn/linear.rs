//! Fully connected layer `y = x Wᵀ + b` (PyTorch `nn.Linear`), `x (B, F)`, `W (O, F)`, `b (O)`,
//! from dfdx `matmul` and a broadcast add; also the cross-entropy loss.

use dfdx::prelude::*;

use super::param::Param;
use super::{Act2, NnDevice};

/// `x Wᵀ (+ b)`.
pub fn linear<D: NnDevice>(x: Act2<D>, w: &Param<D>, b: Option<&Param<D>>) -> Act2<D> {
    let (n, f) = *x.shape();
    let o = w.len() / f.max(1);
    assert_eq!(
        o * f,
        w.len(),
        "linear: input has {f} features, weight has {} values",
        w.len()
    );
    let wt = w
        .traced()
        .reshape_like(&(o, f))
        .permute::<(usize, usize), Axes2<1, 0>>();
    let y = x.matmul(wt);
    match b {
        Some(b) => {
            y + b
                .traced()
                .broadcast_like::<(usize, usize), Axis<0>>(&(n, o))
        }
        None => y,
    }
}

/// Mean cross-entropy of `logits (B, K)` against class indices:
/// `L = −(1/B) Σ_b log softmax(z_b)[y_b]` (PyTorch `nn.CrossEntropyLoss`).
pub fn cross_entropy<D: NnDevice>(
    logits: Act2<D>,
    labels: &[usize],
) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
    let (n, k) = *logits.shape();
    let mut onehot = vec![0f32; n * k];
    for (i, l) in labels.iter().enumerate() {
        onehot[i * k + l] = 1.0;
    }
    let t = logits.device().tensor_from_vec(onehot, (n, k));
    cross_entropy_with_logits_loss(logits, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    fn naive(x: &[f32], w: &[f32], b: &[f32], n: usize, f: usize, o: usize) -> Vec<f64> {
        let mut y = vec![0f64; n * o];
        for i in 0..n {
            for j in 0..o {
                y[i * o + j] = b[j] as f64
                    + (0..f)
                        .map(|k| x[i * f + k] as f64 * w[j * f + k] as f64)
                        .sum::<f64>();
            }
        }
        y
    }

    #[test]
    fn linear_matches_naive_and_finite_differences() {
        let dev = Cpu::default();
        let (n, f, o) = (3, 4, 2);
        let (x, w, b, r) = (
            rand_vec(n * f, 1),
            rand_vec(o * f, 2),
            rand_vec(o, 3),
            rand_vec(n * o, 4),
        );
        let wp = Param::new("w", vec![o, f], w.clone(), &dev);
        let bp = Param::new("b", vec![o], b.clone(), &dev);
        let xn = dev.tensor_from_vec(x.clone(), (n, f));
        let y = linear(xn.clone().traced(Gradients::leaky()), &wp, Some(&bp));
        assert_close(
            &y.as_vec(),
            &naive(&x, &w, &b, n, f, o),
            1e-5,
            "linear forward",
        );
        let g = grads_of(y, &r);
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            naive(x, w, b, n, f, o)
                .iter()
                .zip(&r)
                .map(|(a, c)| a * *c as f64)
                .sum()
        };
        assert_close(
            &g.get(&xn).as_vec(),
            &finite_diff(&x, |v| loss(v, &w, &b)),
            1e-3,
            "linear dX",
        );
        assert_close(
            &g.get(&wp.t).as_vec(),
            &finite_diff(&w, |v| loss(&x, v, &b)),
            1e-3,
            "linear dW",
        );
        assert_close(
            &g.get(&bp.t).as_vec(),
            &finite_diff(&b, |v| loss(&x, &w, v)),
            1e-3,
            "linear db",
        );
    }

    #[test]
    fn cross_entropy_matches_naive_and_finite_differences() {
        let dev = Cpu::default();
        let (n, k) = (3, 4);
        let z = rand_vec(n * k, 5);
        let labels = [2usize, 0, 3];
        let naive = |z: &[f32]| -> f64 {
            (0..n)
                .map(|i| {
                    let row = &z[i * k..(i + 1) * k];
                    let lse = row.iter().map(|v| (*v as f64).exp()).sum::<f64>().ln();
                    lse - row[labels[i]] as f64
                })
                .sum::<f64>()
                / n as f64
        };
        let zn = dev.tensor_from_vec(z.clone(), (n, k));
        let l = cross_entropy(zn.clone().traced(Gradients::leaky()), &labels);
        assert!((l.array() as f64 - naive(&z)).abs() < 1e-5);
        let g = l.backward().get(&zn).as_vec();
        assert_close(&g, &finite_diff(&z, naive), 1e-3, "cross-entropy dz");
    }
}
