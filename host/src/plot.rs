//! Plots as SVG (plotters' SVG backend) with a PNG copy beside each (the SVG rendered by
//! resvg with a bundled font, DejaVu Sans, so no system font is needed): the range-test
//! curve in the style of fastai's `Recorder.plot_lr_find`, and stacked
//! lr / momentum / loss panels against the step.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{anyhow, Context, Result};
use resvg::{tiny_skia, usvg};

use lrate_core::{Smoother, Smoothing};

use crate::checkpoint::write_atomic;
use plotters::prelude::*;

use crate::metrics::{Metrics, StepRow};

/// One curve of a panel.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Colour index into the palette.
    pub color: usize,
    /// Thin, faint line (e.g. raw loss under its smoothed version).
    pub faint: bool,
}

/// One panel of a stacked plot.
pub struct Panel {
    /// Y-axis label.
    pub y_label: String,
    /// Curves.
    pub series: Vec<Series>,
}

/// A point marked on the range-test plot.
pub struct Marker {
    /// Label (e.g. `valley 3.2e-2`).
    pub name: String,
    /// Learning rate.
    pub lr: f64,
    /// Loss at that learning rate.
    pub loss: f64,
    /// The rule's range over several sweeps (lowest, highest pick), drawn as a bar.
    pub span: Option<(f64, f64)>,
}

/// matplotlib's `tab10` palette.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Colours of the range-test markers: every palette entry except the curve's (0) and the
/// bounds band's (2), so no two markers (up to 8) share a colour.
fn marker_color(i: usize) -> RGBColor {
    const MARKERS: [usize; 8] = [3, 1, 4, 5, 6, 7, 8, 9];
    color(MARKERS[i % MARKERS.len()])
}

/// The bundled font: DejaVu Sans (Bitstream Vera licence, `host/assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// The PNG written beside a plot whose SVG is at `svg`: the same name with `.png`.
pub fn png_path(svg: &Path) -> PathBuf {
    svg.with_extension("png")
}

/// Renders SVG text to PNG bytes of the same size.
fn render_png(svg: &str) -> Result<Vec<u8>> {
    let opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).context("cannot parse the plot's SVG")?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).context("empty plot")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().context("cannot encode PNG")
}

/// Writes a drawn plot: the SVG text to `path` and its PNG rendering to [`png_path`], each
/// atomically.
fn save(path: &Path, svg: &str) -> Result<()> {
    write_atomic(path, svg.as_bytes())?;
    let png = render_png(svg).with_context(|| format!("{}: PNG copy", path.display()))?;
    write_atomic(&png_path(path), &png)
}

fn err<E: std::fmt::Debug>(path: &Path) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |e| anyhow!("{}: cannot draw plot: {e:?}", path.display())
}

/// Range of the finite values, padded by 5 %; a flat or empty range is widened.
fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = lo.abs().max(1e-3) * 0.1;
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Splits `pts` into the runs of consecutive points whose `y` lies in `[lo, hi]`.
fn inside_runs(pts: &[(f64, f64)], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for &(x, y) in pts {
        if (lo..=hi).contains(&y) {
            if !open {
                runs.push(Vec::new());
                open = true;
            }
            if let Some(r) = runs.last_mut() {
                r.push((x, y));
            }
        } else {
            open = false;
        }
    }
    runs
}

/// Loss against learning rate on a log axis: the raw loss faint, the smoothed
/// loss solid with `band` (`(lr, lowest, highest)` smoothed loss over several
/// sweeps) shaded around it, each marker a dot with its label and its span over
/// the sweeps as a bar, `bounds` as a shaded band.
pub fn lr_find(
    path: &Path,
    lrs: &[f64],
    raw: &[f64],
    smoothed: &[f64],
    band: &[(f64, f64, f64)],
    markers: &[Marker],
    bounds: Option<(f64, f64)>,
) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err(path))?;
        let pts = |ys: &[f64]| -> Vec<(f64, f64)> {
            lrs.iter()
                .zip(ys)
                .filter(|(x, y)| x.is_finite() && **x > 0.0 && y.is_finite())
                .map(|(x, y)| (*x, *y))
                .collect()
        };
        let raw_pts = pts(raw);
        let smooth_pts = pts(smoothed);
        let (xlo, xhi) = {
            let lo = lrs
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            let hi = lrs.iter().copied().fold(0.0, f64::max);
            if lo.is_finite() && hi > lo {
                (lo, hi)
            } else {
                (1e-7, 10.0)
            }
        };
        // Like fastai, the top of the y range is what the smoothed curve shows (the raw loss of
        // the final divergence would flatten everything else); the bottom also takes in the raw
        // loss, which dips below its average.
        let (slo, yhi) = range(smooth_pts.iter().map(|p| p.1));
        let raw_min = raw_pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let ylo = if raw_min < slo {
            let (lo, _) = range([raw_min, yhi].into_iter());
            lo
        } else {
            slo
        };
        let mut chart = ChartBuilder::on(&root)
            .caption("LR range test", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((xlo..xhi).log_scale(), ylo..yhi)
            .map_err(err(path))?;
        chart
            .configure_mesh()
            .x_desc("learning rate (log scale)")
            .y_desc("loss")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(err(path))?;
        if let Some((lo, hi)) = bounds {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(lo, ylo), (hi, yhi)],
                    color(2).mix(0.12).filled(),
                )))
                .map_err(err(path))?
                .label(format!("bounds {lo:.2e} .. {hi:.2e}"))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], color(2).mix(0.3).filled())
                });
        }
        let clipped = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
            v.iter().map(|&(x, y)| (x, y.clamp(ylo, yhi))).collect()
        };
        let band: Vec<(f64, f64, f64)> = band
            .iter()
            .copied()
            .filter(|(x, lo, hi)| *x > 0.0 && x.is_finite() && lo.is_finite() && hi.is_finite())
            .collect();
        if band.len() > 1 {
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|&(x, lo, _)| (x, lo.clamp(ylo, yhi)))
                .chain(band.iter().rev().map(|&(x, _, hi)| (x, hi.clamp(ylo, yhi))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color(0).mix(0.18).filled(),
                )))
                .map_err(err(path))?
                .label("smoothed loss, min-max over sweeps")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], color(0).mix(0.25).filled())
                });
        }
        // The raw loss is drawn only inside the axes: a line per run of points in the y range,
        // broken where it leaves it (not flattened onto the border).
        let raw_style = color(0).mix(0.3);
        chart
            .draw_series(
                inside_runs(&raw_pts, ylo, yhi)
                    .into_iter()
                    .map(|run| PathElement::new(run, raw_style)),
            )
            .map_err(err(path))?
            .label("loss")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], raw_style));
        chart
            .draw_series(LineSeries::new(
                clipped(&smooth_pts),
                color(0).stroke_width(2),
            ))
            .map_err(err(path))?
            .label("smoothed loss")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], color(0).stroke_width(2)));
        for (i, m) in markers.iter().enumerate() {
            if !(m.lr.is_finite() && m.lr > 0.0 && m.loss.is_finite()) {
                continue;
            }
            let c = marker_color(i);
            let y = m.loss.clamp(ylo, yhi);
            if let Some((lo, hi)) = m.span.filter(|(lo, hi)| *lo > 0.0 && hi >= lo) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, y), (hi, y)],
                        c.stroke_width(3),
                    )))
                    .map_err(err(path))?;
            }
            chart
                .draw_series(std::iter::once(Circle::new((m.lr, y), 6, c.filled())))
                .map_err(err(path))?
                .label(m.name.clone())
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err(path))?;
        root.present().map_err(err(path))?;
    }
    save(path, &svg)
}

/// Panels stacked vertically, sharing the x axis (`x_label`).
pub fn panels(path: &Path, title: &str, x_label: &str, panels: &[Panel]) -> Result<()> {
    let h = 60 + 260 * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err(path))?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(err(path))?;
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (panel, area) in panels.iter().zip(areas) {
            let all = || panel.series.iter().flat_map(|s| s.points.iter());
            let (xlo, xhi) = range(all().map(|p| p.0));
            let (ylo, yhi) = range(all().map(|p| p.1));
            let mut chart = ChartBuilder::on(&area)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(xlo..xhi, ylo..yhi)
                .map_err(err(path))?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_desc(panel.y_label.as_str())
                .y_label_formatter(&|v| {
                    if v.abs() >= 1e-2 || *v == 0.0 {
                        format!("{v:.3}")
                    } else {
                        format!("{v:.1e}")
                    }
                })
                .draw()
                .map_err(err(path))?;
            for s in &panel.series {
                let c = color(s.color);
                let style = if s.faint {
                    c.mix(0.35).stroke_width(1)
                } else {
                    c.stroke_width(2)
                };
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(err(path))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
            }
            if panel.series.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(err(path))?;
            }
        }
        root.present().map_err(err(path))?;
    }
    save(path, &svg)
}

/// Draws `training.svg`: lr, momentum, loss and test accuracy against the step.
pub fn metrics(m: &Metrics, path: &Path) -> Result<()> {
    let pts = |f: &dyn Fn(&StepRow) -> f32| -> Vec<(f64, f64)> {
        m.steps
            .iter()
            .map(|r| (f64::from(r.step), f64::from(f(r))))
            .collect()
    };
    // The range test's smoothing (fastai's debiased EMA, β = 0.98), from lrate-core; a NaN/inf
    // loss leaves it unchanged.
    let mut smoother = Smoother::new(Smoothing::Debiased { beta: 0.98f64 })
        .map_err(|e| anyhow!("loss smoothing: {e}"))?;
    let ema: Vec<(f64, f64)> = m
        .steps
        .iter()
        .filter_map(|r| {
            smoother.update(f64::from(r.loss));
            Some((f64::from(r.step), smoother.value()?))
        })
        .collect();
    let series = |name: &str, points, color, faint| Series {
        name: name.into(),
        points,
        color,
        faint,
    };
    let mut stack = vec![
        Panel {
            y_label: "learning rate".into(),
            series: vec![series("lr", pts(&|r| r.lr), 0, false)],
        },
        Panel {
            y_label: "momentum / beta1".into(),
            series: vec![series("momentum", pts(&|r| r.momentum), 1, false)],
        },
        Panel {
            y_label: "training loss".into(),
            series: vec![
                series("batch loss", pts(&|r| r.loss), 2, true),
                series("smoothed (0.98)", ema, 2, false),
            ],
        },
    ];
    if !m.epochs.is_empty() {
        stack.push(Panel {
            y_label: "test accuracy".into(),
            series: vec![series(
                "test accuracy",
                m.epochs
                    .iter()
                    .map(|e| (f64::from(e.step), f64::from(e.test_acc)))
                    .collect(),
                3,
                false,
            )],
        });
    }
    panels(path, "lrate training", "step", &stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_svgs() {
        let d = tempfile::tempdir().unwrap();
        let lrs: Vec<f64> = (0..50).map(|i| 1e-6 * 10f64.powf(i as f64 / 7.0)).collect();
        let loss: Vec<f64> = (0..50)
            .map(|i| 2.3 - (i as f64 / 30.0).min(1.0) + if i > 45 { f64::NAN } else { 0.0 })
            .collect();
        let p = d.path().join("f.svg");
        lr_find(
            &p,
            &lrs,
            &loss,
            &loss,
            &[(1e-5, 2.0, 2.4), (1e-4, 1.9, 2.2), (1e-3, 1.4, 1.6)],
            &[Marker {
                name: "valley".into(),
                lr: 1e-3,
                loss: 1.5,
                span: Some((5e-4, 2e-3)),
            }],
            Some((1e-4, 1e-2)),
        )
        .unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.starts_with("<svg") && s.contains("valley") && s.contains("<polyline"));
        assert!(
            s.contains("min-max over sweeps") && s.contains("<polygon"),
            "the band"
        );
        let p2 = d.path().join("p.svg");
        panels(
            &p2,
            "t",
            "step",
            &[Panel {
                y_label: "lr".into(),
                series: vec![Series {
                    name: "lr".into(),
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                    color: 0,
                    faint: false,
                }],
            }],
        )
        .unwrap();
        assert!(std::fs::read_to_string(&p2).unwrap().contains("<polyline"));
        // The PNG copies: same size as the SVG, and the caption's text is drawn (dark pixels
        // in the title strip, which only the bundled font can put there).
        let png = tiny_skia::Pixmap::load_png(png_path(&p)).unwrap();
        assert_eq!((png.width(), png.height()), (900, 560));
        let dark_in_title = (0..900 * 30)
            .filter(|i| {
                let px = png.pixels()[*i];
                px.red() < 100 && px.green() < 100 && px.blue() < 100
            })
            .count();
        assert!(
            dark_in_title > 50,
            "no caption text in the PNG ({dark_in_title})"
        );
        let png2 = tiny_skia::Pixmap::load_png(png_path(&p2)).unwrap();
        assert_eq!((png2.width(), png2.height()), (900, 320));
    }

    #[test]
    fn raw_loss_is_split_where_it_leaves_the_axes() {
        let pts = [(1.0, 1.0), (2.0, 5.0), (3.0, 1.5), (4.0, 1.2), (5.0, -3.0)];
        let runs = inside_runs(&pts, 0.0, 2.0);
        assert_eq!(runs, vec![vec![(1.0, 1.0)], vec![(3.0, 1.5), (4.0, 1.2)]]);
        assert!(inside_runs(&pts, 10.0, 11.0).is_empty());
    }

    #[test]
    fn markers_never_share_a_colour_with_each_other_or_the_curve() {
        let cs: Vec<RGBColor> = (0..8).map(marker_color).collect();
        for (i, a) in cs.iter().enumerate() {
            assert!(*a != color(0) && *a != color(2), "marker {i}");
            assert!(cs[i + 1..].iter().all(|b| b != a), "marker {i}");
        }
    }
}
