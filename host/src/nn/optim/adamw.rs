//! `torch.optim.AdamW` (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019):
//! `p ← p·(1 − η·λ)`, then Adam without L2: `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`, in PyTorch's op order
//! (`_single_tensor_adamw`: `mul_`, `exp_avg.lerp_`, `mul_().addcmul_`, `addcdiv_`).

use super::adam::Hyper;
use super::schedule_free::lerp;

/// One AdamW step of `p` with moments `m`, `v`.
pub fn step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &Hyper) {
    let (step_size, sbc2) = h.corrections();
    // Python floats: `1 − lr·λ`, `1 − β₁` and `1 − β₂` in f64, rounded to the tensor's f32.
    let decay = (1.0 - f64::from(h.lr) * f64::from(h.weight_decay)) as f32;
    let w1 = (1.0 - f64::from(h.beta1)) as f32;
    let w2 = (1.0 - f64::from(h.beta2)) as f32;
    for i in 0..p.len() {
        let pi = p[i] * decay;
        let mi = lerp(m[i], g[i], w1);
        let vi = v[i] * h.beta2 + w2 * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * mi / (vi.sqrt() / sbc2 + h.eps);
    }
}
