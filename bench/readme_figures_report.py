#!/usr/bin/env python3
"""Report of bench/readme_figures.sh (issue 18): the README's main-job figures, Python 3
standard library only.

    python3 bench/readme_figures_report.py --out target/readme-figures --report-dir docs/results

Reads OUT/experiment.json (the settings and every invocation with its commit) and
OUT/runs/NAME/ (result.json: lrate train's JSON summary line plus the wall time, or
status "diverged"; command.txt; lr_find.json of the main rows) and writes

* REPORT_DIR/main_job.md    one table per row (main job, constant lr, low-max_lr 1cycle) with
                            every seed, mean ± sample sd, the range test's pick per seed, wall
                            seconds, and the sentence the README quotes;
* REPORT_DIR/main_job.json  the same, machine-readable.

Run names: main-Eep-sS, constant-LR-Eep-sS, onecycle-LR-Eep-sS (E epochs, S the seed).

Provenance (bench/provenance.py): refuses a working tree with uncommitted changes (exit 2)
unless DRAFT=1; the report is a DRAFT (first line, "draft": true) when its runs or its own
code come from a dirty tree.
"""

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)
from reports import mean_sd, read_json  # noqa: E402 (bench/reports.py)

NAME_RE = re.compile(r"^(main|constant-[0-9.eE+-]+|onecycle-[0-9.eE+-]+)-(\d+)ep-s(\d+)$")
MAIN_SEED = 0  # the seed of `lrate` without arguments (host/src/config.rs: unwrap_or(0))


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f} %"


def pm_pct(m, sd):
    return "n/a" if m is None else f"{100 * m:.2f}" + (f" ± {100 * sd:.2f}" if sd is not None else "") + " %"


def num(v, spec=".1f"):
    return "n/a" if v is None else format(v, spec)


def row_of(prefix, exp):
    """The row a run name's prefix (main, constant-LR, onecycle-LR) belongs to, or None: the
    lr is compared as a number, so CONST_LR=0.10 and 0.1 are the same row."""
    if prefix == "main":
        return "main"
    kind, _, lr = prefix.partition("-")
    try:
        lr = float(lr)
    except ValueError:
        return None
    if kind == "constant" and lr == exp.get("const_lr"):
        return "constant"
    if kind == "onecycle" and lr == exp.get("low_lr"):
        return "onecycle-low"
    return None


def load_rows(out, exp):
    """{row: {"label", "runs": {seed: run}}} for the rows of the experiment, in its order; runs
    of another length or lr (an earlier invocation's settings) are left out."""
    e = exp.get("epochs")
    labels = {
        "main": (f"main job: range test, then 1cycle at its max_lr, {epochs_text(e)} "
                 "(`cargo run --release -p lrate`)"),
        "constant": f"constant lr {fmt_lr(exp.get('const_lr'))}, {epochs_text(e)}",
        "onecycle-low": f"1cycle at max_lr {fmt_lr(exp.get('low_lr'))}, {epochs_text(e)}"}
    rows = {row: {"label": labels[row], "runs": {}} for row in exp.get("rows", [])}
    rdir = os.path.join(out, "runs")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        m = NAME_RE.match(name)
        if not m or int(m.group(2)) != e:
            continue
        row = row_of(m.group(1), exp)
        d = os.path.join(rdir, name)
        res = read_json(os.path.join(d, "result.json"))
        if row not in rows or res is None:
            continue  # another setting, or not finished (the script reruns it)
        try:
            command = open(os.path.join(d, "command.txt")).read().strip()
        except OSError:
            command = ""
        find = read_json(os.path.join(d, "lr_find.json")) if row == "main" else None
        rows[row]["runs"][int(m.group(3))] = {"name": name, "result": res, "command": command,
                                              "pick": (find or {}).get("pick")}
    return rows


def epochs_text(e):
    return f"{e} epoch{'s' if e != 1 else ''}"


def fmt_lr(v):
    return "n/a" if v is None else f"{v:g}"


def summarise(rows, seeds):
    for r in rows.values():
        runs = r["runs"]
        acc = {s: runs[s]["result"].get("test_acc") if s in runs else None for s in seeds}
        wall = {s: runs[s]["result"].get("wall_seconds") if s in runs else None for s in seeds}
        r["acc"], r["wall"] = acc, wall
        r["mean"], r["sd"] = mean_sd(acc.values())
        r["n"] = sum(1 for v in acc.values() if v is not None)
        r["wall_mean"] = mean_sd(wall.values())[0]
        r["diverged"] = [s for s in seeds if s in runs and runs[s]["result"].get("status") != "ok"]
        r["missing"] = [s for s in seeds if s not in runs]
        r["max_lr"] = {s: runs[s]["result"].get("max_lr") if s in runs else None for s in seeds}


def invocation_dirty(inv):
    return bool(inv.get("dirty") or inv.get("draft"))


def acc_text(r, s):
    if s in r["missing"]:
        return "missing"
    return "diverged" if s in r["diverged"] else pct(r["acc"][s])


def readme_sentence(rows, seeds):
    """The figures as the README's main-job paragraph quotes them."""
    main, const, low = rows.get("main"), rows.get("constant"), rows.get("onecycle-low")
    parts = []
    if main and MAIN_SEED in main["runs"]:
        r = main["runs"][MAIN_SEED]["result"]
        pick = main["runs"][MAIN_SEED]["pick"] or {}
        lo, hi = num(pick.get("low"), ".2g"), num(pick.get("high"), ".2g")
        spread = ("" if pick.get("low") is None else f" (every sweep's own pick {lo})" if lo == hi
                  else f" (its sweeps' own picks ranged {lo}–{hi})")
        parts.append(f"the main job (seed {MAIN_SEED}) reaches {pct(r.get('test_acc'))} test accuracy "
                     f"with max_lr {num(r.get('max_lr'), '.2g')}{spread}, in "
                     f"{num(r.get('wall_seconds'), '.0f')} s wall")
    if main and main["n"] > 1:
        parts.append(f"{pm_pct(main['mean'], main['sd'])} over seeds {', '.join(map(str, seeds))}")
    for r in (const, low):
        if r and r["mean"] is not None:
            parts.append(f"{r['label'].split(',')[0]} gives {pm_pct(r['mean'], r['sd'])}")
        if r and r["diverged"]:
            parts.append(f"{r['label'].split(',')[0]} diverged with seed(s) "
                         f"{', '.join(map(str, r['diverged']))}")
    return "; ".join(parts) + "." if parts else "no runs yet."


def write_md(path, doc, rows, exp):
    prov = doc["provenance"]
    seeds = doc["seeds"]
    L = provenance.md_header(prov) + [
        "# The README's main job, and what it is compared with", "",
        "Generated by `bash bench/readme_figures.sh` (`bench/readme_figures_report.py`); do not "
        "edit by hand, rerun the command below.", ""]
    if exp.get("quick"):
        L += ["**Quick mode** (subsets, 1 epoch): a smoke test of the pipeline; the numbers say "
              "nothing about the main job.", ""]
    limits = []
    if exp.get("limit_train") or exp.get("limit_test"):
        limits.append(f"first {exp.get('limit_train')} training / {exp.get('limit_test')} test images")
    if exp.get("num_it"):
        limits.append(f"range test of {exp['num_it']} batches per sweep")
    L += [f"**README figures:** {doc['readme']}", "",
          "## Setup", "",
          "- The main job is `cargo run --release -p lrate` with no arguments: `lrate` without a "
          "command runs `train` with every option at its default (host/src/app.rs), i.e. the "
          "range test (3 sweeps of 100 batches, the `near-min` rule) on `cnn-s`, then 1cycle at "
          "its pick for 8 epochs, SGD (momentum 0.9, weight decay 5e-4), batch 128, on the "
          "built-in synthetic data (20 000 training / 2 000 test images), seed 0. Each seed runs "
          "its explicit equivalent `lrate train --seed S --out DIR --no-progress` (`--out` moves "
          "the outputs, `--no-progress` hides the bar; neither changes the run), so seed 0's "
          "run is the main job itself."
          + (f" This invocation changed it: {', '.join(limits)}." if limits else ""),
          f"- The comparison rows: the same command with `--schedule constant --max-lr "
          f"{fmt_lr(exp.get('const_lr'))}` and with `--schedule onecycle --max-lr "
          f"{fmt_lr(exp.get('low_lr'))}`, both `--epochs {exp.get('epochs')}` (no range test).",
          f"- Seeds {', '.join(map(str, seeds))} (weights, synthetic data, shuffle, augmentation); "
          "mean ± sample sd over the seeds that finished. Wall seconds: the whole `lrate` "
          "process (data generation, range test, training, evaluation, plots).", "",
          "## Results", "",
          "| row | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd | mean wall (s) |",
          "|---|" + "---:|" * (len(seeds) + 2)]
    for r in rows.values():
        L.append(f"| {r['label']} | " + " | ".join(acc_text(r, s) for s in seeds)
                 + f" | {pm_pct(r['mean'], r['sd'])} | {num(r['wall_mean'])} |")
    main = rows.get("main")
    if main:
        L += ["", "The main job's range test, per seed:", "",
              "| seed | max_lr (pick) | range over sweeps | sweeps disagree | test accuracy | wall (s) |",
              "|---:|---:|---:|---|---:|---:|"]
        for s in seeds:
            run = main["runs"].get(s)
            if run is None:
                L.append(f"| {s} | missing |  |  |  |  |")
                continue
            p, res = run["pick"] or {}, run["result"]
            L.append(f"| {s}{' (the main job)' if s == MAIN_SEED else ''} | "
                     f"{num(res.get('max_lr'), '.4g')} | {num(p.get('low'), '.3g')} – "
                     f"{num(p.get('high'), '.3g')} | {'yes' if p.get('disagrees') else 'no'} | "
                     f"{acc_text(main, s)} | {num(res.get('wall_seconds'))} |")
    L += ["", "Every run's command:", ""]
    for r in rows.values():
        for s in seeds:
            if s in r["runs"]:
                L.append(f"- `{scrub(r['runs'][s]['command'])}`")
    inv = exp.get("invocations", [])
    L += ["", "## Reproduce", "",
          f"- Command: `{exp.get('command')}`",
          "- Runs made at commit " + ", ".join(
              f"`{c['commit']}`" + (" (uncommitted changes)" if c["dirty"] else "")
              for c in doc["commits"]) + f"; lrate `{doc.get('lrate_version')}`.",
          f"- {provenance.md_line(prov)}",
          "- Load average " + "; ".join(f"{i.get('loadavg_at_start')} at start"
                                        + (f", {i['loadavg_at_end']} at end" if i.get("loadavg_at_end") else "")
                                        for i in inv) + ".",
          f"- Generated {doc['generated']}. Per-run outputs (metrics.csv, lr_find.*, training.svg, "
          "checkpoints) are under OUT/runs/NAME/, not committed.", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def scrub(command):
    """A run's command with the machine's paths shortened: the binary to `lrate`, the run
    directory to OUT/runs/NAME."""
    parts = command.split()
    if parts:
        parts[0] = "lrate"
    return " ".join(re.sub(r"^/.*/(runs/[^/\s]+)$", r"OUT/\1", p) for p in parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="OUT directory of bench/readme_figures.sh")
    ap.add_argument("--report-dir", required=True, help="where the report goes (docs/results)")
    a = ap.parse_args(argv)
    exp = read_json(os.path.join(a.out, "experiment.json"))
    if exp is None:
        print(f"readme_figures_report.py: {a.out}/experiment.json: missing", file=sys.stderr)
        return 2
    draft_now = provenance.check_tree(prog="readme_figures_report.py")
    invs = exp.get("invocations", [])
    draft = draft_now or any(invocation_dirty(i) for i in invs)
    prov = provenance.provenance(draft=draft)
    seeds = exp.get("seeds", [])
    rows = load_rows(a.out, exp)
    summarise(rows, seeds)
    commits = []
    for i in invs:
        c = {"commit": i.get("commit"), "dirty": invocation_dirty(i)}
        if c not in commits:
            commits.append(c)
    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": exp.get("command"), "quick": exp.get("quick"),
        "commit": invs[-1]["commit"] if invs else prov["commit"], "commits": commits,
        "dirty": any(c["dirty"] for c in commits) or prov["dirty"], "draft": draft,
        "cpu": prov["cpu"], "nproc": prov["nproc"],
        "lrate_version": invs[-1].get("lrate_version") if invs else None,
        "seeds": seeds, "main_seed": MAIN_SEED, "epochs": exp.get("epochs"),
        "limit_train": exp.get("limit_train"), "limit_test": exp.get("limit_test"),
        "num_it": exp.get("num_it"),
        "rows": {k: {"label": r["label"],
                     "test_acc_by_seed": {str(s): v for s, v in r["acc"].items()},
                     "mean": r["mean"], "sd": r["sd"], "n": r["n"],
                     "max_lr_by_seed": {str(s): v for s, v in r["max_lr"].items()},
                     "wall_seconds_by_seed": {str(s): v for s, v in r["wall"].items()},
                     "wall_seconds_mean": r["wall_mean"], "diverged_seeds": r["diverged"],
                     "missing_seeds": r["missing"],
                     "pick_by_seed": ({str(s): run["pick"] for s, run in sorted(r["runs"].items())}
                                      if k == "main" else None),
                     "commands": {str(s): scrub(run["command"]) for s, run in sorted(r["runs"].items())}}
                 for k, r in rows.items()},
        "invocations": invs,
        "provenance": prov,
    }
    doc["readme"] = readme_sentence(rows, seeds)
    os.makedirs(a.report_dir, exist_ok=True)
    with open(os.path.join(a.report_dir, "main_job.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    write_md(os.path.join(a.report_dir, "main_job.md"), doc, rows, exp)
    print(f"wrote {a.report_dir}/main_job.md and main_job.json: {doc['readme']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
