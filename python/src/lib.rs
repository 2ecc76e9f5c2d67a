//! `lrate._lrate`: the compiled half of the `lrate` Python package (PyO3, abi3, Python ≥ 3.9).
//!
//! It exposes lrate-core as it is, with no second implementation: [`Schedule`] holds any
//! closed-form schedule ([`AnySchedule`], built from the JSON of lrate-core's serde format,
//! so every validation error is core's [`lrate_core::ConfigError`], raised as `ValueError`
//! naming the field); `from_torch` maps a PyTorch scheduler class and its arguments with
//! `lrate-compat` (the mapping the parity tests use); [`RangeTest`] is core's range-test
//! state machine. The Python side (`python/lrate/`) adds one class per schedule, numpy
//! arrays, `lrate.torch.LRScheduler` and `lrate.torch.lr_find`.

use lrate_core::{
    AnySchedule, BoundsRule, NonFinite, RangeTestConfig, Schedule as _, Status, StopReason,
    Suggestion,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The most batches a Python range test records (its fixed capacity).
pub const MAX_RANGE_TEST_BATCHES: usize = 4096;

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A Python int as a step (`0 ..= u32::MAX`), else `ValueError` naming `what`.
fn step_of(step: i64, what: &str) -> PyResult<u32> {
    u32::try_from(step).map_err(|_| {
        value_error(format!(
            "{what} must be an integer in 0..={}, got {step}",
            u32::MAX
        ))
    })
}

/// A closed-form schedule: `lr(step)` and `momentum(step)` are pure functions of the step.
#[pyclass(module = "lrate._lrate", frozen)]
#[derive(Clone)]
pub struct Schedule {
    inner: AnySchedule<f64>,
}

#[pymethods]
impl Schedule {
    /// Builds a schedule from lrate-core's JSON (`{"one_cycle": {"max_lr": 0.4, ...}}`);
    /// `ValueError` naming the field for a bad value, an unknown kind or an unknown key.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        serde_json::from_str::<AnySchedule<f64>>(text)
            .map(|inner| Schedule { inner })
            .map_err(value_error)
    }

    /// lrate-core's JSON of this schedule (what `from_json` reads back).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(value_error)
    }

    /// The schedule's kind (`"one_cycle"`, …).
    fn kind(&self) -> &'static str {
        self.inner.name()
    }

    /// The learning rate at `step` (0-based).
    fn lr(&self, step: i64) -> PyResult<f64> {
        Ok(self.inner.lr(step_of(step, "step")?))
    }

    /// The momentum (SGD) or β1 (Adam) at `step`; `None` where the schedule does not
    /// cycle momentum.
    fn momentum(&self, step: i64) -> PyResult<Option<f64>> {
        Ok(self.inner.momentum(step_of(step, "step")?))
    }

    /// `(lr(step), momentum(step))` in one call (the scheduler's hot path).
    fn lr_and_momentum(&self, step: i64) -> PyResult<(f64, Option<f64>)> {
        let t = step_of(step, "step")?;
        Ok((self.inner.lr(t), self.inner.momentum(t)))
    }

    /// `lr` of every step in `steps`.
    fn lr_many(&self, steps: Vec<i64>) -> PyResult<Vec<f64>> {
        steps
            .into_iter()
            .map(|s| Ok(self.inner.lr(step_of(s, "step")?)))
            .collect()
    }

    /// `momentum` of every step in `steps` (`None` where the schedule has none).
    fn momentum_many(&self, steps: Vec<i64>) -> PyResult<Option<Vec<f64>>> {
        let mut out = Vec::with_capacity(steps.len());
        for s in steps {
            match self.inner.momentum(step_of(s, "step")?) {
                Some(m) => out.push(m),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// The steps the schedule is defined for (`total_steps` and the like), if it has an end.
    fn natural_length(&self) -> Option<u32> {
        self.inner.natural_length()
    }

    fn __repr__(&self) -> String {
        format!(
            "Schedule({})",
            serde_json::to_string(&self.inner).unwrap_or_default()
        )
    }
}

/// Maps PyTorch scheduler `class_name` with its arguments (JSON object text) onto an
/// lrate schedule; `base_lr` is the optimizer's initial lr. `ValueError` for an unknown
/// class, an argument the mapping does not read, or a value core refuses.
/// `ReduceLROnPlateau` returns a [`Plateau`] instead (it is fed a metric, not the step).
#[pyfunction]
fn from_torch(
    py: Python<'_>,
    class_name: &str,
    args_json: &str,
    base_lr: f64,
) -> PyResult<PyObject> {
    let args: serde_json::Value = serde_json::from_str(args_json).map_err(value_error)?;
    match lrate_compat::pytorch_schedule::<f64>(class_name, &args, base_lr).map_err(value_error)? {
        lrate_compat::Built::Closed(s) => Ok(Py::new(py, Schedule { inner: *s })?.into_any()),
        lrate_compat::Built::Plateau(p) => Ok(Py::new(py, Plateau { inner: p })?.into_any()),
    }
}

/// lrate-core's reduce-on-plateau (PyTorch `ReduceLROnPlateau`): `step(metric)` after each
/// evaluation gives the next lr.
#[pyclass(module = "lrate._lrate")]
pub struct Plateau {
    inner: lrate_core::ReduceOnPlateau<f64>,
}

#[pymethods]
impl Plateau {
    /// The current lr.
    fn lr(&self) -> f64 {
        self.inner.lr()
    }

    /// Feeds one metric value; returns the lr from now on.
    fn step(&mut self, metric: f64) -> f64 {
        self.inner.step(metric)
    }
}

/// lrate-core's LR range test: ask `next_lr()`, train one batch at it, `record(loss)`,
/// until `record` returns `"done"`; then read `suggest(rule)` or `bounds(rule, div)`.
#[pyclass(module = "lrate._lrate")]
pub struct RangeTest {
    inner: Box<lrate_core::RangeTest<f64, MAX_RANGE_TEST_BATCHES>>,
}

fn suggestion(rule: &str) -> PyResult<Suggestion> {
    Ok(match rule {
        "minimum" => Suggestion::Minimum,
        "steep" => Suggestion::Steep,
        "valley" => Suggestion::Valley,
        "slide" => Suggestion::Slide,
        "steepest" => Suggestion::Steepest,
        other => {
            return Err(value_error(format!(
                "unknown rule {other:?}: expected minimum, steep, valley, slide or steepest \
                 (bounds also takes near-min and near-min:F)"
            )))
        }
    })
}

#[pymethods]
impl RangeTest {
    /// `preset` `"fastai"` (EMA β = 0.98, stop at 4× the best loss) or `"torch-lr-finder"`
    /// (`smooth_f` 0.05, 5×); an exponential sweep from `start_lr` to `end_lr` over
    /// `num_iter` batches. `non_finite="stop"` stops at the first NaN/inf loss (the
    /// presets' rule).
    #[new]
    #[pyo3(signature = (start_lr=1e-7, end_lr=10.0, num_iter=100, preset="fastai"))]
    fn new(start_lr: f64, end_lr: f64, num_iter: i64, preset: &str) -> PyResult<Self> {
        let base = match preset {
            "fastai" => RangeTestConfig::<f64>::fastai(),
            "torch-lr-finder" | "torch_lr_finder" => RangeTestConfig::<f64>::torch_lr_finder(),
            other => {
                return Err(value_error(format!(
                    "preset: unknown {other:?}, expected \"fastai\" or \"torch-lr-finder\""
                )))
            }
        };
        let n = step_of(num_iter, "num_iter")?;
        if n as usize > MAX_RANGE_TEST_BATCHES {
            return Err(value_error(format!(
                "num_iter must be at most {MAX_RANGE_TEST_BATCHES}, got {n}"
            )));
        }
        let cfg = base.range(start_lr, end_lr, n).non_finite(NonFinite::Stop);
        lrate_core::RangeTest::new(cfg)
            .map(|t| RangeTest { inner: Box::new(t) })
            .map_err(value_error)
    }

    /// The lr of the next batch; `None` once the test has ended.
    fn next_lr(&self) -> Option<f64> {
        self.inner.next_lr()
    }

    /// Records the loss of the batch trained at `next_lr()`: `"continue"` or `"done"`.
    fn record(&mut self, loss: f64) -> &'static str {
        match self.inner.record(loss) {
            Status::Continue => "continue",
            Status::Done(_) => "done",
        }
    }

    /// Why the test ended (`"finished"`, `"diverged"`, `"non_finite"`), or `None`.
    fn stop_reason(&self) -> Option<&'static str> {
        match self.inner.status() {
            Status::Continue => None,
            Status::Done(StopReason::Finished) => Some("finished"),
            Status::Done(StopReason::Diverged) => Some("diverged"),
            Status::Done(StopReason::NonFinite) => Some("non_finite"),
        }
    }

    /// The recorded curve: `(lrs, raw losses, smoothed losses)`, `None` for a non-finite
    /// loss.
    #[allow(clippy::type_complexity)]
    fn curve(&self) -> (Vec<f64>, Vec<Option<f64>>, Vec<Option<f64>>) {
        let c = self.inner.curve();
        (
            c.iter().map(|p| p.lr).collect(),
            c.iter().map(|p| p.raw_loss).collect(),
            c.iter().map(|p| p.loss).collect(),
        )
    }

    /// The lr a fastai / torch-lr-finder rule reads off the curve: `minimum`, `steep`,
    /// `valley`, `slide` or `steepest`; `None` when the curve gives none.
    fn suggest(&self, rule: &str) -> PyResult<Option<f64>> {
        Ok(self.inner.suggest(suggestion(rule)?))
    }

    /// `(min_lr, max_lr)` with `max_lr` from `rule` (a suggestion rule, or `near-min` /
    /// `near-min:F`, core's calibrated default for SGD) and `min_lr = max_lr / div`
    /// (`div` in [3, 10]); `None` when the curve gives no `max_lr`.
    #[pyo3(signature = (rule="near-min", div=4.0))]
    fn bounds(&self, rule: &str, div: f64) -> PyResult<Option<(f64, f64)>> {
        let rule: BoundsRule = rule.parse().map_err(value_error)?;
        if self.inner.max_lr_by(rule).is_none() {
            return Ok(None);
        }
        self.inner
            .bounds_by(rule, div)
            .map(|b| Some((b.min_lr, b.max_lr)))
            .map_err(value_error)
    }

    /// Batches recorded.
    fn batches(&self) -> u32 {
        self.inner.batches()
    }
}

/// The module.
#[pymodule]
fn _lrate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Schedule>()?;
    m.add_class::<RangeTest>()?;
    m.add_class::<Plateau>()?;
    m.add_function(wrap_pyfunction!(from_torch, m)?)?;
    m.add("MAX_RANGE_TEST_BATCHES", MAX_RANGE_TEST_BATCHES)?;
    Ok(())
}
