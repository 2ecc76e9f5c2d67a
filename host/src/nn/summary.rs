//! The layer table of `lrate model`: each layer's output shape, parameters and FLOPs
//! (per image, forward; the counting rules are [`ModelSpec::plan`]'s), with totals, and
//! which layers run as one fused native block.

use std::fmt::Write as _;

use super::spec::{LayerSpec, ModelSpec, Planned, SpecError};

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Position (`4.2` inside a residual block).
    pub index: String,
    /// Tensor name prefix.
    pub name: String,
    /// What the layer is.
    pub layer: String,
    /// Output shape per image.
    pub output: String,
    /// Trainable parameters of this layer (a residual block's row: 0; its layers have theirs).
    pub params: usize,
    /// Forward FLOPs per image (a residual block's row: the addition only).
    pub flops: u64,
    /// Part of a fused conv → BN → ReLU (→ max-pool) block.
    pub fused: bool,
}

/// The table of `spec` for `input` and `classes`, and the totals (parameters, FLOPs).
pub fn rows(
    spec: &ModelSpec,
    input: (usize, usize, usize),
    classes: usize,
) -> Result<(Vec<Row>, usize, u64), SpecError> {
    let plan = spec.plan(input, classes)?;
    let mut out = Vec::new();
    flatten(&plan, &mut out);
    let params = out.iter().map(|r| r.params).sum();
    let flops = out.iter().map(|r| r.flops).sum();
    Ok((out, params, flops))
}

fn flatten(plan: &[Planned<'_>], out: &mut Vec<Row>) {
    let mut fused_left = 0;
    for (i, p) in plan.iter().enumerate() {
        if fused_left == 0 {
            fused_left = fused_len(plan, i);
        }
        let fused = fused_left > 0;
        fused_left = fused_left.saturating_sub(1);
        let own = |v: u64| {
            if p.children.is_empty() {
                v
            } else {
                v - p.children.iter().map(|c| c.flops).sum::<u64>()
            }
        };
        out.push(Row {
            index: p.index.clone(),
            name: p.name.clone(),
            layer: p.spec.describe(),
            output: p.output.to_string(),
            params: if p.children.is_empty() { p.params } else { 0 },
            flops: own(p.flops),
            fused,
        });
        flatten(&p.children, out);
    }
}

/// Layers from `i` that [`super::models::build`] fuses into one block (0: none).
fn fused_len(plan: &[Planned<'_>], i: usize) -> usize {
    let at = |k: usize| plan.get(i + k).map(|p| p.spec);
    match at(0) {
        Some(LayerSpec::Conv {
            stride: 1,
            bias: false,
            ..
        }) if matches!(at(1), Some(LayerSpec::Bn { .. }))
            && matches!(at(2), Some(LayerSpec::Relu)) =>
        {
            if matches!(at(3), Some(LayerSpec::MaxPool)) {
                4
            } else {
                3
            }
        }
        _ => 0,
    }
}

/// The table as text, e.g.
/// ```text
/// #     layer                 output       params        FLOPs
/// 1   * conv 3x3 32 s1 p1     32x28x28        288      451 584
/// ```
/// (`*`: runs inside a fused native block).
pub fn render(
    spec: &ModelSpec,
    input: (usize, usize, usize),
    classes: usize,
) -> Result<String, SpecError> {
    let (rows, params, flops) = rows(spec, input, classes)?;
    let (c, h, w) = input;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model {} for input {c}x{h}x{w}, {classes} classes (FLOPs per image, forward; \
         * = fused conv-BN-ReLU(-pool) block)",
        spec.name
    );
    let _ = writeln!(
        s,
        "{:<6} {:<24} {:<20} {:>12} {:>14}",
        "#", "layer", "output", "params", "FLOPs"
    );
    for r in &rows {
        let _ = writeln!(
            s,
            "{:<6} {}{:<23} {:<20} {:>12} {:>14}",
            r.index,
            if r.fused { '*' } else { ' ' },
            r.layer,
            r.output,
            group(r.params as u64),
            group(r.flops)
        );
    }
    let _ = writeln!(
        s,
        "{:<6} {:<24} {:<20} {:>12} {:>14}",
        "total",
        "",
        "",
        group(params as u64),
        group(flops)
    );
    Ok(s)
}

/// `1234567` → `1 234 567`.
fn group(v: u64) -> String {
    let d = v.to_string();
    let mut out = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}
