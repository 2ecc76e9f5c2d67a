#!/usr/bin/env python3
"""The measurements and the report of bench/time_to_accuracy.sh (issue 16), Python 3 standard
library only: the time a user waits, from starting the process to the test accuracy reaching
the target, for lrate's whole workflow against PyTorch's.

- lrate: `lrate train --data DATA --model cnn-s --max-lr auto --epochs EPOCHS` (its range
  test, 3 sweeps of NUM_IT batches, then 1cycle at the pick; SGD Nesterov momentum 0.9,
  weight decay 5e-4, batch 128).
- PyTorch: bench/tta_torch.py (torch-lr-finder, then `OneCycleLR` at its suggestion; the same
  net, optimizer, batch, threads and epochs).

Each side runs ROUNDS times, the order alternating, each run its own process. Every output
line is timestamped as it arrives; the time to the target is that of the first
`epoch E/N: … test accuracy A%` line with A ≥ TARGET (evaluation included). Prints
`ratio pytorch/lrate time-to-91 = X` (per round, and the mean ± sd over the rounds) and writes
REPORT_DIR/time_to_accuracy.{md,json}.
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
import provenance  # noqa: E402 (bench/provenance.py)
from reports import mean_sd  # noqa: E402 (bench/reports.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCH = re.compile(r"^epoch (\d+)/(\d+): .*test accuracy ([0-9.]+)%")
LRATE_PICK = re.compile(r"max lr ([0-9.eE+-]+)")
TORCH_PICK = re.compile(r"^pick: lr=([0-9.eE+-]+)")


def run(cmd, env, target):
    """Runs cmd, timestamping each line of its output (stdout and stderr together). Returns
    the epochs [(epoch, seconds, accuracy)], the time to the target (None if not reached), the
    pick line's learning rate, the total wall time and the output tail."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, bufsize=1)
    epochs, reached, pick, tail = [], None, None, []
    for line in p.stdout:
        t = time.perf_counter() - t0
        line = line.rstrip("\n")
        tail = (tail + [line])[-20:]
        m = EPOCH.match(line)
        if m:
            acc = float(m.group(3))
            epochs.append({"epoch": int(m.group(1)), "seconds": t, "test_acc": acc})
            if reached is None and acc >= target:
                reached = t
        for rx in (LRATE_PICK, TORCH_PICK):
            mm = rx.search(line)
            if mm and pick is None:
                pick = float(mm.group(1))
    rc = p.wait()
    wall = time.perf_counter() - t0
    if rc != 0:
        sys.exit(f"time_to_accuracy: {' '.join(cmd)} failed (exit {rc}):\n" + "\n".join(tail))
    return {"epochs": epochs, "time_to_target_s": reached, "pick_lr": pick, "wall_s": wall}


def fmt(v, spec=".1f"):
    return "not reached" if v is None else format(v, spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lrate", required=True)
    ap.add_argument("--python", required=True, help="a Python with torch and torch-lr-finder")
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--num-it", type=int, default=100)
    ap.add_argument("--target", type=float, default=91.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--report-dir", default=os.path.join(ROOT, "docs", "results"))
    ap.add_argument("--command", default="bash bench/time_to_accuracy.sh")
    ap.add_argument("--draft", action="store_true")
    a = ap.parse_args(argv)

    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads),
               MPLBACKEND="Agg")
    tag = f"{a.target:g}"
    print(f"machine: {provenance.nproc()} cores, {provenance.cpu_model()}, threads={a.threads}")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="lrate-tta-") as tmp:
        cfg = os.path.join(tmp, "sgd.toml")
        with open(cfg, "w") as f:
            f.write('[optimizer]\nkind = "sgd"\nmomentum = 0.9\nnesterov = true\n'
                    "weight_decay = 5e-4\n")
        for i in range(a.rounds):
            order = ("lrate", "pytorch") if i % 2 == 0 else ("pytorch", "lrate")
            r = {"round": i + 1, "order": list(order)}
            for side in order:
                if side == "lrate":
                    cmd = [a.lrate, "train", "--config", cfg, "--data", a.data, "--model", "cnn-s",
                           "--batch", str(a.batch), "--epochs", str(a.epochs), "--max-lr", "auto",
                           "--schedule", "onecycle", "--num-it", str(a.num_it), "--no-progress",
                           "--out", os.path.join(tmp, f"run{i}")]
                else:
                    cmd = [a.python, os.path.join(ROOT, "bench", "tta_torch.py"), "--data", a.data,
                           "--epochs", str(a.epochs), "--batch", str(a.batch), "--num-it",
                           str(a.num_it), "--threads", str(a.threads)]
                r[side] = run(cmd, env, a.target)
                x = r[side]
                accs = " ".join(f"{e['test_acc']:.2f}" for e in x["epochs"])
                print(f"round {i + 1} {side:<8} pick lr {fmt(x['pick_lr'], '.4g')}, test acc per "
                      f"epoch {accs}, time-to-{tag} {fmt(x['time_to_target_s'])} s, wall "
                      f"{x['wall_s']:.1f} s", flush=True)
            lt, pt = r["lrate"]["time_to_target_s"], r["pytorch"]["time_to_target_s"]
            r["ratio"] = pt / lt if lt and pt else None
            print(f"round {i + 1}: ratio pytorch/lrate time-to-{tag} = {fmt(r['ratio'], '.2f')}"
                  + ("" if r["ratio"] else " (a side did not reach the target)"), flush=True)
            rounds.append(r)
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    m, sd = mean_sd(ratios) if len(ratios) == len(rounds) else (None, None)
    if m is None:
        missing = [f"round {r['round']} {s}" for r in rounds for s in ("lrate", "pytorch")
                   if r[s]["time_to_target_s"] is None]
        print(f"ratio pytorch/lrate time-to-{tag} = n/a (target not reached: "
              f"{', '.join(missing)})")
    else:
        sd_s = f" ± {sd:.2f}" if sd is not None else ""
        print(f"ratio pytorch/lrate time-to-{tag} = {m:.2f}{sd_s} (per round "
              f"{' '.join(f'{x:.2f}' for x in ratios)})")

    prov = provenance.provenance(draft=a.draft or None)
    doc = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": a.command, "data": a.data, "threads": a.threads, "epochs": a.epochs,
           "batch": a.batch, "num_it": a.num_it, "target": a.target, "rounds": rounds,
           "ratio_mean": m, "ratio_sd": sd, "provenance": prov}
    os.makedirs(a.report_dir, exist_ok=True)
    base = os.path.join(a.report_dir, "time_to_accuracy")
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    L = provenance.md_header(prov) + [
        "# Time to accuracy: lrate's workflow vs PyTorch's", "",
        "Generated by `bash bench/time_to_accuracy.sh` (`bench/time_to_accuracy.py`, "
        "`bench/tta_torch.py`); do not edit by hand, rerun the command below.", "",
        f"Fashion-MNIST (`{a.data.split(':')[0]}`, 60 000 training / 10 000 test images), cnn-s, "
        f"batch {a.batch}, SGD (Nesterov momentum 0.9, weight decay 5e-4), {a.epochs} epochs, "
        f"{a.threads} thread(s) on both sides. lrate: `lrate train --max-lr auto` (its range test: "
        f"3 sweeps of {a.num_it} batches, the auto pick's default, then 1cycle at the pick). "
        "PyTorch: torch-lr-finder "
        f"(`range_test(end_lr=10, num_iter={a.num_it})`, its steepest-gradient suggestion), then "
        "`OneCycleLR` at the suggestion with its defaults. The time is from the start of the "
        f"process to the first epoch whose test accuracy is ≥ {a.target:g} % (evaluation "
        "included), measured by timestamping each output line as it arrives.", "",
        f"| round | first | lrate pick | lrate test acc per epoch | lrate time-to-{tag} (s) | "
        f"PyTorch pick | PyTorch test acc per epoch | PyTorch time-to-{tag} (s) | "
        "ratio PyTorch/lrate |",
        "|---:|---|---:|---|---:|---:|---|---:|---:|"]
    for r in rounds:
        lr_, pt = r["lrate"], r["pytorch"]
        acc = lambda x: " / ".join(f"{e['test_acc']:.2f}" for e in x["epochs"])  # noqa: E731
        L.append(f"| {r['round']} | {r['order'][0]} | {fmt(lr_['pick_lr'], '.4g')} | {acc(lr_)} | "
                 f"{fmt(lr_['time_to_target_s'])} | {fmt(pt['pick_lr'], '.4g')} | {acc(pt)} | "
                 f"{fmt(pt['time_to_target_s'])} | {fmt(r['ratio'], '.2f')} |")
    summary = ("n/a: a side did not reach the target in some round" if m is None else
               f"**{m:.2f}**" + (f" ± {sd:.2f}" if sd is not None else "")
               + f" (mean ± sd over {len(ratios)} rounds)")
    L += ["", f"ratio PyTorch/lrate time-to-{tag}: {summary}.", "",
          "Epoch times (s from the start of the process):", ""]
    for r in rounds:
        for s in ("lrate", "pytorch"):
            ts = ", ".join(f"epoch {e['epoch']} at {e['seconds']:.1f}" for e in r[s]["epochs"])
            L.append(f"- round {r['round']} {s}: {ts}; process wall {r[s]['wall_s']:.1f} s")
    L += ["", "## Reproduce", "", f"- Command: `{a.command}`", f"- {provenance.md_line(prov)}",
          f"- Generated {doc['generated']}.", ""]
    with open(base + ".md", "w") as f:
        f.write("\n".join(L))
    print(f"wrote {base}.md and {base}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
