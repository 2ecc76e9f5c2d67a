//! Property tests of the LR range test: whatever losses arrive (NaN, ±∞, negative,
//! huge, constant; 0 to 10 000 of them), nothing panics, the curve holds no
//! non-finite value, and every suggestion is `None` or a finite lr inside
//! `[start_lr, end_lr]` (Minimum, fastai's lr/10, inside `[start_lr/10, end_lr/10]`).

use lrate_core::{NonFinite, RangeTest, RangeTestConfig, Smoothing, Status, Suggestion, Sweep};
use proptest::prelude::*;

fn loss() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -10.0f32..10.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => prop_oneof![Just(f32::MAX), Just(-f32::MAX), Just(1e30f32), Just(-1e30f32)],
        1 => Just(0.0f32),
        1 => any::<f32>(),
    ]
}

/// Mostly-finite sequences with a U shape, so that long runs get far.
fn losses() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        prop::collection::vec(loss(), 0..300),
        prop::collection::vec(loss(), 0..10_000),
        (
            prop::collection::vec(loss(), 0..40),
            0usize..10_000,
            -5.0f32..5.0
        )
            .prop_map(|(spice, n, offset)| {
                (0..n)
                    .map(|i| {
                        let x = i as f32 / n.max(1) as f32;
                        let u = offset + 2.0 - 1.5 * x + 3.0 * x * x * x * x;
                        match spice.get(i % 997) {
                            Some(&s) if i % 997 < spice.len() && i % 13 == 0 => s,
                            _ => u,
                        }
                    })
                    .collect()
            }),
        (loss(), 0usize..10_000).prop_map(|(c, n)| vec![c; n]),
    ]
}

fn config() -> impl Strategy<Value = RangeTestConfig<f32>> {
    (
        0u8..4,
        -9.0f32..0.0,
        0.1f32..6.0,
        2u32..12_000,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1.01f32..10.0),
    )
        .prop_map(
            |(preset, log_start, decades, num_it, linear, stop, factor)| {
                let base = match preset {
                    0 => RangeTestConfig::fastai(),
                    1 => RangeTestConfig::torch_lr_finder(),
                    2 => RangeTestConfig::default().smoothing(Smoothing::Debiased { beta: 0.0 }),
                    _ => RangeTestConfig::default().smoothing(Smoothing::Plain { smooth_f: 0.3 }),
                };
                let start = 10f32.powf(log_start);
                let end = start * 10f32.powf(decades);
                base.range(start, end, num_it)
                    .sweep(if linear {
                        Sweep::Linear
                    } else {
                        Sweep::Exponential
                    })
                    .non_finite(if stop {
                        NonFinite::Stop
                    } else {
                        NonFinite::Continue
                    })
                    .diverge_factor(factor)
            },
        )
}

fn check<const N: usize>(
    config: RangeTestConfig<f32>,
    losses: &[f32],
) -> Result<(), TestCaseError> {
    let mut t = RangeTest::<f32, N>::new(config).expect("valid by construction");
    let (start, end) = (config.start_lr, config.end_lr);
    let mut done = false;
    for &l in losses {
        match t.next_lr() {
            None => {
                prop_assert!(done);
                break;
            }
            Some(lr) => prop_assert!(lr.is_finite() && lr >= start && lr <= end),
        }
        if let Status::Done(_) = t.record(l) {
            done = true;
        }
        // Suggestions mid-run must be just as well-behaved (checked sparsely).
        if t.batches() % 1024 == 7 {
            check_suggestions(&t, start, end)?;
        }
    }
    prop_assert!(t.batches() <= config.num_it);
    prop_assert_eq!(done, matches!(t.status(), Status::Done(_)));
    if done {
        prop_assert_eq!(t.next_lr(), None);
        let (status, batches) = (t.status(), t.batches());
        prop_assert_eq!(t.record(1.0), status);
        prop_assert_eq!(t.batches(), batches);
    }
    let c = t.curve();
    prop_assert!(c.len() <= N);
    for p in c.iter() {
        prop_assert!(p.lr.is_finite() && p.lr >= start && p.lr <= end);
        prop_assert!(p.loss.into_iter().all(f32::is_finite));
        prop_assert!(p.raw_loss.into_iter().all(f32::is_finite));
        prop_assert!(p.batch < t.batches().max(1));
    }
    prop_assert!(t.best_loss().into_iter().all(f32::is_finite));
    check_suggestions(&t, start, end)
}

fn check_suggestions<const N: usize>(
    t: &RangeTest<f32, N>,
    start: f32,
    end: f32,
) -> Result<(), TestCaseError> {
    for rule in Suggestion::ALL {
        if let Some(v) = t.suggest(rule) {
            let (lo, hi) = match rule {
                Suggestion::Minimum => (start / 10.0, end / 10.0),
                _ => (start, end),
            };
            prop_assert!(
                v.is_finite() && v >= lo && v <= hi,
                "{:?} = {} outside [{}, {}]",
                rule,
                v,
                lo,
                hi
            );
        }
    }
    let all = t.suggestions();
    prop_assert_eq!(all.valley, t.suggest(Suggestion::Valley));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_losses_capacity_128(config in config(), losses in losses()) {
        check::<128>(config, &losses)?;
    }

    #[test]
    fn any_losses_small_capacities(config in config(), losses in losses()) {
        check::<0>(config, &losses)?;
        check::<1>(config, &losses)?;
        check::<17>(config, &losses)?;
    }

    #[test]
    fn any_losses_large_capacity(config in config(), losses in losses()) {
        check::<1024>(config, &losses)?;
    }
}
