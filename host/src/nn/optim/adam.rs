//! `torch.optim.Adam` (L2 weight decay added to the gradient, Kingma & Ba 2015):
//! `t ← t + 1`, `g ← ∇ + λ·p`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `p ← p − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`; β₁ is read at every step, as PyTorch
//! does when a scheduler changes `betas`.

/// Per-step hyper-parameters of Adam and AdamW.
#[derive(Debug, Clone, Copy)]
pub struct Hyper {
    /// Learning rate η.
    pub lr: f32,
    /// β₁ of this step.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub eps: f32,
    /// Weight decay λ (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f32,
    /// The step number `t ≥ 1` of the bias corrections.
    pub t: u64,
}

impl Hyper {
    /// PyTorch's `step_size = lr / (1 − β₁ᵗ)` and `√(1 − β₂ᵗ)`, computed in f64 (Python
    /// floats) and rounded once.
    pub fn corrections(&self) -> (f32, f32) {
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let bc1 = 1.0 - f64::from(self.beta1).powi(t);
        let bc2 = 1.0 - f64::from(self.beta2).powi(t);
        ((f64::from(self.lr) / bc1) as f32, bc2.sqrt() as f32)
    }
}

/// One Adam step of `p` with moments `m`, `v`.
pub fn step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &Hyper) {
    let (step_size, sbc2) = h.corrections();
    let (b1, b2) = (h.beta1, h.beta2);
    for i in 0..p.len() {
        let gi = g[i] + h.weight_decay * p[i];
        let mi = b1 * m[i] + (1.0 - b1) * gi;
        let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (vi.sqrt() / sbc2 + h.eps);
    }
}
