#!/usr/bin/env python3
"""Report of bench/superconvergence.sh (issue 7), Python 3 standard library only.

    python3 bench/superconvergence_report.py --out target/superconvergence --report-dir docs/results

Reads OUT/experiment.json, OUT/find/ (lrate find) and OUT/runs/*/ (lrate train: result.json,
metrics.csv) and writes into the report directory:

* superconvergence.md    one table per experiment, the targets of the issue (PASS/FAIL), the
                         command and the machine;
* superconvergence.json  machine-readable results (onecycle_acc_by_epochs, epochs_to_target,
                         grid, auto_max_lr, auto_minus_best_grid_pp, range_test_seconds,
                         grid_seconds, targets, runs …);
* superconvergence_accuracy.svg     test accuracy against epoch, every schedule;
* superconvergence_lr_momentum.svg  lr and momentum against step (in epochs);
* superconvergence_grid.svg         3-epoch 1cycle accuracy against max_lr, auto-picked max_lr marked;
* superconvergence_range_test.svg   the range-test curve (lrate find's own plot).

The plots are hand-written SVG.
"""

import argparse
import csv
import json
import math
import os
import re
import shutil
import sys

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


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


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
    ("onecycle", re.compile(r"^onecycle-auto-(\d+)ep$")),
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
        return f"1cycle auto, {m.group(1)} ep"
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
    """Stacked panels sharing x. series: dicts with name, points [(x, y)], color, dash, marker."""
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


def analyse(out):
    exp = read_json(os.path.join(out, "experiment.json"), {}) or {}
    find = read_json(os.path.join(out, "find", "lr_find.json"))
    find_res = read_json(os.path.join(out, "find", "result.json"), {}) or {}
    runs = load_runs(out)
    by_group = {g: [r for r in runs if r["group"] == g] for g in ("onecycle", "baseline", "cyclic", "grid")}
    batch = exp.get("batch", 128)

    # 1cycle by length.
    onecycle = {}
    for r in sorted(by_group["onecycle"], key=lambda r: int(r["match"].group(1))):
        onecycle[int(r["match"].group(1))] = r
    onecycle_acc = {str(e): r["result"].get("test_acc") for e, r in onecycle.items()}
    ref_epochs = 3 if 3 in onecycle else (max(onecycle) if onecycle else None)
    ref_acc = onecycle[ref_epochs]["result"].get("test_acc") if ref_epochs else None
    target = ref_acc - TARGET_MARGIN_PP / 100 if ref_acc is not None else None

    # Epochs to target.
    ett = {}
    if target is not None:
        reached = [e for e, r in onecycle.items()
                   if r["result"].get("test_acc") is not None and r["result"]["test_acc"] >= target]
        ett["onecycle-auto"] = min(reached) if reached else None
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
    auto_max_lr = (find or {}).get("bounds", {}) or {}
    auto_min_lr = auto_max_lr.get("min_lr")
    auto_max_lr = auto_max_lr.get("max_lr")
    grid_ok = {k: v for k, v in grid.items() if v is not None}
    best_grid = max(grid_ok.items(), key=lambda kv: kv[1]) if grid_ok else None
    grid_epochs = exp.get("grid_epochs", 3)
    auto_same_len = onecycle.get(grid_epochs)
    auto_acc = auto_same_len["result"].get("test_acc") if auto_same_len else None
    auto_minus_best = (100 * (auto_acc - best_grid[1])
                       if (auto_acc is not None and best_grid) else None)

    # The lr at the lowest smoothed loss of the range test (the near-min rule takes a third of it).
    lr_at_min = None
    try:
        with open(os.path.join(out, "find", "lr_find.csv"), newline="") as f:
            pts = [(float(r["lr"]), float(r["smoothed_loss"])) for r in csv.DictReader(f)
                   if r.get("smoothed_loss")]
        if pts:
            lr_at_min = min(pts, key=lambda q: q[1])[0]
    except (OSError, ValueError, KeyError):
        pass

    range_seconds = find_res.get("wall_seconds_last_invocation")
    range_batches = (find or {}).get("batches")
    range_images = range_batches * batch if range_batches is not None else None

    # Targets.
    targets = []
    quick = bool(exp.get("quick"))
    acc3 = onecycle_acc.get("3")
    targets.append({
        "name": "3-epoch 1cycle test accuracy >= 91.0%",
        "pass": (acc3 >= TARGET_ACC_ONECYCLE) if acc3 is not None else None,
        "value": acc3,
        "detail": (f"1cycle with --max-lr auto (max_lr {num(auto_max_lr, '{:.3g}')}) reached "
                   f"{pct(acc3)} in 3 epochs" if acc3 is not None else "no 3-epoch 1cycle run")
        + (f"; the best grid point (max_lr {best_grid[0]}) reached {pct(best_grid[1])}"
           if best_grid else "") + "; PyTorch's OneCycleLR with max_lr 0.4 reached 91.4% (issue 7).",
    })
    base = {k: v for k, v in ett.items() if k.startswith(("constant", "multistep"))}
    base_reached = {k: v for k, v in base.items() if v is not None}
    n_max = exp.get("baseline_epochs", 12)
    oc_ett = ett.get("onecycle-auto")
    if oc_ett is None or not base:
        t2 = {"pass": None, "value": None,
              "detail": "missing runs" if oc_ett is None and target is not None and onecycle and not base
              else ("1cycle did not reach its own target" if target is not None and onecycle and base
                    else "missing runs")}
    elif base_reached:
        best_k, best_v = min(base_reached.items(), key=lambda kv: kv[1])
        ratio = oc_ett / best_v
        every = ", ".join(f"{k} {'not within ' + str(n_max) if v is None else v}"
                          for k, v in sorted(base.items()))
        t2 = {"pass": ratio <= TARGET_EPOCH_RATIO + 1e-9, "value": ratio,
              "detail": f"1cycle needs {oc_ett} epoch(s) to reach {pct(target)}; the best baseline "
                        f"({best_k}) needs {best_v}: ratio {ratio:.2f} (target <= 1/3; would need "
                        f"the baseline to take >= {math.ceil(oc_ett / TARGET_EPOCH_RATIO - 1e-9)} "
                        f"epochs). Epochs to target: {every}"}
    else:
        ratio_bound = oc_ett / (n_max + 1)
        t2 = {"pass": oc_ett <= (n_max + 1) * TARGET_EPOCH_RATIO, "value": None,
              "detail": f"1cycle needs {oc_ett} epoch(s) to reach {pct(target)}; no constant or "
                        f"multistep baseline reached it within {n_max} epochs, so they need more than "
                        f"{n_max}: ratio below {ratio_bound:.2f} (target <= 1/3)"}
    t2["name"] = "1cycle reaches the target in <= 1/3 of the epochs of the best constant/multistep baseline"
    targets.append(t2)
    targets.append({
        "name": "auto-picked max_lr within 0.5 pp of the best grid point",
        "pass": (auto_minus_best >= -TARGET_AUTO_VS_GRID_PP) if auto_minus_best is not None else None,
        "value": auto_minus_best,
        "detail": (f"auto max_lr {num(auto_max_lr, '{:.3g}')}: {pct(auto_acc)} after {grid_epochs} "
                   f"epochs; best grid point max_lr {best_grid[0]}: {pct(best_grid[1])}; "
                   f"difference {auto_minus_best:+.2f} pp. The best grid max_lr is "
                   f"{float(best_grid[0]) / auto_max_lr:.2g}x the auto pick"
                   + (f"; the range test's smoothed loss (lr_find.csv) was lowest at lr "
                      f"{lr_at_min:.3g}, and its `{(find or {}).get('bounds_rule')}` rule gave "
                      f"max_lr {auto_max_lr:.3g}" if lr_at_min else ""))
        if auto_minus_best is not None and auto_max_lr else "missing runs",
    })
    cost_ratio = range_seconds / grid_seconds if (range_seconds and grid_seconds) else None
    img_ratio = range_images / grid_images if (range_images and grid_images) else None
    targets.append({
        "name": "range test costs <= 1/10 of the grid's compute",
        "pass": (cost_ratio <= TARGET_COST_RATIO) if cost_ratio is not None else None,
        "value": cost_ratio,
        "detail": (f"range test {range_seconds:.1f} s ({range_batches} batches, {range_images} "
                   f"images) vs grid {grid_seconds:.1f} s ({grid_images} training images, plus "
                   f"evaluation): {cost_ratio:.3f} of the wall time, {img_ratio:.3f} of the training "
                   f"images") if cost_ratio is not None and img_ratio is not None else "missing runs",
    })
    if quick:
        for t in targets:
            t["detail"] += " (quick mode: subsets and short runs, the targets do not apply)"

    return {
        "exp": exp, "find": find, "find_res": find_res, "runs": runs, "by_group": by_group,
        "onecycle": onecycle, "onecycle_acc": onecycle_acc, "ref_epochs": ref_epochs,
        "target": target, "ett": ett, "grid": grid, "grid_seconds": grid_seconds,
        "grid_images": grid_images, "auto_max_lr": auto_max_lr, "auto_min_lr": auto_min_lr,
        "best_grid": best_grid, "auto_acc": auto_acc, "auto_minus_best": auto_minus_best,
        "range_seconds": range_seconds, "range_images": range_images, "targets": targets,
        "quick": quick, "lr_at_min_loss": lr_at_min,
    }


def headline(a):
    acc = a["onecycle_acc"].get(str(a["ref_epochs"])) if a["ref_epochs"] else None
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
    e = a["ref_epochs"]
    return f"{100 * acc:.1f}% in {e} epoch{'s' if e != 1 else ''} with 1cycle at the range test's max_lr; {c}"


# ---------------------------------------------------------------------------------------------
# Writing


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
        "onecycle_acc_by_epochs": a["onecycle_acc"],
        "target_acc": a["target"],
        "target_definition": (f"{a['ref_epochs']}-epoch 1cycle test accuracy minus "
                              f"{TARGET_MARGIN_PP} pp" if a["ref_epochs"] else None),
        "epochs_to_target": a["ett"],
        "grid": a["grid"],
        "grid_epochs": exp.get("grid_epochs"),
        "best_grid_max_lr": float(a["best_grid"][0]) if a["best_grid"] else None,
        "auto_max_lr": a["auto_max_lr"],
        "auto_min_lr": a["auto_min_lr"],
        "auto_acc": a["auto_acc"],
        "auto_minus_best_grid_pp": a["auto_minus_best"],
        "range_test_seconds": a["range_seconds"],
        "range_test_images": a["range_images"],
        "grid_seconds": a["grid_seconds"],
        "grid_images": a["grid_images"],
        "range_test": {"suggestions": find.get("suggestions"), "bounds": find.get("bounds"),
                       "lr_at_min_smoothed_loss": a["lr_at_min_loss"],
                       "bounds_rule": find.get("bounds_rule"), "batches": find.get("batches"),
                       "stop_reason": find.get("stop_reason")},
        "targets": a["targets"],
        "headline": headline(a),
        "runs": runs,
        "command": exp.get("command"),
        "machine": exp.get("machine"),
        "lrate_version": exp.get("lrate_version"),
        "git": exp.get("git"),
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


def write_md(a, path, assets):
    exp, find = a["exp"], a["find"] or {}
    m = exp.get("machine", {})
    inv = exp.get("invocations", [])
    L = []
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
             + f", model `{exp.get('model')}`, batch {exp.get('batch')}, seed {exp.get('seed')}.")
    L.append(f"- Optimizer: {exp.get('optimizer')}. 1cycle is fastai's `fit_one_cycle` "
             "(25% warm-up, div 25, final div 1e5, momentum 0.95 -> 0.85 -> 0.95); CLR is "
             "triangular with momentum 0.9 -> 0.8, two cycles over the run; SGDR restarts after "
             "1, 1+2 and 1+2+4 epochs, eta_min 0.")
    L.append(f"- `--max-lr auto`: lrate runs the range test ({exp.get('num_it')} batches, lr 1e-7 -> 10) "
             f"and takes max_lr by its `{find.get('bounds_rule', 'near-min')}` rule, min_lr = max_lr/4. "
             "Each auto run repeats the (deterministic, same-seed) range test, and its wall time "
             "includes it.")
    L.append(f"- Command: `{public(exp.get('command'))}`")
    default_data = "fashion-mnist:" + DEBIAN_FASHION_MNIST
    if exp.get("data", "").startswith("fashion-mnist") and exp.get("data") != default_data:
        L.append(f"  (the script's default data is `{default_data}`, where Debian's "
                 "`dataset-fashion-mnist` package installs the files; this run read them from "
                 "another directory, DIR, hence `DATA=`)")
    L.append(f"- Machine: {m.get('nproc')} cores (`nproc`), CPU `{m.get('cpu')}`, {m.get('memory')} "
             f"memory, {m.get('os')}, {m.get('rust')}; lrate `{exp.get('lrate_version')}`, "
             f"git {exp.get('git')}. The machine was **shared** with other jobs (builds and tests "
             "of other work) while this ran, so wall times and img/s are noisy; load average "
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
             f"(the {a['ref_epochs']}-epoch 1cycle accuracy minus {TARGET_MARGIN_PP} pp).")
    L.append("")
    L.append("How to read these numbers:")
    L.append("")
    L.append("- Every run uses one seed (the same weights, data order and augmentation for all); "
             "run-to-run variation over seeds was not measured, so differences of a few tenths of "
             "a point are not significant.")
    L.append("- The target is defined by 1cycle's own run, so 1cycle reaches it within its length "
             "by construction; the comparison is how long the baselines take. A 1cycle run of N "
             "epochs is a separate run (its schedule spans the N epochs), not an epoch of the "
             "longer one.")
    L.append("- A constant lr's test accuracy jumps by a point or two between epochs, so its epochs "
             "to target can hinge on one good epoch; the per-epoch tables show the whole curve.")
    L.append("- Nothing was tuned after seeing the results: the settings are those of the issue "
             "and lrate's defaults.")
    L.append("")

    L.append("## 1. Range test")
    L.append("")
    sug = find.get("suggestions") or {}
    L.append(f"{find.get('batches')} batches, stopped: {find.get('stop_reason')}; "
             f"wall time {num(a['range_seconds'])} s; smoothed loss fell by "
             f"{pct(find.get('loss_drop'), 1)} and was lowest at lr "
             f"{num(a['lr_at_min_loss'], '{:.3g}')}.")
    L.append("")
    L.append("| rule | suggested lr |")
    L.append("|---|---:|")
    for k in ("valley", "minimum", "steep", "slide", "steepest"):
        v = sug.get(k)
        L.append(f"| {k} | {'none' if v is None else f'{v:.3e}'} |")
    b = find.get("bounds") or {}
    if b:
        L.append(f"| **bounds** ({find.get('bounds_rule')}: max = lr at the lowest smoothed loss / 3; "
                 f"min = max/4) | min_lr {b['min_lr']:.3e}, max_lr {b['max_lr']:.3e} |")
    L.append("")
    if "range_test" in assets:
        L.append(f"![range test]({assets['range_test']})")
        L.append("")

    oc = [a["onecycle"][e] for e in sorted(a["onecycle"])]
    L.append("## 2. 1cycle with `--max-lr auto`")
    L.append("")
    L.append(run_table(oc) if oc else "(no runs)")
    L.append("")
    if oc:
        L.append("Test accuracy (%) after each epoch:")
        L.append("")
        L.append(per_epoch_table(oc))
        L.append("")
    L.append("## 3. Baselines")
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
    gr = sorted(a["by_group"]["grid"], key=lambda r: float(r["match"].group(1)))
    L.append(run_table(gr) if gr else "(no runs)")
    L.append("")
    if gr:
        L.append(f"Range-test pick: max_lr {num(a['auto_max_lr'], '{:.4g}')} -> {pct(a['auto_acc'])}; "
                 f"best grid point: "
                 + (f"max_lr {a['best_grid'][0]} -> {pct(a['best_grid'][1])}" if a["best_grid"] else "n/a")
                 + f". Grid compute: {num(a['grid_seconds'])} s; range test: {num(a['range_seconds'])} s.")
        L.append("")
    L.append("## Epochs to target")
    L.append("")
    L.append("| schedule | epochs to reach the target |")
    L.append("|---|---:|")
    for k, v in a["ett"].items():
        L.append(f"| {k} | {'not reached' if v is None else v} |")
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
    if series:
        hl = [(a["target"], f"target {pct(a['target'])}", "#000")] if a["target"] else []
        accs = [y for s in series for _, y in s["points"]]
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
        if a["auto_max_lr"] and a["auto_acc"] is not None:
            series.append({"name": f"auto max_lr {a['auto_max_lr']:.3g}",
                           "points": [(a["auto_max_lr"], a["auto_acc"])], "color": COLORS[1],
                           "marker": True})
        div = [x for x, y in gr if y is None]
        title = "1cycle test accuracy against max_lr" + (
            f" (diverged at {', '.join(f'{d:g}' for d in div)})" if div else "")
        vl = [(a["auto_max_lr"], "range-test max_lr", COLORS[1])] if a["auto_max_lr"] else []
        hl = ([(a["best_grid"][1] - TARGET_AUTO_VS_GRID_PP / 100, "best grid point - 0.5 pp",
                "#888")] if a["best_grid"] else [])
        xs = [x for x, _ in gr] + ([a["auto_max_lr"]] if a["auto_max_lr"] else [])
        p = os.path.join(rdir, "superconvergence_grid.svg")
        svg_panels(p, title, "max_lr (log scale)",
                   [Panel("test accuracy", series, logx=True, vlines=vl, hlines=hl,
                          xlim=(min(xs) / 1.5, max(xs) * 1.5))])
        assets["grid"] = os.path.basename(p)
    # Range test: lrate's own plot.
    src = os.path.join(out, "find", "lr_find.svg")
    if os.path.exists(src):
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
    os.makedirs(args.report_dir, exist_ok=True)
    a = analyse(args.out)
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
