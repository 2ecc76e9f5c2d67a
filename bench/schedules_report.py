#!/usr/bin/env python3
"""Report of bench/schedules.sh (issue 12), Python 3 standard library only.

    python3 bench/schedules_report.py --out target/schedules --report-dir docs/results

Reads OUT/experiment.json and OUT/runs/*/result.json (the summary line of each lrate run) and
OUT/runs/find-OPT-sS/lr_find.json (the range test's pick), and writes REPORT_DIR/schedules.md
and REPORT_DIR/schedules.json: test accuracy as mean +- sample sd over the seeds for every row
and length, the lr each row used, the wall time, the cooldown comparison, and plain statements
of where each schedule-free / WSD row beats or loses to 1cycle (SGD) by more than the seeds'
spread.
"""

import argparse
import json
import math
import os
import re
import sys

ROWS = [
    ("onecycle-sgd", "1cycle, SGD (Nesterov)", "sgd"),
    ("onecycle-adamw", "1cycle, AdamW", "adamw"),
    ("wsd-sgd", "WSD, 1-sqrt decay, SGD (Nesterov)", "sgd"),
    ("sf-sgd", "schedule-free SGD (constant)", "sf-sgd"),
    ("sf-adamw", "schedule-free AdamW (constant)", "sf-adamw"),
]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)
from reports import read_json  # noqa: E402 (bench/reports.py)

def mean_sd(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, 0
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return m, sd, len(xs)


def fmt(m, sd, scale=100.0, digits=2):
    if m is None:
        return "—"
    s = f"{m * scale:.{digits}f}"
    return s + (f" ± {sd * scale:.{digits}f}" if sd is not None else "")


def public(text):
    return re.sub(r"((?:fashion-mnist|mnist|cifar10):)(?!/usr/share/datasets/fashion-mnist\b)[^\s`'\"]+",
                  r"\1DIR", text or "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--report-dir", required=True)
    a = ap.parse_args()
    exp = read_json(os.path.join(a.out, "experiment.json")) or {}
    # A study started on a dirty tree (or, before provenance.py, "SHA (with uncommitted
    # changes)") is a draft, and its report says so first.
    draft = bool(exp.get("draft") or exp.get("dirty")) or "uncommitted" in str(exp.get("git", ""))
    seeds, epochs = exp.get("seeds", []), exp.get("epochs", [])
    runs = os.path.join(a.out, "runs")

    def result(name):
        return read_json(os.path.join(runs, name, "result.json"))

    picks = {}
    for _, _, opt in ROWS:
        for s in seeds:
            f = read_json(os.path.join(runs, f"find-{opt}-s{s}", "lr_find.json"))
            p = (f or {}).get("pick") or {}
            picks.setdefault(opt, {})[s] = p.get("max_lr")
    table, out_rows = [], {}
    for row, label, opt in ROWS:
        if row not in exp.get("rows", []):
            continue
        cells = {}
        for e in epochs:
            rs = [result(f"{row}-{e}ep-s{s}") for s in seeds]
            acc = [r.get("test_acc") if r and r.get("status") == "ok" else None for r in rs]
            wall = [r.get("wall_seconds") for r in rs if r]
            m, sd, n = mean_sd(acc)
            cells[e] = {"acc_mean": m, "acc_sd": sd, "n": n, "per_seed": acc,
                        "diverged": sum(1 for r in rs if r and r.get("status") == "diverged"),
                        "wall_mean_s": mean_sd(wall)[0]}
        pm, psd, _ = mean_sd(list(picks.get(opt, {}).values()))
        out_rows[row] = {"label": label, "optimizer": opt, "lr_pick_mean": pm, "lr_pick_sd": psd,
                         "lr_picks": picks.get(opt, {}), "by_epochs": cells}
    cool = {}
    if "cooldown" in exp.get("rows", []):
        for e in epochs:
            for kind in ("cooldown", "cosine"):
                rs = [result(f"{kind}-{e}ep-s{s}") for s in seeds]
                acc = [r.get("test_acc") if r and r.get("status") == "ok" else None for r in rs]
                if any(x is not None for x in acc):
                    m, sd, n = mean_sd(acc)
                    cool.setdefault(e, {})[kind] = {"acc_mean": m, "acc_sd": sd, "n": n, "per_seed": acc}

    # Verdicts against 1cycle (SGD): a difference counts when it exceeds the larger sd.
    verdicts = []
    ref = out_rows.get("onecycle-sgd")
    for row, r in out_rows.items():
        if row == "onecycle-sgd" or not ref:
            continue
        for e in epochs:
            c, b = r["by_epochs"][e], ref["by_epochs"][e]
            if c["acc_mean"] is None or b["acc_mean"] is None:
                continue
            if c["n"] < 2 or b["n"] < 2:
                verdicts.append(f"{r['label']} at {e} epoch(s): fewer than 2 seeds, no verdict.")
                continue
            d = (c["acc_mean"] - b["acc_mean"]) * 100
            noise = max(c["acc_sd"] or 0, b["acc_sd"] or 0) * 100
            word = "beats" if d > noise else "loses to" if d < -noise else "ties with"
            verdicts.append(f"{r['label']} {word} 1cycle (SGD) at {e} epoch(s): {d:+.2f} pp "
                            f"(larger sd {noise:.2f} pp).")

    os.makedirs(a.report_dir, exist_ok=True)
    md = ["# Schedules and optimizers compared (issue 12)", "",
          "Generated by `bench/schedules.sh` (report: `bench/schedules_report.py`).", ""]
    if exp.get("quick"):
        md += ["**Quick mode: a smoke test on a few hundred images; these figures mean nothing.**", ""]
    md += [f"Data `{public(exp.get('data'))}` ({exp.get('limit_train') or 'all'} training images, "
           f"{exp.get('limit_test') or 'all'} test images), model `{exp.get('model')}`, batch "
           f"{exp.get('batch')}, seeds {seeds}; test accuracy (%) after the run, mean ± sample sd "
           "over the seeds. Each row's lr is its own optimizer's range-test pick (`lrate find`, "
           "default rule) for that seed; schedule-free rows sweep the base lr and train at it with "
           "a constant schedule (their warmup, 5 % of the run, is the optimizer's).", "",
           "| Row | lr (mean over seeds) | " + " | ".join(f"{e} ep" for e in epochs) + " |",
           "|---|---|" + "---|" * len(epochs)]
    for row, r in out_rows.items():
        cells = []
        for e in epochs:
            c = r["by_epochs"][e]
            s = fmt(c["acc_mean"], c["acc_sd"])
            if c["diverged"]:
                s += f" ({c['diverged']} diverged)"
            if c["n"] < len(seeds):
                s += f" (n={c['n']})"
            cells.append(s)
        lr = "—" if r["lr_pick_mean"] is None else f"{r['lr_pick_mean']:.3g}"
        md.append(f"| {r['label']} | {lr} | " + " | ".join(cells) + " |")
    md += ["", "Wall time per run (s, mean over seeds):", "",
           "| Row | " + " | ".join(f"{e} ep" for e in epochs) + " |", "|---|" + "---|" * len(epochs)]
    for row, r in out_rows.items():
        md.append(f"| {r['label']} | " + " | ".join(
            "—" if r["by_epochs"][e]["wall_mean_s"] is None else f"{r['by_epochs'][e]['wall_mean_s']:.0f}"
            for e in epochs) + " |")
    if verdicts:
        md += ["", "## Against 1cycle (SGD)", ""] + [f"- {v}" for v in verdicts]
    if cool:
        md += ["", "## Cooldown from a checkpoint", "",
               "One constant-lr run (SGD, the SGD pick) per seed, stopped after N − 1 epochs; a "
               "1-epoch 1-sqrt cooldown branched from each stop (`lrate train --from DIR "
               "--cooldown 1`), against a separate cosine run of N epochs at the same lr.", "",
               "| Length | WSD cooldown branch | cosine run |", "|---|---|---|"]
        for e in sorted(cool):
            c = cool[e]
            md.append(f"| {e} ep | {fmt(*(c.get('cooldown', {}).get(k) for k in ('acc_mean', 'acc_sd')))} | "
                      f"{fmt(*(c.get('cosine', {}).get(k) for k in ('acc_mean', 'acc_sd')))} |")
    m = exp.get("machine", {})
    md += ["", f"Machine: {m.get('cpu')}, {m.get('nproc')} cores; lrate {exp.get('lrate_version')}, "
           f"git {exp.get('git')}; started {exp.get('started')}.", ""]
    if draft:
        md = [provenance.DRAFT_LINE, ""] + md
    with open(os.path.join(a.report_dir, "schedules.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(a.report_dir, "schedules.json"), "w") as f:
        json.dump({"experiment": exp, "draft": draft, "rows": out_rows, "cooldown": cool,
                   "verdicts": verdicts}, f, indent=2)
    print(f"wrote {a.report_dir}/schedules.md")


if __name__ == "__main__":
    main()
