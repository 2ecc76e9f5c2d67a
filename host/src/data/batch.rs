//! Seeded shuffling, mini-batching and augmentation.
//!
//! Everything random is a pure function of `(seed, epoch)` or
//! `(seed, epoch, batch index)`, so a resumed run sees exactly the batches an
//! uninterrupted one would, even when it resumes in the middle of an epoch.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Augment, Dataset};

/// SplitMix64 finaliser (Steele et al. 2014), used to derive independent seeds.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A ChaCha8 generator for `(seed, a, b)`.
pub fn rng_for(seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(mix(seed) ^ a) ^ b.rotate_left(17)))
}

/// Training steps per epoch: full batches only (like PyTorch's `drop_last=True`,
/// which keeps batch-norm statistics sane), at least one.
pub fn steps_per_epoch(n: usize, batch: usize) -> usize {
    (n / batch.max(1)).max(1)
}

/// The order in which epoch `epoch` visits the training set: a Fisher–Yates
/// shuffle driven by ChaCha8 seeded from `(seed, epoch)`.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng_for(seed, 0x5348_5546, epoch as u64));
    idx
}

/// One mini-batch: NCHW pixels and labels.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// `labels.len() * c * h * w` values.
    pub x: Vec<f32>,
    /// Labels.
    pub labels: Vec<usize>,
}

/// Gathers training batch `b` of epoch `epoch` from `order`, augmented.
pub fn train_batch(
    ds: &Dataset,
    order: &[usize],
    batch: usize,
    b: usize,
    augment: Augment,
    seed: u64,
    epoch: usize,
) -> Batch {
    let n = order.len();
    let start = (b * batch) % n.max(1);
    let idx: Vec<usize> = (0..batch.min(n)).map(|k| order[(start + k) % n]).collect();
    let mut out = gather(ds, &idx);
    if let Augment::CropFlip { pad } = augment {
        let mut rng = rng_for(seed, epoch as u64, 0xA06_0000 + b as u64);
        crop_flip(&mut out.x, ds.c, ds.h, ds.w, pad, &mut rng);
    }
    out
}

/// Copies the images `idx` into one batch, unaugmented.
pub fn gather(ds: &Dataset, idx: &[usize]) -> Batch {
    let mut x = Vec::with_capacity(idx.len() * ds.image_size());
    let mut labels = Vec::with_capacity(idx.len());
    for &i in idx {
        ds.extend_image(i, &mut x);
        labels.push(ds.labels[i]);
    }
    Batch { x, labels }
}

/// Random crop of an image zero-padded by `pad` pixels on each side (zero is the
/// channel mean after normalisation), then a horizontal flip with probability ½ —
/// the augmentation of He et al. 2016 ("Deep residual learning", §4.2).
pub fn crop_flip(x: &mut [f32], c: usize, h: usize, w: usize, pad: usize, rng: &mut impl Rng) {
    let size = c * h * w;
    let mut tmp = vec![0f32; size];
    for img in x.chunks_exact_mut(size) {
        let dy = rng.gen_range(0..=2 * pad) as isize - pad as isize;
        let dx = rng.gen_range(0..=2 * pad) as isize - pad as isize;
        let flip = rng.gen_bool(0.5);
        for ch in 0..c {
            for y in 0..h {
                for xo in 0..w {
                    let sx = if flip { w - 1 - xo } else { xo } as isize + dx;
                    let sy = y as isize + dy;
                    tmp[(ch * h + y) * w + xo] =
                        if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                            img[(ch * h + sy as usize) * w + sx as usize]
                        } else {
                            0.0
                        };
                }
            }
        }
        img.copy_from_slice(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_a_seeded_permutation() {
        let a = epoch_order(100, 7, 3);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(100, 7, 3));
        assert_ne!(a, epoch_order(100, 7, 4));
        assert_ne!(a, epoch_order(100, 8, 3));
    }

    #[test]
    fn crop_without_shift_or_flip_is_identity_and_flip_mirrors() {
        // pad 0: only flips are possible.
        let img: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut rng = rng_for(1, 2, 3);
        let mut seen_flip = false;
        for _ in 0..20 {
            let mut x = img.clone();
            crop_flip(&mut x, 2, 3, 4, 0, &mut rng);
            if x == img {
                continue;
            }
            seen_flip = true;
            for ch in 0..2 {
                for y in 0..3 {
                    for xo in 0..4 {
                        assert_eq!(x[(ch * 3 + y) * 4 + xo], img[(ch * 3 + y) * 4 + 3 - xo]);
                    }
                }
            }
        }
        assert!(seen_flip);
    }

    #[test]
    fn crop_keeps_pixels_from_the_image_or_zero() {
        let img: Vec<f32> = (1..=64).map(|v| v as f32).collect();
        let mut x = img.clone();
        crop_flip(&mut x, 1, 8, 8, 4, &mut rng_for(5, 5, 5));
        assert!(x.iter().all(|v| *v == 0.0 || img.contains(v)));
    }
}
