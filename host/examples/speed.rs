//! Training-throughput benchmark of the nn layer (issue 6).
//!
//! `cargo run --release -p lrate --example speed -- [--model cnn-s|resnet9|mlp|FILE.toml]
//! [--input CxHxW] [--batch 128] [--steps 30] [--warmup 3] [--portable]`
//!
//! Trains on random data of the model's usual input shape (cnn-s/mlp and model files:
//! 1×28×28, resnet9: 3×32×32; `--input` sets another) with SGD (Nesterov, momentum 0.9, weight
//! decay 5e-4) and prints img/s, the ratio of CPU time to wall time (how many cores were busy),
//! the peak RSS, the evaluation img/s, the instruction set the `gemm` crate dispatched to and
//! the training cost per image (`train_gflop_per_img`: 3 × the forward FLOPs of `lrate model`,
//! for the forward pass, `∂L/∂x` and `∂L/∂w`).
//!
//! `speed --gemm-peak [--n 2048] [--reps 5]` instead measures the machine's GEMM peak with the
//! same `gemm` crate: an `n × n` f32 product on all rayon threads (`RAYON_NUM_THREADS`), best of
//! `reps`, printed as `gemm_peak_gflops=…`.

use std::time::Instant;

use lrate::nn::def::ModelDef;
use lrate::nn::{Cpu, Model, ModelKind, Optimizer, OptimizerKind};

/// Process CPU time (user + system) in seconds, from /proc/self/stat (Linux), if available.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident set size in MiB (VmHWM), if available.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

/// The kernel family the `gemm` crate picks at run time (its `init_gemm_fn`): AVX-512 when the
/// CPU has it and lrate was built with the `avx512` feature, else AVX2 + FMA, else scalar.
fn gemm_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
        "scalar"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

/// Best-of-`reps` GFLOP/s of an `n × n × n` f32 GEMM (`2n³` FLOPs) on all rayon threads.
fn gemm_peak(n: usize, reps: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
    let mut c = vec![0f32; n * n];
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for _ in 0..reps + 1 {
        let t = Instant::now();
        // SAFETY: a, b and c are dense row-major n × n buffers; c does not alias a or b.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            );
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn main() {
    lrate::allocator::tune();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if args.iter().any(|a| a == "--gemm-peak") {
        let n = get("--n").and_then(|v| v.parse().ok()).unwrap_or(2048);
        let reps = get("--reps").and_then(|v| v.parse().ok()).unwrap_or(5);
        let gflops = gemm_peak(n, reps);
        println!(
            "gemm_peak_gflops={gflops:.1} isa={} n={n} threads={}",
            gemm_isa(),
            rayon::current_num_threads()
        );
        return;
    }
    let kind = match ModelDef::resolve(&get("--model").unwrap_or_else(|| "cnn-s".into())) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let num = |name: &str, d: usize| get(name).and_then(|v| v.parse().ok()).unwrap_or(d);
    let batch = num("--batch", 128);
    let resnet9 = kind.builtin() == Some(ModelKind::ResNet9);
    let steps = num("--steps", if resnet9 { 5 } else { 30 });
    let warmup = num("--warmup", 3);
    let portable = args.iter().any(|a| a == "--portable");
    let input = match get("--input") {
        Some(s) => match lrate::model_cmd::parse_input(&s) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        },
        None if resnet9 => (3, 32, 32),
        None => (1, 28, 28),
    };
    let per = input.0 * input.1 * input.2;
    let train_gflop = match lrate::nn::summary::rows(kind.spec(), input, 10) {
        Ok((_, _, flops)) => 3.0 * flops as f64 / 1e9,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };

    let dev = Cpu::default();
    let mut model = match Model::try_new(kind.clone(), input, 10, 0, &dev) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    model.set_portable(portable);
    let mut opt = Optimizer::new(OptimizerKind::Sgd {
        nesterov: true,
        weight_decay: 5e-4,
    });
    // Deterministic pseudo-random batch (xorshift) and labels.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let x: Vec<f32> = (0..batch * per)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let y: Vec<usize> = (0..batch).map(|i| i % 10).collect();

    for _ in 0..warmup {
        model.train_step(&x, &y, &mut opt, 0.01, 0.9);
    }
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let mut loss = 0.0;
    for _ in 0..steps {
        loss = model.train_step(&x, &y, &mut opt, 0.01, 0.9);
    }
    let wall = t0.elapsed().as_secs_f64();
    // CPU time over wall time shows how many cores were busy; images per CPU-second is the
    // figure to compare when other processes compete for the cores.
    let (cpu, per_cpu_s) = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => (
            format!("{:.2}", (b - a) / wall),
            format!("{:.1}", (steps * batch) as f64 / (b - a)),
        ),
        _ => ("n/a".into(), "n/a".into()),
    };
    // Evaluation-mode throughput (BN running statistics, no backward pass).
    let t1 = Instant::now();
    let eval_reps = steps.div_ceil(3).max(1);
    for _ in 0..eval_reps {
        std::hint::black_box(model.predict(&x, batch));
    }
    let eval_ips = (eval_reps * batch) as f64 / t1.elapsed().as_secs_f64();
    let rss = peak_rss_mib().map_or("n/a".into(), |m| format!("{m:.0} MiB"));
    println!(
        "model={kind} kernels={} batch={batch} steps={steps} threads={} img_per_s={:.1} img_per_cpu_s={per_cpu_s} cpu/wall={cpu} peak_rss={rss} last_loss={loss:.4} eval_img_per_s={eval_ips:.1} isa={} train_gflop_per_img={train_gflop:.4}",
        if portable { "portable" } else { "native" },
        rayon::current_num_threads(),
        (steps * batch) as f64 / wall,
        gemm_isa(),
    );
}
