//! PyTorch's default initialisation.
//!
//! `nn.Conv2d` and `nn.Linear` weights: `kaiming_uniform_(a = √5)`, i.e.
//! `U(−b, b)` with `b = gain·√(3/fan_in)`, `gain = √(2/(1 + a²))`, which is `b = 1/√fan_in`;
//! `nn.Linear` bias: `U(−1/√fan_in, 1/√fan_in)`. `nn.BatchNorm2d`: weight 1, bias 0, running
//! mean 0, running variance 1.

use rand::{rngs::StdRng, Rng};

/// `n` values from `U(−1/√fan_in, 1/√fan_in)` (PyTorch's conv/linear default).
pub fn kaiming_uniform_a_sqrt5(n: usize, fan_in: usize, rng: &mut StdRng) -> Vec<f32> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.gen_range(-bound..bound)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bound_and_spread_match_pytorch_formula() {
        let mut rng = StdRng::seed_from_u64(0);
        let v = kaiming_uniform_a_sqrt5(20000, 25, &mut rng);
        assert!(v.iter().all(|x| x.abs() < 0.2));
        // Variance of U(−b, b) is b²/3 = 0.04/3.
        let var = v.iter().map(|x| (x * x) as f64).sum::<f64>() / v.len() as f64;
        assert!((var - 0.04 / 3.0).abs() < 0.001, "{var}");
    }
}
