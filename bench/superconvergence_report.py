#!/usr/bin/env python3
"""Report of bench/superconvergence.sh (issue 7), Python 3 standard library only.

    python3 bench/superconvergence_report.py --out target/superconvergence --report-dir docs/results

Reads OUT/experiment.json, OUT/find-sS/ (lrate find, one per seed S) and OUT/runs/*/ (lrate
train: result.json, metrics.csv) and writes into the report directory:

* superconvergence.md    one table per experiment, the targets of the issue (PASS/FAIL), the
                         command and the machine;
* superconvergence.json  machine-readable results (onecycle_auto: per seed and mean/sd,
                         onecycle_acc_by_epochs, epochs_to_target, grid, auto_max_lr,
                         auto_mean_minus_best_grid_pp, range_test_by_seed, range_test_seconds,
                         grid_seconds, targets, runs …);
* superconvergence_accuracy.svg     test accuracy against epoch, every schedule;
* superconvergence_lr_momentum.svg  lr and momentum against step (in epochs);
* superconvergence_grid.svg         3-epoch 1cycle accuracy against max_lr, auto picks marked;
* superconvergence_range_test.svg   the range-test curve of seed SEED (lrate find's own plot).

The auto rows (the range test and 1cycle with --max-lr auto) run once per seed of AUTO_SEEDS
and are summarised as mean and sample sd; everything else is one run at SEED.

The plots are hand-written SVG.

Provenance (issue 18, bench/provenance.py): the report records the commit of every invocation of
the script (OUT/experiment.json) and of the report itself. On a working tree with uncommitted
changes it refuses to write (exit 2) unless DRAFT=1 or the experiment is in quick mode; a report
whose runs or whose own code come from a dirty tree is marked DRAFT (its first line, and "draft":
true in the JSON).
"""

import argparse
import csv
import json
import math
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)
from reports import read_json  # noqa: E402 (bench/reports.py)

TARGET_ACC_ONECYCLE = 0.910  # issue 7, target 1
TARGET_MARGIN_PP = 0.5  # target accuracy = 3-epoch 1cycle accuracy - 0.5 pp
TARGET_AUTO_VS_GRID_PP = 0.5
TARGET_EPOCH_RATIO = 1.0 / 3.0
TARGET_COST_RATIO = 0.1

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def public(text):
    """`text` (a data spec or a command) with machine-specific data directories replaced by
    DIR, so committed reports name no local paths (Debian's standard location is kept)."""
    if not text:
        return text
    return re.sub(r"((?:fashion-mnist|mnist|cifar10|cifar-10):)(?!" + re.escape(DEBIAN_FASHION_MNIST)
                  + r"\b)[^\s`'\"]+", r"\1DIR", text)


DASH = {"onecycle": None, "baseline": "7,3", "cyclic": "2,2", "grid": None}


# ---------------------------------------------------------------------------------------------
# Reading the runs


def read_metrics(path):
    """metrics.csv of lrate train: step rows (lr, momentum, loss) and epoch rows."""
    steps, epochs = [], []
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["kind"] == "step":
                    steps.append({"step": int(row["step"]), "epoch": int(row["epoch"]),
                                  "lr": float(row["lr"]), "momentum": float(row["momentum"]),
                                  "loss": float(row["loss"])})
                elif row["kind"] == "epoch":
                    epochs.append({"epoch": int(row["epoch"]) + 1, "step": int(row["step"]),
                                   "train_loss": float(row["loss"]) if row["loss"] else None,
                                   "test_acc": float(row["test_acc"]),
                                   "seconds": float(row["seconds"])})
    except OSError:
        pass
    return steps, epochs


NAME_RE = [
    ("onecycle", re.compile(r"^onecycle-auto-(\d+)ep-s(\d+)$")),
    ("grid", re.compile(r"^grid-onecycle-([0-9.eE+-]+)-(\d+)ep$")),
    ("baseline", re.compile(r"^(constant-minlr|constant-[0-9.eE+-]+|multistep-[0-9.eE+-]+)-(\d+)ep$")),
    ("cyclic", re.compile(r"^(clr|sgdr)-auto-(\d+)ep$")),
]


def classify(name):
    for group, rx in NAME_RE:
        m = rx.match(name)
        if m:
            return group, m
    return None, None


def label_of(name, group, m, res):
    if group == "onecycle":
        return f"1cycle auto, {m.group(1)} ep, seed {m.group(2)}"
    if group == "grid":
        return f"1cycle max_lr {m.group(1)}, {m.group(2)} ep"
    if group == "baseline":
        kind = m.group(1)
        if kind == "constant-minlr":
            lr = res.get("max_lr")
            return f"constant at min_lr ({lr:.3g})" if lr else "constant at min_lr"
        if kind.startswith("constant-"):
            return f"constant {kind.split('-', 1)[1]}"
        return f"multistep {kind.split('-', 1)[1]} (x0.1 at 50%, 75%)"
    if group == "cyclic":
        return {"clr": "CLR triangular (range-test bounds)",
                "sgdr": "SGDR (T_0 1 epoch, T_mult 2)"}[m.group(1)]
    return name


def load_runs(out):
    runs = []
    rdir = os.path.join(out, "runs")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        d = os.path.join(rdir, name)
        res = read_json(os.path.join(d, "result.json"))
        if res is None:
            continue  # not finished (the script resumes it)
        group, m = classify(name)
        if group is None:
            continue
        steps, epochs = read_metrics(os.path.join(d, "metrics.csv"))
        cmd = ""
        try:
            cmd = open(os.path.join(d, "command.txt")).read().strip()
        except OSError:
            pass
        runs.append({"name": name, "group": group, "match": m, "result": res,
                     "label": label_of(name, group, m, res), "steps": steps, "epochs": epochs,
                     "command": cmd})
    return runs


FIND_RE = re.compile(r"^find-s(\d+)$")


def read_find(d):
    """One range test's directory: lr_find.json, result.json and the lr at the lowest smoothed
    loss of lr_find.csv (the mean curve; lr_find.json's min_point when the CSV is missing)."""
    find = read_json(os.path.join(d, "lr_find.json"))
    lr_at_min = None
    try:
        with open(os.path.join(d, "lr_find.csv"), newline="") as f:
            pts = [(float(r["lr"]), float(r["smoothed_loss"])) for r in csv.DictReader(f)
                   if r.get("smoothed_loss")]
        if pts:
            lr_at_min = min(pts, key=lambda q: q[1])[0]
    except (OSError, ValueError, KeyError):
        pass
    if lr_at_min is None:
        lr_at_min = ((find or {}).get("min_point") or {}).get("lr")
    return {"dir": d, "find": find, "res": read_json(os.path.join(d, "result.json"), {}) or {},
            "lr_at_min": lr_at_min}


def load_finds(out):
    """The range tests OUT/find-sS/ that finished, or that ended without a reliable pick (the
    script records no result.json then): {seed: read_find(...)}."""
    finds = {}
    for name in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        m = FIND_RE.match(name)
        if not m:
            continue
        f = read_find(os.path.join(out, name))
        if f["res"] or (f["find"] or {}).get("unreliable"):
            finds[int(m.group(1))] = f
    return finds


def find_max_lr(find):
    """The max_lr a range test picked (lr_find.json's pick, else its bounds), or None."""
    find = find or {}
    return (find.get("pick") or {}).get("max_lr") or (find.get("bounds") or {}).get("max_lr")


def sweeps_text(k):
    return "one sweep" if k == 1 else f"the mean of {k} sweeps"


def mean_sd(values):
    """Mean and sample standard deviation (n - 1) of the values that are not None; sd is None
    below two values, both are None without any."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
    return m, sd


def auto_rows(runs, seeds):
    """The 1cycle --max-lr auto runs by length: {epochs: row}, a row holding each seed's run,
    test accuracy (None: diverged or missing) and max_lr, and their mean and sample sd."""
    by_len = {}
    for r in runs:
        e, s = int(r["match"].group(1)), int(r["match"].group(2))
        if s in seeds:
            by_len.setdefault(e, {})[s] = r
    rows = {}
    for e in sorted(by_len):
        rs = by_len[e]
        acc = {s: rs[s]["result"].get("test_acc") if s in rs else None for s in seeds}
        lr = {s: rs[s]["result"].get("max_lr") if s in rs else None for s in seeds}
        secs = [rs[s]["result"].get("seconds") for s in rs]
        m, sd = mean_sd(acc.values())
        lm, lsd = mean_sd(lr.values())
        rows[e] = {"epochs": e, "runs": rs, "acc": acc, "max_lr": lr, "mean": m, "sd": sd,
                   "n": sum(1 for v in acc.values() if v is not None),
                   "diverged": [s for s in seeds if s in rs and rs[s]["result"].get("status") != "ok"],
                   "missing": [s for s in seeds if s not in rs],
                   "max_lr_mean": lm, "max_lr_sd": lsd, "seconds_mean": mean_sd(secs)[0]}
    return rows


def epochs_to(acc_by_epoch, target):
    for e in acc_by_epoch:
        if e["test_acc"] >= target:
            return e["epoch"]
    return None


# ---------------------------------------------------------------------------------------------
# SVG


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def nice_ticks(lo, hi, n=6):
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    t = math.ceil(lo / step - 1e-9) * step
    ticks = []
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 12))
        t += step
    return ticks


def fmt_tick(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.0e}"
    return f"{v:g}"


class Panel:
    def __init__(self, y_label, series, logx=False, logy=False, hlines=(), vlines=(),
                 ylim=None, xlim=None):
        self.y_label, self.series, self.logx, self.logy = y_label, series, logx, logy
        self.hlines, self.vlines, self.ylim, self.xlim = hlines, vlines, ylim, xlim


def svg_panels(path, title, x_label, panels, width=900, panel_h=300, legend_w=260):
    """Stacked panels sharing x. series: dicts with name, points [(x, y)], color, dash, marker,
    and optionally width, only_markers, no_legend."""
    ml, mr, mt, mb, gap = 70, 20 + legend_w, 40, 50, 40
    h = mt + mb + len(panels) * panel_h + (len(panels) - 1) * gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
           f'viewBox="0 0 {width} {h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{h}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{esc(title)}</text>']
    pw = width - ml - mr
    for i, p in enumerate(panels):
        top = mt + i * (panel_h + gap)
        tx = (lambda v: math.log10(v)) if p.logx else (lambda v: v)
        ty = (lambda v: math.log10(v)) if p.logy else (lambda v: v)
        pts = [(tx(x), ty(y)) for s in p.series for x, y in s["points"]
               if y is not None and math.isfinite(y) and (not p.logx or x > 0)
               and (not p.logy or y > 0)]
        xs = [q[0] for q in pts] or [0.0, 1.0]
        ys = [q[1] for q in pts] or [0.0, 1.0]
        x0, x1 = (tx(p.xlim[0]), tx(p.xlim[1])) if p.xlim else (min(xs), max(xs))
        y0, y1 = (ty(p.ylim[0]), ty(p.ylim[1])) if p.ylim else (min(ys), max(ys))
        for hv in p.hlines:
            y0, y1 = min(y0, ty(hv[0])), max(y1, ty(hv[0]))
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        if not p.ylim:
            pad = 0.05 * (y1 - y0)
            y0, y1 = y0 - pad, y1 + pad

        def X(v, x0=x0, x1=x1):
            return ml + (v - x0) / (x1 - x0) * pw

        def Y(v, y0=y0, y1=y1, top=top):
            return top + panel_h - (v - y0) / (y1 - y0) * panel_h

        out.append(f'<rect x="{ml}" y="{top}" width="{pw}" height="{panel_h}" fill="none" '
                   f'stroke="#444"/>')
        if p.logx:
            xt = [math.log10(m * 10.0 ** k) for k in range(math.floor(x0) - 1, math.ceil(x1) + 1)
                  for m in (1, 2, 5) if x0 <= math.log10(m * 10.0 ** k) <= x1]
            xt_lbl = [f"{10 ** e:.3g}" for e in xt]
            if len(xt) < 2:
                xt = nice_ticks(x0, x1)
                xt_lbl = [f"{10 ** e:.2g}" for e in xt]
        else:
            xt = nice_ticks(x0, x1)
            xt_lbl = [fmt_tick(v) for v in xt]
        for v, lbl in zip(xt, xt_lbl):
            out.append(f'<line x1="{X(v):.1f}" y1="{top}" x2="{X(v):.1f}" y2="{top + panel_h}" '
                       f'stroke="#ddd"/>')
            out.append(f'<text x="{X(v):.1f}" y="{top + panel_h + 16}" text-anchor="middle">'
                       f'{esc(lbl)}</text>')
        yt = nice_ticks(y0, y1)
        for v in yt:
            lbl = f"1e{v:g}" if p.logy else fmt_tick(v)
            out.append(f'<line x1="{ml}" y1="{Y(v):.1f}" x2="{ml + pw}" y2="{Y(v):.1f}" '
                       f'stroke="#ddd"/>')
            out.append(f'<text x="{ml - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{esc(lbl)}</text>')
        out.append(f'<text transform="translate(16,{top + panel_h / 2}) rotate(-90)" '
                   f'text-anchor="middle">{esc(p.y_label)}</text>')
        legend = []
        for hv in p.hlines:
            v, name, color = hv
            out.append(f'<line x1="{ml}" y1="{Y(ty(v)):.1f}" x2="{ml + pw}" y2="{Y(ty(v)):.1f}" '
                       f'stroke="{color}" stroke-dasharray="6,4"/>')
            legend.append((name, color, "6,4", False))
        for vv in p.vlines:
            v, name, color = vv
            if p.logx and v <= 0:
                continue
            xv = X(tx(v))
            out.append(f'<line x1="{xv:.1f}" y1="{top}" x2="{xv:.1f}" y2="{top + panel_h}" '
                       f'stroke="{color}" stroke-dasharray="3,3"/>')
            legend.append((name, color, "3,3", False))
        out.append(f'<clipPath id="c{i}"><rect x="{ml}" y="{top}" width="{pw}" '
                   f'height="{panel_h}"/></clipPath>')
        for s in p.series:
            q = [(X(tx(x)), Y(ty(y))) for x, y in s["points"]
                 if y is not None and math.isfinite(y) and (not p.logx or x > 0)
                 and (not p.logy or y > 0)]
            if not q:
                continue
            dash = f' stroke-dasharray="{s["dash"]}"' if s.get("dash") else ""
            if len(q) > 1 and not s.get("only_markers"):
                d = " ".join(f"{a:.1f},{b:.1f}" for a, b in q)
                out.append(f'<polyline clip-path="url(#c{i})" points="{d}" fill="none" '
                           f'stroke="{s["color"]}" stroke-width="{s.get("width", 1.6)}"{dash}/>')
            if s.get("marker") or len(q) == 1:
                for a, b in q:
                    out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{s["color"]}"/>')
            if not s.get("no_legend"):
                legend.append((s["name"], s["color"], s.get("dash"), s.get("marker")))
        for j, (name, color, dash, marker) in enumerate(legend):
            ly = top + 12 + j * 17
            lx = ml + pw + 14
            da = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 22}" y2="{ly - 4}" '
                       f'stroke="{color}" stroke-width="2"{da}/>')
            if marker:
                out.append(f'<circle cx="{lx + 11}" cy="{ly - 4}" r="3" fill="{color}"/>')
            out.append(f'<text x="{lx + 28}" y="{ly}">{esc(name)}</text>')
        if i == len(panels) - 1:
            out.append(f'<text x="{ml + pw / 2}" y="{top + panel_h + 38}" text-anchor="middle">'
                       f'{esc(x_label)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------------------------------------
# Analysis


def pct(v, digits=2):
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"


def num(v, fmt="{:.1f}"):
    return "n/a" if v is None else fmt.format(v)


def acc_text(row, s):
    """Seed s's test accuracy in an auto row: a percentage, "diverged" or "missing"."""
    if s in row["missing"]:
        return "missing"
    return "diverged" if s in row["diverged"] else pct(row["acc"][s])


def pm(m, sd, n=None):
    """An accuracy as "mean% ± sd pp" (sd in percentage points), with the number of seeds."""
    if m is None:
        return "n/a"
    seeds = f" ({n} seed{'s' if n != 1 else ''})" if n is not None else ""
    return f"{100 * m:.2f}%" + (f" ± {100 * sd:.2f} pp" if sd is not None else "") + seeds


def describe_rule(rule):
    """lr_find.json's bounds_rule (e.g. "near-min:1.6") in words."""
    if not rule:
        return "max_lr by the range test's default rule"
    name, _, factor = str(rule).partition(":")
    if name == "near-min":
        f = f"{factor} ×" if factor else "a factor (per optimizer family) ×"
        return f"max_lr = {f} the lr where the smoothed loss has made 80 % of its fall to its minimum"
    return f"max_lr = the range test's `{name}` suggestion"


def seeds_text(seeds):
    return ", ".join(str(s) for s in seeds)


def analyse(out):
    exp = read_json(os.path.join(out, "experiment.json"), {}) or {}
    seed = exp.get("seed", 0)
    finds = load_finds(out)
    runs = load_runs(out)
    by_group = {g: [r for r in runs if r["group"] == g] for g in ("onecycle", "baseline", "cyclic", "grid")}
    found = {int(r["match"].group(2)) for r in by_group["onecycle"]} | set(finds)
    seeds = exp.get("auto_seeds") or sorted(found) or [seed]
    done = {s: f for s, f in finds.items() if f["res"]}
    fs = done.get(seed) or (done[min(done)] if done else None)  # the plotted range test
    find, find_res = (fs["find"], fs["res"]) if fs else (None, {})
    find_seed = fs and next(s for s, v in finds.items() if v is fs)
    batch = exp.get("batch", 128)

    # 1cycle auto by length: every seed (auto), and seed SEED's run (plots, onecycle_acc_by_epochs).
    auto = auto_rows(by_group["onecycle"], seeds)
    onecycle = {e: row["runs"][seed] for e, row in auto.items() if seed in row["runs"]}
    onecycle_acc = {str(e): r["result"].get("test_acc") for e, r in onecycle.items()}
    ref_epochs = 3 if 3 in auto else (max(auto) if auto else None)
    ref_acc, ref_sd = (auto[ref_epochs]["mean"], auto[ref_epochs]["sd"]) if ref_epochs else (None, None)
    target = ref_acc - TARGET_MARGIN_PP / 100 if ref_acc is not None else None

    # Epochs to target: 1cycle by its mean over seeds, each seed on its own, the baselines.
    ett, ett_by_seed = {}, {}
    if target is not None:
        reached = [e for e, row in auto.items() if row["mean"] is not None and row["mean"] >= target]
        ett["onecycle-auto"] = min(reached) if reached else None
        for s in seeds:
            got = [e for e, row in auto.items() if row["acc"].get(s) is not None
                   and row["acc"][s] >= target]
            ett_by_seed[str(s)] = min(got) if got else None
        for r in by_group["baseline"] + by_group["cyclic"]:
            key = re.sub(r"-\d+ep$", "", r["name"])
            ett[key] = epochs_to(r["epochs"], target)

    # Grid.
    grid, grid_seconds, grid_images = {}, 0.0, 0
    for r in sorted(by_group["grid"], key=lambda r: float(r["match"].group(1))):
        res = r["result"]
        grid[r["match"].group(1)] = res.get("test_acc")
        grid_seconds += res.get("seconds") or res.get("wall_seconds_last_invocation") or 0.0
        if res.get("steps") is not None:
            grid_images += res["steps"] * batch
        elif r["steps"]:
            grid_images += len(r["steps"]) * batch
    bounds = (find or {}).get("bounds", {}) or {}
    auto_min_lr, auto_max_lr = bounds.get("min_lr"), bounds.get("max_lr")
    picks = {s: find_max_lr(finds[s]["find"]) if s in finds else None for s in seeds}
    pick_mean, pick_sd = mean_sd(picks.values())
    grid_ok = {k: v for k, v in grid.items() if v is not None}
    best_grid = max(grid_ok.items(), key=lambda kv: kv[1]) if grid_ok else None
    grid_epochs = exp.get("grid_epochs", 3)
    auto_same = auto.get(grid_epochs)
    auto_acc = auto_same["acc"].get(seed) if auto_same else None
    auto_mean, auto_sd = (auto_same["mean"], auto_same["sd"]) if auto_same else (None, None)
    auto_minus_best = (100 * (auto_acc - best_grid[1])
                       if (auto_acc is not None and best_grid) else None)
    auto_mean_minus_best = (100 * (auto_mean - best_grid[1])
                            if (auto_mean is not None and best_grid) else None)
    lr_at_min = fs["lr_at_min"] if fs else None
    anchor = ((find or {}).get("anchor") or {}).get("lr")

    range_seconds = find_res.get("wall_seconds_last_invocation")
    range_batches = (find or {}).get("batches")
    range_images = range_batches * batch if range_batches is not None else None

    # Targets.
    targets = []
    quick = bool(exp.get("quick"))
    ns = f"seed{'s' if len(seeds) != 1 else ''} {seeds_text(seeds)}"
    row3 = auto.get(3)
    acc3 = row3["mean"] if row3 else None
    targets.append({
        "name": "3-epoch 1cycle test accuracy >= 91.0%",
        "pass": (acc3 >= TARGET_ACC_ONECYCLE) if acc3 is not None else None,
        "value": acc3, "sd": row3["sd"] if row3 else None,
        "detail": (f"1cycle with --max-lr auto reached {pm(acc3, row3['sd'], row3['n'])} in 3 epochs, "
                   f"mean ± sample sd over {ns}; per seed "
                   + ", ".join(f"s{s} {acc_text(row3, s)} (max_lr {num(row3['max_lr'][s], '{:.3g}')})"
                               for s in seeds)
                   if acc3 is not None else "no 3-epoch 1cycle run")
        + (f"; the best grid point (max_lr {best_grid[0]}, seed {seed}) reached {pct(best_grid[1])}"
           if best_grid else "")
        + "; PyTorch on the same recipe: docs/results/training_parity.md (bench/torch_parity.py).",
    })
    base = {k: v for k, v in ett.items() if k.startswith(("constant", "multistep"))}
    base_reached = {k: v for k, v in base.items() if v is not None}
    n_max = exp.get("baseline_epochs", 12)
    oc_ett = ett.get("onecycle-auto")
    oc_text = ""
    if oc_ett is not None:
        row = auto[oc_ett]
        oc_text = (f"1cycle (mean over {ns}) needs {oc_ett} epoch(s) to reach {pct(target)} "
                   f"(the {ref_epochs}-epoch mean {pm(ref_acc, ref_sd, auto[ref_epochs]['n'])} minus "
                   f"{TARGET_MARGIN_PP} pp"
                   + (f"; the {oc_ett}-epoch mean is {pm(row['mean'], row['sd'], row['n'])}"
                      if oc_ett != ref_epochs else "") + "; per seed: "
                   + ", ".join(f"s{s} {'not within ' + str(max(auto)) if v is None else v}"
                               for s, v in ett_by_seed.items())
                   + f"); the baselines are single runs at seed {seed}")
    if oc_ett is None or not base:
        t2 = {"pass": None, "value": None,
              "detail": "missing runs" if oc_ett is None and target is not None and auto and not base
              else ("1cycle did not reach its own target" if target is not None and auto and base
                    else "missing runs")}
    elif base_reached:
        best_k, best_v = min(base_reached.items(), key=lambda kv: kv[1])
        ratio = oc_ett / best_v
        every = ", ".join(f"{k} {'not within ' + str(n_max) if v is None else v}"
                          for k, v in sorted(base.items()))
        t2 = {"pass": ratio <= TARGET_EPOCH_RATIO + 1e-9, "value": ratio,
              "detail": f"{oc_text}. The best baseline ({best_k}) needs {best_v}: ratio {ratio:.2f} "
                        f"(target <= 1/3; would need the baseline to take >= "
                        f"{math.ceil(oc_ett / TARGET_EPOCH_RATIO - 1e-9)} epochs). Epochs to "
                        f"target: {every}"}
    else:
        ratio_bound = oc_ett / (n_max + 1)
        t2 = {"pass": oc_ett <= (n_max + 1) * TARGET_EPOCH_RATIO, "value": None,
              "detail": f"{oc_text}. No constant or multistep baseline reached it within {n_max} "
                        f"epochs, so they need more than {n_max}: ratio below {ratio_bound:.2f} "
                        f"(target <= 1/3)"}
    t2["name"] = "1cycle reaches the target in <= 1/3 of the epochs of the best constant/multistep baseline"
    targets.append(t2)
    rule = (find or {}).get("bounds_rule")
    lr_mean = auto_same["max_lr_mean"] if auto_same else None
    t3 = "missing runs"
    if auto_mean_minus_best is not None:
        per = ", ".join(f"s{s} {num(v, '{:.3g}')}" for s, v in auto_same["max_lr"].items())
        t3 = (f"auto max_lr per seed {per}: {pm(auto_mean, auto_sd, auto_same['n'])} after "
              f"{grid_epochs} epochs (mean ± sample sd); best grid point (one run, seed {seed}) "
              f"max_lr {best_grid[0]}: {pct(best_grid[1])}; difference of the mean "
              f"{auto_mean_minus_best:+.2f} pp"
              + (f" (sd of the auto runs {100 * auto_sd:.2f} pp)" if auto_sd is not None else ""))
        if lr_mean:
            t3 += (f". The best grid max_lr is {float(best_grid[0]) / lr_mean:.2g}x the mean auto "
                   f"pick ({lr_mean:.3g})")
        if anchor and auto_max_lr:
            t3 += (f"; on seed {find_seed}'s range test the smoothed loss had made 80 % of its fall at lr "
                   f"{anchor:.3g} and was lowest at lr {num(lr_at_min, '{:.3g}')}, and its `{rule}` "
                   f"rule ({describe_rule(rule)}) gave max_lr {auto_max_lr:.3g}")
    targets.append({
        "name": "auto-picked max_lr within 0.5 pp of the best grid point",
        "pass": (auto_mean_minus_best >= -TARGET_AUTO_VS_GRID_PP) if auto_mean_minus_best is not None else None,
        "value": auto_mean_minus_best, "sd": 100 * auto_sd if auto_sd is not None else None,
        "detail": t3,
    })
    cost_ratio = range_seconds / grid_seconds if (range_seconds and grid_seconds) else None
    img_ratio = range_images / grid_images if (range_images and grid_images) else None
    sweeps = (find or {}).get("repeats")
    targets.append({
        "name": "range test costs <= 1/10 of the grid's compute",
        "pass": (cost_ratio <= TARGET_COST_RATIO) if cost_ratio is not None else None,
        "value": cost_ratio,
        "detail": (f"range test (seed {find_seed}) {range_seconds:.1f} s ({range_batches} batches"
                   + (f" in all, {sweeps_text(sweeps)}" if sweeps else "") + f", {range_images} "
                   f"images) vs grid {grid_seconds:.1f} s ({grid_images} training images, plus "
                   f"evaluation): {cost_ratio:.3f} of the wall time, {img_ratio:.3f} of the training "
                   f"images") if cost_ratio is not None and img_ratio is not None else "missing runs",
    })
    if quick:
        for t in targets:
            t["detail"] += " (quick mode: subsets and short runs, the targets do not apply)"

    return {
        "exp": exp, "seed": seed, "seeds": seeds, "finds": finds, "find": find,
        "find_seed": find_seed, "find_res": find_res, "runs": runs, "by_group": by_group,
        "auto": auto, "onecycle": onecycle, "onecycle_acc": onecycle_acc, "ref_epochs": ref_epochs,
        "ref_acc": ref_acc, "ref_sd": ref_sd,
        "target": target, "ett": ett, "ett_by_seed": ett_by_seed, "grid": grid,
        "grid_seconds": grid_seconds, "grid_images": grid_images, "auto_max_lr": auto_max_lr,
        "auto_min_lr": auto_min_lr, "picks": picks, "pick_mean": pick_mean, "pick_sd": pick_sd,
        "best_grid": best_grid, "auto_acc": auto_acc, "auto_minus_best": auto_minus_best,
        "auto_same": auto_same, "auto_mean": auto_mean, "auto_sd": auto_sd,
        "auto_mean_minus_best": auto_mean_minus_best,
        "range_seconds": range_seconds, "range_images": range_images, "targets": targets,
        "quick": quick, "lr_at_min_loss": lr_at_min, "anchor_lr": anchor,
    }


def invocation_dirty(inv):
    """Whether an invocation of the script ran on a dirty tree (older experiment.json files
    wrote "SHA (with uncommitted changes)" into its git field)."""
    return bool(inv.get("dirty") or inv.get("draft")) or "uncommitted" in str(inv.get("git", ""))


def invocation_commit(inv):
    return str(inv.get("commit") or inv.get("git") or "unknown").split()[0]


def commits_text(a):
    """The commits the runs were made at, in order, each with the state of its tree."""
    seen = []
    for inv in a["exp"].get("invocations", []):
        item = (invocation_commit(inv), invocation_dirty(inv))
        if item not in seen:
            seen.append(item)
    if not seen:
        return "unknown"
    return ", ".join(f"`{c}`" + (" (uncommitted changes)" if d else "") for c, d in seen)


def headline(a):
    acc = a["ref_acc"]
    if acc is None:
        return "no 1cycle result yet"
    base = {k: v for k, v in a["ett"].items() if k.startswith(("constant", "multistep"))}
    n_max = a["exp"].get("baseline_epochs", 12)
    const = {k: v for k, v in base.items() if k.startswith("constant")}
    reached = [v for v in const.values() if v is not None]
    if reached:
        n = min(reached)
        c = f"constant LR needs {n} epoch{'s' if n != 1 else ''} to come within 0.5 pp of it"
    elif const:
        c = f"constant LR does not come within 0.5 pp of it in {n_max} epochs"
    else:
        c = "no constant-LR baseline yet"
    ms = [v for k, v in base.items() if k.startswith("multistep")]
    if ms:
        c += (f", multistep needs {ms[0]}" if ms[0] is not None
              else f", multistep does not in {n_max}")
    e, n = a["ref_epochs"], a["auto"][a["ref_epochs"]]["n"]
    sd = f" ± {100 * a['ref_sd']:.1f} pp" if a["ref_sd"] is not None else ""
    return (f"{100 * acc:.1f}%{sd} (mean of {n} seed{'s' if n != 1 else ''}) in {e} "
            f"epoch{'s' if e != 1 else ''} with 1cycle at the range test's max_lr; {c}"
            + (f" (baselines: one run, seed {a['seed']})" if base else ""))


# ---------------------------------------------------------------------------------------------
# Writing


def auto_json(row):
    """One length of the auto rows, for the JSON: per seed, mean and sample sd."""
    return {"epochs": row["epochs"],
            "test_acc_by_seed": {str(s): v for s, v in row["acc"].items()},
            "max_lr_by_seed": {str(s): v for s, v in row["max_lr"].items()},
            "mean": row["mean"], "sd": row["sd"], "n": row["n"],
            "diverged_seeds": row["diverged"], "missing_seeds": row["missing"],
            "max_lr_mean": row["max_lr_mean"], "max_lr_sd": row["max_lr_sd"],
            "seconds_mean": row["seconds_mean"]}


def range_test_json(find, lr_at_min):
    return {"suggestions": find.get("suggestions"), "bounds": find.get("bounds"),
            "lr_at_min_smoothed_loss": lr_at_min, "anchor": find.get("anchor"),
            "min_point": find.get("min_point"), "pick": find.get("pick"),
            "rules": find.get("rules"), "repeats": find.get("repeats"),
            "bounds_rule": find.get("bounds_rule"), "batches": find.get("batches"),
            "stop_reason": find.get("stop_reason")}


def write_json(a, path):
    exp = a["exp"]
    runs = {}
    for r in a["runs"]:
        res = r["result"]
        runs[r["name"]] = {
            "group": r["group"], "label": r["label"], "status": res.get("status"),
            "schedule": res.get("schedule"), "max_lr": res.get("max_lr"),
            "min_lr": res.get("min_lr"), "epochs": res.get("epochs"),
            "test_acc": res.get("test_acc"), "seconds": res.get("seconds"),
            "img_per_s": res.get("img_per_s"),
            "acc_by_epoch": [e["test_acc"] for e in r["epochs"]],
            "error": res.get("error"),
        }
    find = a["find"] or {}
    doc = {
        "data": public(exp.get("data")), "model": exp.get("model"), "batch": exp.get("batch"),
        "optimizer": exp.get("optimizer"), "quick": a["quick"],
        "seed": a["seed"], "auto_seeds": a["seeds"], "seeds": a["seeds"],
        "seeds_note": (f"the range test and the 1cycle --max-lr auto runs ran once per seed of "
                       f"auto_seeds (mean, sample sd); everything else is one run at seed {a['seed']}"),
        "onecycle_auto": {str(e): auto_json(row) for e, row in a["auto"].items()},
        "onecycle_acc_by_epochs": a["onecycle_acc"],
        "onecycle_acc_mean_by_epochs": {str(e): row["mean"] for e, row in a["auto"].items()},
        "onecycle_acc_sd_by_epochs": {str(e): row["sd"] for e, row in a["auto"].items()},
        "target_acc": a["target"],
        "target_definition": (f"{a['ref_epochs']}-epoch 1cycle test accuracy, mean over auto_seeds, "
                              f"minus {TARGET_MARGIN_PP} pp" if a["ref_epochs"] else None),
        "epochs_to_target": a["ett"],
        "epochs_to_target_onecycle_by_seed": a["ett_by_seed"],
        "grid": a["grid"],
        "grid_epochs": exp.get("grid_epochs"),
        "best_grid_max_lr": float(a["best_grid"][0]) if a["best_grid"] else None,
        "auto_max_lr": a["auto_max_lr"],
        "auto_min_lr": a["auto_min_lr"],
        "auto_max_lr_by_seed": {str(s): v for s, v in a["picks"].items()},
        "auto_max_lr_mean": a["pick_mean"],
        "auto_max_lr_sd": a["pick_sd"],
        "auto_acc": a["auto_acc"],
        "auto_acc_by_seed": ({str(s): v for s, v in a["auto_same"]["acc"].items()}
                             if a["auto_same"] else {}),
        "auto_acc_mean": a["auto_mean"],
        "auto_acc_sd": a["auto_sd"],
        "auto_minus_best_grid_pp": a["auto_minus_best"],
        "auto_mean_minus_best_grid_pp": a["auto_mean_minus_best"],
        "range_test_seconds": a["range_seconds"],
        "range_test_images": a["range_images"],
        "grid_seconds": a["grid_seconds"],
        "grid_images": a["grid_images"],
        "range_test": dict(range_test_json(find, a["lr_at_min_loss"]), seed=a["find_seed"]),
        "range_test_by_seed": {str(s): dict(range_test_json(f["find"] or {}, f["lr_at_min"]),
                                            seconds=f["res"].get("wall_seconds_last_invocation"))
                               for s, f in sorted(a["finds"].items())},
        "targets": a["targets"],
        "headline": headline(a),
        "runs": runs,
        "command": exp.get("command"),
        "machine": exp.get("machine"),
        "lrate_version": exp.get("lrate_version"),
        "git": exp.get("git"),
        "draft": a["draft"],
        "commits": [{"commit": invocation_commit(i), "dirty": invocation_dirty(i),
                     "started": i.get("started")} for i in exp.get("invocations", [])],
        "provenance": a["provenance"],
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def run_table(rows, with_epochs_to_target=None):
    head = "| schedule | max lr | epochs | test accuracy | wall time (s) | img/s |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if with_epochs_to_target is not None:
        head += " epochs to target |"
        sep += "---:|"
    lines = [head, sep]
    for r in rows:
        res = r["result"]
        acc = pct(res.get("test_acc")) if res.get("status") == "ok" else f"diverged"
        line = (f"| {r['label']} | {num(res.get('max_lr'), '{:.4g}')} | "
                f"{res.get('epochs', len(r['epochs']))} | {acc} | {num(res.get('seconds'))} | "
                f"{num(res.get('img_per_s'), '{:.0f}')} |")
        if with_epochs_to_target is not None:
            v = with_epochs_to_target.get(re.sub(r"-\d+ep$", "", r["name"]), "n/a")
            line += f" {'not reached' if v is None else v} |"
        lines.append(line)
    return "\n".join(lines)


def per_epoch_table(rows):
    n = max((len(r["epochs"]) for r in rows), default=0)
    if n == 0:
        return ""
    lines = ["| schedule | " + " | ".join(str(e) for e in range(1, n + 1)) + " |",
             "|---|" + "---:|" * n]
    for r in rows:
        accs = [f"{100 * e['test_acc']:.2f}" for e in r["epochs"]] + [""] * (n - len(r["epochs"]))
        lines.append(f"| {r['label']} | " + " | ".join(accs) + " |")
    return "\n".join(lines)


def rules_table(find):
    """Every rule's pick on the mean curve with its range over the sweeps (lr_find.json's
    rules), or the suggestions of an lr_find.json without rules."""
    rules = find.get("rules")
    if rules:
        lines = ["| rule | max_lr on the mean curve | median of the sweeps | range over sweeps |",
                 "|---|---:|---:|---:|"]
        for r in rules:
            lines.append(f"| {r.get('rule')} | {num(r.get('mean_curve'), '{:.3e}')} | "
                         f"{num(r.get('median'), '{:.3e}')} | {num(r.get('low'), '{:.3e}')} – "
                         f"{num(r.get('high'), '{:.3e}')} |")
        return lines
    sug = find.get("suggestions") or {}
    lines = ["| rule | suggested lr |", "|---|---:|"]
    for k in ("valley", "minimum", "steep", "slide", "steepest"):
        v = sug.get(k)
        lines.append(f"| {k} | {'none' if v is None else f'{v:.3e}'} |")
    return lines


def picks_table(a):
    """Every seed's range test: its pick and the pick's range over the sweeps."""
    lines = ["| seed | max_lr (pick) | range over sweeps | sweeps | sweeps disagree | smoothed loss "
             "has made 80 % of its fall at lr | wall time (s) |", "|---:|---:|---:|---:|---|---:|---:|"]
    for s in sorted(set(a["seeds"]) | set(a["finds"])):
        f = a["finds"].get(s)
        if f is None:
            lines.append(f"| {s} | missing |  |  |  |  |  |")
            continue
        find = f["find"] or {}
        p = find.get("pick") or {}
        lr = find_max_lr(find)
        lines.append(f"| {s}{'' if s in a['seeds'] else ' (plot only)'} | "
                     + (f"{lr:.4g} | " if lr else "no reliable pick | ")
                     + f"{num(p.get('low'), '{:.4g}')} – {num(p.get('high'), '{:.4g}')} | "
                     f"{p.get('sweeps', find.get('repeats', 'n/a'))} | "
                     f"{'yes' if p.get('disagrees') else ('no' if p else 'n/a')} | "
                     f"{num((find.get('anchor') or {}).get('lr'), '{:.4g}')} | "
                     f"{num(f['res'].get('wall_seconds_last_invocation'))} |")
    return lines


def range_test_section(a, assets):
    find, L = a["find"] or {}, []
    if not find:
        return ["(no range test)", ""]
    rule = find.get("bounds_rule")
    L.append(f"Seed {a['find_seed']}'s range test (the plot and the table of rules): "
             f"{sweeps_text(find.get('repeats', 1))}"
             + (f" ({find.get('vary', 'data')} differs between them)" if find.get("repeats", 1) > 1 else "")
             + f", {find.get('batches')} batches in all, stopped: "
             f"{find.get('stop_reason')}; wall time {num(a['range_seconds'])} s; the mean smoothed "
             f"loss fell by {pct(find.get('loss_drop'), 1)}, had made 80 % of its fall at "
             f"lr {num(a['anchor_lr'], '{:.3g}')} and was lowest at lr "
             f"{num(a['lr_at_min_loss'], '{:.3g}')}.")
    L.append("")
    L += rules_table(find)
    L.append("")
    b = find.get("bounds") or {}
    if b:
        L.append(f"**Bounds** (`{rule}`: {describe_rule(rule)}; min_lr = max_lr/4): min_lr "
                 f"{b['min_lr']:.3e}, max_lr {b['max_lr']:.3e}.")
    else:
        L.append(f"**Bounds**: none ({find.get('unreliable') or 'no reliable pick'}).")
    L.append("")
    if "range_test" in assets:
        L.append(f"![range test]({assets['range_test']})")
        L.append("")
        L.append("(lrate find's plot: the mean smoothed loss over the sweeps, shaded between the "
                 "lowest and highest sweep.)")
        L.append("")
    L.append(f"Every seed's pick (`{rule}`), with its range over the sweeps (the rule on each "
             "sweep alone):")
    L.append("")
    L += picks_table(a)
    L.append("")
    for s, f in sorted(a["finds"].items()):
        why = (f["find"] or {}).get("unreliable")
        if why and not find_max_lr(f["find"]):
            L.append(f"Seed {s}: no reliable pick ({why}), so its `--max-lr auto` runs fail too.")
            L.append("")
    if a["pick_mean"] is not None:
        sd = f" ± {a['pick_sd']:.3g}" if a["pick_sd"] is not None else ""
        n = sum(1 for v in a["picks"].values() if v is not None)
        L.append(f"max_lr over seeds {seeds_text(a['seeds'])}: {a['pick_mean']:.3g}{sd} "
                 + (f"(mean ± sample sd, {n} seeds)." if n > 1 else "(1 seed)."))
        L.append("")
    return L


def auto_table(a):
    """Per length: each seed's max_lr and test accuracy, their mean ± sample sd."""
    seeds = a["seeds"]
    lines = ["| epochs | " + " | ".join(f"max_lr s{s}" for s in seeds) + " | "
             + " | ".join(f"test acc s{s}" for s in seeds) + " | mean ± sd | mean wall time (s) |",
             "|---:|" + "---:|" * (2 * len(seeds) + 2)]
    for e, row in a["auto"].items():
        accs = []
        for s in seeds:
            accs.append(acc_text(row, s))
        lines.append(f"| {e} | " + " | ".join(num(row["max_lr"][s], "{:.4g}") for s in seeds)
                     + " | " + " | ".join(accs) + f" | {pm(row['mean'], row['sd'], row['n'])} | "
                     f"{num(row['seconds_mean'])} |")
    return lines


def pick_check(a):
    """Whether each auto run's max_lr is its seed's find pick (the range test is deterministic)."""
    off = []
    for e, row in a["auto"].items():
        for s, lr in row["max_lr"].items():
            p = a["picks"].get(s)
            if lr is not None and p is not None and abs(lr - p) > 1e-6 * max(abs(p), 1e-12):
                off.append(f"{e} ep seed {s}: {lr:.4g} vs {p:.4g}")
    if off:
        return "The auto runs' max_lr differ from their seed's `lrate find` pick: " + "; ".join(off) + "."
    return "Each auto run's max_lr is its seed's `lrate find` pick (section 1)."


def auto_section(a):
    rows = list(a["auto"].values())
    if not rows:
        return ["(no runs)", ""]
    L = [f"Seeds {seeds_text(a['seeds'])}, one run per seed and length; mean ± sample sd over the "
         "seeds that finished.", ""]
    L += auto_table(a)
    L.append("")
    if any(row["missing"] for row in rows):
        L.append("missing: not run yet, or failed (`OUT/runs/NAME/stderr.txt`; a seed without a "
                 "reliable range-test pick fails its auto runs).")
        L.append("")
    if a["picks"] and any(v is not None for v in a["picks"].values()):
        L.append(pick_check(a))
        L.append("")
    runs = [r for row in rows for _, r in sorted(row["runs"].items())]
    L.append("Test accuracy (%) after each epoch:")
    L.append("")
    L.append(per_epoch_table(runs))
    L.append("")
    return L


def write_md(a, path, assets):
    exp, find = a["exp"], a["find"] or {}
    m = exp.get("machine", {})
    inv = exp.get("invocations", [])
    L = provenance.md_header(a["provenance"])
    L.append("# Super-convergence on real data: 1cycle vs CLR, SGDR and annealing baselines")
    L.append("")
    L.append("Generated by `bench/superconvergence.sh` and `bench/superconvergence_report.py` "
             "(issue 7). Do not edit by hand: rerun the command below.")
    L.append("")
    if a["quick"]:
        L.append("**Quick mode** (subsets, short runs): a smoke test of the pipeline; the numbers "
                 "say nothing about super-convergence.")
        L.append("")
    L.append(f"**Headline:** {headline(a)}.")
    L.append("")
    L.append("## Setup")
    L.append("")
    L.append(f"- Data `{public(exp.get('data'))}`"
             + (f" (first {exp['limit_train']} training / {exp['limit_test']} test images)"
                if exp.get("limit_train") or exp.get("limit_test") else " (full training and test sets)")
             + f", model `{exp.get('model')}`, batch {exp.get('batch')}.")
    L.append(f"- Seeds (weights, data order, augmentation and the range test's batches): the range "
             f"test and 1cycle with `--max-lr auto` ran once per seed {seeds_text(a['seeds'])} and are "
             f"reported as mean ± sample sd over them; the baselines, CLR/SGDR and the grid are one "
             f"run each at seed {a['seed']}, to fit the time budget.")
    L.append(f"- Optimizer: {exp.get('optimizer')}. 1cycle is fastai's `fit_one_cycle` "
             "(25% warm-up, div 25, final div 1e5, momentum 0.95 -> 0.85 -> 0.95); CLR is "
             "triangular with momentum 0.9 -> 0.8, two cycles over the run; SGDR restarts after "
             "1, 1+2 and 1+2+4 epochs, eta_min 0.")
    rule = find.get("bounds_rule")
    sweeps = find.get("repeats")
    L.append(f"- `--max-lr auto`: lrate runs the range test ({exp.get('num_it')} batches"
             + (f" per sweep, {sweeps_text(sweeps)}" if sweeps else "")
             + f", lr 1e-7 -> 10) and takes max_lr by its `{rule or 'default'}` rule "
             f"({describe_rule(rule)}), min_lr = max_lr/4. Each auto run repeats its seed's "
             "(deterministic) range test, and its wall time includes it.")
    L.append(f"- Command: `{public(exp.get('command'))}`")
    default_data = "fashion-mnist:" + DEBIAN_FASHION_MNIST
    if exp.get("data", "").startswith("fashion-mnist") and exp.get("data") != default_data:
        L.append(f"  (the script's default data is `{default_data}`, where Debian's "
                 "`dataset-fashion-mnist` package installs the files; this run read them from "
                 "another directory, DIR, hence `DATA=`)")
    L.append(f"- Machine: {m.get('nproc')} cores (`nproc`), CPU `{m.get('cpu')}`, {m.get('memory')} "
             f"memory, {m.get('os')}, {m.get('rust')}; lrate `{exp.get('lrate_version')}`; runs "
             f"made at commit {commits_text(a)}, report written at commit "
             f"`{a['provenance']['commit']}`"
             + (" (uncommitted changes)" if a["provenance"]["dirty"] else "")
             + ". The machine was **shared** with other jobs (builds and tests of other work) "
             "while this ran, so wall times and img/s are noisy; load average "
             + "; ".join(f"{i.get('loadavg_at_start')} at start"
                         + (f", {' '.join(i['loadavg_at_end'])} at end" if i.get("loadavg_at_end") else "")
                         for i in inv)
             + ". Started " + ", ".join(i.get("started", "?") for i in inv)
             + (f", finished {inv[-1]['finished']}" if inv and inv[-1].get("finished") else "")
             + ".")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | result | detail |")
    L.append("|---|---|---|")
    for t in a["targets"]:
        res = {True: "**PASS**", False: "**FAIL**", None: "n/a"}[t["pass"]]
        L.append(f"| {t['name']} | {res} | {t['detail'].replace('|', '/')} |")
    L.append("")
    L.append(f"Target accuracy for \"epochs to target\": {pct(a['target'])} "
             f"(the {a['ref_epochs']}-epoch 1cycle accuracy, {pm(a['ref_acc'], a['ref_sd'])} mean "
             f"over seeds {seeds_text(a['seeds'])}, minus {TARGET_MARGIN_PP} pp).")
    L.append("")
    L.append("How to read these numbers:")
    L.append("")
    L.append(f"- The auto rows are the mean ± sample sd over {len(a['seeds'])} seed(s); with so few "
             "seeds the sd is itself a rough estimate. Everything else is one run at seed "
             f"{a['seed']}, whose seed-to-seed variation was not measured: take it to be about the "
             "auto rows' sd, so differences of a few tenths of a point are not significant.")
    L.append("- The target is defined by 1cycle's own runs (their mean), so 1cycle's mean reaches "
             "it within its length by construction; the comparison is how long the baselines take. A 1cycle run of N "
             "epochs is a separate run (its schedule spans the N epochs), not an epoch of the "
             "longer one.")
    L.append("- A constant lr's test accuracy jumps by a point or two between epochs, so its epochs "
             "to target can hinge on one good epoch; the per-epoch tables show the whole curve.")
    L.append("- Nothing was tuned after seeing the results: the settings are those of the issue "
             "and lrate's defaults.")
    L.append("")

    L.append("## 1. Range test")
    L.append("")
    L += range_test_section(a, assets)
    L.append("## 2. 1cycle with `--max-lr auto`")
    L.append("")
    L += auto_section(a)
    single = f"One run each, seed {a['seed']}."
    L.append("## 3. Baselines")
    L.append("")
    L.append(single)
    L.append("")
    bl = a["by_group"]["baseline"]
    L.append(run_table(bl, a["ett"]) if bl else "(no runs)")
    L.append("")
    if bl:
        L.append("Test accuracy (%) after each epoch:")
        L.append("")
        L.append(per_epoch_table(bl))
        L.append("")
    L.append("## 4. CLR and SGDR")
    L.append("")
    L.append(single)
    L.append("")
    cy = a["by_group"]["cyclic"]
    L.append(run_table(cy, a["ett"]) if cy else "(no runs)")
    L.append("")
    if cy:
        L.append("Test accuracy (%) after each epoch:")
        L.append("")
        L.append(per_epoch_table(cy))
        L.append("")
    L.append("## 5. Grid: 1cycle max_lr by brute force")
    L.append("")
    L.append(single)
    L.append("")
    gr = sorted(a["by_group"]["grid"], key=lambda r: float(r["match"].group(1)))
    L.append(run_table(gr) if gr else "(no runs)")
    L.append("")
    if gr:
        same = a["auto_same"]
        per = ("; ".join(f"seed {s} max_lr {num(same['max_lr'][s], '{:.4g}')} -> {acc_text(same, s)}"
                         for s in a["seeds"] if s not in same["missing"]) if same else "")
        L.append(f"Range-test picks ({a['exp'].get('grid_epochs')}-epoch 1cycle auto): "
                 + (f"{per}; mean {pm(a['auto_mean'], a['auto_sd'], same['n'])}" if same else "n/a")
                 + "; best grid point: "
                 + (f"max_lr {a['best_grid'][0]} -> {pct(a['best_grid'][1])}" if a["best_grid"] else "n/a")
                 + f". Grid compute: {num(a['grid_seconds'])} s; range test: {num(a['range_seconds'])} s.")
        L.append("")
    L.append("## Epochs to target")
    L.append("")
    L.append("| schedule | epochs to reach the target |")
    L.append("|---|---:|")
    for k, v in a["ett"].items():
        label = f"{k} (mean over seeds {seeds_text(a['seeds'])})" if k == "onecycle-auto" else k
        L.append(f"| {label} | {'not reached' if v is None else v} |")
        if k == "onecycle-auto":
            for s, vs in a["ett_by_seed"].items():
                L.append(f"| onecycle-auto, seed {s} | {'not reached' if vs is None else vs} |")
    L.append("")
    L.append("## Plots")
    L.append("")
    for key, title in (("accuracy", "test accuracy against epoch"),
                       ("lr_momentum", "lr and momentum against step"),
                       ("grid", "1cycle grid")):
        if key in assets:
            L.append(f"![{title}]({assets[key]})")
            L.append("")
    L.append("Per-run outputs (metrics.csv, training.svg, lr_find.*, checkpoints) are under the "
             "experiment's OUT directory (`runs/NAME/`), not committed.")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def mean_sd_series(name, points, color):
    """Markers at (x, mean) with sd error bars: points [(x, mean, sd)], sd None for none."""
    series = [{"name": name, "points": [(x, m) for x, m, _ in points], "color": color,
               "marker": True, "only_markers": True}]
    for x, m, sd in points:
        if sd is not None:
            series.append({"name": "", "points": [(x, m - sd), (x, m + sd)], "color": color,
                           "width": 1.2, "no_legend": True})
    return series


def make_plots(a, rdir, out):
    assets = {}
    plotted = [a["onecycle"][e] for e in sorted(a["onecycle"])] + a["by_group"]["baseline"] \
        + a["by_group"]["cyclic"]
    color = {r["name"]: COLORS[i % len(COLORS)] for i, r in enumerate(plotted)}
    # Accuracy against epoch.
    series = []
    for r in plotted:
        pts = [(e["epoch"], e["test_acc"]) for e in r["epochs"]]
        if pts:
            series.append({"name": r["label"], "points": pts, "color": color[r["name"]],
                           "marker": True, "dash": DASH[r["group"]]})
    means = [(e + 0.12, row["mean"], row["sd"]) for e, row in a["auto"].items() if row["mean"] is not None]
    if means:
        series += mean_sd_series("1cycle auto final, mean ± sd",
                                 means, "#000")
    if series:
        hl = [(a["target"], f"target {pct(a['target'])}", "#000")] if a["target"] else []
        accs = [y for s in series for _, y in s["points"] if y is not None]
        lo = max(0.0, min(accs) - 0.01)
        hi = min(1.0, max(accs) + 0.005)
        p = os.path.join(rdir, "superconvergence_accuracy.svg")
        svg_panels(p, f"Test accuracy against epoch ({a['exp'].get('model')}, "
                      f"{a['exp'].get('data', '').split(':')[0]})", "epoch",
                   [Panel("test accuracy", series, hlines=hl, ylim=(lo, hi),
                          xlim=(0.5, max(x for s in series for x, _ in s["points"]) + 0.5))])
        assets["accuracy"] = os.path.basename(p)
    # lr and momentum against step (x in epochs).
    lr_s, mom_s = [], []
    for r in plotted:
        if r["group"] == "onecycle" and r is not a["onecycle"].get(a["ref_epochs"]):
            continue
        if not r["steps"]:
            continue
        spe = max(1, sum(1 for s in r["steps"] if s["epoch"] == 0))
        stride = max(1, len(r["steps"]) // 600)
        st = r["steps"][::stride] + [r["steps"][-1]]
        lr_s.append({"name": r["label"], "color": color[r["name"]], "dash": DASH[r["group"]],
                     "points": [(s["step"] / spe, s["lr"]) for s in st]})
        mom_s.append({"name": r["label"], "color": color[r["name"]], "dash": DASH[r["group"]],
                      "points": [(s["step"] / spe, s["momentum"]) for s in st]})
    if lr_s:
        p = os.path.join(rdir, "superconvergence_lr_momentum.svg")
        svg_panels(p, "Learning rate and momentum against step", "epoch (step / steps per epoch)",
                   [Panel("learning rate", lr_s), Panel("momentum", mom_s)])
        assets["lr_momentum"] = os.path.basename(p)
    # Grid.
    gr = [(float(k), v) for k, v in a["grid"].items()]
    if gr:
        pts = sorted((x, y) for x, y in gr if y is not None)
        series = [{"name": f"1cycle {a['exp'].get('grid_epochs')} ep, grid", "points": pts,
                   "color": COLORS[0], "marker": True}]
        same = a["auto_same"]
        per_seed = ([(same["max_lr"][s], same["acc"][s]) for s in a["seeds"]
                     if same["max_lr"].get(s) and same["acc"].get(s) is not None] if same else [])
        if per_seed:
            series.append({"name": "auto pick, each seed", "points": sorted(per_seed),
                           "color": COLORS[3], "marker": True, "only_markers": True})
        if same and same["mean"] is not None and same["max_lr_mean"]:
            series += mean_sd_series(f"auto, mean ± sd of {same['n']} seeds",
                                     [(same["max_lr_mean"], same["mean"], same["sd"])], COLORS[1])
        div = [x for x, y in gr if y is None]
        title = "1cycle test accuracy against max_lr" + (
            f" (diverged at {', '.join(f'{d:g}' for d in div)})" if div else "")
        vl = ([(a["auto_max_lr"], f"range-test max_lr, seed {a['find_seed']}", COLORS[1])]
              if a["auto_max_lr"] else [])
        hl = ([(a["best_grid"][1] - TARGET_AUTO_VS_GRID_PP / 100, "best grid point - 0.5 pp",
                "#888")] if a["best_grid"] else [])
        xs = [x for x, _ in gr] + ([a["auto_max_lr"]] if a["auto_max_lr"] else []) \
            + [x for x, _ in per_seed]
        p = os.path.join(rdir, "superconvergence_grid.svg")
        svg_panels(p, title, "max_lr (log scale)",
                   [Panel("test accuracy", series, logx=True, vlines=vl, hlines=hl,
                          xlim=(min(xs) / 1.5, max(xs) * 1.5))])
        assets["grid"] = os.path.basename(p)
    # Range test: lrate's own plot (seed SEED's; the mean curve with its min-max band).
    src = os.path.join(out, f"find-s{a['find_seed']}", "lr_find.svg")
    if a["find"] and os.path.exists(src):
        dst = os.path.join(rdir, "superconvergence_range_test.svg")
        shutil.copyfile(src, dst)
        assets["range_test"] = os.path.basename(dst)
    return assets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="OUT directory of bench/superconvergence.sh")
    ap.add_argument("--report-dir", required=True, help="where the report goes (docs/results)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.out):
        print(f"superconvergence_report.py: {args.out}: no such directory", file=sys.stderr)
        return 2
    a = analyse(args.out)
    # A dirty tree (this script's code) or runs made on one make a draft; refused unless
    # DRAFT=1, except in quick mode (the smoke test runs on any tree).
    draft_now = provenance.check_tree(refuse=not a["quick"], prog="superconvergence_report.py")
    draft = draft_now or any(invocation_dirty(i) for i in a["exp"].get("invocations", []))
    a["draft"] = draft
    a["provenance"] = provenance.provenance(draft=draft)
    os.makedirs(args.report_dir, exist_ok=True)
    assets = make_plots(a, args.report_dir, args.out)
    write_json(a, os.path.join(args.report_dir, "superconvergence.json"))
    write_md(a, os.path.join(args.report_dir, "superconvergence.md"), assets)
    print(f"wrote {args.report_dir}/superconvergence.md, superconvergence.json and "
          f"{len(assets)} plot(s); headline: {headline(a)}")
    for t in a["targets"]:
        res = {True: "PASS", False: "FAIL", None: "n/a"}[t["pass"]]
        print(f"  {res:4}  {t['name']}: {t['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
