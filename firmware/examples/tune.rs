//! The search that chose the firmware's fine-tuning settings, on the validation
//! streams only (see `lrate_firmware::tune`):
//!
//! ```text
//! cargo run --release -p lrate-firmware --example tune
//! ```
//!
//! Prints one line per candidate (mean ± sd held-out accuracy over the
//! validation streams), the winners, and whether `Config::default()` is them
//! (exit status 1 if not). `tests/tuning.rs` checks the same.

use lrate_firmware::evaluation::VALIDATION_SEEDS;
use lrate_firmware::finetune::{Config, Workspace};
use lrate_firmware::model::Model;
use lrate_firmware::tune::{self, Score};
use std::process::ExitCode;

fn line(s: &Score) {
    let c = &s.config;
    println!(
        "{:>3} cycles x {:>2} steps  div {:>4}  sf_lr_scale {:>4}  sf_warmup {:>2} %  ({:>3} steps): {:5.1} ± {:4.1} %",
        c.cycles,
        c.step_size,
        c.bounds_div,
        c.sf_lr_scale,
        c.sf_warmup_pct,
        tune::steps(c),
        100.0 * s.mean,
        100.0 * s.sd
    );
}

fn main() -> ExitCode {
    let mut model = Box::new(Model::zeroed());
    let mut ws = Box::new(Workspace::new());
    let base = Config::default();
    let (clr, sf) = match tune::search(&base, &mut model, &mut ws) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tune: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    println!("validation streams (seeds) {VALIDATION_SEEDS:?}; CLR SGD candidates:");
    clr.iter().for_each(line);
    println!("schedule-free SGD candidates, at the CLR winner's steps:");
    sf.iter().for_each(line);
    let (Some(c), Some(s)) = (tune::best(&clr), tune::best(&sf)) else {
        eprintln!("tune: empty grid");
        return ExitCode::FAILURE;
    };
    let (c, s) = (clr[c].config, sf[s].config);
    println!(
        "winner, CLR: cycles={} step_size={} bounds_div={}; schedule-free: sf_lr_scale={} sf_warmup_pct={}",
        c.cycles, c.step_size, c.bounds_div, s.sf_lr_scale, s.sf_warmup_pct
    );
    let is_default = (
        c.cycles,
        c.step_size,
        c.bounds_div,
        s.sf_lr_scale,
        s.sf_warmup_pct,
    ) == (
        base.cycles,
        base.step_size,
        base.bounds_div,
        base.sf_lr_scale,
        base.sf_warmup_pct,
    );
    println!("Config::default() is the winner: {is_default}");
    if is_default {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
