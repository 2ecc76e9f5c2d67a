//! Batch normalisation over `(N, H, W)` per channel of an NCHW tensor, optionally fused with ReLU
//! (Ioffe & Szegedy, 2015; PyTorch `nn.BatchNorm2d`).
//!
//! Training: `μ_c = mean(x_c)`, `σ²_c = mean((x_c − μ_c)²)` (biased), `x̂ = (x − μ_c)/√(σ²_c + ε)`,
//! `y = γ_c x̂ + β_c` (then `max(y, 0)` when fused). The running statistics follow PyTorch:
//! `running_mean ← (1 − m)·running_mean + m·μ`, `running_var ← (1 − m)·running_var + m·σ²·n/(n − 1)`
//! (unbiased), `m = 0.1`, `ε = 1e-5`. Evaluation uses `y = γ (x − running_mean)/√(running_var + ε) + β`.
//!
//! Backward (training), with `g = ∂L/∂y` (masked by `y > 0` when fused) and `n = N·H·W`:
//! `∂L/∂β = Σ g`, `∂L/∂γ = Σ g x̂`, `∂L/∂x = γ/(n√(σ² + ε)) · (n g − Σ g − x̂ Σ g x̂)`.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::param::Param;
use super::tape::{add_grad, host_copy, take_grad};
use super::{Act4, NnDevice, Shape4};

/// PyTorch's default `eps`.
pub const BN_EPS: f32 = 1e-5;
/// PyTorch's default `momentum`.
pub const BN_MOMENTUM: f32 = 0.1;

/// Per-channel batch statistics of one training forward pass: mean and biased variance, and
/// the number of values per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel biased variance.
    pub var: Vec<f32>,
    /// Values per channel (`N·H·W`).
    pub count: usize,
}

impl BatchStats {
    /// Applies PyTorch's running-statistics update (see the module docs).
    pub fn update_running(&self, running_mean: &mut [f32], running_var: &mut [f32], momentum: f32) {
        let n = self.count as f32;
        let unbias = if self.count > 1 { n / (n - 1.0) } else { 1.0 };
        for (r, m) in running_mean.iter_mut().zip(&self.mean) {
            *r = (1.0 - momentum) * *r + momentum * m;
        }
        for (r, v) in running_var.iter_mut().zip(&self.var) {
            *r = (1.0 - momentum) * *r + momentum * v * unbias;
        }
    }
}

/// Lane-parallel f32 reduction `Σ f(aᵢ, bᵢ)` over two equally long slices (8 accumulators so
/// it vectorises), returned in f64 for the cross-plane sum.
#[inline(always)]
fn lane_sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut s: f64 = acc.iter().map(|v| *v as f64).sum();
    for (x, y) in ar.iter().zip(br) {
        s += f(*x, *y) as f64;
    }
    s
}

/// `(Σ g', Σ g'·(x − m))` over one image plane, `g'` the ReLU-masked gradient (one pass,
/// 8 f32 lanes each, f64 result).
#[inline(always)]
fn grad_sums(gp: &[f32], xp: &[f32], (m, s, t): (f32, f32, f32), relu: bool) -> (f64, f64) {
    let (mut a1, mut a2) = ([0f32; 8], [0f32; 8]);
    let (gc, xc) = (gp.chunks_exact(8), xp.chunks_exact(8));
    let (gr, xr) = (gc.remainder(), xc.remainder());
    for (g8, x8) in gc.zip(xc) {
        for l in 0..8 {
            let gm = masked(g8[l], x8[l], m, s, t, relu);
            a1[l] += gm;
            a2[l] += gm * (x8[l] - m);
        }
    }
    let mut r1: f64 = a1.iter().map(|v| *v as f64).sum();
    let mut r2: f64 = a2.iter().map(|v| *v as f64).sum();
    for (g, x) in gr.iter().zip(xr) {
        let gm = masked(*g, *x, m, s, t, relu);
        r1 += gm as f64;
        r2 += (gm * (x - m)) as f64;
    }
    (r1, r2)
}

/// Per-channel mean and biased variance of `x (B, C, P)` (two passes; f32 lanes within an
/// image plane, f64 across planes).
fn channel_stats(x: &[f32], b: usize, c: usize, p: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (b * p).max(1) as f64;
    let stats: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ci| {
            let plane = |bi: usize| &x[(bi * c + ci) * p..(bi * c + ci + 1) * p];
            let s: f64 = (0..b)
                .map(|bi| lane_sum2(plane(bi), plane(bi), |v, _| v))
                .sum();
            let mean = s / n;
            let m = mean as f32;
            let q: f64 = (0..b)
                .map(|bi| lane_sum2(plane(bi), plane(bi), |v, _| (v - m) * (v - m)))
                .sum();
            (m, (q / n) as f32)
        })
        .collect();
    stats.into_iter().unzip()
}

/// Batch statistics of `x (B, C, P)` as used by the kernels: mean, biased variance, 1/√(σ² + ε).
#[derive(Debug, Clone)]
pub(crate) struct BnStats {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    pub invstd: Vec<f32>,
}

/// Training-mode statistics of `x (B, C, P)`.
pub(crate) fn bn_stats_kernel(x: &[f32], b: usize, c: usize, p: usize) -> BnStats {
    let (mean, var) = channel_stats(x, b, c, p);
    let invstd = var.iter().map(|v| 1.0 / (v + BN_EPS).sqrt()).collect();
    BnStats { mean, var, invstd }
}

/// `y = γ x̂ + β` (then ReLU) for one value; `v < 0` keeps NaN (PyTorch's ReLU propagates it).
#[inline(always)]
pub(crate) fn bn_apply(x: f32, m: f32, s: f32, t: f32, relu: bool) -> f32 {
    let v = (x - m) * s + t;
    if relu && v < 0.0 {
        0.0
    } else {
        v
    }
}

/// Incoming gradient, masked where the fused ReLU clipped (`v ≤ 0`, like PyTorch).
#[inline(always)]
fn masked(gv: f32, xv: f32, m: f32, s: f32, t: f32, relu: bool) -> f32 {
    if relu && (xv - m) * s + t <= 0.0 {
        0.0
    } else {
        gv
    }
}

/// Forward kernel: `y = BN(x)` (+ ReLU) for `x (B, C, P)`.
pub(crate) fn bn_forward_kernel(
    x: &[f32],
    st: &BnStats,
    g: &[f32],
    bt: &[f32],
    c: usize,
    p: usize,
    relu: bool,
) -> Vec<f32> {
    let cp = (c * p).max(1);
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(cp)
        .zip(x.par_chunks(cp))
        .for_each(|(yb, xb)| {
            for ci in 0..c {
                let (s, m, t) = (st.invstd[ci] * g[ci], st.mean[ci], bt[ci]);
                let (ys, xs) = (&mut yb[ci * p..(ci + 1) * p], &xb[ci * p..(ci + 1) * p]);
                for (y, x) in ys.iter_mut().zip(xs) {
                    *y = bn_apply(*x, m, s, t, relu);
                }
            }
        });
    out
}

/// Backward kernel: adds `∂L/∂x` into `gx` given `gy = ∂L/∂y`; returns `(∂L/∂γ, ∂L/∂β)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bn_backward_kernel(
    x: &[f32],
    gy: &[f32],
    st: &BnStats,
    g: &[f32],
    bt: &[f32],
    (b, c, p): (usize, usize, usize),
    relu: bool,
    gx: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let n = (b * p) as f32;
    let cp = (c * p).max(1);
    let (mean, invstd) = (&st.mean, &st.invstd);
    // Σ g and Σ g·x̂ per channel.
    let sums: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ci| {
            let (m, is) = (mean[ci], invstd[ci]);
            let (s, t) = (is * g[ci], bt[ci]);
            let (mut sg, mut sgx) = (0f64, 0f64);
            for bi in 0..b {
                let o = (bi * c + ci) * p;
                let (a, q) = grad_sums(&gy[o..o + p], &x[o..o + p], (m, s, t), relu);
                sg += a;
                sgx += q;
            }
            (sg as f32, (sgx * is as f64) as f32)
        })
        .collect();
    let (db, dg): (Vec<f32>, Vec<f32>) = sums.iter().copied().unzip();
    gx.par_chunks_mut(cp)
        .zip(gy.par_chunks(cp))
        .zip(x.par_chunks(cp))
        .for_each(|((gxb, gyb), xb)| {
            for ci in 0..c {
                let (m, is) = (mean[ci], invstd[ci]);
                let (s, t) = (is * g[ci], bt[ci]);
                let k = g[ci] * is / n;
                let (dbc, dgc) = (db[ci], dg[ci]);
                let r = ci * p..(ci + 1) * p;
                for ((d, gv), xv) in gxb[r.clone()].iter_mut().zip(&gyb[r.clone()]).zip(&xb[r]) {
                    let gm = masked(*gv, *xv, m, s, t, relu);
                    *d += k * (n * gm - dbc - (xv - m) * is * dgc);
                }
            }
        });
    (dg, db)
}

/// Native CPU training-mode batch norm (+ optional ReLU) with its backward pass on the tape.
pub fn batchnorm_cpu(
    x: Act4<Cpu>,
    gamma: &Param<Cpu>,
    beta: &Param<Cpu>,
    relu: bool,
) -> (Act4<Cpu>, BatchStats) {
    let shape = *x.shape();
    let (b, c, h, w) = shape;
    let p = h * w;
    assert_eq!(
        gamma.len(),
        c,
        "batchnorm: {c} channels, gamma has {}",
        gamma.len()
    );
    let (x, mut tape) = x.contiguous().split_tape();
    let xd = host_copy(&x);
    let st = bn_stats_kernel(&xd, b, c, p);
    let g = gamma.host.clone();
    let bt = beta.host.clone();
    let out = bn_forward_kernel(&xd, &st, &g, &bt, c, p, relu);
    let stats = BatchStats {
        mean: st.mean.clone(),
        var: st.var.clone(),
        count: b * p,
    };
    let y = x.device().tensor_from_vec(out, shape);
    let (x_g, y_g, g_g, b_g) = (x.ghost(), y.ghost(), gamma.t.ghost(), beta.t.ghost());
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, y_g);
        let (dg, db) = {
            let gx = grads.get_or_alloc_mut(&x_g)?;
            bn_backward_kernel(&xd, &gy, &st, &g, &bt, (b, c, p), relu, gx)
        };
        add_grad!(grads, g_g, dg);
        add_grad!(grads, b_g, db);
        Ok(())
    });
    (y.put_tape(tape), stats)
}

/// Device-generic training-mode batch norm (+ optional ReLU) from stable dfdx ops
/// (`normalize` over axes 0, 2, 3, broadcast affine).
pub fn batchnorm_generic<D: NnDevice>(
    x: Act4<D>,
    gamma: &Param<D>,
    beta: &Param<D>,
    relu: bool,
) -> (Act4<D>, BatchStats) {
    let shape = *x.shape();
    let (b, c, h, w) = shape;
    let xs = x.retaped::<NoneTape>();
    let mean = xs.clone().mean::<(usize,), Axes3<0, 2, 3>>().as_vec();
    let var = xs.var::<(usize,), Axes3<0, 2, 3>>().as_vec();
    let y = x.normalize::<Axes3<0, 2, 3>>(BN_EPS);
    let y = y * gamma
        .traced()
        .broadcast_like::<Shape4, Axes3<0, 2, 3>>(&shape)
        + beta
            .traced()
            .broadcast_like::<Shape4, Axes3<0, 2, 3>>(&shape);
    let y = if relu { y.relu() } else { y };
    let _ = c;
    (
        y,
        BatchStats {
            mean,
            var,
            count: b * h * w,
        },
    )
}

/// Evaluation-mode BN as a per-channel affine map: `s = γ/√(running_var + ε)`,
/// `t = β − running_mean·s`.
pub fn eval_affine(
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let s: Vec<f32> = gamma
        .iter()
        .zip(running_var)
        .map(|(g, v)| g / (v + BN_EPS).sqrt())
        .collect();
    let t = beta
        .iter()
        .zip(running_mean)
        .zip(&s)
        .map(|((b, m), s)| b - m * s)
        .collect();
    (s, t)
}

/// Evaluation-mode batch norm (+ optional ReLU) with running statistics, from dfdx ops:
/// `y = x·s + t`, `s = γ/√(running_var + ε)`, `t = β − running_mean·s`.
pub fn batchnorm_eval<D: NnDevice>(
    x: Act4<D>,
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    relu: bool,
) -> Act4<D> {
    let (s, t) = eval_affine(gamma, beta, running_mean, running_var);
    channel_affine(x, &s, &t, relu)
}

/// Per-channel affine map `y = x·s_c + t_c` (+ optional ReLU) from dfdx broadcast ops.
pub fn channel_affine<D: NnDevice>(x: Act4<D>, s: &[f32], t: &[f32], relu: bool) -> Act4<D> {
    let shape = *x.shape();
    let c = shape.1;
    assert_eq!(s.len(), c, "batchnorm: {c} channels, {} scales", s.len());
    let dev = x.device().clone();
    let st = dev.tensor_from_vec(s.to_vec(), (c,));
    let tt = dev.tensor_from_vec(t.to_vec(), (c,));
    let y = x * st.broadcast_like::<Shape4, Axes3<0, 2, 3>>(&shape)
        + tt.broadcast_like::<Shape4, Axes3<0, 2, 3>>(&shape);
    if relu {
        y.relu()
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    /// Naive f64 reference of the training-mode forward pass.
    fn naive(x: &[f32], g: &[f32], bt: &[f32], s: Shape4, relu: bool) -> Vec<f64> {
        let (b, c, h, w) = s;
        let p = h * w;
        let n = (b * p) as f64;
        let mut y = vec![0f64; x.len()];
        for ci in 0..c {
            let idx = || (0..b).flat_map(move |bi| (0..p).map(move |j| (bi * c + ci) * p + j));
            let mean = idx().map(|i| x[i] as f64).sum::<f64>() / n;
            let var = idx().map(|i| (x[i] as f64 - mean).powi(2)).sum::<f64>() / n;
            for i in idx() {
                let v = (x[i] as f64 - mean) / (var + BN_EPS as f64).sqrt() * g[ci] as f64
                    + bt[ci] as f64;
                y[i] = if relu { v.max(0.0) } else { v };
            }
        }
        y
    }

    fn check(native: bool, relu: bool) {
        let dev = Cpu::default();
        for (n, s) in [(3usize, 2usize, 3usize, 2usize), (2, 3, 1, 1), (4, 1, 2, 3)]
            .iter()
            .enumerate()
        {
            let (b, c, h, w) = *s;
            let x = rand_vec(b * c * h * w, 40 + n as u64);
            let g: Vec<f32> = rand_vec(c, 41 + n as u64).iter().map(|v| v + 1.5).collect();
            let bt = rand_vec(c, 42 + n as u64);
            let r = rand_vec(x.len(), 43 + n as u64);
            let gp = Param::new("g", vec![c], g.clone(), &dev);
            let bp = Param::new("b", vec![c], bt.clone(), &dev);
            let xn = dev.tensor_from_vec(x.clone(), *s);
            let xt = xn.clone().traced(Gradients::leaky());
            let (y, st) = if native {
                batchnorm_cpu(xt, &gp, &bp, relu)
            } else {
                batchnorm_generic(xt, &gp, &bp, relu)
            };
            assert_close(
                &y.as_vec(),
                &naive(&x, &g, &bt, *s, relu),
                1e-4,
                "bn forward",
            );
            assert_eq!(st.count, b * h * w);
            let gr = grads_of(y, &r);
            let loss = |x: &[f32], g: &[f32], bt: &[f32]| -> f64 {
                naive(x, g, bt, *s, relu)
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| a * *b as f64)
                    .sum()
            };
            assert_close(
                &gr.get(&xn).as_vec(),
                &finite_diff(&x, |xx| loss(xx, &g, &bt)),
                2e-3,
                "bn dX",
            );
            assert_close(
                &gr.get(&gp.t).as_vec(),
                &finite_diff(&g, |gg| loss(&x, gg, &bt)),
                2e-3,
                "bn dgamma",
            );
            assert_close(
                &gr.get(&bp.t).as_vec(),
                &finite_diff(&bt, |bb| loss(&x, &g, bb)),
                2e-3,
                "bn dbeta",
            );
        }
    }

    #[test]
    fn native_matches_naive_and_finite_differences() {
        check(true, false);
        check(true, true);
    }

    #[test]
    fn generic_matches_naive_and_finite_differences() {
        check(false, false);
        check(false, true);
    }

    #[test]
    fn running_stats_follow_pytorch() {
        let st = BatchStats {
            mean: vec![1.0, -2.0],
            var: vec![0.5, 2.0],
            count: 4,
        };
        let (mut rm, mut rv) = (vec![0.0, 0.0], vec![1.0, 1.0]);
        st.update_running(&mut rm, &mut rv, 0.1);
        assert!((rm[0] - 0.1).abs() < 1e-7 && (rm[1] + 0.2).abs() < 1e-7);
        // 0.9·1 + 0.1·0.5·4/3 and 0.9·1 + 0.1·2·4/3
        assert!((rv[0] - (0.9 + 0.1 * 0.5 * 4.0 / 3.0)).abs() < 1e-6);
        assert!((rv[1] - (0.9 + 0.1 * 2.0 * 4.0 / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn eval_mode_uses_running_stats() {
        let dev = Cpu::default();
        let x = rand_vec(2 * 2 * 2 * 2, 7);
        let (g, bt, rm, rv) = ([1.5f32, 0.5], [0.1f32, -0.2], [0.3f32, -0.1], [2.0f32, 0.5]);
        let xt = dev
            .tensor_from_vec(x.clone(), (2, 2, 2, 2))
            .traced(Gradients::leaky());
        let y = batchnorm_eval(xt, &g, &bt, &rm, &rv, false).as_vec();
        for (i, v) in y.iter().enumerate() {
            let c = (i / 4) % 2;
            let want = (x[i] - rm[c]) / (rv[c] + BN_EPS).sqrt() * g[c] + bt[c];
            assert!((v - want).abs() < 1e-5);
        }
    }
}
