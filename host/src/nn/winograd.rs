//! Winograd F(2×2, 3×3) convolution: 3×3 kernel, stride 1, padding 1, NCHW (issue 16).
//!
//! For a 4×4 input tile `d` (rows `2i − 1 … 2i + 2`, columns `2j − 1 … 2j + 2`, zero outside
//! the image) and a 3×3 filter `g`, the 2×2 output tile is (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", CVPR 2016, eq. 8)
//!
//! `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`
//!
//! with `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]` and
//! `Aᵀ = [1 1 1 0; 0 1 −1 −1]`. Summed over input channels, each of the 16 positions `ξ` of
//! the 4×4 transformed tile is one GEMM: `M_ξ (C_out × T) = U_ξ (C_out × C_in) · V_ξ (C_in × T)`
//! over the `T` tiles of a group of images. 16 multiplies per 2×2 outputs against im2col's
//! 36: 2.25× fewer.
//!
//! The backward pass uses the same transforms:
//! - `∂L/∂x` is the same convolution of `∂L/∂y` with the filters flipped 180° and their
//!   channels swapped (`g'[c, o, u, v] = g[o, c, 2 − u, 2 − v]`, padding 1 again);
//! - `∂L/∂g = Gᵀ [ Σ_tiles (A ∂Y Aᵀ) ⊙ (Bᵀ d B) ] G`, since `Y` is linear in `U = G g Gᵀ`: 16
//!   GEMMs `∂U_ξ (C_out × C_in) = Q_ξ (C_out × T) · V_ξᵀ (T × C_in)`, `Q = A ∂Y Aᵀ`.
//!
//! Output sizes that are odd are handled by tiles that reach one row or column past the
//! image: their extra outputs are dropped (forward) and their gradient is zero (backward).

use std::ops::Range;

use rayon::prelude::*;

use super::conv::{sgemm, ConvSpec};

/// Smallest channel count on both sides for which the Winograd kernels are used: with fewer
/// input channels each GEMM has a tiny inner dimension (the first layer of an image net has
/// 1 or 3) and im2col's `C_in · 9` is the better shape.
pub(crate) const MIN_CHANNELS: usize = 16;

/// Transformed-tile positions (4 × 4).
const XI: usize = 16;

/// Tiles per GEMM (a block of tile rows, or several small images side by side): 64 was the
/// fastest of 32, 64, 128 and 256 for resnet9 on a 2-core AMD EPYC (1 MiB L2 per core); larger
/// blocks no longer keep the transformed tiles in cache between the transforms and the GEMMs.
const TILES_PER_GEMM: usize = 64;

/// Batch slices whose weight-gradient partial sums are computed in parallel and added in
/// order (as in im2col's backward), so the result does not depend on thread scheduling.
const DW_CHUNKS: usize = 8;

/// Whether [`forward`], [`data_grad`] and [`weight_grad`] apply: a 3×3 kernel with padding 1
/// (stride 1), at least [`MIN_CHANNELS`] channels on both sides.
pub(crate) fn applies(s: &ConvSpec) -> bool {
    s.k == 3 && s.pad == 1 && s.cin >= MIN_CHANNELS && s.cout >= MIN_CHANNELS
}

/// Tile grid `(⌈h/2⌉, ⌈w/2⌉)` of an `h × w` output (padding 1 keeps the size).
fn tiles(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// The work split for `h × w` maps: `(images per group, tile rows per block)`. Groups of
/// images are the unit of parallelism; each group is transformed and multiplied a block of
/// tile rows at a time, about [`TILES_PER_GEMM`] tiles, so that a block's transformed input
/// and output stay in the core's cache between the transforms and the GEMMs.
fn split(b: usize, h: usize, w: usize) -> (usize, usize) {
    let (th, tw) = tiles(h, w);
    let g = TILES_PER_GEMM.div_ceil(th * tw).clamp(1, b.max(1));
    let rows = if g > 1 {
        g * th
    } else {
        TILES_PER_GEMM.div_ceil(tw).clamp(1, th)
    };
    (g, rows)
}

/// Consecutive blocks of at most `per` tile rows of `n` images with `th` tile rows each.
fn blocks(n: usize, th: usize, per: usize) -> impl Iterator<Item = Range<usize>> {
    let total = n * th;
    (0..total.div_ceil(per)).map(move |i| i * per..((i + 1) * per).min(total))
}

/// `G g Gᵀ` of one 3×3 filter `g` (row-major), as 16 values.
fn filter_tile(g: &[f32; 9]) -> [f32; 16] {
    // t = G g (4 × 3), then t Gᵀ (4 × 4).
    let mut t = [[0f32; 3]; 4];
    for c in 0..3 {
        let (g0, g1, g2) = (g[c], g[3 + c], g[6 + c]);
        t[0][c] = g0;
        t[1][c] = 0.5 * (g0 + g1 + g2);
        t[2][c] = 0.5 * (g0 - g1 + g2);
        t[3][c] = g2;
    }
    let mut u = [0f32; 16];
    for r in 0..4 {
        let [t0, t1, t2] = t[r];
        u[r * 4] = t0;
        u[r * 4 + 1] = 0.5 * (t0 + t1 + t2);
        u[r * 4 + 2] = 0.5 * (t0 - t1 + t2);
        u[r * 4 + 3] = t2;
    }
    u
}

/// Filter transform `U[ξ][o][c] = (G g_{o,c} Gᵀ)[ξ]` of `w (C_out, C_in, 3, 3)`, laid out as 16
/// row-major `C_out × C_in` matrices; parallel over filters.
pub(crate) fn filter_transform(w: &[f32], cout: usize, cin: usize) -> Vec<f32> {
    let tiles: Vec<[f32; 16]> = w
        .par_chunks_exact(9)
        .map(|g| {
            let mut f = [0f32; 9];
            f.copy_from_slice(g);
            filter_tile(&f)
        })
        .collect();
    let mut u = vec![0f32; XI * cout * cin];
    u.par_chunks_mut((cout * cin).max(1))
        .enumerate()
        .for_each(|(xi, plane)| {
            for (d, t) in plane.iter_mut().zip(&tiles) {
                *d = t[xi];
            }
        });
    u
}

/// The position `π(ξ)` of the transformed tile that the data gradient reads: rotating a filter
/// by 180° (`g' = J g J`) permutes its transform, `G J = P G` with `P` swapping rows 0 and 3,
/// so `G g' Gᵀ = P U Pᵀ`, i.e. `U'[r][k] = U[π(r)][π(k)]` with `π = (3 1 2 0)`.
fn rotated(xi: usize) -> usize {
    const PI: [usize; 4] = [3, 1, 2, 0];
    PI[xi / 4] * 4 + PI[xi % 4]
}

/// `buf` as four consecutive pieces of `n` elements each (the last one takes the rest).
fn quarters(buf: &mut [f32], n: usize) -> [&mut [f32]; 4] {
    let (a, rest) = buf.split_at_mut(n);
    let (b, rest) = rest.split_at_mut(n);
    let (c, d) = rest.split_at_mut(n);
    [a, b, c, d]
}

/// `dst = a + sign · b` element-wise, a missing row being zero (`sign` is ±1, so the result is
/// exactly `a ± b`).
#[inline]
fn combine(dst: &mut [f32], a: Option<&[f32]>, b: Option<&[f32]>, sign: f32) {
    match (a, b) {
        (Some(a), Some(b)) => {
            for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
                *d = x + sign * y;
            }
        }
        (Some(a), None) => dst.copy_from_slice(a),
        (None, Some(b)) => {
            for (d, y) in dst.iter_mut().zip(b) {
                *d = sign * y;
            }
        }
        (None, None) => dst.fill(0.0),
    }
}

/// Input transform `V[ξ][c][t] = (Bᵀ d_t B)[ξ]` of `n` images `x (n, C, H, W)` into `v`
/// (16 × `C` × `ld`, tile `t = (image · ⌈H/2⌉ + i) · ⌈W/2⌉ + j`).
fn input_transform(
    x: &[f32],
    c: usize,
    span: Range<usize>,
    h: usize,
    w: usize,
    v: &mut [f32],
    ld: usize,
) {
    let (th, tw) = tiles(h, w);
    // Bᵀ on the rows, into rows with one zero column on the left and enough on the right:
    // s0 = r0 − r2, s1 = r1 + r2, s2 = r2 − r1, s3 = r1 − r3 (rows past the image are zero).
    let wp = 2 * tw + 2;
    let mut s = vec![0f32; 4 * wp];
    for ci in 0..c {
        for r in span.clone() {
            let (img, ti) = (r / th, r % th);
            let plane = &x[(img * c + ci) * h * w..][..h * w];
            let row = |k: usize| {
                let iy = (2 * ti + k).checked_sub(1).filter(|&y| y < h)?;
                Some(&plane[iy * w..(iy + 1) * w])
            };
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            let [s0, s1, s2, s3] = quarters(&mut s[..], wp);
            combine(&mut s0[1..1 + w], r0, r2, -1.0);
            combine(&mut s1[1..1 + w], r1, r2, 1.0);
            combine(&mut s2[1..1 + w], r2, r1, -1.0);
            combine(&mut s3[1..1 + w], r1, r3, -1.0);
            // B on the columns, tile by tile.
            let t0 = (r - span.start) * tw;
            for (i, sr) in [&*s0, &*s1, &*s2, &*s3].into_iter().enumerate() {
                let base = (i * 4 * c + ci) * ld + t0;
                let [d0, d1, d2, d3] = quarters(&mut v[base..], c * ld);
                let sr = &sr[..2 * tw + 2];
                for (tj, (((e0, e1), e2), e3)) in d0[..tw]
                    .iter_mut()
                    .zip(&mut d1[..tw])
                    .zip(&mut d2[..tw])
                    .zip(&mut d3[..tw])
                    .enumerate()
                {
                    let (q0, q1, q2, q3) =
                        (sr[2 * tj], sr[2 * tj + 1], sr[2 * tj + 2], sr[2 * tj + 3]);
                    *e0 = q0 - q2;
                    *e1 = q1 + q2;
                    *e2 = q2 - q1;
                    *e3 = q1 - q3;
                }
            }
        }
    }
}

/// Gradient transform `Q[ξ][o][t] = (A ∂Y_t Aᵀ)[ξ]` of `n` images' output gradients
/// `gy (n, C_out, H, W)` (2×2 tiles, zero past the image), laid out as [`input_transform`]'s.
fn grad_transform(
    gy: &[f32],
    c: usize,
    span: Range<usize>,
    h: usize,
    w: usize,
    q: &mut [f32],
    ld: usize,
) {
    let (th, tw) = tiles(h, w);
    let wp = 2 * tw;
    // A on the left of the tile row's two gradient rows y0, y1 (zero past the image):
    // p0 = y0, p1 = y0 + y1, p2 = y0 − y1, p3 = −y1.
    let mut p = vec![0f32; 4 * wp];
    for ci in 0..c {
        for r in span.clone() {
            let (img, ti) = (r / th, r % th);
            let plane = &gy[(img * c + ci) * h * w..][..h * w];
            let row = |y: usize| (y < h).then(|| &plane[y * w..(y + 1) * w]);
            let (y0, y1) = (row(2 * ti), row(2 * ti + 1));
            let [p0, p1, p2, p3] = quarters(&mut p[..], wp);
            combine(&mut p0[..w], y0, None, 1.0);
            combine(&mut p1[..w], y0, y1, 1.0);
            combine(&mut p2[..w], y0, y1, -1.0);
            combine(&mut p3[..w], None, y1, -1.0);
            // Aᵀ on the right: (x0, x0 + x1, x0 − x1, −x1) for each pair (x0 x1).
            let t0 = (r - span.start) * tw;
            for (r, pr) in [&*p0, &*p1, &*p2, &*p3].into_iter().enumerate() {
                let base = (r * 4 * c + ci) * ld + t0;
                let [d0, d1, d2, d3] = quarters(&mut q[base..], c * ld);
                for ((((e0, e1), e2), e3), pair) in d0[..tw]
                    .iter_mut()
                    .zip(&mut d1[..tw])
                    .zip(&mut d2[..tw])
                    .zip(&mut d3[..tw])
                    .zip(pr.chunks_exact(2))
                {
                    let (x0, x1) = (pair[0], pair[1]);
                    *e0 = x0;
                    *e1 = x0 + x1;
                    *e2 = x0 - x1;
                    *e3 = -x1;
                }
            }
        }
    }
}

/// Output transform: `out (n, C_out, H, W) [+]= Aᵀ M_t A` for every tile of `m` (16 × `C_out`
/// × `ld`).
///
/// Per output channel, `Aᵀ M A` is computed for all `ld` tiles of the block in one pass (the
/// tiles are contiguous in `m`, so the pass vectorises however short the tile rows are), into
/// four rows (the tiles' top-left, top-right, bottom-left and bottom-right outputs) that are
/// then interleaved into the output rows.
#[allow(clippy::too_many_arguments)]
fn output_transform(
    m: &[f32],
    c: usize,
    span: Range<usize>,
    h: usize,
    w: usize,
    ld: usize,
    out: &mut [f32],
    accumulate: bool,
) {
    let (th, tw) = tiles(h, w);
    let mut y = vec![0f32; 4 * ld];
    for o in 0..c {
        let mm = |xi: usize| &m[(xi * c + o) * ld..][..ld];
        let [y0, y1, y2, y3] = quarters(&mut y[..], ld);
        let (y0, y1, y2, y3) = (&mut y0[..ld], &mut y1[..ld], &mut y2[..ld], &mut y3[..ld]);
        // Aᵀ on the rows (u0 = m0 + m1 + m2, u1 = m1 − m2 − m3), then A on the columns.
        let (m0, m1, m2, m3) = (mm(0), mm(1), mm(2), mm(3));
        let (m4, m5, m6, m7) = (mm(4), mm(5), mm(6), mm(7));
        let (m8, m9, m10, m11) = (mm(8), mm(9), mm(10), mm(11));
        let (m12, m13, m14, m15) = (mm(12), mm(13), mm(14), mm(15));
        for j in 0..ld {
            let u00 = m0[j] + m4[j] + m8[j];
            let u01 = m1[j] + m5[j] + m9[j];
            let u02 = m2[j] + m6[j] + m10[j];
            let u03 = m3[j] + m7[j] + m11[j];
            let u10 = m4[j] - m8[j] - m12[j];
            let u11 = m5[j] - m9[j] - m13[j];
            let u12 = m6[j] - m10[j] - m14[j];
            let u13 = m7[j] - m11[j] - m15[j];
            y0[j] = u00 + u01 + u02;
            y1[j] = u01 - u02 - u03;
            y2[j] = u10 + u11 + u12;
            y3[j] = u11 - u12 - u13;
        }
        for (k, r) in span.clone().enumerate() {
            let (img, ti) = (r / th, r % th);
            let plane = &mut out[(img * c + o) * h * w..][..h * w];
            let t = k * tw..(k + 1) * tw;
            for (a, (left, right)) in [(&y0[t.clone()], &y1[t.clone()]), (&y2[t.clone()], &y3[t])]
                .into_iter()
                .enumerate()
            {
                let oy = 2 * ti + a;
                if oy >= h {
                    continue;
                }
                interleave(&mut plane[oy * w..(oy + 1) * w], left, right, accumulate);
            }
        }
    }
}

/// `row [+]= (left₀, right₀, left₁, right₁, …)`, the last `right` dropped when `row` is odd.
#[inline]
fn interleave(row: &mut [f32], left: &[f32], right: &[f32], accumulate: bool) {
    let mut pairs = row.chunks_exact_mut(2);
    if accumulate {
        for ((pair, l), r) in (&mut pairs).zip(left).zip(right) {
            pair[0] += l;
            pair[1] += r;
        }
    } else {
        for ((pair, l), r) in (&mut pairs).zip(left).zip(right) {
            pair[0] = *l;
            pair[1] = *r;
        }
    }
    if let ([last], Some(l)) = (pairs.into_remainder(), left.last()) {
        *last = if accumulate { *last + l } else { *l };
    }
}

/// `out (B, C_out, H, W) [+]= conv(x (B, C_in, H, W))` with filters already transformed:
/// `u` holds 16 row-major `C_out × C_in` matrices ([`filter_transform`]), or with `rotated`
/// the forward's 16 `C_in × C_out` ones, read transposed at the positions [`rotated`] (the
/// filters rotated by 180° with their channels swapped, for the data gradient); parallel over
/// groups of images.
#[allow(clippy::too_many_arguments)]
fn convolve(
    x: &[f32],
    u: &[f32],
    rotate: bool,
    cin: usize,
    cout: usize,
    b: usize,
    h: usize,
    w: usize,
    out: &mut [f32],
    accumulate: bool,
) {
    if b == 0 || h == 0 || w == 0 {
        return;
    }
    let (th, tw) = tiles(h, w);
    let (g, per) = split(b, h, w);
    out.par_chunks_mut(g * cout * h * w)
        .zip(x.par_chunks(g * cin * h * w))
        .for_each_init(
            || {
                let t = per * tw;
                (vec![0f32; XI * cin * t], vec![0f32; XI * cout * t])
            },
            |(v, m), (yb, xb)| {
                let n = yb.len() / (cout * h * w);
                for span in blocks(n, th, per) {
                    let ld = span.len() * tw;
                    input_transform(xb, cin, span.clone(), h, w, v, ld);
                    for xi in 0..XI {
                        let (src, a_rs, a_cs) = if rotate {
                            (rotated(xi), 1, cout)
                        } else {
                            (xi, cin, 1)
                        };
                        sgemm(
                            cout,
                            ld,
                            cin,
                            &mut m[xi * cout * ld..(xi + 1) * cout * ld],
                            false,
                            &u[src * cout * cin..],
                            a_rs,
                            a_cs,
                            &v[xi * cin * ld..],
                            ld,
                            1,
                        );
                    }
                    output_transform(m, cout, span, h, w, ld, yb, accumulate);
                }
            },
        );
}

/// Forward: `y (B, C_out, H, W)` from `x (B, C_in, H, W)` and `w (C_out, C_in, 3, 3)`.
pub(crate) fn forward(
    x: &[f32],
    w: &[f32],
    s: &ConvSpec,
    b: usize,
    h: usize,
    wd: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; b * s.cout * h * wd];
    let u = filter_transform(w, s.cout, s.cin);
    convolve(x, &u, false, s.cin, s.cout, b, h, wd, &mut out, false);
    out
}

/// Data gradient: adds `∂L/∂x` into `gx (B, C_in, H, W)` from `gy (B, C_out, H, W)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn data_grad(
    gy: &[f32],
    w: &[f32],
    s: &ConvSpec,
    b: usize,
    h: usize,
    wd: usize,
    gx: &mut [f32],
) {
    let u = filter_transform(w, s.cout, s.cin);
    convolve(gy, &u, true, s.cout, s.cin, b, h, wd, gx, true);
}

/// Weight gradient `∂L/∂w (C_out, C_in·9)` from `x (B, C_in, H, W)` and `gy (B, C_out, H, W)`.
pub(crate) fn weight_grad(
    x: &[f32],
    gy: &[f32],
    s: &ConvSpec,
    b: usize,
    h: usize,
    wd: usize,
) -> Vec<f32> {
    let (cin, cout) = (s.cin, s.cout);
    let mut gw = vec![0f32; cout * cin * 9];
    if b == 0 || h == 0 || wd == 0 {
        return gw;
    }
    let (th, tw) = tiles(h, wd);
    let (g, per_block) = split(b, h, wd);
    // At most DW_CHUNKS slices of at least one group each (a slice may end in a short group).
    let per = b.div_ceil(DW_CHUNKS).max(g);
    let (chw, ohw) = (cin * h * wd, cout * h * wd);
    let partial: Vec<Vec<f32>> = (0..b.div_ceil(per))
        .into_par_iter()
        .map(|chunk| {
            let mut du = vec![0f32; XI * cout * cin];
            let t = per_block * tw;
            let (mut v, mut q) = (vec![0f32; XI * cin * t], vec![0f32; XI * cout * t]);
            let end = ((chunk + 1) * per).min(b);
            let mut b0 = chunk * per;
            while b0 < end {
                let n = g.min(end - b0);
                let (xs, gys) = (&x[b0 * chw..(b0 + n) * chw], &gy[b0 * ohw..(b0 + n) * ohw]);
                for span in blocks(n, th, per_block) {
                    let ld = span.len() * tw;
                    input_transform(xs, cin, span.clone(), h, wd, &mut v, ld);
                    grad_transform(gys, cout, span, h, wd, &mut q, ld);
                    for xi in 0..XI {
                        sgemm(
                            cout,
                            cin,
                            ld,
                            &mut du[xi * cout * cin..(xi + 1) * cout * cin],
                            true,
                            &q[xi * cout * ld..],
                            ld,
                            1,
                            &v[xi * cin * ld..],
                            1,
                            ld,
                        );
                    }
                }
                b0 += n;
            }
            du
        })
        .collect();
    let mut parts = partial.into_iter();
    let mut du = parts.next().unwrap_or_else(|| vec![0f32; XI * cout * cin]);
    for part in parts {
        for (a, v) in du.iter_mut().zip(&part) {
            *a += *v;
        }
    }
    // ∂L/∂g = Gᵀ ∂U G per filter.
    for o in 0..cout {
        for c in 0..cin {
            let d = |xi: usize| du[(xi * cout + o) * cin + c];
            // Gᵀ on the left, one column k of ∂U at a time: rows (r0, r1, r2) of that column.
            let col = |k: usize| {
                let (d0, d1, d2, d3) = (d(k), d(4 + k), d(8 + k), d(12 + k));
                [d0 + 0.5 * (d1 + d2), 0.5 * (d1 - d2), 0.5 * (d1 + d2) + d3]
            };
            let cols = [col(0), col(1), col(2), col(3)];
            // Then G on the right, row by row.
            let dst = &mut gw[(o * cin + c) * 9..][..9];
            for (i, row) in dst.chunks_exact_mut(3).enumerate() {
                let (r0, r1, r2, r3) = (cols[0][i], cols[1][i], cols[2][i], cols[3][i]);
                row[0] = r0 + 0.5 * (r1 + r2);
                row[1] = 0.5 * (r1 - r2);
                row[2] = 0.5 * (r1 + r2) + r3;
            }
        }
    }
    gw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    /// Naive references in f64: the forward convolution, `∂L/∂x` and `∂L/∂w` for `∂L/∂y = r`.
    fn naive(
        x: &[f32],
        wt: &[f32],
        s: &ConvSpec,
        b: usize,
        h: usize,
        w: usize,
        r: &[f32],
    ) -> [Vec<f64>; 3] {
        let (ci_n, co_n) = (s.cin, s.cout);
        let mut y = vec![0f64; b * co_n * h * w];
        let mut gx = vec![0f64; b * ci_n * h * w];
        let mut gw = vec![0f64; co_n * ci_n * 9];
        for bi in 0..b {
            for o in 0..co_n {
                for i in 0..h {
                    for j in 0..w {
                        let yi = ((bi * co_n + o) * h + i) * w + j;
                        for c in 0..ci_n {
                            for u in 0..3 {
                                for v in 0..3 {
                                    let (iy, ix) = ((i + u) as isize - 1, (j + v) as isize - 1);
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = ((bi * ci_n + c) * h + iy as usize) * w + ix as usize;
                                    let wi = ((o * ci_n + c) * 3 + u) * 3 + v;
                                    y[yi] += x[xi] as f64 * wt[wi] as f64;
                                    gx[xi] += wt[wi] as f64 * r[yi] as f64;
                                    gw[wi] += x[xi] as f64 * r[yi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        [y, gx, gw]
    }

    /// Forward, data gradient (added to what `gx` held) and weight gradient against the naive
    /// loops: even and odd sizes, 1×1 and 1×n maps, one image and batches that leave a short
    /// last group and short weight-gradient slices, and 20×19 maps, whose images are split
    /// into blocks of tile rows (7 + 3).
    #[test]
    fn matches_naive_forward_and_gradients() {
        let cases = [
            (16, 16, 2, 4, 4),
            (16, 20, 3, 5, 7),
            (17, 16, 1, 1, 1),
            (16, 16, 2, 1, 6),
            (18, 17, 11, 3, 2),
            (16, 16, 70, 2, 2),
            (16, 16, 2, 20, 19),
        ];
        for (n, &(cin, cout, b, h, w)) in cases.iter().enumerate() {
            let s = ConvSpec {
                cin,
                cout,
                k: 3,
                pad: 1,
            };
            assert!(applies(&s));
            let x = rand_vec(b * cin * h * w, 40 + n as u64);
            let wt = rand_vec(s.num_weights(), 50 + n as u64);
            let r = rand_vec(b * cout * h * w, 60 + n as u64);
            let [y, gx, gw] = naive(&x, &wt, &s, b, h, w, &r);
            assert_close(&forward(&x, &wt, &s, b, h, w), &y, 1e-5, "winograd forward");
            let prior = rand_vec(b * cin * h * w, 70 + n as u64);
            let mut got = prior.clone();
            data_grad(&r, &wt, &s, b, h, w, &mut got);
            let want: Vec<f64> = gx.iter().zip(&prior).map(|(g, p)| g + *p as f64).collect();
            assert_close(&got, &want, 1e-5, "winograd dX");
            assert_close(&weight_grad(&x, &r, &s, b, h, w), &gw, 1e-5, "winograd dW");
        }
    }

    /// Rotating every filter by 180° and swapping its channels permutes the transformed tile
    /// by [`rotated`] and transposes the channel matrices (what the data gradient relies on).
    #[test]
    fn rotated_filters_permute_the_transform() {
        let (cout, cin) = (3, 2);
        let w = rand_vec(cout * cin * 9, 1);
        let mut rot = vec![0f32; w.len()];
        for o in 0..cout {
            for c in 0..cin {
                for k in 0..9 {
                    rot[(c * cout + o) * 9 + k] = w[(o * cin + c) * 9 + 8 - k];
                }
            }
        }
        let (u, ur) = (
            filter_transform(&w, cout, cin),
            filter_transform(&rot, cin, cout),
        );
        for xi in 0..XI {
            for o in 0..cout {
                for c in 0..cin {
                    let (a, b) = (
                        ur[(xi * cin + c) * cout + o],
                        u[(rotated(xi) * cout + o) * cin + c],
                    );
                    assert!((a - b).abs() <= 1e-6, "ξ {xi}, o {o}, c {c}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn applies_only_to_3x3_padding_1_with_enough_channels() {
        let s = |cin, cout, k, pad| ConvSpec { cin, cout, k, pad };
        assert!(applies(&s(16, 16, 3, 1)));
        assert!(!applies(&s(3, 64, 3, 1)));
        assert!(!applies(&s(64, 8, 3, 1)));
        assert!(!applies(&s(64, 64, 3, 0)));
        assert!(!applies(&s(64, 64, 1, 0)));
        assert!(!applies(&s(64, 64, 5, 2)));
    }
}
