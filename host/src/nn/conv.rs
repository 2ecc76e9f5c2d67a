//! 2-D convolution (stride 1, zero padding, no bias), NCHW.
//!
//! `y[b, o, i, j] = Σ_{c, u, v} w[o, c, u, v] · x[b, c, i + u − p, j + v − p]` with `x` zero outside
//! the image, output size `H + 2p − k + 1` (PyTorch `nn.Conv2d(c_in, c_out, k, padding=p,
//! bias=False)`).
//!
//! Two implementations:
//! - [`conv2d_cpu`]: native; 3×3 kernels with padding 1 and at least 16 channels on both sides
//!   use Winograd F(2×2, 3×3) ([`super::winograd`]), every other shape im2col + GEMM (the
//!   `gemm` crate dfdx itself uses), parallel over the
//!   batch with rayon; the backward pass (`dW = Σ_b dY_b · colsᵀ`, `dX = col2im(Wᵀ · dY_b)`) is
//!   registered with [`Tape::add_backward_op`].
//! - [`conv2d_generic`]: stable dfdx ops only (`gather` im2col on a `(C·H·W + 1, B)` layout whose
//!   extra zero row supplies the padding, then `matmul`); runs on any device, e.g. CUDA.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::param::Param;
use super::tape::{add_grad, host_copy, take_grad};
use super::{Act4, NnDevice};

/// Convolution hyper-parameters (stride 1, square kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel size `k` (k × k).
    pub k: usize,
    /// Zero padding on each side.
    pub pad: usize,
}

impl ConvSpec {
    /// Output spatial size for an `h × w` input: `(h + 2p − k + 1, w + 2p − k + 1)`.
    ///
    /// # Panics
    /// If the padded input is smaller than the kernel.
    pub fn out_hw(&self, h: usize, w: usize) -> (usize, usize) {
        assert!(
            h + 2 * self.pad >= self.k && w + 2 * self.pad >= self.k,
            "conv: input {h}x{w} (padding {}) smaller than kernel {}",
            self.pad,
            self.k
        );
        (h + 2 * self.pad + 1 - self.k, w + 2 * self.pad + 1 - self.k)
    }

    /// Number of weights `c_out · c_in · k²`.
    pub fn num_weights(&self) -> usize {
        self.cout * self.cin * self.k * self.k
    }
}

/// Row-major `C (m×n) = [C +] A·B` for matrices given by pointers plus (row, column) strides.
///
/// `a` is `m×k` with strides `(a_rs, a_cs)`, `b` is `k×n` with `(b_rs, b_cs)`, `c` is dense
/// row-major `m×n`. Single-threaded (callers parallelise over images).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
) {
    assert!(c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    assert!(a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(b.len() > (k - 1) * b_rs + (n - 1) * b_cs);
    // SAFETY: the asserts above keep every accessed element inside the slices; `c` is
    // exclusively borrowed and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Valid output columns `[lo, hi)` for kernel column `kj`: those whose input column
/// `ox + kj − pad` lies in `[0, w)`.
#[inline]
fn valid_range(kj: usize, pad: usize, w: usize, ow: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(kj).min(ow);
    let hi = (w + pad).saturating_sub(kj).min(ow).max(lo);
    (lo, hi)
}

/// im2col of one image `x (C, H, W)` into the columns `[off, off + OH·OW)` of
/// `cols (C·k·k, ld)`.
fn im2col(x: &[f32], s: &ConvSpec, h: usize, w: usize, cols: &mut [f32], ld: usize, off: usize) {
    let (oh, ow) = s.out_hw(h, w);
    let p = oh * ow;
    let (k, pad) = (s.k, s.pad);
    for ci in 0..s.cin {
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        for ki in 0..k {
            for kj in 0..k {
                let row = &mut cols[((ci * k + ki) * k + kj) * ld + off..][..p];
                let (lo, hi) = valid_range(kj, pad, w, ow);
                for oy in 0..oh {
                    let dst = &mut row[oy * ow..(oy + 1) * ow];
                    let iy = (oy + ki) as isize - pad as isize;
                    if iy < 0 || iy >= h as isize {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * w..][..w];
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    if hi > lo {
                        dst[lo..hi].copy_from_slice(&src[lo + kj - pad..hi + kj - pad]);
                    }
                }
            }
        }
    }
}

/// col2im: adds the columns `[off, off + OH·OW)` of `cols (C·k·k, ld)` back into the image
/// gradient `gx (C, H, W)`.
fn col2im_add(
    cols: &[f32],
    s: &ConvSpec,
    h: usize,
    w: usize,
    gx: &mut [f32],
    ld: usize,
    off: usize,
) {
    let (oh, ow) = s.out_hw(h, w);
    let p = oh * ow;
    let (k, pad) = (s.k, s.pad);
    for ci in 0..s.cin {
        let plane = &mut gx[ci * h * w..(ci + 1) * h * w];
        for ki in 0..k {
            for kj in 0..k {
                let row = &cols[((ci * k + ki) * k + kj) * ld + off..][..p];
                let (lo, hi) = valid_range(kj, pad, w, ow);
                if hi <= lo {
                    continue;
                }
                for oy in 0..oh {
                    let iy = (oy + ki) as isize - pad as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let src = &row[oy * ow + lo..oy * ow + hi];
                    let dst = &mut plane[iy as usize * w + lo + kj - pad..][..hi - lo];
                    for (d, v) in dst.iter_mut().zip(src) {
                        *d += *v;
                    }
                }
            }
        }
    }
}

/// Images per GEMM: small feature maps are batched side by side so that every GEMM has at
/// least ~256 columns (`OH·OW` alone is 16–64 in the deeper layers).
fn group_size(s: &ConvSpec, b: usize, p: usize) -> usize {
    if s.k == 1 && s.pad == 0 {
        1
    } else {
        (256 / p.max(1)).clamp(1, b.max(1))
    }
}

/// Copies `n` images' `(C_out, P)` planes from NCHW `src` into `dst (C_out, n·P)`.
fn gather_planes(src: &[f32], dst: &mut [f32], cout: usize, p: usize, n: usize) {
    for j in 0..n {
        for o in 0..cout {
            dst[o * n * p + j * p..][..p].copy_from_slice(&src[(j * cout + o) * p..][..p]);
        }
    }
}

/// Native forward kernel: `y (B, C_out, OH, OW)` from `x (B, C_in, H, W)` and `w (C_out, C_in·k·k)`.
pub(crate) fn conv_forward_kernel(
    x: &[f32],
    wt: &[f32],
    s: &ConvSpec,
    b: usize,
    h: usize,
    w: usize,
) -> Vec<f32> {
    let (oh, ow) = s.out_hw(h, w);
    let p = oh * ow;
    let ckk = s.cin * s.k * s.k;
    let chw = s.cin * h * w;
    if super::winograd::applies(s) {
        return super::winograd::forward(x, wt, s, b, h, w);
    }
    let mut out = vec![0f32; b * s.cout * p];
    if b == 0 || p == 0 || s.cout == 0 {
        return out;
    }
    let direct = s.k == 1 && s.pad == 0;
    let g = group_size(s, b, p);
    out.par_chunks_mut(g * s.cout * p)
        .zip(x.par_chunks((g * chw).max(1)))
        .for_each_init(
            || {
                let cols = if direct { 0 } else { ckk * g * p };
                (
                    vec![0f32; cols],
                    vec![0f32; if g > 1 { s.cout * g * p } else { 0 }],
                )
            },
            |(cols, tmp), (yb, xb)| {
                let n = yb.len() / (s.cout * p);
                if direct {
                    return sgemm(s.cout, p, ckk, yb, false, wt, ckk, 1, xb, p, 1);
                }
                let ld = n * p;
                for j in 0..n {
                    im2col(&xb[j * chw..(j + 1) * chw], s, h, w, cols, ld, j * p);
                }
                if n == 1 {
                    sgemm(s.cout, p, ckk, yb, false, wt, ckk, 1, cols, p, 1);
                } else {
                    sgemm(s.cout, ld, ckk, tmp, false, wt, ckk, 1, cols, ld, 1);
                    for j in 0..n {
                        for o in 0..s.cout {
                            yb[(j * s.cout + o) * p..][..p]
                                .copy_from_slice(&tmp[o * ld + j * p..][..p]);
                        }
                    }
                }
            },
        );
    out
}

/// Number of batch slices whose weight-gradient partial sums are computed in parallel.
const DW_CHUNKS: usize = 8;

/// Native backward kernel. Returns `dW (C_out, C_in·k·k)` and, when `gx` is given, adds `dX`
/// into it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_backward_kernel(
    x: &[f32],
    wt: &[f32],
    gy: &[f32],
    s: &ConvSpec,
    b: usize,
    h: usize,
    w: usize,
    gx: Option<&mut [f32]>,
) -> Vec<f32> {
    let (oh, ow) = s.out_hw(h, w);
    let p = oh * ow;
    let ckk = s.cin * s.k * s.k;
    let chw = s.cin * h * w;
    let direct = s.k == 1 && s.pad == 0;
    if b == 0 || p == 0 {
        return vec![0f32; s.cout * ckk];
    }
    if super::winograd::applies(s) {
        if let Some(gx) = gx {
            super::winograd::data_grad(gy, wt, s, b, h, w, gx);
        }
        return super::winograd::weight_grad(x, gy, s, b, h, w);
    }
    let g = group_size(s, b, p);
    // dW = Σ_b dY_b (C_out × P) · cols_bᵀ (P × C_in·k²): partial sums over a fixed split of the
    // batch, added in order, so the result does not depend on thread scheduling.
    let per = b.div_ceil(DW_CHUNKS);
    let partial: Vec<Vec<f32>> = (0..b.div_ceil(per))
        .into_par_iter()
        .map(|chunk| {
            let mut acc = vec![0f32; s.cout * ckk];
            let mut cols = vec![0f32; if direct { 0 } else { ckk * g * p }];
            let mut gyg = vec![0f32; if g > 1 { s.cout * g * p } else { 0 }];
            let end = ((chunk + 1) * per).min(b);
            let mut b0 = chunk * per;
            while b0 < end {
                let n = g.min(end - b0);
                let ld = n * p;
                let src: &[f32] = if direct {
                    &x[b0 * chw..(b0 + 1) * chw]
                } else {
                    for j in 0..n {
                        let xb = &x[(b0 + j) * chw..(b0 + j + 1) * chw];
                        im2col(xb, s, h, w, &mut cols, ld, j * p);
                    }
                    &cols
                };
                let gys = &gy[b0 * s.cout * p..(b0 + n) * s.cout * p];
                let gyb: &[f32] = if n == 1 {
                    gys
                } else {
                    gather_planes(gys, &mut gyg, s.cout, p, n);
                    &gyg
                };
                sgemm(s.cout, ckk, ld, &mut acc, true, gyb, ld, 1, src, 1, ld);
                b0 += n;
            }
            acc
        })
        .collect();
    let mut parts = partial.into_iter();
    let mut gw = parts.next().unwrap_or_else(|| vec![0f32; s.cout * ckk]);
    for part in parts {
        for (a, v) in gw.iter_mut().zip(&part) {
            *a += *v;
        }
    }
    // dX_b = col2im(Wᵀ (C_in·k² × C_out) · dY_b (C_out × P)), `g` images per GEMM.
    if let Some(gx) = gx {
        gx.par_chunks_mut((g * chw).max(1))
            .zip(gy.par_chunks(g * s.cout * p))
            .for_each_init(
                || {
                    (
                        vec![0f32; ckk * g * p],
                        vec![0f32; if g > 1 { s.cout * g * p } else { 0 }],
                    )
                },
                |(dcols, gyg), (gxb, gys)| {
                    let n = gys.len() / (s.cout * p);
                    let ld = n * p;
                    if direct {
                        return sgemm(ckk, p, s.cout, gxb, true, wt, 1, ckk, gys, p, 1);
                    }
                    let gyb: &[f32] = if n == 1 {
                        gys
                    } else {
                        gather_planes(gys, gyg, s.cout, p, n);
                        gyg
                    };
                    sgemm(ckk, ld, s.cout, dcols, false, wt, 1, ckk, gyb, ld, 1);
                    for j in 0..n {
                        col2im_add(dcols, s, h, w, &mut gxb[j * chw..(j + 1) * chw], ld, j * p);
                    }
                },
            );
    }
    gw
}

/// Native CPU convolution with its backward pass on the tape.
///
/// `input_grad = false` skips `dX` (for the first layer, whose input is data).
pub fn conv2d_cpu(x: Act4<Cpu>, w: &Param<Cpu>, s: ConvSpec, input_grad: bool) -> Act4<Cpu> {
    let (b, c, h, wd) = *x.shape();
    assert_eq!(
        c, s.cin,
        "conv: input has {c} channels, layer expects {}",
        s.cin
    );
    assert_eq!(w.len(), s.num_weights());
    let (oh, ow) = s.out_hw(h, wd);
    let (x, mut tape) = x.contiguous().split_tape();
    let xd = host_copy(&x);
    let wt = w.host.clone();
    let out = conv_forward_kernel(&xd, &wt, &s, b, h, wd);
    let y = x.device().tensor_from_vec(out, (b, s.cout, oh, ow));
    let (x_g, y_g, w_g) = (x.ghost(), y.ghost(), w.t.ghost());
    tape.add_backward_op(move |grads| {
        let gy = take_grad!(grads, y_g);
        let gw = if input_grad {
            let gx = grads.get_or_alloc_mut(&x_g)?;
            conv_backward_kernel(&xd, &wt, &gy, &s, b, h, wd, Some(gx))
        } else {
            conv_backward_kernel(&xd, &wt, &gy, &s, b, h, wd, None)
        };
        add_grad!(grads, w_g, gw);
        Ok(())
    });
    y.put_tape(tape)
}

/// Output size of a convolution with `stride`: `(⌊(h + 2p − k)/stride⌋ + 1, …)`, PyTorch's.
pub fn strided_out_hw(s: &ConvSpec, h: usize, w: usize, stride: usize) -> (usize, usize) {
    let (oh, ow) = s.out_hw(h, w);
    ((oh - 1) / stride + 1, (ow - 1) / stride + 1)
}

/// im2col gather indices into the `(C·H·W + 1, B)` layout, ordered `[c·k·k][OH·OW]`, for
/// `stride`; the index `C·H·W` is the appended zero row (padding).
pub(crate) fn im2col_indices(s: &ConvSpec, h: usize, w: usize, stride: usize) -> Vec<usize> {
    let (oh, ow) = strided_out_hw(s, h, w, stride);
    let zero = s.cin * h * w;
    let mut idx = Vec::with_capacity(s.cin * s.k * s.k * oh * ow);
    for ci in 0..s.cin {
        for ki in 0..s.k {
            for kj in 0..s.k {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let iy = (oy * stride + ki) as isize - s.pad as isize;
                        let ix = (ox * stride + kj) as isize - s.pad as isize;
                        idx.push(
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                zero
                            } else {
                                ci * h * w + iy as usize * w + ix as usize
                            },
                        );
                    }
                }
            }
        }
    }
    idx
}

/// Device-generic convolution from stable dfdx ops (`gather` im2col + `matmul`).
pub fn conv2d_generic<D: NnDevice>(x: Act4<D>, w: &Param<D>, s: ConvSpec) -> Act4<D> {
    conv2d_generic_strided(x, w, s, 1)
}

/// [`conv2d_generic`] with a stride (`y[b, o, i, j] = Σ w[o, c, u, v] · x[b, c, i·stride + u − p,
/// j·stride + v − p]`, PyTorch's `Conv2d(stride=…)`); the only convolution with a stride
/// above 1, on every device.
pub fn conv2d_generic_strided<D: NnDevice>(
    x: Act4<D>,
    w: &Param<D>,
    s: ConvSpec,
    stride: usize,
) -> Act4<D> {
    let (b, c, h, wd) = *x.shape();
    assert_eq!(
        c, s.cin,
        "conv: input has {c} channels, layer expects {}",
        s.cin
    );
    let (oh, ow) = strided_out_hw(&s, h, wd, stride);
    let (p, ckk, chw) = (oh * ow, s.cin * s.k * s.k, c * h * wd);
    let dev = x.device().clone();
    let idx = dev.tensor_from_vec(im2col_indices(&s, h, wd, stride), (ckk * p,));
    let zeros: Tensor<(usize, usize), f32, D> = dev.zeros_like(&(1, b));
    let xt = x
        .reshape_like(&(b, chw))
        .permute::<(usize, usize), Axes2<1, 0>>();
    let xp = (xt, zeros).concat_along(Axis::<0>);
    let cols = xp.gather(idx).reshape_like(&(ckk, p * b));
    let wm = w.traced().reshape_like(&(s.cout, ckk));
    let y = wm.matmul(cols); // (C_out, P·B)
    y.reshape_like(&(s.cout, p, b))
        .permute::<(usize, usize, usize), Axes3<2, 0, 1>>()
        .reshape_like(&(b, s.cout, oh, ow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;
    use crate::nn::Shape4;

    /// A stride-2 convolution is the stride-1 one sampled at every other position
    /// (PyTorch's floor for odd sizes).
    #[test]
    fn strided_conv_samples_the_unit_stride_one() {
        let dev = Cpu::default();
        let s = ConvSpec {
            cin: 2,
            cout: 3,
            k: 3,
            pad: 1,
        };
        let (b, h, w) = (2, 7, 6);
        let x = rand_vec(b * 2 * h * w, 5);
        let wp = Param::new("w", vec![3, 2, 3, 3], rand_vec(s.num_weights(), 6), &dev);
        let full = naive(&x, &wp.host, &s, b, h, w);
        let (oh, ow) = s.out_hw(h, w);
        for stride in [2, 3] {
            let (sh, sw) = strided_out_hw(&s, h, w, stride);
            assert_eq!(
                (sh, sw),
                ((h + 2 - 3) / stride + 1, (w + 2 - 3) / stride + 1)
            );
            let mut want = Vec::new();
            for bi in 0..b {
                for o in 0..3 {
                    for i in 0..sh {
                        for j in 0..sw {
                            want.push(full[((bi * 3 + o) * oh + i * stride) * ow + j * stride]);
                        }
                    }
                }
            }
            let xt = dev.tensor_from_vec(x.clone(), (b, 2, h, w));
            let y = conv2d_generic_strided(xt.traced(Gradients::leaky()), &wp, s, stride);
            assert_close(&y.as_vec(), &want, 1e-5, "strided conv");
        }
    }

    /// Naive reference: plain loops in f64.
    fn naive(x: &[f32], wt: &[f32], s: &ConvSpec, b: usize, h: usize, w: usize) -> Vec<f64> {
        let (oh, ow) = s.out_hw(h, w);
        let mut y = vec![0f64; b * s.cout * oh * ow];
        for bi in 0..b {
            for o in 0..s.cout {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = 0f64;
                        for c in 0..s.cin {
                            for u in 0..s.k {
                                for v in 0..s.k {
                                    let iy = (i + u) as isize - s.pad as isize;
                                    let ix = (j + v) as isize - s.pad as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xv =
                                        x[((bi * s.cin + c) * h + iy as usize) * w + ix as usize];
                                    let wv = wt[((o * s.cin + c) * s.k + u) * s.k + v];
                                    acc += xv as f64 * wv as f64;
                                }
                            }
                        }
                        y[((bi * s.cout + o) * oh + i) * ow + j] = acc;
                    }
                }
            }
        }
        y
    }

    /// Naive loss `L = Σ y ⊙ r` for a fixed random `r`, so `dL/dy = r`.
    fn naive_loss(
        x: &[f32],
        wt: &[f32],
        s: &ConvSpec,
        b: usize,
        h: usize,
        w: usize,
        r: &[f32],
    ) -> f64 {
        naive(x, wt, s, b, h, w)
            .iter()
            .zip(r)
            .map(|(a, b)| a * *b as f64)
            .sum()
    }

    /// (spec, batch, H, W). The batch of 19 exercises several images per GEMM in the weight
    /// gradient (8 batch slices of up to 3 images) and a short last group; the 16-channel
    /// spec takes the Winograd path of the native kernels (odd width, a 5-wide tile row).
    const SPECS: [(ConvSpec, usize, usize, usize); 7] = [
        (
            ConvSpec {
                cin: 2,
                cout: 3,
                k: 3,
                pad: 1,
            },
            2,
            5,
            4,
        ),
        (
            ConvSpec {
                cin: 1,
                cout: 2,
                k: 3,
                pad: 1,
            },
            3,
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
            4,
            5,
        ),
        (
            ConvSpec {
                cin: 2,
                cout: 4,
                k: 1,
                pad: 0,
            },
            2,
            3,
            3,
        ),
        (
            ConvSpec {
                cin: 2,
                cout: 2,
                k: 3,
                pad: 2,
            },
            1,
            2,
            3,
        ),
        (
            ConvSpec {
                cin: 1,
                cout: 2,
                k: 3,
                pad: 1,
            },
            19,
            3,
            2,
        ),
        (
            ConvSpec {
                cin: 16,
                cout: 16,
                k: 3,
                pad: 1,
            },
            2,
            3,
            5,
        ),
    ];

    fn check(native: bool) {
        let dev = Cpu::default();
        for (n, (s, b, h, w)) in SPECS.iter().enumerate() {
            let (oh, ow) = s.out_hw(*h, *w);
            let x = rand_vec(b * s.cin * h * w, 10 + n as u64);
            let wt = rand_vec(s.num_weights(), 20 + n as u64);
            let r = rand_vec(b * s.cout * oh * ow, 30 + n as u64);
            let p = Param::new("w", vec![s.cout, s.cin, s.k, s.k], wt.clone(), &dev);
            let xn = dev.tensor_from_vec(x.clone(), (*b, s.cin, *h, *w));
            let xt = xn.clone().traced(Gradients::leaky());
            let y = if native {
                conv2d_cpu(xt, &p, *s, true)
            } else {
                conv2d_generic(xt, &p, *s)
            };
            assert_eq!(*y.shape(), (*b, s.cout, oh, ow));
            let want = naive(&x, &wt, s, *b, *h, *w);
            assert_close(&y.as_vec(), &want, 1e-5, "conv forward");
            let g = grads_of(y, &r);
            let (gx, gw) = (g.get(&xn).as_vec(), g.get(&p.t).as_vec());
            // Finite differences of the naive f64 loss.
            let fx = finite_diff(&x, |xx| naive_loss(xx, &wt, s, *b, *h, *w, &r));
            let fw = finite_diff(&wt, |ww| naive_loss(&x, ww, s, *b, *h, *w, &r));
            assert_close(&gx, &fx, 1e-3, "conv dX");
            assert_close(&gw, &fw, 1e-3, "conv dW");
        }
    }

    #[test]
    fn native_matches_naive_and_finite_differences() {
        check(true);
    }

    #[test]
    fn generic_matches_naive_and_finite_differences() {
        check(false);
    }

    /// A non-contiguous (permuted) input is handled, gradient included.
    #[test]
    fn native_accepts_permuted_input() {
        let dev = Cpu::default();
        let s = ConvSpec {
            cin: 2,
            cout: 2,
            k: 3,
            pad: 1,
        };
        let (b, h, w) = (2, 3, 4);
        let xt_data = rand_vec(b * 2 * w * h, 8); // stored as (B, C, W, H)
        let mut x = vec![0f32; xt_data.len()];
        for bc in 0..b * 2 {
            for i in 0..h {
                for j in 0..w {
                    x[(bc * h + i) * w + j] = xt_data[(bc * w + j) * h + i];
                }
            }
        }
        let wt = rand_vec(s.num_weights(), 9);
        let r = rand_vec(b * 2 * h * w, 10);
        let p = Param::new("w", vec![2, 2, 3, 3], wt.clone(), &dev);
        let xs = dev.tensor_from_vec(xt_data, (b, 2, w, h));
        let xp = xs
            .clone()
            .traced(Gradients::leaky())
            .permute::<Shape4, Axes4<0, 1, 3, 2>>();
        let y = conv2d_cpu(xp, &p, s, true);
        assert_close(
            &y.as_vec(),
            &naive(&x, &wt, &s, b, h, w),
            1e-5,
            "permuted forward",
        );
        let g = grads_of(y, &r);
        let fw = finite_diff(&wt, |ww| naive_loss(&x, ww, &s, b, h, w, &r));
        assert_close(&g.get(&p.t).as_vec(), &fw, 1e-3, "permuted dW");
        // ∂L/∂x in the stored (B, C, W, H) order.
        let fx = finite_diff(&x, |xx| naive_loss(xx, &wt, &s, b, h, w, &r));
        let gx = g.get(&xs).as_vec();
        for bc in 0..b * 2 {
            for i in 0..h {
                for j in 0..w {
                    let (got, want) = (gx[(bc * w + j) * h + i] as f64, fx[(bc * h + i) * w + j]);
                    assert!(
                        (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                        "permuted dX {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn native_skips_input_grad_but_keeps_weight_grad() {
        let dev = Cpu::default();
        let s = ConvSpec {
            cin: 2,
            cout: 3,
            k: 3,
            pad: 1,
        };
        let x = rand_vec(2 * 2 * 4 * 4, 1);
        let wt = rand_vec(s.num_weights(), 2);
        let r = rand_vec(2 * 3 * 16, 3);
        let p = Param::new("w", vec![3, 2, 3, 3], wt, &dev);
        let mk = || {
            dev.tensor_from_vec(x.clone(), (2, 2, 4, 4))
                .traced(Gradients::leaky())
        };
        let gw1 = grads_of(conv2d_cpu(mk(), &p, s, true), &r)
            .get(&p.t)
            .as_vec();
        let gw2 = grads_of(conv2d_cpu(mk(), &p, s, false), &r)
            .get(&p.t)
            .as_vec();
        assert_eq!(gw1, gw2);
    }
}
