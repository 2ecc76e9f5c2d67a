//! `lrate model`: checks a network against an input shape and prints its layer table
//! ([`crate::nn::summary`]).

use anyhow::{anyhow, bail, Result};

use crate::cli::ModelArgs;
use crate::nn::def::ModelDef;
use crate::nn::summary;

/// Parses `CxHxW` (e.g. `3x32x32`).
pub fn parse_input(s: &str) -> Result<(usize, usize, usize)> {
    let bad = || anyhow!("--input `{s}`: expected CxHxW with positive sizes, e.g. 3x32x32");
    let v: Vec<usize> = s
        .split(['x', 'X'])
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    match v[..] {
        [c, h, w] if c > 0 && h > 0 && w > 0 => Ok((c, h, w)),
        _ => Err(bad()),
    }
}

/// Runs `lrate model`.
pub fn run(a: &ModelArgs) -> Result<()> {
    let def = ModelDef::resolve(&a.model)?;
    let input = parse_input(&a.input)?;
    if a.classes == 0 {
        bail!("--classes must be at least 1");
    }
    let err = |e| anyhow!("{}: {e}", def.label());
    if a.json {
        let (rows, params, flops) = summary::rows(def.spec(), input, a.classes).map_err(err)?;
        let v = serde_json::json!({
            "model": def.spec().name,
            "input": [input.0, input.1, input.2],
            "classes": a.classes,
            "layers": rows,
            "params": params,
            "flops": flops,
        });
        println!("{v}");
    } else {
        print!(
            "{}",
            summary::render(def.spec(), input, a.classes).map_err(err)?
        );
    }
    Ok(())
}
