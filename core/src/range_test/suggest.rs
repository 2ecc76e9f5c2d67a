//! Learning-rate suggestions computed on the recorded curve.
//!
//! Each rule works on a window of stored points whose smoothed losses are all
//! finite and returns one of their learning rates (Minimum: divided by 10), so a
//! suggestion is never NaN or infinite, and always > 0 (a Minimum that would divide
//! to 0, an lr below ten times the smallest positive float, is `None`). Where the
//! reference implementation would raise (an empty window, fewer points than the rule
//! needs) the rule returns `None`.

use super::curve::Point;
use crate::Real;
use heapless::Vec;

/// A suggestion rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Suggestion {
    /// fastai `minimum`: the lr of the lowest smoothed loss, divided by 10
    /// (so it can lie up to 10× below `start_lr`).
    Minimum,
    /// fastai `steep`: the lr `lrs[i]` at the most negative
    /// `(loss[i+1] − loss[i]) / (ln lr[i+1] − ln lr[i])`.
    Steep,
    /// fastai `valley`: with `M` the length of the longest strictly decreasing
    /// subsequence of the losses and `e` the first index where one ends, the lr at
    /// index `e − M + ⌊M/3⌋ + ⌊M/6⌋` (fastai's O(n²) search, computed here in
    /// O(n log n) with identical results, Python's index −1 quirk included).
    Valley,
    /// fastai `slide` with its defaults (see [`SlideParams`]).
    Slide,
    /// torch-lr-finder `plot(suggest_lr=True)`: the lr at the argmin of
    /// `np.gradient(losses)` over `losses[10:-5]`.
    Steepest,
}

impl Suggestion {
    /// All rules, in the order of [`Suggestions`]' fields.
    pub const ALL: [Suggestion; 5] = [
        Suggestion::Minimum,
        Suggestion::Steep,
        Suggestion::Valley,
        Suggestion::Slide,
        Suggestion::Steepest,
    ];
}

/// Every suggestion at once; `None` where the curve is too short or degenerate.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Suggestions<F = f32> {
    /// [`Suggestion::Minimum`].
    pub minimum: Option<F>,
    /// [`Suggestion::Steep`].
    pub steep: Option<F>,
    /// [`Suggestion::Valley`].
    pub valley: Option<F>,
    /// [`Suggestion::Slide`].
    pub slide: Option<F>,
    /// [`Suggestion::Steepest`].
    pub steepest: Option<F>,
}

/// Parameters of fastai's interval slide rule (`slide(lrs, losses, num_it, lr_diff=15,
/// thresh=.005, adjust_value=1.)`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SlideParams<F = f32> {
    /// Distance in batches between the two gradients compared (fastai 15).
    pub lr_diff: u32,
    /// The gradients must differ by at most this much to stop sliding (fastai 0.005).
    pub thresh: F,
    /// Factor applied to the lr found (fastai 1).
    pub adjust_value: F,
}

impl<F: Real> Default for SlideParams<F> {
    fn default() -> Self {
        Self {
            lr_diff: 15,
            thresh: F::from_f64(0.005),
            adjust_value: F::ONE,
        }
    }
}

fn finite<F: Real>(v: F) -> Option<F> {
    if v.is_finite() {
        Some(v)
    } else {
        None
    }
}

/// Index of the first smallest value, NaN values ignored (`None` if all are NaN).
fn argmin<F: Real>(values: impl Iterator<Item = F>) -> Option<usize> {
    let mut best: Option<(usize, F)> = None;
    for (i, v) in values.enumerate() {
        if v.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if v >= b => {}
            _ => best = Some((i, v)),
        }
    }
    best.map(|(i, _)| i)
}

/// `np.gradient(a)[i]` with unit spacing and `edge_order=1` (`a.len() ≥ 2`):
/// one-sided differences at the ends, `(a[i+1] − a[i−1]) / 2` inside.
fn gradient<F: Real>(w: &[Point<F>], i: usize) -> F {
    let n = w.len();
    if i == 0 {
        w[1].loss - w[0].loss
    } else if i == n - 1 {
        w[n - 1].loss - w[n - 2].loss
    } else {
        (w[i + 1].loss - w[i - 1].loss) / F::TWO
    }
}

/// The index fastai `minimum` picks: `argmin(losses)` (first minimum on ties).
pub(crate) fn minimum_index<F: Real>(w: &[Point<F>]) -> Option<usize> {
    argmin(w.iter().map(|p| p.loss))
}

/// fastai `minimum`: `lrs[argmin(losses)] / 10` (first minimum on ties).
pub(crate) fn minimum<F: Real>(w: &[Point<F>]) -> Option<F> {
    // A subnormal lr divides to 0, which is no learning rate.
    finite(w[minimum_index(w)?].lr / F::from_f64(10.0)).filter(|&lr| lr > F::ZERO)
}

/// fastai `steep`: `grads = (losses[1:] − losses[:-1]) / (lrs[1:].log() − lrs[:-1].log())`,
/// `lrs[grads.argmin()]`. Needs 2 points.
pub(crate) fn steep<F: Real>(w: &[Point<F>]) -> Option<F> {
    if w.len() < 2 {
        return None;
    }
    let mut prev_ln = w[0].lr.ln();
    let grads = w.windows(2).map(|p| {
        let ln = p[1].lr.ln();
        let g = (p[1].loss - p[0].loss) / (ln - prev_ln);
        prev_ln = ln;
        g
    });
    finite(w[argmin(grads)?].lr)
}

/// fastai `valley`, in O(n log n) with identical results.
///
/// fastai computes, in O(n²), `lds[i]` = the length of the longest strictly
/// decreasing subsequence of the losses ending at `i`; `max_end` = the first `i`
/// where `lds` reaches its maximum `M`, `max_start = max_end − M` (both 0 when
/// `M = 1`), and returns `lrs[max_start + ⌊M/3⌋ + ⌊M/6⌋]`, where an index of −1
/// (possible when `M = 2` at `max_end = 1`) is Python's last element.
///
/// Here the `lds` values come from patience sorting: `tails[k]` is the largest
/// possible last loss of a strictly decreasing subsequence of length `k + 1`
/// (a strictly decreasing array), and `lds[i] = 1 +` the number of tails `> loss[i]`,
/// found by binary search. `M` grows exactly when `tails` does, which also gives the
/// first index reaching it. Scratch: `N · size_of::<F>()` bytes of stack.
pub(crate) fn valley<F: Real, const N: usize>(w: &[Point<F>]) -> Option<F> {
    let n = w.len();
    if n == 0 {
        return None;
    }
    let mut tails: Vec<F, N> = Vec::new();
    let mut max_end = 0usize;
    for (i, p) in w.iter().enumerate() {
        let x = p.loss;
        let (mut lo, mut hi) = (0usize, tails.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if tails[mid] > x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == tails.len() {
            if tails.push(x).is_err() {
                return None; // unreachable: the window holds at most N points
            }
            if tails.len() >= 2 {
                max_end = i;
            }
        } else {
            tails[lo] = x;
        }
    }
    let m = tails.len();
    let idx = if m <= 1 {
        0
    } else {
        // max_start = max_end − m ≥ −1; idx = max_start + ⌊m/3⌋ + ⌊m/6⌋.
        let idx = (max_end + m / 3 + m / 6) as isize - m as isize;
        if idx < 0 {
            (idx + n as isize) as usize
        } else {
            idx as usize
        }
    };
    finite(w.get(idx)?.lr)
}

/// fastai `slide`: with `g = np.gradient(losses)`, start at `r = n − 1`,
/// `l = r − lr_diff`, and while `l ≥ 0` and `|g[r] − g[l]| > thresh` take
/// `lrs[l]` and move both one point left. Returns the last lr taken (initially
/// `lrs[n − 1 − lr_diff]`) times `adjust_value`. Needs `lr_diff + 1` points.
///
/// On a decimated curve (`stride > 1`) `lr_diff` is converted to points
/// (rounded, at least 1) and the gradient to a per-batch one (divided by
/// `stride`), so `thresh` keeps its meaning; the result is then approximate.
pub(crate) fn slide<F: Real>(w: &[Point<F>], params: SlideParams<F>, stride: u32) -> Option<F> {
    let n = w.len();
    let stride = stride.max(1);
    let lr_diff = (params.lr_diff.saturating_add(stride / 2) / stride).max(1) as usize;
    if params.lr_diff == 0
        || n < lr_diff + 1
        || n < 2
        || params.thresh.is_nan()
        || params.thresh < F::ZERO
        || !params.adjust_value.is_finite()
    {
        return None;
    }
    let scale = F::from_u32(stride);
    let g = |i: usize| gradient(w, i) / scale;
    let (mut r, mut l) = (n - 1, n - 1 - lr_diff);
    let mut local = w[l].lr;
    loop {
        let d = (g(r) - g(l)).abs();
        if d.is_nan() || d <= params.thresh {
            break;
        }
        local = w[l].lr;
        if l == 0 {
            break;
        }
        r -= 1;
        l -= 1;
    }
    finite(local * params.adjust_value)
}

/// torch-lr-finder: `lrs[np.gradient(losses).argmin()]`. Needs 2 points.
pub(crate) fn steepest<F: Real>(w: &[Point<F>]) -> Option<F> {
    if w.len() < 2 {
        return None;
    }
    let i = argmin((0..w.len()).map(|i| gradient(w, i)))?;
    finite(w[i].lr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(losses: &[f64]) -> heapless::Vec<Point<f64>, 64> {
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| Point {
                lr: 1e-3 * 2f64.powi(i as i32),
                loss: l,
                raw: l,
            })
            .collect()
    }

    /// A line-by-line port of fastai's O(n²) `valley`, returning the index.
    fn valley_reference(losses: &[f64]) -> Option<usize> {
        let n = losses.len();
        let (mut max_start, mut max_end) = (0isize, 0usize);
        let mut lds = [1usize; 64];
        for i in 1..n {
            for j in 0..i {
                if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                    lds[i] = lds[j] + 1;
                }
                if lds[max_end] < lds[i] {
                    max_end = i;
                    max_start = max_end as isize - lds[max_end] as isize;
                }
            }
        }
        let sections = (max_end as isize - max_start) as f64 / 3.0;
        let idx = max_start + sections as isize + (sections / 2.0) as isize;
        let idx = if idx < 0 { idx + n as isize } else { idx };
        if idx < 0 || idx as usize >= n {
            None
        } else {
            Some(idx as usize)
        }
    }

    #[test]
    fn valley_matches_the_quadratic_reference_on_random_curves() {
        // xorshift: deterministic, no dependency.
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..20_000 {
            let n = (next() % 40) as usize;
            // Few distinct values → many ties; a trend → long valleys.
            let levels = 2 + next() % 12;
            let mut v = [0f64; 64];
            for (i, x) in v.iter_mut().take(n).enumerate() {
                let trend = if case % 3 == 0 {
                    -(i as f64) * 0.3
                } else {
                    0.0
                };
                *x = (next() % levels) as f64 + trend;
            }
            let w = pts(&v[..n]);
            let got = valley::<f64, 64>(&w);
            let want = valley_reference(&v[..n]).map(|i| w[i].lr);
            assert_eq!(got, want, "case {case}: {:?}", &v[..n]);
        }
    }

    #[test]
    fn valley_python_negative_index_quirk() {
        // lds = 2 reached at i = 1: max_start = −1, idx = −1 → last element.
        let w = pts(&[2.0, 1.0, 3.0, 4.0]);
        assert_eq!(valley::<f64, 64>(&w), Some(w[3].lr));
        // Non-decreasing: max_start = max_end = 0.
        let w = pts(&[1.0, 1.0, 2.0]);
        assert_eq!(valley::<f64, 64>(&w), Some(w[0].lr));
    }

    #[test]
    fn rules_on_a_u_curve() {
        // loss falls steepest between points 3 and 4, minimum at 6.
        let w = pts(&[5.0, 4.9, 4.7, 4.2, 3.0, 2.5, 2.2, 2.4, 3.5]);
        assert_eq!(minimum(&w), Some(w[6].lr / 10.0));
        assert_eq!(steep(&w), Some(w[3].lr));
        // np.gradient: [-.1,-.15,-.35,-.85,-.85,-.4,-.05,.65,1.1] → first min at 3.
        assert_eq!(steepest(&w), Some(w[3].lr));
        assert_eq!(minimum::<f64>(&[]), None);
        assert_eq!(steep(&w[..1]), None);
        assert_eq!(steepest(&w[..1]), None);
        assert_eq!(slide(&w, SlideParams::default(), 1), None); // < 16 points
    }

    #[test]
    fn slide_follows_fastai() {
        // 20 points: flat then a straight descent: the gradients far apart differ
        // until both ends sit on the descent.
        let mut v = [0f64; 20];
        for (i, x) in v.iter_mut().enumerate() {
            *x = if i < 8 {
                3.0
            } else {
                3.0 - 0.1 * (i - 7) as f64
            };
        }
        let w = pts(&v);
        // r = 19, l = 4: g[19] = -0.1, g[4] = 0 → differ; take lrs[4]; r = 18, l = 3 …
        // … until l < 0: the last taken is lrs[0].
        assert_eq!(slide(&w, SlideParams::default(), 1), Some(w[0].lr));
        let loose = SlideParams {
            thresh: 0.5,
            ..SlideParams::default()
        };
        assert_eq!(slide(&w, loose, 1), Some(w[4].lr));
    }
}
