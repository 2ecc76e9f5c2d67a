//! The LR range test: `RangeTest` (f32 and f64, a small capacity that decimates and the
//! default 128) from any configuration, fed loss streams with NaN, ±∞, negatives, huge and
//! tiny values (and smooth stretches, so that suggestions exist); every suggestion, the
//! bounds of every `BoundsRule`, `reliable_max_lr`, the curve; `AveragedRangeTest` over
//! several such sweeps.
//!
//! Promise (lrate-core's `RangeTest`): no panic, and no NaN or ∞ in any output: every lr
//! asked for and every suggestion or bound returned is finite and > 0.
#![no_main]

use std::fmt::Debug;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use lrate_core::{
    AveragedRangeTest, BoundsRule, NonFinite, RangeTest, RangeTestConfig, Real, SlideParams,
    Smoother, Smoothing, Status, Suggestion, Sweep, SweepEnd,
};
use lrate_fuzz::{f32_any, real, u32_any};

/// Batches fed to one sweep at most (a run may ask for up to `u32::MAX`).
const MAX_BATCHES: u32 = 3000;

fn config<F: Real>(u: &mut Unstructured) -> RangeTestConfig<F> {
    let mut c = match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 => RangeTestConfig::fastai(),
        1 => RangeTestConfig::torch_lr_finder(),
        _ => RangeTestConfig::default(),
    };
    let bits = u.arbitrary::<u8>().unwrap_or(0);
    if bits & 1 != 0 {
        let num_it = if u.arbitrary::<bool>().unwrap_or(false) {
            u32_any(u)
        } else {
            u32::from(u.arbitrary::<u8>().unwrap_or(0)) * 3
        };
        c = c.range(real(u), real(u), num_it);
    }
    if bits & 2 != 0 {
        c.sweep = if u.arbitrary().unwrap_or(false) {
            Sweep::Linear
        } else {
            Sweep::Exponential
        };
        c.sweep_end = if u.arbitrary().unwrap_or(false) {
            SweepEnd::Inclusive
        } else {
            SweepEnd::Exclusive
        };
    }
    if bits & 4 != 0 {
        c.smoothing = if u.arbitrary().unwrap_or(false) {
            Smoothing::Debiased { beta: real(u) }
        } else {
            Smoothing::Plain { smooth_f: real(u) }
        };
    }
    if bits & 8 != 0 {
        c.diverge_factor = u.arbitrary::<bool>().unwrap_or(false).then(|| real(u));
    }
    if bits & 16 != 0 {
        c.non_finite = if u.arbitrary().unwrap_or(false) {
            NonFinite::Continue
        } else {
            NonFinite::Stop
        };
    }
    c
}

/// The next loss: a small step from the previous one most of the time (curves that fall,
/// flatten and rise), else an edge case or any bit pattern.
fn loss<F: Real>(u: &mut Unstructured, prev: &mut F) -> F {
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let v = match sel {
        0..=175 => {
            let scale = prev.abs() * F::from_f64(0.05) + F::from_f64(1e-3);
            *prev + scale * F::from_f64(f64::from(sel) / 16.0 - 6.0)
        }
        176..=239 => real(u),
        _ => F::from_f64(f64::from(f32_any(u)) * 1e3),
    };
    if v.is_finite() {
        *prev = v;
    }
    v
}

fn positive<F: Real>(what: &str, v: F) {
    assert!(v.is_finite() && v > F::ZERO, "{what} = {v:?}");
}

/// Feeds losses until the test is done, the bytes run out or [`MAX_BATCHES`]; with
/// `finish`, then a flat loss until it is done (when `num_it` allows).
fn feed<F: Real, const N: usize>(t: &mut RangeTest<F, N>, u: &mut Unstructured, finish: bool) {
    let mut prev = F::from_f64(2.3);
    let start = t.batches();
    while let Some(lr) = t.next_lr() {
        positive("next_lr", lr);
        if t.batches() - start >= MAX_BATCHES {
            break;
        }
        let l = if u.is_empty() {
            if !finish {
                break;
            }
            prev
        } else {
            loss(u, &mut prev)
        };
        if let Status::Done(_) = t.record(l) {
            assert_eq!(t.next_lr(), None);
            assert_eq!(
                t.record(l),
                t.status(),
                "recording after the end changed it"
            );
        }
    }
}

fn rules(u: &mut Unstructured) -> Vec<BoundsRule> {
    let mut r = BoundsRule::ALL.to_vec();
    r.extend(Suggestion::ALL.map(BoundsRule::Suggestion));
    if let Ok(near) = BoundsRule::near_min(f32_any(u)) {
        r.push(near);
    }
    r
}

fn check<F: Real, const N: usize>(t: &RangeTest<F, N>, u: &mut Unstructured) {
    for s in Suggestion::ALL {
        if let Some(lr) = t.suggest(s) {
            positive(&format!("suggest({s:?})"), lr);
        }
    }
    let all = t.suggestions();
    for (s, v) in [
        (Suggestion::Minimum, all.minimum),
        (Suggestion::Steep, all.steep),
        (Suggestion::Valley, all.valley),
        (Suggestion::Slide, all.slide),
        (Suggestion::Steepest, all.steepest),
    ] {
        assert_eq!(v, t.suggest(s), "suggestions() disagrees on {s:?}");
    }
    if let Some(p) = t.min_point() {
        positive("min_point lr", p.lr);
        assert!(p.loss.is_some_and(|l| l.is_finite()), "{p:?}");
        // Exactly a tenth of it, unless that tenth is 0 (a subnormal lr): no suggestion.
        let tenth = p.lr / F::from_f64(10.0);
        let want = if tenth > F::ZERO { Some(tenth) } else { None };
        assert_eq!(t.suggest(Suggestion::Minimum), want);
    }
    let params = SlideParams {
        lr_diff: u32_any(u),
        thresh: real(u),
        adjust_value: real(u),
    };
    if let Some(v) = t.suggest_slide(params) {
        assert!(v.is_finite(), "suggest_slide({params:?}) = {v:?}");
    }
    let div = if u.arbitrary().unwrap_or(false) {
        real(u)
    } else {
        F::from_f64(4.0)
    };
    for rule in rules(u) {
        let m = t.max_lr_by(rule);
        if let Some(m) = m {
            positive(&format!("max_lr_by({rule})"), m);
        }
        if let Ok(b) = t.bounds_by(rule, div) {
            positive("bounds max_lr", b.max_lr);
            positive("bounds min_lr", b.min_lr);
            assert!(b.min_lr <= b.max_lr, "{b:?}");
            assert_eq!(Some(b.max_lr), m);
        }
        if let Ok(v) = t.reliable_max_lr(rule) {
            positive(&format!("reliable_max_lr({rule})"), v);
            assert_eq!(Some(v), m);
        }
    }
    if let Some(p) = t.near_min_point() {
        positive("near_min_point lr", p.lr);
    }
    if let Some(b) = t.best_loss() {
        assert!(b.is_finite(), "best_loss {b:?}");
    }
    if let Some(d) = t.loss_drop() {
        assert!(d.is_finite(), "loss_drop {d:?}");
    }
    let c = t.curve();
    assert!(c.len() <= N);
    for p in c.iter() {
        positive("curve lr", p.lr);
        if let Some(l) = p.loss {
            assert!(l.is_finite(), "curve loss {p:?}");
        }
        if let Some(l) = p.raw_loss {
            assert!(l.is_finite(), "curve raw loss {p:?}");
        }
    }
}

fn single<F: Real, const N: usize>(u: &mut Unstructured) {
    let Ok(mut t) = RangeTest::<F, N>::new(config(u)) else {
        return;
    };
    let every = u32::from(u.arbitrary::<u8>().unwrap_or(0)).max(1);
    let mut prev = F::from_f64(2.3);
    while let Some(lr) = t.next_lr() {
        positive("next_lr", lr);
        if u.is_empty() || t.batches() >= MAX_BATCHES {
            break;
        }
        t.record(loss(u, &mut prev));
        // Suggestions can be asked for at any time.
        if t.batches() % every == 0 {
            check(&t, u);
        }
    }
    check(&t, u);
}

fn averaged<F: Real + Debug, const N: usize>(u: &mut Unstructured) {
    let Ok(mut avg) = AveragedRangeTest::<F, N, 4>::new(config(u)) else {
        return;
    };
    for _ in 0..u.int_in_range(1..=5u8).unwrap_or(1) {
        let mut t = avg.new_sweep();
        let budget = usize::from(u.arbitrary::<u8>().unwrap_or(0)) * 4;
        let bytes = u.bytes(budget.min(u.len())).unwrap_or(&[]);
        feed(&mut t, &mut Unstructured::new(bytes), true);
        check(&t, u);
        let done = t.status() != Status::Continue;
        let full = avg.len() == 4;
        match avg.push(t) {
            Ok(()) => assert!(done && !full),
            Err(r) => assert!(!done || full, "refused: {:?}", r.reason),
        }
        check(avg.mean(), u);
        for p in avg.band() {
            for v in [p.mean, p.min, p.max, p.sd] {
                assert!(v.is_finite(), "band {p:?}");
            }
            positive("band lr", p.lr);
            assert!(p.sd >= F::ZERO && p.min <= p.max, "band {p:?}");
        }
        for rule in rules(u) {
            let s = avg.spread(rule);
            for v in s
                .per_sweep
                .iter()
                .flatten()
                .chain([s.mean_curve, s.median, s.low, s.high].iter().flatten())
            {
                positive(&format!("spread({rule})"), *v);
            }
            if let Some(r) = s.ratio() {
                assert!(r.is_finite() && r >= F::ONE, "ratio {r:?}");
            }
            if let Some(p) = avg.pick(rule) {
                positive(&format!("pick({rule})"), p);
            }
        }
    }
}

fn smoother<F: Real>(u: &mut Unstructured) {
    let smoothing = if u.arbitrary().unwrap_or(false) {
        Smoothing::Debiased { beta: real::<F>(u) }
    } else {
        Smoothing::Plain { smooth_f: real(u) }
    };
    let Ok(mut s) = Smoother::new(smoothing) else {
        return;
    };
    let mut prev = F::ONE;
    for _ in 0..u.int_in_range(0..=64u8).unwrap_or(0) {
        let l = loss(u, &mut prev);
        let v = s.update(l);
        if !l.is_finite() {
            assert!(
                v.is_nan() && l.is_nan() || v == l,
                "a non-finite loss is returned untouched: {l:?} -> {v:?}"
            );
        }
    }
    let _ = s.value();
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    match u.arbitrary::<u8>().unwrap_or(0) % 7 {
        0 => single::<f32, 128>(&mut u),
        1 => single::<f32, 8>(&mut u),
        2 => single::<f64, 16>(&mut u),
        3 => averaged::<f32, 128>(&mut u),
        4 => averaged::<f32, 8>(&mut u),
        5 => averaged::<f64, 16>(&mut u),
        _ => {
            smoother::<f32>(&mut u);
            smoother::<f64>(&mut u);
        }
    }
});
