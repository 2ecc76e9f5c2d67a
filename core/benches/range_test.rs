//! Cost of the LR range test: per recorded batch, and per suggestion on curves of
//! 100 and 1000 points.
//!
//! `cargo bench -p lrate-core --bench range_test -- --warm-up-time 1 --measurement-time 2`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lrate_core::{RangeTest, RangeTestConfig, Suggestion};

/// A noisy U-shaped loss curve over `n` batches.
fn loss(i: u32, n: u32) -> f32 {
    let x = i as f32 / n as f32;
    let noise = ((i.wrapping_mul(2_654_435_761) >> 8) % 1000) as f32 / 1000.0 - 0.5;
    2.3 - 1.5 * x + 2.5 * x * x * x * x + 0.05 * noise
}

fn filled(n: u32) -> RangeTest<f32, 1024> {
    let cfg = RangeTestConfig::fastai()
        .range(1e-7, 10.0, n)
        .diverge_factor(None);
    let mut t = RangeTest::<f32, 1024>::new(cfg).expect("valid");
    let mut i = 0;
    while t.next_lr().is_some() {
        t.record(loss(i, n));
        i += 1;
    }
    t
}

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("range_test/record");
    for (name, cfg) in [
        ("fastai", RangeTestConfig::<f32>::fastai()),
        ("torch_lr_finder", RangeTestConfig::<f32>::torch_lr_finder()),
    ] {
        let n = 1000u32;
        let cfg = cfg.range(1e-7, 10.0, n).diverge_factor(None);
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(BenchmarkId::new(name, "1000 batches, N=128"), |b| {
            b.iter(|| {
                let mut t = RangeTest::<f32, 128>::new(cfg).expect("valid");
                let mut i = 0;
                while let Some(lr) = t.next_lr() {
                    black_box(lr);
                    t.record(black_box(loss(i, n)));
                    i += 1;
                }
                black_box(t.batches())
            })
        });
    }
    g.finish();
}

fn suggest(c: &mut Criterion) {
    let mut g = c.benchmark_group("range_test/suggest");
    for n in [100u32, 1000] {
        let t = filled(n);
        assert_eq!(t.curve().len(), n as usize);
        for rule in Suggestion::ALL {
            g.bench_with_input(BenchmarkId::new(format!("{rule:?}"), n), &t, |b, t| {
                b.iter(|| black_box(t.suggest(black_box(rule))))
            });
        }
        g.bench_with_input(BenchmarkId::new("all", n), &t, |b, t| {
            b.iter(|| black_box(t.suggestions()))
        });
    }
    g.finish();
}

criterion_group!(benches, record, suggest);
criterion_main!(benches);
