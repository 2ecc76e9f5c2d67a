//! Parity of lrate's optimizers with PyTorch (`SGD`, `Adam`, `AdamW`) and `schedulefree` 1.x
//! (`SGDScheduleFree`, `AdamWScheduleFree`): every case of the golden file
//! (`tests/golden/optimizers.json`, or the file named by env `LRATE_OPTIM_GOLDEN`; a missing
//! file fails the test) is mapped from its optimizer name and arguments to an lrate
//! [`OptimizerKind`] and run with lrate's host [`Optimizer`] in f32 on the file's quadratic,
//! `grad(w, t)_i = a_i·(w_i − b_i) + 0.1·sin(1.7·t + i)`. The parameters after every step
//! (`w`; `y` for schedule-free) and, for schedule-free, the evaluation point `x` are compared
//! within a relative 1e-4 (absolute 1e-6 near 0).
//!
//! An unknown optimizer, library or argument fails the test. Run with `--nocapture` to see
//! `parity: K/N cases`.

use lrate::nn::{Optimizer, OptimizerKind};
use lrate_tests::reference::{golden_path, load, numbers, Args};
use serde_json::Value;

/// Relative tolerance (the reference runs in f64, lrate in f32).
const REL: f64 = 1e-4;
/// Absolute tolerance near 0.
const ABS: f64 = 1e-6;

/// A case mapped onto lrate: the kind, its base lr and its momentum / β₁.
struct Mapped {
    kind: OptimizerKind,
    lr: f32,
    momentum: f32,
}

fn betas(a: &mut Args<'_>) -> Result<(f64, f64), String> {
    if a.get("betas").is_none() {
        return Ok((0.9, 0.999));
    }
    match a.f64_list("betas")?.as_slice() {
        [b1, b2] => Ok((*b1, *b2)),
        _ => Err("betas must hold two numbers".into()),
    }
}

fn map_case(library: &str, optimizer: &str, args: &Value) -> Result<Mapped, String> {
    let mut a = Args::new(args, optimizer)?;
    let m = match (library, optimizer) {
        ("torch", "SGD") => {
            if a.f64_or("dampening", 0.0)? != 0.0 {
                return Err("SGD: dampening is not supported".into());
            }
            if a.bool_or("maximize", false)? {
                return Err("SGD: maximize is not supported".into());
            }
            Mapped {
                lr: a.f64_or("lr", 1e-3)? as f32,
                momentum: a.f64_or("momentum", 0.0)? as f32,
                kind: OptimizerKind::Sgd {
                    nesterov: a.bool_or("nesterov", false)?,
                    weight_decay: a.f64_or("weight_decay", 0.0)? as f32,
                },
            }
        }
        ("torch", name @ ("Adam" | "AdamW")) => {
            if a.bool_or("amsgrad", false)? {
                return Err(format!("{name}: amsgrad is not supported"));
            }
            let (b1, b2) = betas(&mut a)?;
            let eps = a.f64_or("eps", 1e-8)? as f32;
            let lr = a.f64_or("lr", 1e-3)? as f32;
            let kind = if name == "Adam" {
                OptimizerKind::Adam {
                    beta2: b2 as f32,
                    eps,
                    weight_decay: a.f64_or("weight_decay", 0.0)? as f32,
                }
            } else {
                OptimizerKind::AdamW {
                    beta2: b2 as f32,
                    eps,
                    weight_decay: a.f64_or("weight_decay", 1e-2)? as f32,
                }
            };
            Mapped {
                kind,
                lr,
                momentum: b1 as f32,
            }
        }
        ("schedulefree", "SGDScheduleFree") => Mapped {
            lr: a.f64_or("lr", 1.0)? as f32,
            momentum: a.f64_or("momentum", 0.9)? as f32,
            kind: OptimizerKind::SfSgd {
                weight_decay: a.f64_or("weight_decay", 0.0)? as f32,
                warmup_steps: a.u32_or("warmup_steps", 0)?,
                r: a.f64_or("r", 0.0)? as f32,
                weight_lr_power: a.f64_or("weight_lr_power", 2.0)? as f32,
            },
        },
        ("schedulefree", "AdamWScheduleFree") => {
            let (b1, b2) = betas(&mut a)?;
            Mapped {
                lr: a.f64_or("lr", 0.0025)? as f32,
                momentum: b1 as f32,
                kind: OptimizerKind::SfAdamW {
                    beta2: b2 as f32,
                    eps: a.f64_or("eps", 1e-8)? as f32,
                    weight_decay: a.f64_or("weight_decay", 0.0)? as f32,
                    warmup_steps: a.u32_or("warmup_steps", 0)?,
                    r: a.f64_or("r", 0.0)? as f32,
                    weight_lr_power: a.f64_or("weight_lr_power", 2.0)? as f32,
                },
            }
        }
        (l, o) => return Err(format!("unknown optimizer `{o}` of library `{l}`")),
    };
    a.finish()?;
    Ok(m)
}

fn close(want: f64, got: f64) -> bool {
    let d = (want - got).abs();
    got.is_finite() && (d <= ABS || d <= REL * want.abs())
}

fn rows(case: &Value, key: &str) -> Option<Vec<Vec<f64>>> {
    case.get(key)?
        .as_array()?
        .iter()
        .map(|r| r.as_array()?.iter().map(Value::as_f64).collect())
        .collect()
}

/// Checks one row; returns its largest relative difference (of values above [`ABS`]).
fn compare(what: &str, t: usize, want: &[f64], got: &[f32]) -> Result<f64, String> {
    if want.len() != got.len() {
        return Err(format!(
            "{what}[{t}]: {} values, expected {}",
            got.len(),
            want.len()
        ));
    }
    let mut worst = 0.0f64;
    for (i, (&w, &g)) in want.iter().zip(got).enumerate() {
        if !close(w, f64::from(g)) {
            return Err(format!("{what}[{t}][{i}]: reference {w:e}, lrate {g:e}"));
        }
        if w.abs() > ABS {
            worst = worst.max((w - f64::from(g)).abs() / w.abs());
        }
    }
    Ok(worst)
}

/// Runs one case; returns the number of values compared and the largest relative difference.
fn run_case(case: &Value) -> Result<(usize, f64), String> {
    let library = case["library"].as_str().ok_or("case without `library`")?;
    let optimizer = case["optimizer"]
        .as_str()
        .ok_or("case without `optimizer`")?;
    let m = map_case(library, optimizer, &case["args"])?;
    let a = numbers(case, "a").ok_or("case without `a`")?;
    let b = numbers(case, "b").ok_or("case without `b`")?;
    let w0 = numbers(case, "w0").ok_or("case without `w0`")?;
    let steps = case["steps"].as_u64().ok_or("case without `steps`")? as usize;
    let want_w = rows(case, "w").ok_or("case without `w`")?;
    let want_x = rows(case, "x");
    if a.len() != w0.len() || b.len() != w0.len() {
        return Err("a, b and w0 differ in length".into());
    }
    if want_w.len() != steps {
        return Err(format!("`w` has {} rows for {steps} steps", want_w.len()));
    }
    let sf = m.kind.is_schedule_free();
    match (&want_x, sf) {
        (None, true) => return Err("schedule-free case without `x`".into()),
        (Some(_), false) => return Err(format!("`x` given for {optimizer}")),
        (Some(x), true) if x.len() != steps => return Err("`x` length differs from steps".into()),
        _ => {}
    }
    let n = w0.len();
    let mut w: Vec<f32> = w0.iter().map(|&v| v as f32).collect();
    let mut opt = Optimizer::new(m.kind);
    let (mut compared, mut worst) = (0, 0.0f64);
    for t in 0..steps {
        let g: Vec<f32> = (0..n)
            .map(|i| {
                let noise = 0.1 * (1.7 * t as f64 + i as f64).sin();
                (a[i] * (f64::from(w[i]) - b[i]) + noise) as f32
            })
            .collect();
        opt.begin_step();
        opt.update("w", &[n], &mut w, &g, m.lr, m.momentum)
            .map_err(|e| format!("step {t}: {e}"))?;
        worst = worst.max(compare("w", t, &want_w[t], &w)?);
        compared += n;
        if let Some(xs) = &want_x {
            let x = opt
                .eval_point("w", &w, m.momentum)
                .ok_or_else(|| format!("step {t}: no evaluation point"))?;
            worst = worst.max(compare("x", t, &xs[t], &x)?);
            compared += n;
        }
    }
    Ok((compared, worst))
}

#[test]
fn optimizer_parity() {
    let golden = load(&golden_path("LRATE_OPTIM_GOLDEN", "optimizers.json"));
    let cases = golden["cases"].as_array().expect("`cases` must be a list");
    assert!(!cases.is_empty(), "the golden file holds no cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        match run_case(case) {
            Ok((k, worst)) => {
                println!("ok   {name} ({k} values, largest relative difference {worst:.1e})")
            }
            Err(e) => {
                println!("FAIL {name}: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    println!(
        "parity: {}/{} cases",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "optimizer parity failures: {failures:#?}"
    );
}

/// The mapping rejects what it does not implement instead of ignoring it.
#[test]
fn unknown_optimizers_and_arguments_fail() {
    let args = serde_json::json!({"lr": 0.1});
    assert!(map_case("torch", "RMSprop", &args).is_err());
    assert!(map_case("optax", "SGD", &args).is_err());
    let extra = serde_json::json!({"lr": 0.1, "foreach": true});
    assert!(map_case("torch", "SGD", &extra).is_err());
    let ams = serde_json::json!({"lr": 0.1, "amsgrad": true});
    assert!(map_case("torch", "AdamW", &ams).is_err());
    assert!(map_case("schedulefree", "SGDScheduleFree", &args).is_ok());
    let case = serde_json::json!({
        "name": "bogus", "library": "torch", "optimizer": "Lion", "args": {},
        "steps": 1, "a": [1.0], "b": [0.0], "w0": [0.0], "w": [[0.0]]
    });
    assert!(run_case(&case).is_err());
}
