//! A small deterministic PRNG (SplitMix64, Steele, Lea & Flood, OOPSLA 2014).
//!
//! Everything random in the firmware (sample synthesis, fault injection, batch
//! order) comes from here, so a run is reproducible from its seed on the host and
//! in QEMU alike.

/// SplitMix64 generator: `z = (s += 0x9E3779B97F4A7C15)`, then two xor-shift-multiply
/// rounds.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 24 bits of resolution.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `[0, n)`; `n = 0` gives 0.
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    /// Standard normal deviate by the Box–Muller transform,
    /// `sqrt(-2 ln u1) · cos(2π u2)`.
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(2.0 * core::f32::consts::PI * u2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut sum = 0.0f64;
        let mut sq = 0.0f64;
        for _ in 0..20_000 {
            let u = a.uniform();
            assert_eq!(u.to_bits(), b.uniform().to_bits());
            assert!((0.0..1.0).contains(&u));
            assert!(a.below(10) < 10);
            b.below(10);
            let n = a.normal() as f64;
            b.normal();
            sum += n;
            sq += n * n;
        }
        let mean = sum / 20_000.0;
        let var = sq / 20_000.0 - mean * mean;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
