//! `lr_find.csv`, `lr_find.json` and the plot of a range test.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::outcome::Outcome;
use crate::checkpoint::write_atomic;
use crate::plot;

/// The CSV: one row per recorded batch of any sweep, in batch order, with the mean curve
/// (`loss`, `smoothed_loss`: means over the sweeps), its spread (`smoothed_min`,
/// `smoothed_max`, `smoothed_sd`) and each sweep's own raw and smoothed loss
/// (`sweepK_loss`, `sweepK_smoothed`, from 1). Empty cells: not recorded, or not finite.
pub fn csv(o: &Outcome) -> String {
    let opt = |v: Option<f32>| v.map_or(String::new(), |v| v.to_string());
    let mut head = String::from("lr,loss,smoothed_loss,smoothed_min,smoothed_max,smoothed_sd");
    for k in 1..=o.sweeps.len() {
        let _ = write!(head, ",sweep{k}_loss,sweep{k}_smoothed");
    }
    // batch -> (lr, cells after lr)
    let n = 5 + 2 * o.sweeps.len();
    let mut rows: BTreeMap<u32, (f32, Vec<String>)> = BTreeMap::new();
    fn row(
        rows: &mut BTreeMap<u32, (f32, Vec<String>)>,
        n: usize,
        batch: u32,
        lr: f32,
    ) -> &mut Vec<String> {
        &mut rows.entry(batch).or_insert((lr, vec![String::new(); n])).1
    }
    for p in &o.rows {
        let r = row(&mut rows, n, p.batch, p.lr);
        r[0] = opt(p.raw_loss);
        r[1] = opt(p.loss);
    }
    for b in &o.band {
        let r = row(&mut rows, n, b.batch, b.lr);
        r[2] = b.min.to_string();
        r[3] = b.max.to_string();
        r[4] = b.sd.to_string();
    }
    for (k, s) in o.sweeps.iter().enumerate() {
        for p in &s.curve {
            let r = row(&mut rows, n, p.batch, p.lr);
            r[5 + 2 * k] = opt(p.raw_loss);
            r[6 + 2 * k] = opt(p.loss);
        }
    }
    let mut out = head + "\n";
    for (lr, cells) in rows.values() {
        let _ = writeln!(out, "{lr:e},{}", cells.join(","));
    }
    out
}

/// Writes `lr_find.csv`, `lr_find.json` and `lr_find.svg` (+ `.png`) into `dir`.
pub fn write(dir: &Path, o: &Outcome) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    write_atomic(&dir.join("lr_find.csv"), csv(o).as_bytes())?;
    write_atomic(
        &dir.join("lr_find.json"),
        serde_json::to_string_pretty(o)?.as_bytes(),
    )?;
    plot_curve(dir, o)
}

fn plot_curve(dir: &Path, o: &Outcome) -> Result<()> {
    let lrs: Vec<f64> = o.rows.iter().map(|r| f64::from(r.lr)).collect();
    let nan = |v: Option<f32>| v.map_or(f64::NAN, f64::from);
    let raw: Vec<f64> = o.rows.iter().map(|r| nan(r.raw_loss)).collect();
    let sm: Vec<f64> = o.rows.iter().map(|r| nan(r.loss)).collect();
    let band: Vec<(f64, f64, f64)> = if o.sweeps.len() > 1 {
        o.band
            .iter()
            .map(|b| (f64::from(b.lr), f64::from(b.min), f64::from(b.max)))
            .collect()
    } else {
        Vec::new()
    };
    let span = |lo: Option<f32>, hi: Option<f32>| match (lo, hi) {
        (Some(lo), Some(hi)) if o.sweeps.len() > 1 => Some((f64::from(lo), f64::from(hi))),
        _ => None,
    };
    let chosen = o.pick.map(|p| {
        (
            format!("max_lr by {} ({})", o.bounds_rule, p.source),
            Some(p.max_lr),
            span(p.low, p.high),
        )
    });
    let markers: Vec<plot::Marker> = chosen
        .into_iter()
        .chain(
            o.rules
                .iter()
                .skip(1)
                .map(|r| (r.rule.to_string(), r.mean_curve, span(r.low, r.high))),
        )
        .filter_map(|(n, v, span)| {
            let lr = f64::from(v?);
            // On the smoothed curve at the nearest recorded point.
            let near = lrs
                .iter()
                .zip(&sm)
                .filter(|(_, s)| s.is_finite())
                .min_by(|a, b| {
                    (a.0.ln() - lr.ln())
                        .abs()
                        .total_cmp(&(b.0.ln() - lr.ln()).abs())
                })?;
            Some(plot::Marker {
                name: format!("{n} {lr:.2e}"),
                lr,
                loss: *near.1,
                span,
            })
        })
        .collect();
    plot::lr_find(
        &dir.join("lr_find.svg"),
        &lrs,
        &raw,
        &sm,
        &band,
        &markers,
        o.bounds.map(|b| (f64::from(b.min_lr), f64::from(b.max_lr))),
    )
}
