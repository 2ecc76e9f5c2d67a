#!/usr/bin/env python3
"""The measurements and the report of bench/train_speed.sh (issue 6, issue 18), Python 3 standard
library only. Usually started through `bash bench/train_speed.sh`, which installs the pinned
PyTorch and builds lrate's `speed` example first:

    python3 bench/train_speed.py --speed target/release/examples/speed \\
        --python target/bench-venv/bin/python --threads 2 --report-dir docs/results

For each model, REPEATS pairs of runs, one of lrate's `speed` example and one of
bench/torch_ref.py (the same net, optimizer, batch, input shape and thread count), the order
of the pair alternating from one repeat to the next; each run is its own process, measured
with wait4 (its own peak RSS, CPU and wall time). Then one Python process that only runs
`import torch`, to measure the RSS PyTorch's libraries take by themselves. Prints the table
and writes REPORT_DIR/train_speed.md and REPORT_DIR/train_speed.json: per repeat the img/s of
each side and their ratio, the ratio's mean ± sample sd, peak RSS and CPU/wall of each, the
torch version the runs used, the commit, CPU and nproc (bench/provenance.py; a report from a
dirty tree is marked DRAFT, and train_speed.sh refuses one unless DRAFT=1).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)
from reports import mean_sd  # noqa: E402 (bench/reports.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("cnn-s", "resnet9")  # the models bench/torch_ref.py has


def measure(cmd):
    """Runs cmd; returns its stdout and its own wall seconds, CPU seconds and peak RSS (MiB),
    from wait4, so each process is measured alone. Exits with the tail of its stderr if it
    fails."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = p.stdout.read()
        p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            tail = "".join(err.readlines()[-5:])
            sys.exit(f"train_speed: {' '.join(cmd)} failed (exit {p.returncode}):\n{tail}")
    return out, {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
                 "peak_rss_mib": ru.ru_maxrss / 1024.0}


def parse_speed(out):
    """The `key=value` line of lrate's speed example (host/examples/speed.rs):
    model=… kernels=… batch=… steps=… threads=… img_per_s=… img_per_cpu_s=… cpu/wall=…
    peak_rss=N MiB last_loss=… eval_img_per_s=…"""
    line = next((l for l in out.splitlines() if "img_per_s=" in l), None)
    if line is None:
        sys.exit(f"train_speed: no img_per_s= line in the speed example's output:\n{out}")
    f = dict(re.findall(r"(\S+?)=(\S+)", line))

    def number(k):
        try:
            return float(f[k])
        except (KeyError, ValueError):
            return None
    return {"img_per_s": number("img_per_s"), "cpu_per_wall": number("cpu/wall"),
            "img_per_cpu_s": number("img_per_cpu_s"), "eval_img_per_s": number("eval_img_per_s"),
            "self_peak_rss_mib": number("peak_rss"), "kernels": f.get("kernels"),
            "threads": number("threads"), "isa": f.get("isa"),
            "train_gflop_per_img": number("train_gflop_per_img"), "line": line}


def parse_torch(out):
    """The JSON line of bench/torch_ref.py."""
    line = next((l for l in reversed(out.splitlines()) if l.startswith("{")), None)
    if line is None:
        sys.exit(f"train_speed: no JSON line in bench/torch_ref.py's output:\n{out}")
    j = json.loads(line)
    return {"img_per_s": j["img_per_s"], "cpu_per_wall": j.get("cpu_per_wall"),
            "eval_img_per_s": j.get("eval_img_per_s"),
            "self_peak_rss_mib": j.get("peak_rss_mb"), "torch": j.get("torch"),
            "threads": j.get("threads")}


def run_side(side, model, a):
    steps = a.resnet_steps if model == "resnet9" else a.steps
    common = ["--model", model, "--batch", str(a.batch), "--steps", str(steps),
              "--warmup", str(a.warmup)]
    if side == "lrate":
        out, m = measure([a.speed] + common)
        r = parse_speed(out)
    else:
        out, m = measure([a.python, os.path.join(ROOT, "bench", "torch_ref.py")] + common
                         + ["--threads", str(a.threads)])
        r = parse_torch(out)
    r.update(m)
    r["process_cpu_per_wall"] = m["cpu_s"] / m["wall_s"] if m["wall_s"] > 0 else None
    r["steps"] = steps
    return r


def gemm_peak(a):
    """The machine's GEMM peak with the gemm crate lrate uses: `speed --gemm-peak` (a 2048² f32
    product on all threads, best of 5). Returns (GFLOP/s, ISA)."""
    out, _ = measure([a.speed, "--gemm-peak"])
    f = dict(re.findall(r"(\S+?)=(\S+)", out))
    try:
        return float(f["gemm_peak_gflops"]), f.get("isa")
    except (KeyError, ValueError):
        sys.exit(f"train_speed: no gemm_peak_gflops= in `speed --gemm-peak`'s output:\n{out}")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def fmt(v, spec=".1f"):
    return "n/a" if v is None else format(v, spec)


def pm(m, sd, spec=".2f"):
    return "n/a" if m is None else fmt(m, spec) + (f" ± {fmt(sd, spec)}" if sd is not None else "")


def span(v, spec=".0f"):
    """min–max of v (one value when they are equal at that precision)."""
    lo, hi = fmt(min(v), spec), fmt(max(v), spec)
    return lo if lo == hi else f"{lo}–{hi}"


def summarise(model, reps):
    s = {"repeats": reps}
    for side in ("lrate", "pytorch"):
        ips = [r[side]["img_per_s"] for r in reps]
        s[f"{side}_img_per_s_mean"], s[f"{side}_img_per_s_sd"] = mean_sd(ips)
        s[f"{side}_peak_rss_mib_min"] = min(r[side]["peak_rss_mib"] for r in reps)
        s[f"{side}_peak_rss_mib_max"] = max(r[side]["peak_rss_mib"] for r in reps)
        s[f"{side}_cpu_per_wall_mean"] = mean_sd([r[side]["cpu_per_wall"] for r in reps])[0]
    s["ratio_by_repeat"] = [r["ratio"] for r in reps]
    s["ratio_mean"], s["ratio_sd"] = mean_sd(s["ratio_by_repeat"])
    s["rss_ratio_by_repeat"] = [r["lrate"]["peak_rss_mib"] / r["pytorch"]["peak_rss_mib"]
                                for r in reps]
    s["rss_ratio_mean"], s["rss_ratio_sd"] = mean_sd(s["rss_ratio_by_repeat"])
    ev = [r["lrate"]["eval_img_per_s"] / r["pytorch"]["eval_img_per_s"] for r in reps
          if r["lrate"].get("eval_img_per_s") and r["pytorch"].get("eval_img_per_s")]
    s["eval_ratio_by_repeat"] = ev
    s["eval_ratio_mean"], s["eval_ratio_sd"] = mean_sd(ev) if ev else (None, None)
    for side in ("lrate", "pytorch"):
        e = [r[side]["eval_img_per_s"] for r in reps if r[side].get("eval_img_per_s")]
        s[f"{side}_eval_img_per_s_mean"], s[f"{side}_eval_img_per_s_sd"] = (
            mean_sd(e) if e else (None, None))
    s["train_gflop_per_img"] = reps[0]["lrate"].get("train_gflop_per_img")
    s["steps"] = reps[0]["lrate"]["steps"]
    return s


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def write_md(path, doc):
    prov = doc["provenance"]
    L = provenance.md_header(prov) + [
        "# Training speed: lrate vs PyTorch", "",
        "Generated by `bash bench/train_speed.sh` (`bench/train_speed.py`, `bench/torch_ref.py`); "
        "do not edit by hand, rerun the command below.", "",
        f"Random data of each model's input shape (cnn-s 1×28×28, resnet9 3×32×32), batch "
        f"{doc['batch']}, SGD (Nesterov momentum 0.9, weight decay 5e-4), {doc['threads']} "
        f"thread(s) on both sides, {doc['warmup']} warm-up steps, then the timed steps "
        f"({', '.join(f'{m} {s}' for m, s in doc['steps'].items())}). lrate: the `speed` "
        f"example ({doc['lrate_kernels']} kernels); PyTorch {doc['torch']} "
        "(`bench/torch_ref.py`, the same nets). "
        f"{doc['repeats']} repeat(s) per model, each a pair of runs whose order alternates "
        "(lrate first in repeats 1, 3, …); every run is its own process.", "",
        f"Instruction set the gemm crate dispatched to: **{doc['isa']}**"
        + (f" (PyTorch held to it too: {doc['torch_isa_env']})" if doc.get("torch_isa_env")
           else "") + ". Machine GEMM peak, "
        f"measured in the same invocation with the same gemm crate (`speed --gemm-peak`: "
        f"2048² f32 on {doc['threads']} thread(s), best of 5, at the start and at the end; the "
        f"larger): **{fmt(doc['gemm_peak_gflops'])} GFLOP/s** (start "
        f"{fmt(doc['gemm_peak_by_run'][0])}, end {fmt(doc['gemm_peak_by_run'][1])}).", "",
        "| model | ratio lrate/PyTorch img/s | peak RSS ratio | gemm fraction | "
        "eval ratio lrate/PyTorch img/s | training GFLOP per image |",
        "|---|---:|---:|---:|---:|---:|"]
    for model, s in doc["models"].items():
        L.append(f"| {model} | **{pm(s['ratio_mean'], s['ratio_sd'])}** | "
                 f"{pm(s['rss_ratio_mean'], s['rss_ratio_sd'])} | "
                 f"**{fmt(s['gemm_fraction'], '.2f')}** | "
                 f"{pm(s['eval_ratio_mean'], s['eval_ratio_sd'])} | "
                 f"{fmt(s['train_gflop_per_img'], '.3f')} |")
    L += ["", "gemm fraction: lrate's training FLOP rate (mean img/s × training GFLOP per image, "
          "3 × the forward FLOPs of `lrate model`) over the GEMM peak. Winograd convolutions do "
          "fewer multiplies than the direct FLOP count, so the fraction is of the rate a direct "
          "convolution would need to match lrate's speed.", "",
        "| model | lrate img/s | PyTorch img/s | ratio per repeat | ratio mean ± sd | "
        "lrate peak RSS | PyTorch peak RSS | CPU/wall lrate · PyTorch | eval img/s lrate · "
        "PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for model, s in doc["models"].items():
        L.append(f"| {model} | {pm(s['lrate_img_per_s_mean'], s['lrate_img_per_s_sd'], '.0f')} | "
                 f"{pm(s['pytorch_img_per_s_mean'], s['pytorch_img_per_s_sd'], '.0f')} | "
                 f"{' / '.join(fmt(r, '.2f') for r in s['ratio_by_repeat'])} | "
                 f"**{pm(s['ratio_mean'], s['ratio_sd'])}** | "
                 f"{span([s['lrate_peak_rss_mib_min'], s['lrate_peak_rss_mib_max']])} MiB | "
                 f"{span([s['pytorch_peak_rss_mib_min'], s['pytorch_peak_rss_mib_max']])} MiB | "
                 f"{fmt(s['lrate_cpu_per_wall_mean'], '.2f')} · "
                 f"{fmt(s['pytorch_cpu_per_wall_mean'], '.2f')} | "
                 f"{fmt(s['lrate_eval_img_per_s_mean'], '.0f')} · "
                 f"{fmt(s['pytorch_eval_img_per_s_mean'], '.0f')} |")
    imp = doc["import_torch_peak_rss_mib"]
    L += ["", "img/s: mean ± sample sd over the repeats; ratio: lrate img/s / PyTorch img/s of the "
          "same repeat. Peak RSS: the whole process (wait4), PyTorch's including its libraries: "
          f"a Python process that only runs `import torch` peaks at {span(imp)} MiB "
          f"({len(imp)} measurement(s); bare Python {fmt(doc['python_bare_peak_rss_mib'], '.0f')} "
          "MiB). CPU/wall: CPU time over wall time of the timed steps, as each side reports it "
          "(how many cores were busy).", "",
          "## Every run", "",
          "| model | repeat | first | lrate img/s | PyTorch img/s | ratio | lrate peak RSS (MiB) | "
          "PyTorch peak RSS (MiB) | lrate CPU/wall | PyTorch CPU/wall | lrate wall (s) | "
          "PyTorch wall (s) |",
          "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for model, s in doc["models"].items():
        for r in s["repeats"]:
            lr, pt = r["lrate"], r["pytorch"]
            L.append(f"| {model} | {r['repeat']} | {r['order'][0]} | {fmt(lr['img_per_s'])} | "
                     f"{fmt(pt['img_per_s'])} | {fmt(r['ratio'], '.3f')} | "
                     f"{fmt(lr['peak_rss_mib'], '.0f')} | {fmt(pt['peak_rss_mib'], '.0f')} | "
                     f"{fmt(lr['cpu_per_wall'], '.2f')} | {fmt(pt['cpu_per_wall'], '.2f')} | "
                     f"{fmt(lr['wall_s'], '.2f')} | {fmt(pt['wall_s'], '.2f')} |")
    L += ["", "## Reproduce", "",
          f"- Command: `{doc['command']}`",
          f"- {provenance.md_line(prov)}",
          f"- Load average {doc['loadavg_at_start']} at start, {doc['loadavg_at_end']} at end "
          "(other jobs on the machine slow both sides; compare the ratios of one invocation).",
          f"- Generated {doc['generated']}.", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed", required=True, help="lrate's speed example")
    ap.add_argument("--python", required=True, help="a Python with torch (the venv's)")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50, help="timed steps of cnn-s")
    ap.add_argument("--resnet-steps", type=int, default=4, help="timed steps of resnet9")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default="cnn-s resnet9")
    ap.add_argument("--report-dir", default=os.path.join(ROOT, "docs", "results"))
    ap.add_argument("--isa", default=None,
                    help="the instruction set gemm must dispatch to (e.g. avx2+fma); refused otherwise")
    ap.add_argument("--report-name", default="train_speed", help="report file name, no extension")
    ap.add_argument("--draft", action="store_true", help="the tree is dirty: mark the report DRAFT")
    ap.add_argument("--command", default="bash bench/train_speed.sh", help="recorded as is")
    a = ap.parse_args(argv)
    models = a.models.split()
    bad = [m for m in models if m not in MODELS]
    if bad or a.repeats < 1:
        ap.error(f"models must be among {' '.join(MODELS)} (got {' '.join(bad)}), repeats >= 1")

    started = loadavg()
    print(f"machine: {provenance.nproc()} cores, {provenance.cpu_model()}, threads={a.threads} "
          f"batch={a.batch}")
    peak0, isa = gemm_peak(a)
    if a.isa and isa != a.isa:
        sys.exit(f"train_speed: the speed example dispatches gemm to {isa}, not {a.isa}")
    print(f"CPU model: {provenance.cpu_model()}")
    print(f"ISA dispatched (gemm crate): {isa}")
    print(f"gemm peak (start): {peak0:.1f} GFLOP/s (2048² f32, {a.threads} thread(s), best of 5)")
    print(f"{'model':<8} {'impl':<8} {'img/s':>12} {'peak_MiB':>12} {'cpu/wall':>10}")
    results, torch_versions, kernels = {}, set(), set()
    for model in models:
        reps = []
        for i in range(a.repeats):
            order = ("lrate", "pytorch") if i % 2 == 0 else ("pytorch", "lrate")
            r = {"repeat": i + 1, "order": list(order)}
            for side in order:
                r[side] = run_side(side, model, a)
            r["ratio"] = r["lrate"]["img_per_s"] / r["pytorch"]["img_per_s"]
            torch_versions.add(r["pytorch"]["torch"])
            kernels.add(r["lrate"]["kernels"])
            for side in ("lrate", "pytorch"):
                x = r[side]
                print(f"{model:<8} {side:<8} {x['img_per_s']:>12.1f} {x['peak_rss_mib']:>12.0f} "
                      f"{fmt(x['cpu_per_wall'], '.2f'):>10}"
                      + ("   (RSS: whole process)" if side == "pytorch" else ""))
            if r["lrate"].get("isa") != isa:
                sys.exit(f"train_speed: the training run dispatched to {r['lrate'].get('isa')}, "
                         f"the GEMM peak to {isa}")
            ev = (r["lrate"].get("eval_img_per_s") or 0) / (r["pytorch"].get("eval_img_per_s") or 1)
            print(f"{model} repeat {i + 1} ({order[0]} first): img/s ratio {r['ratio']:.2f}, "
                  f"peak RSS ratio {r['lrate']['peak_rss_mib'] / r['pytorch']['peak_rss_mib']:.2f}, "
                  f"eval img/s ratio {ev:.2f}")
            reps.append(r)
        results[model] = summarise(model, reps)
    peak1, _ = gemm_peak(a)
    peak = max(peak0, peak1)
    print(f"gemm peak (end): {peak1:.1f} GFLOP/s; used: {peak:.1f} GFLOP/s")
    for model in models:
        s = results[model]
        g = s["train_gflop_per_img"]
        s["gemm_fraction"] = s["lrate_img_per_s_mean"] * g / peak if g else None
        print(f"{model} ratio lrate/pytorch img/s = {pm(s['ratio_mean'], s['ratio_sd'])}; "
              f"peak RSS ratio = {fmt(s['rss_ratio_mean'], '.2f')}; "
              f"gemm fraction = {fmt(s['gemm_fraction'], '.2f')}")
        print(f"{model} eval ratio lrate/pytorch img/s = "
              f"{pm(s['eval_ratio_mean'], s['eval_ratio_sd'])} (per repeat "
              f"{' '.join(f'{x:.2f}' for x in s['ratio_by_repeat'])} train, "
              f"{' '.join(f'{x:.2f}' for x in s['eval_ratio_by_repeat'])} eval)")
    imports = [measure([a.python, "-c", "import torch"])[1]["peak_rss_mib"]
               for _ in range(a.repeats)]
    bare = measure([a.python, "-c", "pass"])[1]["peak_rss_mib"]
    print(f"import torch alone: peak RSS {span(imports)} MiB (bare Python {bare:.0f} MiB)")

    torch_version = ", ".join(sorted(v for v in torch_versions if v)) or "unknown"
    prov = provenance.provenance(anchors={"torch": torch_version}, draft=a.draft or None)
    doc = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": a.command, "commit": prov["commit"], "dirty": prov["dirty"],
           "draft": prov["draft"], "cpu": prov["cpu"], "nproc": prov["nproc"],
           "threads": a.threads, "batch": a.batch, "warmup": a.warmup, "repeats": a.repeats,
           "steps": {m: results[m]["steps"] for m in models}, "torch": torch_version,
           "lrate_kernels": ", ".join(sorted(k for k in kernels if k)) or "unknown",
           "models": results, "import_torch_peak_rss_mib": imports, "isa": isa,
           "torch_isa_env": " ".join(f"{k}={os.environ[k]}" for k in
                                     ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
                                     if os.environ.get(k)),
           "gemm_peak_gflops": peak, "gemm_peak_by_run": [peak0, peak1],
           "python_bare_peak_rss_mib": bare, "loadavg_at_start": started,
           "loadavg_at_end": loadavg(), "provenance": prov}
    os.makedirs(a.report_dir, exist_ok=True)
    base = os.path.join(a.report_dir, a.report_name)
    write_json(base + ".json", doc)
    write_md(base + ".md", doc)
    print(f"wrote {base}.md and {base}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
