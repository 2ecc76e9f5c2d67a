//! `torch.optim.SGD` (dampening 0): `g ← ∇ + λ·p`; when `μ ≠ 0`: `buf ← g` on its first use,
//! else `buf ← μ·buf + g`; then `g ← g + μ·buf` (Nesterov) or `g ← buf`; finally
//! `p ← p − η·g`.

/// Per-step hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct Hyper {
    /// Learning rate η.
    pub lr: f32,
    /// Momentum μ.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay λ.
    pub weight_decay: f32,
}

/// A step without momentum (`μ = 0`, no buffer).
pub fn step_plain(p: &mut [f32], g: &[f32], h: &Hyper) {
    for (p, &g) in p.iter_mut().zip(g) {
        *p -= h.lr * (g + h.weight_decay * *p);
    }
}

/// The first step with momentum: returns the new buffer (`buf = g + λ·p`).
pub fn first_step(p: &mut [f32], g: &[f32], h: &Hyper) -> Vec<f32> {
    let buf: Vec<f32> = p
        .iter()
        .zip(g)
        .map(|(&p, &g)| g + h.weight_decay * p)
        .collect();
    for (p, &b) in p.iter_mut().zip(&buf) {
        let d = if h.nesterov { b + h.momentum * b } else { b };
        *p -= h.lr * d;
    }
    buf
}

/// A later step with momentum buffer `buf`.
pub fn step(p: &mut [f32], g: &[f32], buf: &mut [f32], h: &Hyper) {
    for ((p, &g), b) in p.iter_mut().zip(g).zip(buf) {
        let gi = g + h.weight_decay * *p;
        let bi = h.momentum * *b + gi;
        *b = bi;
        *p -= h.lr * if h.nesterov { gi + h.momentum * bi } else { bi };
    }
}
