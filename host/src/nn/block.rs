//! Fused conv → BN → ReLU (→ 2×2 max-pool) block for the CPU, as one tape op.
//!
//! Computes exactly the composition of [`conv2d_cpu`](super::conv::conv2d_cpu),
//! [`batchnorm_cpu`](super::batchnorm::batchnorm_cpu) with ReLU and
//! [`maxpool2_cpu`](super::pool::maxpool2_cpu) (same kernels, same formulas), but keeps the
//! intermediate tensors inside one op: no copies between layers, no full-size BN output kept
//! for the backward pass when pooling, and one backward closure that chains
//! pool → BN/ReLU → conv gradients.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::batchnorm::{
    batchnorm_generic, bn_apply, bn_backward_kernel, bn_stats_kernel, channel_affine, BatchStats,
};
use super::conv::{conv2d_generic, conv_backward_kernel, conv_forward_kernel, ConvSpec};
use super::param::Param;
use super::pool::{maxpool2_generic, pool_out};
use super::tape::{add_grad, host_copy, take_grad};
use super::{Act4, NnDevice};

/// Native fused block; `pool` appends the 2×2 max-pool, `input_grad = false` skips `∂L/∂x`.
pub fn conv_bn_relu_cpu(
    x: Act4<Cpu>,
    w: &Param<Cpu>,
    gamma: &Param<Cpu>,
    beta: &Param<Cpu>,
    s: ConvSpec,
    pool: bool,
    input_grad: bool,
) -> (Act4<Cpu>, BatchStats) {
    let (b, c, h, wd) = *x.shape();
    assert_eq!(
        c, s.cin,
        "conv: input has {c} channels, layer expects {}",
        s.cin
    );
    assert_eq!(w.len(), s.num_weights());
    assert_eq!(gamma.len(), s.cout);
    let (oh, ow) = s.out_hw(h, wd);
    let (p, co) = (oh * ow, s.cout);
    let (x, mut tape) = x.contiguous().split_tape();
    let xd = host_copy(&x);
    let wt = w.host.clone();
    let (g, bt) = (gamma.host.clone(), beta.host.clone());
    // conv, then batch statistics of its output.
    let z = conv_forward_kernel(&xd, &wt, &s, b, h, wd);
    let st = bn_stats_kernel(&z, b, co, p);
    let stats = BatchStats {
        mean: st.mean.clone(),
        var: st.var.clone(),
        count: b * p,
    };
    let (ph, pw) = if pool { pool_out(oh, ow) } else { (oh, ow) };
    let pp = ph * pw;
    let mut out = vec![0f32; b * co * pp];
    // Window position (0..4) of each pooled maximum, with the `LIVE` bit.
    let mut arg = vec![0u8; if pool { b * co * pp } else { 0 }];
    if pool && pp > 0 {
        out.par_chunks_mut(co * pp)
            .zip(arg.par_chunks_mut(co * pp))
            .zip(z.par_chunks(co * p))
            .for_each(|((yb, ab), zb)| {
                for ci in 0..co {
                    let (m, sc, t) = (st.mean[ci], st.invstd[ci] * g[ci], bt[ci]);
                    let zp = &zb[ci * p..(ci + 1) * p];
                    for i in 0..ph {
                        let r0 = &zp[2 * i * ow..2 * i * ow + 2 * pw];
                        let r1 = &zp[(2 * i + 1) * ow..(2 * i + 1) * ow + 2 * pw];
                        let yr = &mut yb[ci * pp + i * pw..ci * pp + (i + 1) * pw];
                        let ar = &mut ab[ci * pp + i * pw..ci * pp + (i + 1) * pw];
                        for j in 0..pw {
                            let f = |v: f32| bn_apply(v, m, sc, t, true);
                            let (mut bv, mut bk) = (f(r0[2 * j]), 0u8);
                            for (k, v) in [(1u8, r0[2 * j + 1]), (2, r1[2 * j]), (3, r1[2 * j + 1])]
                            {
                                let v = f(v);
                                // PyTorch's rule: take a later value if it is larger or NaN.
                                let take = v > bv || v.is_nan();
                                bv = if take { v } else { bv };
                                bk = if take { k } else { bk };
                            }
                            yr[j] = bv;
                            // ReLU(v) > 0 (or NaN) exactly where the BN value v at the
                            // maximum is, i.e. where the gradient passes the ReLU.
                            ar[j] = bk | if bv > 0.0 || bv.is_nan() { LIVE } else { 0 };
                        }
                    }
                }
            });
    } else if !pool {
        out.par_chunks_mut((co * p).max(1))
            .zip(z.par_chunks((co * p).max(1)))
            .for_each(|(yb, zb)| {
                for ci in 0..co {
                    let (m, sc, t) = (st.mean[ci], st.invstd[ci] * g[ci], bt[ci]);
                    for (y, v) in yb[ci * p..(ci + 1) * p]
                        .iter_mut()
                        .zip(&zb[ci * p..(ci + 1) * p])
                    {
                        *y = bn_apply(*v, m, sc, t, true);
                    }
                }
            });
    }
    let y = x.device().tensor_from_vec(out, (b, co, ph, pw));
    let (x_g, y_g, w_g, g_g, b_g) = (
        x.ghost(),
        y.ghost(),
        w.t.ghost(),
        gamma.t.ghost(),
        beta.t.ghost(),
    );
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, y_g);
        let (gz, dg, db) = if pool {
            pooled_bn_backward(z, &gy, &arg, &st, &g, (b, co), (oh, ow), (ph, pw))
        } else {
            let mut gz = vec![0f32; b * co * p];
            let (dg, db) = bn_backward_kernel(&z, &gy, &st, &g, &bt, (b, co, p), true, &mut gz);
            (gz, dg, db)
        };
        drop(gy);
        let gw = if input_grad {
            let gx = grads.get_or_alloc_mut(&x_g)?;
            conv_backward_kernel(&xd, &wt, &gz, &s, b, h, wd, Some(gx))
        } else {
            conv_backward_kernel(&xd, &wt, &gz, &s, b, h, wd, None)
        };
        add_grad!(grads, w_g, gw);
        add_grad!(grads, g_g, dg);
        add_grad!(grads, b_g, db);
        Ok(())
    });
    (y.put_tape(tape), stats)
}

/// Bit of a pooled position's `arg` byte (beside the window position in bits 0–1) set when
/// the ReLU passed the maximum's gradient.
const LIVE: u8 = 4;

/// BN + ReLU backward when a max-pool follows, working from the pooled gradient.
///
/// The gradient reaching `ReLU(BN(z))` is non-zero only at the chosen window maxima, so
/// `Σ g'` and `Σ g'·(z − μ)` are sums over the pooled positions (a quarter of the values), and
/// `∂L/∂z = γ/(n√(σ² + ε)) · (n g' − Σ g' − x̂ Σ g' x̂)` is its dense part `−(Σ g' + x̂ Σ g' x̂)`
/// everywhere plus `n g'` at the maxima. Same formula as
/// [`bn_backward_kernel`](super::batchnorm) on the scattered gradient, without building it.
/// `∂L/∂z` is written over `z` (each value is read only to compute its own gradient), so the
/// backward allocates and clears no buffer of the conv output's size.
#[allow(clippy::too_many_arguments)]
fn pooled_bn_backward(
    mut z: Vec<f32>,
    gy: &[f32],
    arg: &[u8],
    st: &super::batchnorm::BnStats,
    g: &[f32],
    (b, co): (usize, usize),
    (oh, ow): (usize, usize),
    (ph, pw): (usize, usize),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (p, pp) = (oh * ow, ph * pw);
    let n = (b * p) as f32;
    let pos =
        |i: usize, j: usize, k: u8| (2 * i + (k as usize >> 1 & 1)) * ow + 2 * j + (k as usize & 1);
    // g' at a pooled position: zero where the ReLU clipped (`v ≤ 0`, like PyTorch), which the
    // forward recorded as the `LIVE` bit. Selects, not branches: the bit is a coin flip.
    let live = |k: u8| k & LIVE != 0;
    let sums: Vec<(f32, f32)> = (0..co)
        .into_par_iter()
        .map(|ci| {
            let m = st.mean[ci];
            let (mut sg, mut sgx) = (0f64, 0f64);
            for bi in 0..b {
                let zp = &z[(bi * co + ci) * p..(bi * co + ci + 1) * p];
                let o = (bi * co + ci) * pp;
                let (gyp, ap) = (&gy[o..o + pp], &arg[o..o + pp]);
                for i in 0..ph {
                    for j in 0..pw {
                        let k = ap[i * pw + j];
                        let (zv, gv) = (zp[pos(i, j, k)], gyp[i * pw + j]);
                        // Adding +0.0 leaves the sums' bits as they are (they start at +0.0).
                        sg += if live(k) { gv as f64 } else { 0.0 };
                        sgx += if live(k) { (gv * (zv - m)) as f64 } else { 0.0 };
                    }
                }
            }
            (sg as f32, (sgx * st.invstd[ci] as f64) as f32)
        })
        .collect();
    let (db, dg): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
    if p > 0 {
        z.par_chunks_mut(co * p)
            .zip(
                gy.par_chunks((co * pp).max(1))
                    .zip(arg.par_chunks((co * pp).max(1))),
            )
            .for_each(|(gzb, (gyb, ab))| {
                for ci in 0..co {
                    let (m, is) = (st.mean[ci], st.invstd[ci]);
                    let k = g[ci] * is / n;
                    let (dbc, dgc) = (db[ci], dg[ci]);
                    let gzp = &mut gzb[ci * p..(ci + 1) * p];
                    for d in gzp.iter_mut() {
                        *d = -k * (dbc + (*d - m) * is * dgc);
                    }
                    if pp == 0 {
                        continue;
                    }
                    let (gyp, ap) = (&gyb[ci * pp..(ci + 1) * pp], &ab[ci * pp..(ci + 1) * pp]);
                    for i in 0..ph {
                        for j in 0..pw {
                            let a = ap[i * pw + j];
                            let q = pos(i, j, a);
                            let d = gzp[q];
                            gzp[q] = if live(a) {
                                d + k * n * gyp[i * pw + j]
                            } else {
                                d
                            };
                        }
                    }
                }
            });
    }
    (z, dg, db)
}

/// Native evaluation-mode block: conv → `y = z·scale + shift` per channel (BN with running
/// statistics folded in, see [`batchnorm_eval`](super::batchnorm::batchnorm_eval)) → ReLU
/// (→ 2×2 max-pool). Forward only: it records no backward op, so use it only where no
/// gradient is taken (evaluation, prediction).
pub fn conv_bn_relu_eval_cpu(
    x: Act4<Cpu>,
    w: &Param<Cpu>,
    (scale, shift): (&[f32], &[f32]),
    s: ConvSpec,
    pool: bool,
) -> Act4<Cpu> {
    let (b, c, h, wd) = *x.shape();
    assert_eq!(
        c, s.cin,
        "conv: input has {c} channels, layer expects {}",
        s.cin
    );
    let (oh, ow) = s.out_hw(h, wd);
    let (p, co) = (oh * ow, s.cout);
    let (x, tape) = x.contiguous().split_tape();
    let z = conv_forward_kernel(&host_copy(&x), &w.host, &s, b, h, wd);
    let (ph, pw) = if pool { pool_out(oh, ow) } else { (oh, ow) };
    let pp = ph * pw;
    let mut out = vec![0f32; b * co * pp];
    if pp > 0 {
        out.par_chunks_mut(co * pp)
            .zip(z.par_chunks(co * p))
            .for_each(|(yb, zb)| {
                for ci in 0..co {
                    let f = |v: f32| bn_apply(v, 0.0, scale[ci], shift[ci], true);
                    let zp = &zb[ci * p..(ci + 1) * p];
                    let yp = &mut yb[ci * pp..(ci + 1) * pp];
                    if !pool {
                        for (y, v) in yp.iter_mut().zip(zp) {
                            *y = f(*v);
                        }
                        continue;
                    }
                    for i in 0..ph {
                        for j in 0..pw {
                            let base = 2 * i * ow + 2 * j;
                            let mut bv = f(zp[base]);
                            for v in [zp[base + 1], zp[base + ow], zp[base + ow + 1]] {
                                let v = f(v);
                                if v > bv || v.is_nan() {
                                    bv = v;
                                }
                            }
                            yp[i * pw + j] = bv;
                        }
                    }
                }
            });
    }
    x.device()
        .tensor_from_vec(out, (b, co, ph, pw))
        .put_tape(tape)
}

/// Portable training-mode block from stable dfdx ops (the default of
/// [`NnDevice::conv_bn_relu`], used on CUDA).
pub fn conv_bn_relu_generic<D: NnDevice>(
    x: Act4<D>,
    (w, gamma, beta): (&Param<D>, &Param<D>, &Param<D>),
    s: ConvSpec,
    pool: bool,
) -> (Act4<D>, BatchStats) {
    let y = conv2d_generic(x, w, s);
    let (y, st) = batchnorm_generic(y, gamma, beta, true);
    (if pool { maxpool2_generic(y) } else { y }, st)
}

/// Portable evaluation-mode block from stable dfdx ops (the default of
/// [`NnDevice::conv_bn_relu_eval`]); unlike the native one it is differentiable.
pub fn conv_bn_relu_eval_generic<D: NnDevice>(
    x: Act4<D>,
    w: &Param<D>,
    (scale, shift): (&[f32], &[f32]),
    s: ConvSpec,
    pool: bool,
) -> Act4<D> {
    let y = channel_affine(conv2d_generic(x, w, s), scale, shift, true);
    if pool {
        maxpool2_generic(y)
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::batchnorm::batchnorm_cpu;
    use crate::nn::conv::conv2d_cpu;
    use crate::nn::pool::maxpool2_cpu;
    use crate::nn::testutil::*;

    /// The evaluation block equals conv → [`batchnorm_eval`] → max-pool.
    #[test]
    fn eval_block_equals_composed_layers() {
        use crate::nn::batchnorm::{batchnorm_eval, BN_EPS};
        let dev = Cpu::default();
        let s = ConvSpec {
            cin: 2,
            cout: 3,
            k: 3,
            pad: 1,
        };
        let x = rand_vec(2 * 2 * 5 * 7, 1);
        let wp = Param::new("w", vec![3, 2, 3, 3], rand_vec(s.num_weights(), 2), &dev);
        let (g, bt) = (vec![1.2f32, 0.7, 1.0], vec![0.1f32, -0.3, 0.0]);
        let (rm, rv) = (vec![0.05f32, -0.1, 0.2], vec![0.9f32, 1.3, 0.4]);
        let scale: Vec<f32> = (0..3).map(|i| g[i] / (rv[i] + BN_EPS).sqrt()).collect();
        let shift: Vec<f32> = (0..3).map(|i| bt[i] - rm[i] * scale[i]).collect();
        for pool in [false, true] {
            let xt = || {
                dev.tensor_from_vec(x.clone(), (2, 2, 5, 7))
                    .traced(Gradients::leaky())
            };
            let yf = conv_bn_relu_eval_cpu(xt(), &wp, (&scale, &shift), s, pool);
            let yc = batchnorm_eval(conv2d_cpu(xt(), &wp, s, true), &g, &bt, &rm, &rv, true);
            let yc = if pool { maxpool2_cpu(yc) } else { yc };
            assert_eq!(yf.shape(), yc.shape());
            let want: Vec<f64> = yc.as_vec().iter().map(|v| *v as f64).collect();
            assert_close(&yf.as_vec(), &want, 1e-5, "eval block");
            let yg = conv_bn_relu_eval_generic(xt(), &wp, (&scale, &shift), s, pool);
            assert_close(&yg.as_vec(), &want, 1e-5, "portable eval block");
        }
    }

    /// The fused block equals the composition of the separately verified native layers.
    #[test]
    fn fused_block_equals_composed_layers() {
        let dev = Cpu::default();
        for (n, (s, b, h, w)) in [
            (
                ConvSpec {
                    cin: 2,
                    cout: 3,
                    k: 3,
                    pad: 1,
                },
                3,
                5,
                6,
            ),
            (
                ConvSpec {
                    cin: 1,
                    cout: 4,
                    k: 3,
                    pad: 1,
                },
                2,
                7,
                7,
            ),
            (
                ConvSpec {
                    cin: 3,
                    cout: 2,
                    k: 3,
                    pad: 0,
                },
                2,
                6,
                5,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let seed = 100 + 10 * n as u64;
            let x = rand_vec(b * s.cin * h * w, seed);
            let wp = Param::new(
                "w",
                vec![s.cout, s.cin, 3, 3],
                rand_vec(s.num_weights(), seed + 1),
                &dev,
            );
            let g: Vec<f32> = rand_vec(s.cout, seed + 2).iter().map(|v| v + 1.5).collect();
            let gp = Param::new("g", vec![s.cout], g, &dev);
            let bp = Param::new("b", vec![s.cout], rand_vec(s.cout, seed + 3), &dev);
            for pool in [false, true] {
                let xn = dev.tensor_from_vec(x.clone(), (b, s.cin, h, w));
                let (yf, sf) = conv_bn_relu_cpu(
                    xn.clone().traced(Gradients::leaky()),
                    &wp,
                    &gp,
                    &bp,
                    s,
                    pool,
                    true,
                );
                let yc = conv2d_cpu(xn.clone().traced(Gradients::leaky()), &wp, s, true);
                let (yc, sc) = batchnorm_cpu(yc, &gp, &bp, true);
                let yc = if pool { maxpool2_cpu(yc) } else { yc };
                assert_eq!(yf.shape(), yc.shape());
                assert_eq!(sf, sc);
                let (yg, sg) = conv_bn_relu_generic(
                    xn.clone().traced(Gradients::leaky()),
                    (&wp, &gp, &bp),
                    s,
                    pool,
                );
                assert_close(
                    &yg.as_vec(),
                    &yc.as_vec().iter().map(|v| *v as f64).collect::<Vec<_>>(),
                    1e-4,
                    "portable block",
                );
                for (u, v) in sg
                    .mean
                    .iter()
                    .zip(&sc.mean)
                    .chain(sg.var.iter().zip(&sc.var))
                {
                    assert!(
                        (u - v).abs() < 1e-4 * (1.0 + v.abs()),
                        "portable block stats {u} vs {v}"
                    );
                }
                let want: Vec<f64> = yc.as_vec().iter().map(|v| *v as f64).collect();
                assert_close(&yf.as_vec(), &want, 1e-6, "fused forward");
                let r = rand_vec(want.len(), seed + 4);
                let (gf, gc) = (grads_of(yf, &r), grads_of(yc, &r));
                for (what, a, c) in [
                    ("dX", gf.get(&xn).as_vec(), gc.get(&xn).as_vec()),
                    ("dW", gf.get(&wp.t).as_vec(), gc.get(&wp.t).as_vec()),
                    ("dgamma", gf.get(&gp.t).as_vec(), gc.get(&gp.t).as_vec()),
                    ("dbeta", gf.get(&bp.t).as_vec(), gc.get(&bp.t).as_vec()),
                ] {
                    let c: Vec<f64> = c.iter().map(|v| *v as f64).collect();
                    assert_close(&a, &c, 1e-5, what);
                }
            }
        }
    }
}
