//! The built-in synthetic image set: ten classes of shapes and patterns, drawn
//! procedurally with random position, scale, rotation, stroke width, contrast,
//! background and Gaussian pixel noise. Deterministic by seed; no download.
//!
//! Classes: 0 disc, 1 ring, 2 filled square, 3 square outline, 4 plus,
//! 5 diagonal cross, 6 horizontal stripes, 7 vertical stripes, 8 triangle,
//! 9 checkerboard. Small, noisy, rotated shapes make several pairs (disc/square,
//! ring/outline, stripes/checkerboard) hard to tell apart, so the task is not
//! solved in a few steps and the learning rate matters.

use rand::Rng;
use rand_distr_lite::normal;

use super::batch::rng_for;
use super::Dataset;

/// Image side in pixels (one channel).
pub const SIDE: usize = 20;
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// Default training-set size.
pub const DEFAULT_TRAIN: usize = 20000;
/// Default test-set size.
pub const DEFAULT_TEST: usize = 2000;
/// Standard deviation of the additive pixel noise.
pub const NOISE: f32 = 0.35;
/// Class names, indexed by label.
pub const CLASS_NAMES: [&str; NUM_CLASSES] = [
    "disc",
    "ring",
    "square",
    "square-outline",
    "plus",
    "cross",
    "h-stripes",
    "v-stripes",
    "triangle",
    "checkerboard",
];

mod rand_distr_lite {
    use rand::Rng;

    /// A standard normal sample by the Box–Muller transform.
    pub fn normal(rng: &mut impl Rng) -> f32 {
        let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
        let u2: f32 = rng.gen::<f32>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
}

/// Whether the point `(u, v)` of the shape's unit frame is inside class `label`.
/// `t` is the relative stroke width, `k` the pattern frequency, `ph` its phase.
fn inside(label: usize, u: f32, v: f32, t: f32, k: f32, ph: f32) -> bool {
    let r = (u * u + v * v).sqrt();
    let box_ = u.abs().max(v.abs());
    match label {
        0 => r <= 1.0,
        1 => r <= 1.0 && r >= 1.0 - t,
        2 => box_ <= 0.85,
        3 => box_ <= 0.85 && box_ >= 0.85 - t,
        4 => (u.abs() <= t / 2.0 && v.abs() <= 1.0) || (v.abs() <= t / 2.0 && u.abs() <= 1.0),
        5 => box_ <= 0.85 && ((u - v).abs() <= t * 0.7 || (u + v).abs() <= t * 0.7),
        6 => box_ <= 1.0 && (std::f32::consts::PI * (k * v + ph)).sin() > 0.0,
        7 => box_ <= 1.0 && (std::f32::consts::PI * (k * u + ph)).sin() > 0.0,
        8 => v.abs() <= 0.9 && u.abs() <= (v + 0.9) / 1.8 * 0.95,
        _ => {
            box_ <= 1.0
                && ((k * 0.5 * (u + 1.0)).floor() + (k * 0.5 * (v + 1.0)).floor()) as i64 % 2 == 0
        }
    }
}

/// Draws image `index` of a split into `out` (`SIDE * SIDE` values) and returns its label.
fn draw(seed: u64, split: u64, index: usize, out: &mut [f32]) -> usize {
    let mut rng = rng_for(seed, split, index as u64);
    let label = index % NUM_CLASSES;
    let s = SIDE as f32;
    let scale = rng.gen_range(0.22..0.42) * s;
    let cx = rng.gen_range(scale..s - scale);
    let cy = rng.gen_range(scale..s - scale);
    let angle: f32 = rng.gen_range(-0.35..0.35);
    let (sin, cos) = angle.sin_cos();
    let t = rng.gen_range(0.25..0.45);
    let k = rng.gen_range(2.0..3.5);
    let ph = rng.gen_range(0.0..2.0);
    let bg: f32 = rng.gen_range(0.0..0.35);
    let fg: f32 = bg + rng.gen_range(0.35..0.65) * if rng.gen_bool(0.8) { 1.0 } else { -1.0 };
    for y in 0..SIDE {
        for x in 0..SIDE {
            let dx = (x as f32 + 0.5 - cx) / scale;
            let dy = (y as f32 + 0.5 - cy) / scale;
            let u = cos * dx + sin * dy;
            let v = -sin * dx + cos * dy;
            let base = if inside(label, u, v, t, k, ph) {
                fg
            } else {
                bg
            };
            out[y * SIDE + x] = base + NOISE * normal(&mut rng);
        }
    }
    label
}

fn split(n: usize, seed: u64, which: u64) -> Dataset {
    let mut images = vec![0f32; n * SIDE * SIDE];
    let mut labels = Vec::with_capacity(n);
    for (i, img) in images.chunks_exact_mut(SIDE * SIDE).enumerate() {
        labels.push(draw(seed, which, i, img));
    }
    Dataset {
        c: 1,
        h: SIDE,
        w: SIDE,
        num_classes: NUM_CLASSES,
        images,
        labels,
        bytes: None,
    }
}

/// Generates `n_train` training and `n_test` test images (disjoint random
/// streams) from `seed`. Labels cycle through the classes, so both splits are balanced.
pub fn generate(n_train: usize, n_test: usize, seed: u64) -> (Dataset, Dataset) {
    (split(n_train, seed, 1), split(n_test, seed, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_by_seed_and_balanced() {
        let (a, t) = generate(50, 20, 3);
        let (b, _) = generate(50, 20, 3);
        let (c, _) = generate(50, 20, 4);
        assert_eq!(a.images, b.images);
        assert_ne!(a.images, c.images);
        assert_ne!(a.images[..400], t.images[..400]);
        for k in 0..NUM_CLASSES {
            assert_eq!(a.labels.iter().filter(|&&l| l == k).count(), 5);
        }
        assert!(a.images.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn every_class_draws_something() {
        // Without noise each class must paint a non-trivial part of the frame.
        for label in 0..NUM_CLASSES {
            let mut n = 0;
            for y in -10..=10 {
                for x in -10..=10 {
                    if inside(label, x as f32 / 10.0, y as f32 / 10.0, 0.3, 2.5, 0.5) {
                        n += 1;
                    }
                }
            }
            assert!(n > 20 && n < 441, "class {label} covers {n} of 441 points");
        }
    }
}
