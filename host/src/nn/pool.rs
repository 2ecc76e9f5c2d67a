//! Pooling on NCHW tensors.
//!
//! - 2×2 max-pool, stride 2, floor mode like PyTorch `nn.MaxPool2d(2)`: output `⌊H/2⌋ × ⌊W/2⌋`,
//!   `y[i, j] = max_{u,v∈{0,1}} x[2i + u, 2j + v]`; the gradient goes to the first maximum in
//!   row-major window order (PyTorch's choice).
//! - Global average pool `y[b, c] = mean_{i,j} x[b, c, i, j]` (`nn.AdaptiveAvgPool2d(1)` + flatten)
//!   and global max pool (`nn.AdaptiveMaxPool2d(1)` + flatten), from dfdx reductions.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::tape::{host_copy, take_grad};
use super::{Act2, Act4, NnDevice, Shape4};

/// Output size of the 2×2/2 max-pool (floor mode).
pub fn pool_out(h: usize, w: usize) -> (usize, usize) {
    (h / 2, w / 2)
}

/// Native CPU 2×2 max-pool with its backward pass on the tape.
pub fn maxpool2_cpu(x: Act4<Cpu>) -> Act4<Cpu> {
    let (b, c, h, w) = *x.shape();
    let (oh, ow) = pool_out(h, w);
    let (x, mut tape) = x.contiguous().split_tape();
    let xd = host_copy(&x);
    let (ip, op) = (h * w, oh * ow);
    let mut out = vec![0f32; b * c * op];
    // Position (0..4, row-major in the window) of the chosen maximum, for the backward pass.
    let mut arg = vec![0u8; b * c * op];
    if op > 0 {
        out.par_chunks_mut(op)
            .zip(arg.par_chunks_mut(op))
            .zip(xd.par_chunks(ip))
            .for_each(|((y, a), xp)| {
                for i in 0..oh {
                    let r0 = &xp[2 * i * w..2 * i * w + 2 * ow];
                    let r1 = &xp[(2 * i + 1) * w..(2 * i + 1) * w + 2 * ow];
                    let yr = &mut y[i * ow..(i + 1) * ow];
                    let ar = &mut a[i * ow..(i + 1) * ow];
                    for j in 0..ow {
                        // PyTorch's rule: take a later value if it is larger or NaN.
                        let (mut bv, mut bk) = (r0[2 * j], 0u8);
                        for (k, v) in [(1u8, r0[2 * j + 1]), (2, r1[2 * j]), (3, r1[2 * j + 1])] {
                            if v > bv || v.is_nan() {
                                bv = v;
                                bk = k;
                            }
                        }
                        yr[j] = bv;
                        ar[j] = bk;
                    }
                }
            });
    }
    let y = x.device().tensor_from_vec(out, (b, c, oh, ow));
    let (x_g, y_g) = (x.ghost(), y.ghost());
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, y_g);
        let gx = grads.get_or_alloc_mut(&x_g)?;
        if op > 0 {
            gx.par_chunks_mut(ip)
                .zip(gy.par_chunks(op))
                .zip(arg.par_chunks(op))
                .for_each(|((gxp, gyp), a)| {
                    for i in 0..oh {
                        for j in 0..ow {
                            let k = a[i * ow + j] as usize;
                            gxp[(2 * i + k / 2) * w + 2 * j + k % 2] += gyp[i * ow + j];
                        }
                    }
                });
        }
        Ok(())
    });
    y.put_tape(tape)
}

/// Gather indices for the generic max-pool on a `(H·W, B·C)` layout, ordered
/// `[window tap][OH·OW]`.
fn pool_indices(h: usize, w: usize) -> Vec<usize> {
    let (oh, ow) = pool_out(h, w);
    let mut idx = Vec::with_capacity(4 * oh * ow);
    for (u, v) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        for i in 0..oh {
            for j in 0..ow {
                idx.push((2 * i + u) * w + 2 * j + v);
            }
        }
    }
    idx
}

/// Device-generic 2×2 max-pool from stable dfdx ops (`gather` the four window taps, `max` over
/// them). Ties split the gradient (dfdx's `max` rule); after ReLU only exact zeros tie, and
/// those get no gradient through ReLU either way.
pub fn maxpool2_generic<D: NnDevice>(x: Act4<D>) -> Act4<D> {
    let (b, c, oh, ow) = pooled_shape(&x);
    window_taps(x)
        .max::<(usize, usize), Axis<0>>()
        .permute::<(usize, usize), Axes2<1, 0>>()
        .reshape_like(&(b, c, oh, ow))
}

/// `(B, C, ⌊H/2⌋, ⌊W/2⌋)`.
fn pooled_shape<D: NnDevice>(x: &Act4<D>) -> Shape4 {
    let (b, c, h, w) = *x.shape();
    let (oh, ow) = pool_out(h, w);
    (b, c, oh, ow)
}

/// The four taps of every 2×2 window, `(4, OH·OW, B·C)`, gathered with stable dfdx ops.
fn window_taps<D: NnDevice>(
    x: Act4<D>,
) -> Tensor<(usize, usize, usize), f32, D, OwnedTape<f32, D>> {
    let (b, c, h, w) = *x.shape();
    let (oh, ow) = pool_out(h, w);
    let op = oh * ow;
    let dev = x.device().clone();
    let idx = dev.tensor_from_vec(pool_indices(h, w), (4 * op,));
    x.reshape_like(&(b * c, h * w))
        .permute::<(usize, usize), Axes2<1, 0>>()
        .gather(idx)
        .reshape_like(&(4, op, b * c))
}

/// Device-generic 2×2 average pool, stride 2, floor (PyTorch's `AvgPool2d(2)`): the four
/// window taps gathered as for [`maxpool2_generic`], then their mean.
pub fn avgpool2_generic<D: NnDevice>(x: Act4<D>) -> Act4<D> {
    let (b, c, oh, ow) = pooled_shape(&x);
    window_taps(x)
        .mean::<(usize, usize), Axis<0>>()
        .permute::<(usize, usize), Axes2<1, 0>>()
        .reshape_like(&(b, c, oh, ow))
}

/// Global average pool `(B, C, H, W) → (B, C)`.
pub fn global_avgpool<D: NnDevice>(x: Act4<D>) -> Act2<D> {
    x.mean::<(usize, usize), Axes2<2, 3>>()
}

/// Global max pool `(B, C, H, W) → (B, C)`.
pub fn global_maxpool<D: NnDevice>(x: Act4<D>) -> Act2<D> {
    x.max::<(usize, usize), Axes2<2, 3>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    fn naive_max(x: &[f32], s: Shape4) -> Vec<f64> {
        let (b, c, h, w) = s;
        let (oh, ow) = (h / 2, w / 2);
        let mut y = vec![0f64; b * c * oh * ow];
        for pl in 0..b * c {
            for i in 0..oh {
                for j in 0..ow {
                    let mut m = f64::NEG_INFINITY;
                    for u in 0..2 {
                        for v in 0..2 {
                            m = m.max(x[pl * h * w + (2 * i + u) * w + 2 * j + v] as f64);
                        }
                    }
                    y[(pl * oh + i) * ow + j] = m;
                }
            }
        }
        y
    }

    const SHAPES: [Shape4; 3] = [(2, 3, 4, 4), (1, 2, 5, 7), (2, 1, 3, 2)];

    fn check(native: bool) {
        let dev = Cpu::default();
        for (n, s) in SHAPES.iter().enumerate() {
            let x = rand_vec(s.0 * s.1 * s.2 * s.3, 50 + n as u64);
            let (oh, ow) = pool_out(s.2, s.3);
            let r = rand_vec(s.0 * s.1 * oh * ow, 60 + n as u64);
            let xn = dev.tensor_from_vec(x.clone(), *s);
            let xt = xn.clone().traced(Gradients::leaky());
            let y = if native {
                maxpool2_cpu(xt)
            } else {
                maxpool2_generic(xt)
            };
            assert_eq!(*y.shape(), (s.0, s.1, oh, ow));
            assert_close(&y.as_vec(), &naive_max(&x, *s), 0.0, "maxpool forward");
            let g = grads_of(y, &r).get(&xn).as_vec();
            let fd = finite_diff(&x, |xx| {
                naive_max(xx, *s)
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| a * *b as f64)
                    .sum()
            });
            assert_close(&g, &fd, 1e-3, "maxpool dX");
        }
    }

    #[test]
    fn native_maxpool_matches_naive_and_finite_differences() {
        check(true);
    }

    #[test]
    fn generic_maxpool_matches_naive_and_finite_differences() {
        check(false);
    }

    #[test]
    fn native_maxpool_routes_ties_to_first_maximum() {
        let dev = Cpu::default();
        let xn = dev.tensor_from_vec(vec![1.0, 1.0, 1.0, 1.0], (1, 1, 2, 2));
        let y = maxpool2_cpu(xn.clone().traced(Gradients::leaky()));
        assert_eq!(
            grads_of(y, &[2.0]).get(&xn).as_vec(),
            vec![2.0, 0.0, 0.0, 0.0]
        );
    }

    /// 2×2 average pool: the window means (odd edges dropped), and each input of a window
    /// gets a quarter of its output's gradient.
    #[test]
    fn avgpool_matches_window_means() {
        let dev = Cpu::default();
        let (b, c, h, w) = (2, 2, 5, 4);
        let x = rand_vec(b * c * h * w, 80);
        let xn = dev.tensor_from_vec(x.clone(), (b, c, h, w));
        let y = avgpool2_generic(xn.clone().traced(Gradients::leaky()));
        let mut want = Vec::new();
        for bc in 0..b * c {
            let p = &x[bc * h * w..(bc + 1) * h * w];
            for i in 0..2 {
                for j in 0..2 {
                    let at = |r: usize, q: usize| p[r * w + q] as f64;
                    want.push(
                        (at(2 * i, 2 * j)
                            + at(2 * i, 2 * j + 1)
                            + at(2 * i + 1, 2 * j)
                            + at(2 * i + 1, 2 * j + 1))
                            / 4.0,
                    );
                }
            }
        }
        assert_close(&y.as_vec(), &want, 1e-6, "avgpool");
        let g = grads_of(y, &vec![1.0; want.len()]).get(&xn).as_vec();
        assert_eq!(g[0], 0.25);
        assert_eq!(g[4 * w], 0.0, "row 4 of 5 is dropped (floor)");
    }

    #[test]
    fn global_pools_match_naive_and_finite_differences() {
        let dev = Cpu::default();
        let s = (2, 3, 3, 2);
        let x = rand_vec(36, 70);
        let r = rand_vec(6, 71);
        let avg = |x: &[f32]| -> Vec<f64> {
            x.chunks(6)
                .map(|c| c.iter().map(|v| *v as f64).sum::<f64>() / 6.0)
                .collect()
        };
        let max = |x: &[f32]| -> Vec<f64> {
            x.chunks(6)
                .map(|c| c.iter().fold(f64::MIN, |m, v| m.max(*v as f64)))
                .collect()
        };
        for (is_avg, f) in [(true, &avg as &dyn Fn(&[f32]) -> Vec<f64>), (false, &max)] {
            let xn = dev.tensor_from_vec(x.clone(), s);
            let xt = xn.clone().traced(Gradients::leaky());
            let y = if is_avg {
                global_avgpool(xt)
            } else {
                global_maxpool(xt)
            };
            assert_close(&y.as_vec(), &f(&x), 1e-6, "global pool forward");
            let g = grads_of(y, &r).get(&xn).as_vec();
            let fd = finite_diff(&x, |xx| {
                f(xx).iter().zip(&r).map(|(a, b)| a * *b as f64).sum()
            });
            assert_close(&g, &fd, 1e-3, "global pool dX");
        }
    }
}
