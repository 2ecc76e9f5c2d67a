//! Fixed-capacity storage of the recorded curve, with decimation once full.

use crate::Real;
use heapless::Vec;

/// One stored point. `loss` is meaningful only inside the finite prefix; `raw` is the
/// caller's loss as given (possibly non-finite; filtered on the way out).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point<F> {
    pub(crate) lr: F,
    pub(crate) loss: F,
    pub(crate) raw: F,
}

/// The curve buffer: point `k` is batch `k · stride`.
///
/// When a point arrives with the buffer full, every other point is dropped (points
/// 0, 2, 4, … are kept, so the survivors are batches `0, 2·stride, 4·stride, …`) and
/// the stride doubles; from then on only batches on the new grid are stored. A run
/// of `b` batches therefore keeps between `N/2` and `N` evenly spaced points,
/// always starting at batch 0. Smoothing, best loss and divergence still see every
/// batch; only storage is thinned.
#[derive(Clone, Debug)]
pub(crate) struct CurveBuf<F, const N: usize> {
    points: Vec<Point<F>, N>,
    stride: u32,
    /// `points[..finite]` have finite smoothed losses; nothing after is used.
    finite: usize,
}

impl<F: Real, const N: usize> CurveBuf<F, N> {
    pub(crate) const fn new() -> Self {
        Self {
            points: Vec::new(),
            stride: 1,
            finite: 0,
        }
    }

    /// An empty buffer whose points are batches `0, stride, 2·stride, …` (for a
    /// curve built on another curve's grid; `stride ≥ 1`).
    pub(crate) const fn with_stride(stride: u32) -> Self {
        Self {
            points: Vec::new(),
            stride: if stride == 0 { 1 } else { stride },
            finite: 0,
        }
    }

    pub(crate) fn stride(&self) -> u32 {
        self.stride
    }

    pub(crate) fn points(&self) -> &[Point<F>] {
        &self.points
    }

    pub(crate) fn finite_len(&self) -> usize {
        self.finite
    }

    /// Stores batch `batch` (batches arrive in order 0, 1, 2, …) if it lies on the
    /// current grid, decimating first when the buffer is full.
    pub(crate) fn push(&mut self, batch: u32, lr: F, loss: Option<F>, raw: F) {
        if N == 0 || batch.checked_rem(self.stride) != Some(0) {
            return;
        }
        if self.points.is_full() {
            let Some(stride) = self.stride.checked_mul(2) else {
                return; // 2^32 batches: nothing more fits on any grid.
            };
            let kept = self.points.len().div_ceil(2);
            for k in 1..kept {
                self.points[k] = self.points[2 * k];
            }
            self.points.truncate(kept);
            self.finite = self.finite.div_ceil(2);
            self.stride = stride;
            if batch.checked_rem(self.stride) != Some(0) {
                return;
            }
        }
        let finite_prefix = self.finite == self.points.len();
        let point = Point {
            lr,
            loss: loss.unwrap_or(F::ZERO),
            raw,
        };
        if self.points.push(point).is_ok() && finite_prefix && loss.is_some() {
            self.finite += 1;
        }
    }

    /// The stored points of batches `b` with `from ≤ b < to`, cut before the first
    /// point without a finite smoothed loss.
    pub(crate) fn window(&self, from: u32, to: u32) -> &[Point<F>] {
        &self.points[self.window_range(from, to)]
    }

    /// The indices of [`window`](Self::window)'s points (an empty range when the
    /// window is empty).
    pub(crate) fn window_range(&self, from: u32, to: u32) -> core::ops::Range<usize> {
        let s = u64::from(self.stride);
        let k0 = (u64::from(from).div_ceil(s)) as usize;
        let k1 = (u64::from(to).div_ceil(s) as usize).min(self.finite);
        if k0 >= k1 {
            0..0
        } else {
            k0..k1
        }
    }
}

/// A read-only view of the recorded curve.
#[derive(Clone, Copy, Debug)]
pub struct Curve<'a, F> {
    pub(crate) points: &'a [Point<F>],
    pub(crate) stride: u32,
    pub(crate) finite: usize,
}

/// One recorded batch.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CurvePoint<F = f32> {
    /// Index of the batch (from 0).
    pub batch: u32,
    /// Its learning rate.
    pub lr: F,
    /// Its smoothed loss; `None` for a non-finite loss and every batch after one.
    pub loss: Option<F>,
    /// The loss the caller reported; `None` when it was not finite.
    pub raw_loss: Option<F>,
}

impl<'a, F: Real> Curve<'a, F> {
    /// Number of stored points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// No point stored yet.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Batches between consecutive stored points: 1 until the buffer first fills,
    /// then 2, 4, …
    pub fn stride(&self) -> u32 {
        self.stride
    }

    /// Point `i` (not batch `i` once decimated: its batch is `i · stride`).
    pub fn get(&self, i: usize) -> Option<CurvePoint<F>> {
        let p = self.points.get(i)?;
        Some(CurvePoint {
            batch: (i as u32).wrapping_mul(self.stride),
            lr: p.lr,
            loss: if i < self.finite { Some(p.loss) } else { None },
            raw_loss: if p.raw.is_finite() { Some(p.raw) } else { None },
        })
    }

    /// The points in batch order.
    pub fn iter(&self) -> impl Iterator<Item = CurvePoint<F>> + 'a {
        let c = *self;
        (0..c.points.len()).filter_map(move |i| c.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill<const N: usize>(n: u32) -> CurveBuf<f64, N> {
        let mut c = CurveBuf::<f64, N>::new();
        for b in 0..n {
            c.push(b, f64::from(b), Some(f64::from(b)), 0.0);
        }
        c
    }

    #[test]
    fn decimates_evenly_and_keeps_batch_zero() {
        let c = fill::<8>(8);
        assert_eq!((c.points().len(), c.stride()), (8, 1));
        let c = fill::<8>(9);
        assert_eq!((c.points().len(), c.stride()), (5, 2));
        let lrs: [f64; 5] = core::array::from_fn(|k| c.points()[k].lr);
        assert_eq!(lrs, [0.0, 2.0, 4.0, 6.0, 8.0]);
        let c = fill::<8>(100);
        for (k, p) in c.points().iter().enumerate() {
            assert_eq!(p.lr, (k as u32 * c.stride()) as f64);
        }
        assert!(c.points().len() >= 4 && c.points().len() <= 8);
        assert_eq!(c.finite_len(), c.points().len());
        // Odd capacity.
        let c = fill::<5>(1000);
        for (k, p) in c.points().iter().enumerate() {
            assert_eq!(p.lr, (k as u32 * c.stride()) as f64);
        }
    }

    #[test]
    fn window_in_batches_and_finite_prefix() {
        let mut c = CurveBuf::<f64, 16>::new();
        for b in 0..12 {
            let loss = if b < 9 { Some(1.0) } else { None };
            c.push(b, f64::from(b), loss, 0.0);
        }
        assert_eq!(c.window(2, 7).len(), 5);
        assert_eq!(c.window(2, 100).len(), 7); // cut at batch 9
        assert!(c.window(10, 100).is_empty());
        assert!(c.window(5, 2).is_empty());
        let c0 = CurveBuf::<f64, 0>::new();
        assert!(c0.window(0, 10).is_empty());
    }

    #[test]
    fn capacity_zero_and_one_never_panic() {
        let c = fill::<0>(1000);
        assert!(c.points().is_empty());
        let c = fill::<1>(100_000);
        assert_eq!(c.points().len(), 1);
    }
}
