#!/usr/bin/env python3
"""Calibration study of lrate's automatic max_lr, Python 3 standard library only.

Does `lrate train --max-lr auto` (the max_lr picked by `lrate find`) match the best point of a
grid search of 1cycle max_lr, across tasks, optimizers and seeds? Usually started through
`bash bench/calibrate.sh` (which builds lrate); drives the `lrate` binary and writes

* REPORT_DIR/calibration.md              the design, then the results and the targets;
* REPORT_DIR/calibration.json            machine-readable results;
* REPORT_DIR/calibration_grid_TASK.svg   per task: accuracy against max_lr, the picks marked;
* REPORT_DIR/calibration_range_test.svg  one mean range-test curve with its min-max band.

Every run (`lrate find` or `lrate train`) goes to OUT/runs/NAME/, NAME encoding every setting
of the run; its result.json is written when it ends, and a rerun reuses it (resume). A run
that diverged or failed is cached too (rerun with --retry-failed to try it again); an
interrupted one is not.

Provenance (issue 18, bench/provenance.py): each invocation records its commit and whether the
working tree was clean in OUT/invocations.json, and the report names the commit the runs were
made at. On a tree with uncommitted changes the study refuses to run (exit 2) unless DRAFT=1,
which marks the report DRAFT (its first line, and "draft": true in the JSON). --report-only
never refuses: it runs nothing and reports the commit(s) of the invocations that made the runs;
its report is a DRAFT when those runs, or the tree it is written from, were not committed.
"""

import argparse
import csv
import fcntl
import hashlib
import json
import math
import os
import re
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)
from reports import read_json  # noqa: E402 (bench/reports.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------
# The study (edit here)

OPTIMIZERS = {
    "sgd-nesterov": {"family": "sgd", "tag": "sgd-nesterov-m0.9-wd5e-4",
                     "label": "SGD, Nesterov momentum 0.9, weight decay 5e-4",
                     "args": ["--optimizer", "sgd", "--nesterov", "--momentum", "0.9",
                              "--weight-decay", "5e-4"]},
    "adam": {"family": "adam", "tag": "adam-wd0", "label": "Adam, weight decay 0",
             "args": ["--optimizer", "adam", "--weight-decay", "0"]},
}


@dataclass(frozen=True)
class Task:
    id: str
    split: str  # "calibration" (fits the near-min factor) or "heldout"
    model: str
    data: str  # "fashion-mnist" or "mnist"
    optimizer: str  # a key of OPTIMIZERS
    batch: int
    epochs: int
    limit_train: int

    @property
    def family(self):
        return OPTIMIZERS[self.optimizer]["family"]

    @property
    def slug(self):
        return self.id.replace("/", "_")


# Every task runs 192 or more steps, so that its grid (6 points × 3 seeds) costs more than
# 10× a range test of 3 × 100 batches; the batch sizes 32, 64, 128 and 256 all occur.
TASKS = [
    Task("cnn-s/fmnist/sgd", "calibration", "cnn-s", "fashion-mnist", "sgd-nesterov", 128, 4, 6144),
    Task("mlp/mnist/adam", "calibration", "mlp", "mnist", "adam", 64, 3, 16384),
    Task("mlp/fmnist/sgd", "calibration", "mlp", "fashion-mnist", "sgd-nesterov", 32, 2, 16384),
    Task("cnn-s/mnist/adam", "calibration", "cnn-s", "mnist", "adam", 128, 4, 6144),
    Task("cnn-s/mnist/sgd", "heldout", "cnn-s", "mnist", "sgd-nesterov", 64, 2, 6144),
    Task("cnn-s/fmnist/adam", "heldout", "cnn-s", "fashion-mnist", "adam", 64, 2, 6144),
    Task("mlp/fmnist/adam", "heldout", "mlp", "fashion-mnist", "adam", 256, 3, 16384),
]
# Smoke test: one calibration and one held-out task, one per optimizer family.
QUICK_TASKS = [
    Task("mlp/mnist/adam", "calibration", "mlp", "mnist", "adam", 64, 1, 512),
    Task("mlp/fmnist/sgd", "heldout", "mlp", "fashion-mnist", "sgd-nesterov", 64, 1, 512),
]
GRID = {"sgd": [0.05, 0.1, 0.2, 0.4, 0.8, 1.6],
        "adam": [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008]}
QUICK_GRID = {"sgd": [0.1, 0.2, 0.4], "adam": [0.001, 0.002, 0.004]}
MAX_EXTENSIONS = 3  # per side: ×2 steps added while the best grid mean is at that edge
SEEDS = [0, 1, 2]
REPEATS, NUM_IT, VARY = 3, 100, "data"
QUICK_REPEATS, QUICK_NUM_IT = 2, 30
LIMIT_TEST, QUICK_LIMIT_TEST = 2000, 512
# "default": bounds.max_lr of `lrate find` without --suggestion (what --max-lr auto uses);
# "verify": verify.chosen of `lrate find --verify`; "fitted": near-min with the factor fitted
# here (trained only where it differs from the default); the rest: that rule's mean-curve pick.
RULES = ["default", "verify", "minimum", "steep", "valley", "slide", "steepest", "fitted"]
CURVE_RULES = ["minimum", "steep", "valley", "slide", "steepest"]
TARGET_GAP_PP = 0.3  # default rule within this of the best grid mean
TARGET_COST = 0.10  # find images trained <= this × the grid's (wall seconds reported too)
CHANCE_ACC = 10.0  # test accuracy (%) recorded for a failed or diverged run
DEFAULT_DATA_DIRS = {"fashion-mnist": ("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist",
                                       "../shared/data/fashion-mnist"),
                     "mnist": ("MNIST_DIR", "../shared/data/mnist", None)}
ENV_SETTINGS = ["QUICK", "OUT", "REPORT_DIR", "TASKS", "SEEDS", "REPEATS", "NUM_IT", "VARY",
                "RULES", "LIMIT_TEST", "GRID_SGD", "GRID_ADAM", "RETRY_FAILED"]
ENV_PATHS = ["LRATE", "FASHION_MNIST_DIR", "MNIST_DIR"]  # recorded without their value
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]
RULE_COLORS = {"default": "#d62728", "verify": "#9467bd", "valley": "#2ca02c",
               "fitted": "#ff7f0e", "min_point": "#7f7f7f"}

ENV_HELP = """environment variables (flags win):
  LRATE            the lrate binary (bench/calibrate.sh builds one when unset)
  QUICK=1          as --quick;  OUT, REPORT_DIR, TASKS, RETRY_FAILED=1: as the flags
  SEEDS            seeds, e.g. "0 1 2" (default; at least 3 for the study)
  REPEATS, NUM_IT  lrate find --repeats / --num-it (default 3 / 100; quick 2 / 30)
  VARY             lrate find --vary data|init|both (default data)
  RULES            trained rules (default "default verify minimum steep valley slide
                   steepest fitted")
  LIMIT_TEST       test images (default 2000; quick 512)
  GRID_SGD, GRID_ADAM   starting grids, e.g. "0.05 0.1 0.2" (×2 spacing)
  FASHION_MNIST_DIR, MNIST_DIR   data directories (IDX .gz files)
  DRAFT=1          run on a working tree with uncommitted changes; the report is marked DRAFT
"""


class StudyError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Small helpers


def finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def positive(v):
    return float(v) if finite(v) and v > 0 else None


def fmt_lr(x):
    return f"{x:.4g}"


def round_lr(x):
    return float(fmt_lr(x))


def round_sig(x, digits):
    return float(f"{x:.{digits}g}")


def geomean(xs):
    xs = [x for x in xs if positive(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def mean_sd(xs):
    xs = [x for x in xs if finite(x)]
    if not xs:
        return None, None
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else None)


def r2(x):
    return None if x is None else round(x, 2)


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def tail(text, n=5):
    return "\n".join(text.strip().splitlines()[-n:])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_factor(rule):
    """The factor of a canonical `near-min:F` rule name, else None."""
    if isinstance(rule, str) and rule.startswith("near-min:"):
        try:
            return positive(float(rule.split(":", 1)[1]))
        except ValueError:
            return None
    return None


def factors_equal(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass
class Study:
    lrate: str
    out: str
    report_dir: str
    quick: bool
    report_only: bool
    retry_failed: bool
    tasks: list
    seeds: list
    repeats: int
    num_it: int
    vary: str
    limit_test: int
    grids: dict
    rules: list
    data_dirs: dict
    command: str


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0", "false", "no")


def env_list(name, default, conv):
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    try:
        return [conv(x) for x in raw.replace(",", " ").split()]
    except ValueError:
        raise StudyError(f"{name}={raw!r}: not a list of {conv.__name__} values")


def env_int(name, default):
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise StudyError(f"{name}={raw!r}: not an integer")


def data_dir(kind):
    env, default, fallback = DEFAULT_DATA_DIRS[kind]
    d = os.environ.get(env) or default
    if not os.environ.get(env) and fallback and not os.path.isdir(d):
        d = fallback
    return os.path.abspath(os.path.join(ROOT, d))


def recorded_command(argv):
    """The command as invoked, settings given by environment variables first (paths hidden)."""
    parts = [f"{v}={shlex.quote(os.environ[v])}" for v in ENV_SETTINGS if os.environ.get(v)]
    parts += [f"{v}=..." for v in ENV_PATHS if os.environ.get(v)]
    parts.append(os.environ.get("CALIBRATE_ENTRY") or "python3 bench/calibrate.py")
    return " ".join(parts + [shlex.quote(a) for a in argv])


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/calibrate.sh", description=__doc__.split("\n")[0],
        epilog=ENV_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", default=env_flag("QUICK"),
                    help="smoke test: 2 tiny mlp tasks, 512 train images, 1 epoch, grid of 3, "
                         "num-it 30, repeats 2 (OUT target/calibrate-quick, report in OUT/report)")
    ap.add_argument("--out", default=os.environ.get("OUT"),
                    help="cached runs (default target/calibrate)")
    ap.add_argument("--report-dir", default=os.environ.get("REPORT_DIR"),
                    help="where the report goes (default docs/results)")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: rebuild the report from the cached runs")
    ap.add_argument("--tasks", default=os.environ.get("TASKS"),
                    help="comma-separated task ids (default: all)")
    ap.add_argument("--retry-failed", action="store_true", default=env_flag("RETRY_FAILED"),
                    help="rerun cached runs that failed or diverged")
    return ap.parse_args(argv)


def select_tasks(all_tasks, spec):
    if not spec:
        return list(all_tasks)
    ids = [s.strip() for s in spec.split(",") if s.strip()]
    known = {t.id: t for t in all_tasks}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise StudyError(f"unknown task(s) {', '.join(unknown)}; tasks: {', '.join(known)}")
    return [known[i] for i in ids]


def make_study(argv):
    a = parse_args(argv)
    quick = a.quick
    out = a.out or ("target/calibrate-quick" if quick else "target/calibrate")
    out = os.path.abspath(os.path.join(ROOT, out))
    report_dir = a.report_dir or (os.path.join(out, "report") if quick else "docs/results")
    base_grid = QUICK_GRID if quick else GRID
    rules = env_list("RULES", RULES, str)
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise StudyError(f"RULES: unknown rule(s) {', '.join(bad)}; rules: {' '.join(RULES)}")
    return Study(
        lrate=os.environ.get("LRATE") or os.path.join(ROOT, "target", "release", "lrate"),
        out=out, report_dir=os.path.abspath(os.path.join(ROOT, report_dir)), quick=quick,
        report_only=a.report_only, retry_failed=a.retry_failed,
        tasks=select_tasks(QUICK_TASKS if quick else TASKS, a.tasks),
        seeds=env_list("SEEDS", SEEDS, int),
        repeats=env_int("REPEATS", QUICK_REPEATS if quick else REPEATS),
        num_it=env_int("NUM_IT", QUICK_NUM_IT if quick else NUM_IT),
        vary=os.environ.get("VARY") or VARY,
        limit_test=env_int("LIMIT_TEST", QUICK_LIMIT_TEST if quick else LIMIT_TEST),
        grids={"sgd": sorted(env_list("GRID_SGD", base_grid["sgd"], float)),
               "adam": sorted(env_list("GRID_ADAM", base_grid["adam"], float))},
        rules=rules, data_dirs={k: data_dir(k) for k in DEFAULT_DATA_DIRS},
        command=recorded_command(argv))


# ---------------------------------------------------------------------------------------------
# Run names and command lines


def run_args(study, task, seed):
    """The flags `lrate find` and `lrate train` share for a task and seed."""
    return (["--data", f"{task.data}:{study.data_dirs[task.data]}", "--model", task.model,
             "--batch", str(task.batch), "--seed", str(seed),
             "--limit-train", str(task.limit_train), "--limit-test", str(study.limit_test)]
            + OPTIMIZERS[task.optimizer]["args"] + ["--no-progress"])


def task_key(study, task):
    return (f"{task.model}_{task.data}_{OPTIMIZERS[task.optimizer]['tag']}_b{task.batch}"
            f"_n{task.limit_train}_t{study.limit_test}")


def train_name(study, task, seed, max_lr):
    return f"train_{task_key(study, task)}_e{task.epochs}_s{seed}_lr{fmt_lr(max_lr)}"


def core_default_factors():
    """The near-min factors lrate-core commits as defaults ({family: factor}), read from its
    source so that a changed default invalidates the cached finds (their picks and --verify
    trials depend on it)."""
    src = open(os.path.join(ROOT, "core", "src", "range_test", "bounds_rule.rs")).read()
    out = {}
    for fam, const in (("sgd", "SGD_FACTOR"), ("adam", "ADAM_FACTOR")):
        m = re.search(rf"pub const {const}: f32 = ([0-9.eE+-]+);", src)
        out[fam] = float(m.group(1)) if m else None
    return out


CORE_FACTORS = core_default_factors()


def core_rule_digest():
    """A short digest of lrate-core's range-test rule sources: a changed rule (not only a
    changed factor) invalidates the cached finds too."""
    h = hashlib.sha1()
    d = os.path.join(ROOT, "core", "src", "range_test")
    for name in sorted(os.listdir(d)):
        if name.endswith(".rs"):
            # The code only: comments (doc comments included) and white space do not count.
            src = open(os.path.join(d, name)).read()
            code = "".join(ln.split("//")[0] for ln in src.splitlines())
            h.update("".join(code.split()).encode())  # no whitespace: rustfmt may re-wrap
    return h.hexdigest()[:8]


CORE_RULES = core_rule_digest()


def find_name(study, task, seed, verify):
    return (f"find_{task_key(study, task)}_s{seed}_k{study.repeats}_it{study.num_it}"
            f"_vary-{study.vary}_f{CORE_FACTORS.get(task.family)}_c{CORE_RULES}_e{task.epochs}"
            + ("_verify" if verify else ""))


def train_argv(study, task, seed, max_lr):
    return ([study.lrate, "train"] + run_args(study, task, seed)
            + ["--epochs", str(task.epochs), "--max-lr", fmt_lr(max_lr)])


def find_argv(study, task, seed, verify):
    return ([study.lrate, "find"] + run_args(study, task, seed)
            + ["--repeats", str(study.repeats), "--num-it", str(study.num_it),
               "--vary", study.vary, "--epochs", str(task.epochs)]
            + (["--verify"] if verify else []))


# ---------------------------------------------------------------------------------------------
# Parsing a finished run


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line:
            try:
                doc = json.loads(line)
            except ValueError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def parse_train(run_dir, rc, out, err):
    metrics = last_json_line(out)
    acc = (metrics or {}).get("test_acc")
    loss = (metrics or {}).get("train_loss", 0.0)
    ok = rc == 0 and finite(acc) and (loss is None or finite(loss))
    why = "" if ok else (f"exit {rc}" if rc else "non-finite accuracy or loss") + (
        f": {tail(err, 3)}" if err.strip() else "")
    return {"kind": "train", "status": "ok" if ok else "failed", "failed": not ok,
            "acc": round(100 * acc, 4) if ok else CHANCE_ACC, "metrics": metrics, "error": why}


def parse_find(run_dir, rc, out, err):
    lf = read_json(os.path.join(run_dir, "lr_find.json"))
    no_pick = "no reliable suggestion" in (out + err) or (lf is not None and not lf.get("bounds"))
    if rc == 0 and lf is not None and not no_pick:
        status = "ok"
    else:
        status = "no-pick" if no_pick else "failed"
    return {"kind": "find", "status": status, "lr_find": lf,
            "error": "" if status == "ok" else f"exit {rc}: {tail(err, 3)}"}


def is_usage_error(rc, err):
    """clap's exit for a bad command line: the binary lacks a flag; caching it would be wrong."""
    return rc == 2 and ("Usage:" in err or "unexpected argument" in err)


# ---------------------------------------------------------------------------------------------
# Running (or, with --report-only, only reading) the runs


class Runner:
    def __init__(self, study):
        self.study = study
        self.runs_dir = os.path.join(study.out, "runs")
        self.planned, self.done = set(), set()
        self.executed = 0
        self.offline = study.report_only

    def plan(self, names):
        self.planned.update(names)

    def run_dir(self, name):
        return os.path.join(self.runs_dir, name)

    def cached(self, name):
        res = read_json(os.path.join(self.run_dir(name), "result.json"))
        if res is None or (self.study.retry_failed and res.get("status") != "ok"
                           and not self.offline):
            return None
        return res

    def execute(self, name, argv, parse, describe):
        """The result of run NAME: cached, or run now (None when offline and not cached)."""
        self.planned.add(name)
        res = self.cached(name)
        if res is not None or self.offline:
            if res is not None:
                self.done.add(name)
            return res
        d = self.run_dir(name)
        os.makedirs(d, exist_ok=True)
        for stale in ("lr_find.json", "lr_find.csv", "result.json"):
            if os.path.exists(os.path.join(d, stale)):
                os.remove(os.path.join(d, stale))
        # No result.json: whatever an earlier attempt left in d is replaced on purpose.
        argv = argv + ["--out", d, "--overwrite"]
        with open(os.path.join(d, "command.txt"), "w") as f:
            f.write(shlex.join(argv) + "\n")
        out, err, rc, wall = self.spawn(argv, d)
        if is_usage_error(rc, err):
            raise StudyError(f"{shlex.join(argv[:2])} rejected its command line (is the binary "
                             f"older than this script?):\n{tail(err)}")
        res = parse(d, rc, out, err)
        res.update({"name": name, "rc": rc, "wall_seconds": round(wall, 3),
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        write_json(os.path.join(d, "result.json"), res)
        ckpt = os.path.join(d, "checkpoint.safetensors")  # never resumed: the result is cached
        if os.path.exists(ckpt):
            os.remove(ckpt)
        self.done.add(name)
        self.executed += 1
        log(f"[{len(self.done)}/{len(self.planned)}] {describe(res)} in {wall:.1f} s")
        return res

    def spawn(self, argv, d):
        t0 = time.monotonic()
        try:
            with open(os.path.join(d, "stdout.txt"), "w") as fo, \
                    open(os.path.join(d, "stderr.txt"), "w") as fe:
                rc = subprocess.run(argv, stdout=fo, stderr=fe, cwd=ROOT).returncode
        except OSError as e:
            raise StudyError(f"cannot run {argv[0]}: {e}")
        wall = time.monotonic() - t0
        if rc in (-2, 130):  # SIGINT: not a result
            raise KeyboardInterrupt
        with open(os.path.join(d, "stdout.txt")) as fo, open(os.path.join(d, "stderr.txt")) as fe:
            return fo.read(), fe.read(), rc, wall

    def train(self, task, seed, max_lr, label):
        s = self.study
        lr = round_lr(max_lr)

        def describe(r):
            acc = "FAILED" if r["failed"] else f"{r['acc']:.2f} %"
            return f"{label} {task.id} max_lr {fmt_lr(lr)} seed {seed}: {acc}"
        return self.execute(train_name(s, task, seed, lr), train_argv(s, task, seed, lr),
                            parse_train, describe)

    def find(self, task, seed, verify):
        s = self.study

        def describe(r):
            what = "find --verify" if verify else "find"
            if r["status"] != "ok":
                return f"{what} {task.id} seed {seed} ({s.repeats} sweeps): {r['status']}"
            pick = verify_pick(r) if verify else default_pick(r)
            mp = min_point_lr(r, self.run_dir(r["name"]))
            return (f"{what} {task.id} seed {seed} ({s.repeats} sweeps): max_lr "
                    f"{fmt_lr(pick) if pick else 'none'}, min_point "
                    f"{fmt_lr(mp) if mp else 'none'}")
        return self.execute(find_name(s, task, seed, verify), find_argv(s, task, seed, verify),
                            parse_find, describe)


# ---------------------------------------------------------------------------------------------
# Reading picks out of a find result (robust to missing fields and older binaries)


def lr_find_of(res):
    return (res or {}).get("lr_find") or {}


def default_pick(res):
    return positive((lr_find_of(res).get("bounds") or {}).get("max_lr"))


def verify_pick(res):
    v = lr_find_of(res).get("verify") or {}
    return positive(v.get("chosen")) or default_pick(res)


def rule_pick(res, rule):
    """RULE's pick on the mean curve (`rules`, or an older binary's `suggestions`)."""
    lf = lr_find_of(res)
    for r in lf.get("rules") or []:
        if isinstance(r, dict) and str(r.get("rule", "")).split(":")[0] == rule:
            return positive(r.get("mean_curve"))
    return positive((lf.get("suggestions") or {}).get(rule))


def bounds_rule(res):
    return lr_find_of(res).get("bounds_rule")


def min_point_lr(res, run_dir):
    """near-min's anchor: the lr where the mean curve's smoothed loss has made 80 % of its fall (`anchor`
    of lr_find.json; from lrate binaries before it, `min_point`, else from lr_find.csv)."""
    j = lr_find_of(res)
    lr = positive((j.get("anchor") or j.get("min_point") or {}).get("lr"))
    return lr if lr else csv_min_point(os.path.join(run_dir, "lr_find.csv"))


def read_curve(path):
    """lr_find.csv columns by header name: lr, smoothed_loss, smoothed_min, smoothed_max."""
    cols = {"lr": [], "smoothed_loss": [], "smoothed_min": [], "smoothed_max": []}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                for k in cols:
                    try:
                        cols[k].append(float(row[k]) if row.get(k) not in (None, "") else None)
                    except ValueError:
                        cols[k].append(None)
    except OSError:
        return None
    return cols if cols["lr"] else None


def csv_min_point(path):
    c = read_curve(path)
    if not c:
        return None
    pts = [(y, x) for x, y in zip(c["lr"], c["smoothed_loss"]) if finite(x) and finite(y)]
    return positive(min(pts)[1]) if pts else None


# ---------------------------------------------------------------------------------------------
# The study's phases


def grid_results(runner, task, seeds, lrs):
    return {lr: {s: runner.train(task, s, lr, "grid") for s in seeds} for lr in lrs}


def best_grid_point(grid):
    """(max_lr, mean) of the best grid mean over the points that have results."""
    means = [(mean_sd(run_accs(runs))[0], lr) for lr, runs in grid.items()]
    means = [(m, lr) for m, lr in means if m is not None]
    if not means:
        return None, None
    m, lr = max(means, key=lambda t: (t[0], -t[1]))
    return lr, m


def run_grid(study, runner, task):
    """The grid, extended ×2 beyond an edge holding the best mean (MAX_EXTENSIONS per side)."""
    lrs = [round_lr(x) for x in study.grids[task.family]]
    runner.plan(train_name(study, task, s, lr) for lr in lrs for s in study.seeds)
    ext = {"low": 0, "high": 0}
    grid = grid_results(runner, task, study.seeds, lrs)
    while True:
        grid = {lr: runs for lr, runs in grid.items() if any(runs.values())} if runner.offline \
            else grid
        best, _ = best_grid_point(grid)
        pts = sorted(grid)
        if best is None:
            break
        if best == pts[0] and ext["low"] < MAX_EXTENSIONS:
            new, ext["low"] = round_lr(pts[0] / 2), ext["low"] + 1
        elif best == pts[-1] and ext["high"] < MAX_EXTENSIONS:
            new, ext["high"] = round_lr(pts[-1] * 2), ext["high"] + 1
        else:
            break
        more = grid_results(runner, task, study.seeds, [new])
        if runner.offline and not any(more[new].values()):
            break
        grid.update(more)
    return dict(sorted(grid.items())), ext


def run_finds(study, runner, task, verify):
    names = [find_name(study, task, s, verify) for s in study.seeds]
    runner.plan(names)
    return {s: runner.find(task, s, verify) for s in study.seeds}


def rule_picks(study, st):
    """{rule: {seed: max_lr or None}} for every rule but "fitted"."""
    picks = {}
    for rule in study.rules:
        if rule == "default":
            picks[rule] = {s: default_pick(st["finds"][s]) for s in study.seeds}
        elif rule == "verify":
            picks[rule] = {s: verify_pick(st["verifies"].get(s)) for s in study.seeds}
        elif rule in CURVE_RULES:
            picks[rule] = {s: rule_pick(st["finds"][s], rule) for s in study.seeds}
    return picks


def fitted_picks(study, st, fitted):
    f = fitted.get(st["task"].family)
    if "fitted" not in study.rules or f is None or factors_equal(f, st["default_factor"]):
        return None
    return {s: (f * st["min_point"][s] if st["min_point"].get(s) else None) for s in study.seeds}


def train_picks(study, runner, task, picks):
    """{rule: {seed: train result or None}}; identical (seed, rounded max_lr) trained once."""
    runner.plan(train_name(study, task, s, lr) for p in picks.values() for s, lr in p.items() if lr)
    return {rule: {s: (runner.train(task, s, lr, rule) if lr else None) for s, lr in p.items()}
            for rule, p in picks.items()}


def task_default_factor(finds):
    """The default rule of the task's finds (the most common; successful finds first)."""
    ok = [r for r in finds.values() if r and r.get("status") == "ok"]
    rules = [bounds_rule(r) for r in (ok or finds.values()) if bounds_rule(r)]
    rule = max(set(rules), key=rules.count) if rules else None
    return rule, parse_factor(rule)


def run_task(study, runner, task):
    st = {"task": task, "finds": run_finds(study, runner, task, False),
          "verifies": run_finds(study, runner, task, True) if "verify" in study.rules else {}}
    st["grid"], st["extensions"] = run_grid(study, runner, task)
    st["min_point"] = {s: min_point_lr(r, runner.run_dir(r["name"])) if r else None
                       for s, r in st["finds"].items()}
    st["default_rule"], st["default_factor"] = task_default_factor(st["finds"])
    st["picks"] = rule_picks(study, st)
    st["trained"] = train_picks(study, runner, task, st["picks"])
    return st


def best_over_min_point(st):
    """Per task: geometric mean over seeds of best_grid_max_lr / min_point.lr."""
    best, _ = best_grid_point(st["grid"])
    if best is None:
        return None
    return geomean([best / mp for mp in st["min_point"].values() if mp])


def fit_factors(states):
    """Near-min factor per optimizer family: geometric mean of the calibration tasks' ratios."""
    fitted = {}
    for fam in ("sgd", "adam"):
        rs = [best_over_min_point(st) for st in states
              if st["task"].split == "calibration" and st["task"].family == fam]
        g = geomean(rs)
        fitted[fam] = round_sig(g, 2) if g else None
    return fitted


def run_study(study, runner):
    if os.environ.get("GRID_ONLY") == "1":
        # Only the grids (they depend on no range-test rule); no report.
        for t in study.tasks:
            run_grid(study, runner, t)
        sys.exit(0)
    states = [run_task(study, runner, t) for t in study.tasks]
    fitted = fit_factors(states)
    for st in states:
        p = fitted_picks(study, st, fitted)
        if p:
            st["picks"]["fitted"] = p
            st["trained"].update(train_picks(study, runner, st["task"], {"fitted": p}))
    return states, fitted


# ---------------------------------------------------------------------------------------------
# Analysis


def run_accs(runs):
    """Accuracies (%) of the runs that have a result (failed ones at chance)."""
    return [r["acc"] for r in runs.values() if r and finite(r.get("acc"))]


def wall(res):
    return (res or {}).get("wall_seconds") if finite((res or {}).get("wall_seconds")) else None


def analyse_rule(study, st, rule, best_mean):
    picks, trained = st["picks"].get(rule, {}), st["trained"].get(rule, {})
    accs = [trained[s]["acc"] if trained.get(s) else None for s in study.seeds]
    m, sd = mean_sd(accs)
    return {"max_lr": [picks.get(s) for s in study.seeds], "acc": [r2(a) for a in accs],
            "failed_runs": [s for s in study.seeds if trained.get(s) and trained[s]["failed"]],
            "no_pick": [s for s in study.seeds if not picks.get(s)],
            "acc_mean": r2(m), "acc_sd": r2(sd),
            "minus_best_grid_pp": r2(m - best_mean) if m is not None and best_mean is not None
            else None}


def analyse_grid(study, grid):
    rows = []
    for lr, runs in grid.items():
        accs = [runs[s]["acc"] if runs.get(s) else None for s in study.seeds]
        m, sd = mean_sd(accs)
        rows.append({"max_lr": lr, "acc": [r2(a) for a in accs], "mean": r2(m), "sd": r2(sd),
                     "failed": [s for s in study.seeds if runs.get(s) and runs[s]["failed"]]})
    return rows


def train_images(res, batch):
    """Images a training run trained on (its steps × batch), from its summary line."""
    steps = ((res or {}).get("metrics") or {}).get("steps")
    return steps * batch if finite(steps) else None


def find_images(res, batch):
    """Images a find trained on: its sweeps' batches, plus --verify's trials (forward passes
    of their held-back images counted as a third of a training step, as lrate counts them)."""
    j = lr_find_of(res)
    n = j.get("batches")
    if not finite(n):
        return None
    v = j.get("verify") or {}
    extra = 0.0
    if finite(v.get("steps")):
        trials = len(v.get("trials") or [])
        extra = trials * v["steps"] * batch + trials * (v.get("val_images") or 0) / 3.0
    return n * batch + extra


def timing(study, st):
    b = st["task"].batch
    find_i = [find_images(r, b) for r in st["finds"].values() if find_images(r, b)]
    ver_i = [find_images(r, b) for r in st["verifies"].values() if find_images(r, b)]
    grid_i = sum(train_images(r, b) or 0 for runs in st["grid"].values() for r in runs.values())
    find_s = [wall(r) for r in st["finds"].values() if wall(r)]
    ver_s = [wall(r) for r in st["verifies"].values() if wall(r)]
    grid_s = sum(wall(r) or 0.0 for runs in st["grid"].values() for r in runs.values())
    find_mean = statistics.mean(find_s) if find_s else None
    ver_mean = statistics.mean(ver_s) if ver_s else None
    one_seed = grid_s / len(study.seeds) if study.seeds else None

    def ratio(a, b):
        return round(a / b, 4) if a is not None and b else None
    fi = statistics.mean(find_i) if find_i else None
    vi = statistics.mean(ver_i) if ver_i else None
    return {"find_seconds": r2(find_mean), "verify_seconds": r2(ver_mean),
            "grid_seconds": r2(grid_s),
            # Compute as images trained: exact, unlike wall seconds on a shared machine.
            "find_images": fi, "verify_images": vi, "grid_images": grid_i,
            "find_over_grid_images": ratio(fi, grid_i),
            "verify_over_grid_images": ratio(vi, grid_i),
            "find_over_one_seed_grid_images": ratio(fi, grid_i / len(study.seeds) if study.seeds else None),
            "grid_runs": sum(1 for runs in st["grid"].values() for r in runs.values() if r),
            "find_over_grid": ratio(find_mean, grid_s),
            "find_over_one_seed_grid": ratio(find_mean, one_seed),
            "verify_over_grid": ratio(ver_mean, grid_s),
            "verify_over_one_seed_grid": ratio(ver_mean, one_seed)}


def gap_target(rule):
    """(pass, detail) of "within TARGET_GAP_PP of the best grid mean" for an analysed rule."""
    d = rule["minus_best_grid_pp"] if rule else None
    if d is None:
        return None, "not measured"
    if rule["no_pick"]:
        return False, f"no pick on seed(s) {rule['no_pick']}; {d:+.2f} pp on the others"
    if d >= -TARGET_GAP_PP:
        return True, f"{d:+.2f} pp"
    return False, f"{d:+.2f} pp: missed by {-TARGET_GAP_PP - d:.2f} pp"


def cost_target(ratio):
    if ratio is None:
        return None, "not measured"
    if ratio <= TARGET_COST:
        return True, f"{100 * ratio:.1f} %"
    return False, f"{100 * ratio:.1f} %: {ratio / TARGET_COST:.1f}× the {100 * TARGET_COST:.0f} % budget"


def analyse_task(study, st):
    task = st["task"]
    best_lr, best_mean = best_grid_point(st["grid"])
    grid = analyse_grid(study, st["grid"])
    best_sd = next((g["sd"] for g in grid if g["max_lr"] == best_lr), None)
    rules = {rule: analyse_rule(study, st, rule, best_mean) for rule in st["picks"]}
    pts = sorted(st["grid"])
    at_edge = best_lr is not None and (
        (best_lr == pts[0] and st["extensions"]["low"] >= MAX_EXTENSIONS)
        or (best_lr == pts[-1] and st["extensions"]["high"] >= MAX_EXTENSIONS))
    t = timing(study, st)
    d, v = rules.get("default"), rules.get("verify")
    ratio = best_over_min_point(st)
    doc = {"task": task.id, "split": task.split, "model": task.model, "data": task.data,
           "optimizer": task.optimizer, "family": task.family, "batch": task.batch,
           "epochs": task.epochs, "limit_train": task.limit_train, "seeds": study.seeds,
           "best_grid_max_lr": best_lr, "best_grid_acc_mean": r2(best_mean),
           "best_grid_acc_sd": best_sd, "best_at_grid_edge": at_edge,
           "grid_extensions": st["extensions"], "grid": grid,
           "default_rule": st["default_rule"],
           "min_point_lr": [st["min_point"].get(s) for s in study.seeds],
           "best_grid_over_min_point": round(ratio, 4) if ratio else None,
           "auto_max_lr": d["max_lr"] if d else None,
           "auto_acc_mean": d["acc_mean"] if d else None,
           "auto_acc_sd": d["acc_sd"] if d else None,
           "auto_minus_best_grid_pp": d["minus_best_grid_pp"] if d else None,
           "verify_max_lr": v["max_lr"] if v else None,
           "verify_acc_mean": v["acc_mean"] if v else None,
           "verify_minus_best_grid_pp": v["minus_best_grid_pp"] if v else None,
           "verify_trials": {s: (lr_find_of(r).get("verify") or {}).get("trials")
                             for s, r in st["verifies"].items()},
           "find_status": {s: (r or {}).get("status", "missing") for s, r in st["finds"].items()},
           "rules": rules}
    doc.update(t)
    doc["targets"] = {"default_within_pp": dict(zip(("pass", "detail"), gap_target(d))),
                      "find_cost": dict(zip(("pass", "detail"), cost_target(t["find_over_grid_images"]))),
                      "find_cost_one_seed_grid":
                          dict(zip(("pass", "detail"), cost_target(t["find_over_one_seed_grid_images"])))}
    return doc


def default_over_min_point(states):
    """Per family, geometric mean over tasks and seeds of the default pick / anchor.lr: equals
    the default near-min factor when the binary applies it as documented."""
    out = {}
    for fam in ("sgd", "adam"):
        rs = [default_pick(r) / st["min_point"][s] for st in states if st["task"].family == fam
              for s, r in st["finds"].items() if default_pick(r) and st["min_point"].get(s)]
        g = geomean(rs)
        out[fam] = round(g, 4) if g else None
    return out


def default_rules_by_family(states):
    out = {}
    for fam in ("sgd", "adam"):
        rules = [st["default_rule"] for st in states if st["task"].family == fam and st["default_rule"]]
        out[fam] = max(set(rules), key=rules.count) if rules else None
    return out


def rule_summary(docs):
    """Per rule and split: tasks measured, mean and worst gap, tasks within TARGET_GAP_PP."""
    out = {}
    for rule in RULES:
        for split in ("calibration", "heldout"):
            gaps = [d["rules"][rule]["minus_best_grid_pp"] for d in docs
                    if d["split"] == split and rule in d["rules"]
                    and d["rules"][rule]["minus_best_grid_pp"] is not None]
            if gaps:
                out.setdefault(rule, {})[split] = {
                    "tasks": len(gaps), "mean_gap_pp": r2(statistics.mean(gaps)),
                    "worst_gap_pp": r2(min(gaps)),
                    "within": sum(1 for g in gaps if g >= -TARGET_GAP_PP)}
    return out


# ---------------------------------------------------------------------------------------------
# Machine and invocations


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": cpu, "nproc": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version()}


def invocation_commit(inv):
    """An invocation's commit, the plain sha (older invocations.json wrote "SHA dirty")."""
    return str(inv.get("commit") or "unknown").split()[0]


def invocation_dirty(inv):
    return bool(inv.get("dirty") or inv.get("draft")) or str(inv.get("commit", "")).endswith(" dirty")


def runs_provenance(inv, invs):
    """The commit the runs were made at (that of the latest invocation that ran the study, not
    a --report-only one), every such commit in order with the state of its tree, and whether
    the report is a draft: some of those runs, or this invocation, on a dirty tree."""
    ran = [i for i in invs if not i.get("report_only")] or [inv]
    commits = []
    for i in ran:
        item = {"commit": invocation_commit(i), "dirty": invocation_dirty(i)}
        if item not in commits:
            commits.append(item)
    draft = bool(inv.get("draft")) or any(invocation_dirty(i) for i in ran)
    return invocation_commit(ran[-1]), commits, draft


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return ""


def record_invocation(study, inv):
    path = os.path.join(study.out, "invocations.json")
    invs = read_json(path, []) or []
    invs = [i for i in invs if i.get("started") != inv["started"]] + [inv]
    os.makedirs(study.out, exist_ok=True)
    write_json(path, invs)
    return invs


# ---------------------------------------------------------------------------------------------
# SVG (hand-written; tick helpers from bench/superconvergence_report.py)


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


def log_ticks(x0, x1):
    """Ticks at 1, 2, 5 × 10^k (only 10^k over more than 3 decades) inside [x0, x1] (log10
    units), as (position, label)."""
    mantissas = (1,) if x1 - x0 > 3 else (1, 2, 5)
    ticks = [(math.log10(m * 10.0 ** k), f"{m * 10.0 ** k:.3g}")
             for k in range(math.floor(x0) - 1, math.ceil(x1) + 1) for m in mantissas]
    ticks = [t for t in ticks if x0 <= t[0] <= x1]
    return ticks if len(ticks) >= 2 else [(v, f"{10 ** v:.2g}") for v in nice_ticks(x0, x1)]


def plot_range(values, pad_frac=0.05):
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = pad_frac * (hi - lo) or 0.5
    return lo - pad, hi + pad


def svg_plot(path, title, x_label, y_label, series=(), bands=(), vlines=(), hlines=(),
             logx=True, ylim=None, width=900, height=440, legend_w=270):
    """One panel. series: {name, color, points [(x, y, err|None)], line, marker};
    bands: {name, color, upper [(x, y)], lower [(x, y)]}; vlines/hlines: (v, name, color)."""
    ml, mt, mb = 70, 40, 55
    pw, ph = width - ml - 20 - legend_w, height - mt - mb
    ok = (lambda x: finite(x) and x > 0) if logx else finite
    tx = math.log10 if logx else (lambda v: v)
    xs = [tx(p[0]) for s in series for p in s["points"] if ok(p[0])]
    xs += [tx(x) for b in bands for x, _ in b["upper"] if ok(x)] + [tx(v[0]) for v in vlines if ok(v[0])]
    x0, x1 = plot_range(xs)
    if ylim:
        y0, y1 = ylim
    else:
        ys = [p[1] + e * (p[2] or 0) for s in series for p in s["points"] if finite(p[1])
              for e in (-1, 1)] + [h[0] for h in hlines]
        y0, y1 = plot_range(ys)

    def X(v):
        return ml + (tx(v) - x0) / (x1 - x0) * pw

    def Y(v):
        return mt + ph - (v - y0) / (y1 - y0) * ph
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{esc(title)}</text>',
         f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>',
         f'<clipPath id="c"><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}"/></clipPath>']
    xticks = log_ticks(x0, x1) if logx else [(v, fmt_tick(v)) for v in nice_ticks(x0, x1)]
    for v, lbl in xticks:
        px = ml + (v - x0) / (x1 - x0) * pw
        o.append(f'<line x1="{px:.1f}" y1="{mt}" x2="{px:.1f}" y2="{mt + ph}" stroke="#ddd"/>')
        o.append(f'<text x="{px:.1f}" y="{mt + ph + 16}" text-anchor="middle">{esc(lbl)}</text>')
    for v in nice_ticks(y0, y1):
        o.append(f'<line x1="{ml}" y1="{Y(v):.1f}" x2="{ml + pw}" y2="{Y(v):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{ml - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{esc(fmt_tick(v))}</text>')
    o.append(f'<text transform="translate(16,{mt + ph / 2}) rotate(-90)" text-anchor="middle">'
             f'{esc(y_label)}</text>')
    o.append(f'<text x="{ml + pw / 2}" y="{mt + ph + 38}" text-anchor="middle">{esc(x_label)}</text>')
    legend = []
    for b in bands:
        pts = [(x, y) for x, y in b["upper"] if ok(x) and finite(y)]
        pts += [(x, y) for x, y in reversed(b["lower"]) if ok(x) and finite(y)]
        if pts:
            d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
            o.append(f'<polygon clip-path="url(#c)" points="{d}" fill="{b["color"]}" '
                     f'fill-opacity="0.2" stroke="none"/>')
            legend.append((b["name"], b["color"], "band"))
    for v, name, color in hlines:
        o.append(f'<line x1="{ml}" y1="{Y(v):.1f}" x2="{ml + pw}" y2="{Y(v):.1f}" stroke="{color}" '
                 f'stroke-dasharray="6,4"/>')
        legend.append((name, color, "6,4"))
    for v, name, color in vlines:
        if ok(v):
            o.append(f'<line x1="{X(v):.1f}" y1="{mt}" x2="{X(v):.1f}" y2="{mt + ph}" '
                     f'stroke="{color}" stroke-dasharray="3,3"/>')
            legend.append((name, color, "3,3"))
    for s in series:
        pts = [p for p in s["points"] if ok(p[0]) and finite(p[1])]
        if not pts:
            continue
        if s.get("line", True) and len(pts) > 1:
            d = " ".join(f"{X(p[0]):.1f},{Y(p[1]):.1f}" for p in pts)
            o.append(f'<polyline clip-path="url(#c)" points="{d}" fill="none" stroke="{s["color"]}" '
                     f'stroke-width="1.6"/>')
        for p in pts:
            err = p[2] if len(p) > 2 and finite(p[2]) else None
            if err:
                xa, ya, yb = X(p[0]), Y(p[1] - err), Y(p[1] + err)
                o.append(f'<path clip-path="url(#c)" d="M{xa:.1f},{ya:.1f}V{yb:.1f}M{xa - 4:.1f},'
                         f'{ya:.1f}h8M{xa - 4:.1f},{yb:.1f}h8" stroke="{s["color"]}" fill="none"/>')
            if s.get("marker", True):
                o.append(f'<circle clip-path="url(#c)" cx="{X(p[0]):.1f}" cy="{Y(p[1]):.1f}" '
                         f'r="3.5" fill="{s["color"]}"/>')
        style = ("dot" if not s.get("line", True) else "marker") if s.get("marker", True) else None
        legend.append((s["name"], s["color"], style))
    seen = []
    for name, color, style in legend:
        if name in [n for n, _ in seen]:
            continue
        seen.append((name, color))
        ly, lx = mt + 12 + (len(seen) - 1) * 17, ml + pw + 14
        if style == "band":
            o.append(f'<rect x="{lx}" y="{ly - 9}" width="22" height="10" fill="{color}" '
                     f'fill-opacity="0.2"/>')
        elif style == "dot":
            o.append(f'<circle cx="{lx + 11}" cy="{ly - 4}" r="3.5" fill="{color}"/>')
        else:
            da = f' stroke-dasharray="{style}"' if style not in (None, "marker") else ""
            o.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 22}" y2="{ly - 4}" stroke="{color}" '
                     f'stroke-width="2"{da}/>')
            if style == "marker":
                o.append(f'<circle cx="{lx + 11}" cy="{ly - 4}" r="3" fill="{color}"/>')
        o.append(f'<text x="{lx + 28}" y="{ly}">{esc(name)}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def plot_task_grid(doc, path):
    """Test accuracy against max_lr: grid mean ± sd, the default pick (and its runs) and valley."""
    grid = [g for g in doc["grid"] if g["mean"] is not None]
    if not grid:
        return False
    live = [g for g in grid if g["mean"] > CHANCE_ACC + 5]
    ys = [g["mean"] + e * (g["sd"] or 0) for g in (live or grid) for e in (-1, 1)]
    d = doc["rules"].get("default") or {}
    ys += [a for a in d.get("acc", []) if a is not None and a > CHANCE_ACC + 5]
    if doc["best_grid_acc_mean"] is not None:
        ys.append(doc["best_grid_acc_mean"] - TARGET_GAP_PP)
    series = [{"name": f"grid: mean ± sd over {len(doc['seeds'])} seeds", "color": COLORS[0],
               "points": [(g["max_lr"], g["mean"], g["sd"]) for g in grid]}]
    runs = [(lr, a) for lr, a in zip(d.get("max_lr", []), d.get("acc", [])) if lr and a is not None]
    if runs:
        series.append({"name": "default pick: trained, per seed", "color": RULE_COLORS["default"],
                       "points": [(lr, a, None) for lr, a in runs], "line": False})
    vl = [(lr, "default pick (per seed)", RULE_COLORS["default"]) for lr in d.get("max_lr", []) if lr]
    vl += [(lr, "valley (per seed)", RULE_COLORS["valley"])
           for lr in (doc["rules"].get("valley") or {}).get("max_lr", []) if lr]
    hl = ([(doc["best_grid_acc_mean"] - TARGET_GAP_PP, f"best grid mean - {TARGET_GAP_PP} pp",
            "#888")] if doc["best_grid_acc_mean"] is not None else [])
    failed = [fmt_lr(g["max_lr"]) for g in grid if g["mean"] <= CHANCE_ACC + 5]
    title = f"{doc['task']} ({doc['split']}): 1cycle test accuracy against max_lr" + (
        f" (at chance: {', '.join(failed)})" if failed else "")
    svg_plot(path, title, "max_lr (log scale)", "test accuracy (%)", series=series, vlines=vl,
             hlines=hl, ylim=plot_range(ys))
    return True


def plot_range_test(run_dir, find_res, task_id, seed, path):
    c = read_curve(os.path.join(run_dir, "lr_find.csv"))
    if not c:
        return False
    pts = [(x, y) for x, y in zip(c["lr"], c["smoothed_loss"]) if finite(x) and finite(y)]
    if not pts:
        return False
    cap = 1.3 * max(pts[0][1], min(y for _, y in pts))
    lows = [y for y in c["smoothed_min"] if finite(y)]
    lo = min([y for _, y in pts] + lows)
    bands = []
    if any(finite(v) for v in c["smoothed_max"]):
        bands.append({"name": "min-max over the sweeps", "color": COLORS[0],
                      "upper": list(zip(c["lr"], c["smoothed_max"])),
                      "lower": list(zip(c["lr"], c["smoothed_min"]))})
    n = lr_find_of(find_res).get("repeats")
    series = [{"name": f"mean curve ({n} sweeps), smoothed" if n else "smoothed loss",
               "color": COLORS[0], "points": [(x, y, None) for x, y in pts], "marker": False}]
    mp = min_point_lr(find_res, run_dir)
    vl = [(mp, "anchor (80 % of the fall made)", RULE_COLORS["min_point"])] if mp else []
    if default_pick(find_res):
        vl.append((default_pick(find_res), f"default pick ({bounds_rule(find_res)})",
                   RULE_COLORS["default"]))
    if rule_pick(find_res, "valley"):
        vl.append((rule_pick(find_res, "valley"), "valley", RULE_COLORS["valley"]))
    svg_plot(path, f"Range test, {task_id}, seed {seed}", "lr (log scale)", "training loss",
             series=series, bands=bands, vlines=vl, ylim=plot_range([lo, cap]))
    return True


def make_plots(study, runner, states, docs):
    assets = {}
    os.makedirs(study.report_dir, exist_ok=True)
    for st, doc in zip(states, docs):
        name = f"calibration_grid_{st['task'].slug}.svg"
        if plot_task_grid(doc, os.path.join(study.report_dir, name)):
            assets[doc["task"]] = name
    for st in states:  # the first task and seed with a curve
        for s, r in st["finds"].items():
            if r and plot_range_test(runner.run_dir(r["name"]), r, st["task"].id, s,
                                     os.path.join(study.report_dir, "calibration_range_test.svg")):
                assets["range_test"] = "calibration_range_test.svg"
                assets["range_test_task"] = (st["task"].id, s)
                return assets
    return assets


# ---------------------------------------------------------------------------------------------
# Report: JSON


def write_report_json(path, meta, docs):
    doc = {k: meta[k] for k in ("generated", "command", "commit", "cpu", "machine", "lrate_version",
                                "study_wall_seconds", "run_wall_seconds", "settings",
                                "fitted_factor", "default_rule", "default_factor",
                                "default_over_min_point", "rule_summary", "failed_runs",
                                "commits", "dirty", "draft", "provenance")}
    doc["tasks"] = docs
    write_json(path, doc)


# ---------------------------------------------------------------------------------------------
# Report: Markdown


def pm(m, sd):
    if m is None:
        return "n/a"
    return f"{m:.2f} ± {sd:.2f}" if sd is not None else f"{m:.2f}"


def lr_cell(x):
    return fmt_lr(x) if x else "n/a"


def lrs(xs):
    return ", ".join(fmt_lr(x) if x else "none" for x in xs) if xs else "n/a"


def pf(p):
    return {True: "**pass**", False: "**miss**", None: "n/a"}[p]


def gap(d):
    return "n/a" if d is None else f"{d:+.2f}"


def md_design(study):
    L = ["## Study design", "",
         "Fixed before any result below; the tables are regenerated, never edited.", "",
         "**Tasks** (model × data × optimizer × batch × epochs × training images; "
         f"the first {study.limit_test} test images for every task). The split is fixed up "
         "front: the *calibration* tasks fit the near-min factor, the *held-out* tasks only "
         "measure it.", "",
         "| task | split | model | data | optimizer | batch | epochs | train images |",
         "|---|---|---|---|---|---:|---:|---:|"]
    for t in study.tasks:
        L.append(f"| {t.id} | {t.split} | {t.model} | {t.data} | "
                 f"{OPTIMIZERS[t.optimizer]['label']} | {t.batch} | {t.epochs} | {t.limit_train} |")
    g = study.grids
    L += ["",
          f"- **Seeds** {', '.join(map(str, study.seeds))}: each seed sets the initial weights "
          "and the data order of its find and its training runs.",
          f"- **Range test**, per task and seed: `lrate find --repeats {study.repeats} "
          f"--num-it {study.num_it} --vary {study.vary}` ({study.repeats} sweeps from the same "
          f"initial weights, {study.num_it} batches each, lr 1e-7 → 10), timed (wall seconds of "
          "the process). `bounds.max_lr` of this find is what `lrate train --max-lr auto` uses "
          "with the same flags; it is trained as `--max-lr X` (rounded to 4 significant digits)."
          + (" Also `lrate find --verify` (same flags), timed separately; it reuses nothing."
             if "verify" in study.rules else ""),
          f"- **Grid**: 1cycle (PyTorch OneCycleLR defaults) at max_lr × 2 apart, every seed at "
          f"every point. Start: SGD {lrs(g['sgd'])}; Adam {lrs(g['adam'])}. When the best mean "
          f"is at an edge the grid grows one ×2 step that way (at most {MAX_EXTENSIONS} per side).",
          "- **Fitting the rule** (calibration tasks only): per task r = best grid max_lr / "
          "`anchor.lr` (near-min's anchor: the first lr at which the smoothed loss of the mean curve has made 80 % of its fall to its minimum; `lrate_core::RangeTest::near_min_point`), geometric mean "
          "over seeds; per optimizer family the fitted near-min factor is the geometric mean of "
          "r over that family's calibration tasks, rounded to 2 significant digits.",
          "- **Trained picks**, every seed at its own pick: "
          + "; ".join({"default": "`default` = `bounds.max_lr` of the find without `--suggestion`",
                       "verify": "`verify` = `verify.chosen` of `find --verify`",
                       "fitted": "`fitted` = fitted factor × `anchor.lr` (only where it "
                                 "differs from the default factor)"}.get(r, f"`{r}` (mean curve)")
                      for r in study.rules)
          + ". Runs are cached by (task, seed, max_lr to 4 significant digits): equal picks, and "
          "picks equal to a grid point, are trained once.",
          f"- **Failures**: a run that exits non-zero or ends with a non-finite loss or accuracy "
          f"counts as {CHANCE_ACC:.0f} % (chance) and is flagged †; a find without a reliable "
          "suggestion is a failed pick (no run).",
          f"- **Targets** (measured, not asserted): the default rule within {TARGET_GAP_PP} pp "
          f"of the best grid mean on every task; one find (images trained, mean per seed, all "
          f"{study.repeats} sweeps) ≤ {100 * TARGET_COST:.0f} % of the grid's compute (images "
          "trained by all points × seeds; also shown against a one-seed grid). Compute is "
          "counted in images trained, which is exact; wall seconds are reported beside it.",
          "", "How to read: accuracies are % on the test images, mean ± sample sd over seeds. "
          "The best grid mean is the largest of several noisy means, chosen on the same test "
          "images, so it is biased upward by roughly the sd; a gap smaller than the sds is noise. "
          "Wall times were measured on a machine that may have been shared.", ""]
    return L


def md_fit(meta, docs):
    L = ["### Fitted near-min factor", "",
         "| family | calibration tasks: best grid max_lr / anchor (geo. mean over seeds) "
         "| fitted factor | binary's default rule | default pick / anchor, measured | same? |",
         "|---|---|---:|---|---:|---|"]
    for fam in ("sgd", "adam"):
        rs = [f"{d['task']} {d['best_grid_over_min_point']:.3g}" for d in docs
              if d["family"] == fam and d["split"] == "calibration" and d["best_grid_over_min_point"]]
        f, rule, df = meta["fitted_factor"][fam], meta["default_rule"][fam], meta["default_factor"][fam]
        same = "n/a" if f is None or df is None else ("yes" if factors_equal(f, df) else
                                                       f"**no**: fitted {f:g} vs default {df:g}")
        measured = meta["default_over_min_point"].get(fam)
        L.append(f"| {fam} | {'; '.join(rs) or 'none'} | {'n/a' if f is None else f'{f:g}'} | "
                 f"{rule or 'n/a'} | {num(measured, '{:.3g}')} | {same} |")
    L.append("")
    return L


def md_misses(study, meta, docs):
    """Why each missed target was missed, from the measurements."""
    L = ["### Why the misses", ""]
    for d in docs:
        tg = d["targets"]["default_within_pp"]
        if tg["pass"] is False:
            r, f = d.get("best_grid_over_min_point"), meta["fitted_factor"].get(d["family"])
            why = (f"on this task the best grid max_lr is {r:.3g}× the anchor, while the "
                   f"{d['family']} factor is {f:g} (the geometric mean over the "
                   f"{d['family']} calibration tasks), so the default lands "
                   f"{r / f:.2g}× below the best point" if r and f else "not enough data")
            L.append(f"- **{d['task']}** ({d['split']}): default {d['auto_minus_best_grid_pp']:+.2f} pp "
                     f"(missed by {abs(d['auto_minus_best_grid_pp']) - TARGET_GAP_PP:.2f} pp): {why}.")
    one_seed = [d for d in docs if d["targets"]["find_cost_one_seed_grid"]["pass"] is False]
    if one_seed:
        steps = sorted({d["epochs"] * (d["limit_train"] // d["batch"]) for d in one_seed})
        L.append(f"- **Cost against a one-seed grid** (not the target, shown for honesty) is missed "
                 f"on {len(one_seed)} task(s): their runs are short ({', '.join(map(str, steps))} "
                 f"steps), and a find is {study.repeats} × {study.num_it} batches. On a full run "
                 f"(3 epochs of the 60 000 Fashion-MNIST images at batch 128: 1404 steps) the same "
                 f"find is {study.repeats * study.num_it / (6 * 1404):.1%} of a one-seed grid of 6 "
                 f"points.")
    if len(L) == 2:
        L.append("- None: every target was met.")
    L.append("")
    return L


def md_summary(docs):
    L = ["### Default rule against the grid", "",
         f"Default rule against the grid (target: within {TARGET_GAP_PP} pp) and the find's cost "
         f"(target: ≤ {100 * TARGET_COST:.0f} % of the grid's compute).", "",
         "| task | split | best grid max_lr | best grid acc | default picks | default acc | "
         "gap (pp) | gap target | find / grid (images) | cost target | find / one-seed grid (images) |",
         "|---|---|---:|---:|---|---:|---:|---|---:|---|---:|"]
    for d in docs:
        tg, tc, t1 = (d["targets"][k] for k in ("default_within_pp", "find_cost",
                                                 "find_cost_one_seed_grid"))
        L.append(f"| {d['task']} | {d['split']} | {lr_cell(d['best_grid_max_lr'])}"
                 f"{' (edge)' if d['best_at_grid_edge'] else ''} | "
                 f"{pm(d['best_grid_acc_mean'], d['best_grid_acc_sd'])} | {lrs(d['auto_max_lr'])} | "
                 f"{pm(d['auto_acc_mean'], d['auto_acc_sd'])} | {gap(d['auto_minus_best_grid_pp'])} | "
                 f"{pf(tg['pass'])} ({tg['detail']}) | {pct_ratio(d.get('find_over_grid_images'))} | "
                 f"{pf(tc['pass'])} | {pct_ratio(d.get('find_over_one_seed_grid_images'))} ({pf(t1['pass'])}) |")
    L.append("")
    return L


def pct_ratio(r):
    return "n/a" if r is None else f"{100 * r:.1f} %"


def md_rule_summary(summary):
    L = ["Every rule, gap to the best grid mean (pp) over the tasks of each split:", "",
         "| rule | calibration: mean / worst gap, within | held-out: mean / worst gap, within |",
         "|---|---|---|"]
    for rule, by in summary.items():
        cells = [f"{gap(s['mean_gap_pp'])} / {gap(s['worst_gap_pp'])}, {s['within']}/{s['tasks']}"
                 if s else "n/a" for s in (by.get("calibration"), by.get("heldout"))]
        L.append(f"| {rule} | {cells[0]} | {cells[1]} |")
    L.append("")
    return L


def acc_cell(a, failed):
    return "—" if a is None else f"{a:.2f}{'†' if failed else ''}"


def md_task(doc, asset):
    seeds = doc["seeds"]
    L = [f"### {doc['task']} ({doc['split']})", "",
         f"`{doc['model']}` on {doc['data']}, {OPTIMIZERS[doc['optimizer']]['label']}, batch "
         f"{doc['batch']}, {doc['epochs']} epoch(s) of {doc['limit_train']} images. Find status "
         f"per seed: {', '.join(f'{s} {v}' for s, v in doc['find_status'].items())}; "
         f"default rule `{doc['default_rule'] or 'n/a'}`; anchor lr per seed "
         f"{lrs(doc['min_point_lr'])}.", "",
         "| max_lr | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd |",
         "|---:|" + "---:|" * (len(seeds) + 1)]
    for g in doc["grid"]:
        best = g["max_lr"] == doc["best_grid_max_lr"]
        cells = [acc_cell(a, s in g["failed"]) for s, a in zip(seeds, g["acc"])]
        m = pm(g["mean"], g["sd"])
        m = f"**{m}**" if best else m
        L.append(f"| {fmt_lr(g['max_lr'])} | " + " | ".join(cells) + f" | {m} |")
    ext = doc["grid_extensions"]
    L += ["", f"Best grid point: max_lr {lr_cell(doc['best_grid_max_lr'])}, "
          f"{pm(doc['best_grid_acc_mean'], doc['best_grid_acc_sd'])} %. Grid extended "
          f"{ext['low']}× below and {ext['high']}× above the starting grid"
          + (f"; **the best mean is still at an edge after {MAX_EXTENSIONS} extensions**, so "
             "the optimum may lie beyond" if doc["best_at_grid_edge"] else "") + ".", "",
          "| rule | max_lr per seed | accuracy per seed | mean ± sd | gap to best grid (pp) |",
          "|---|---|---|---:|---:|"]
    for rule, r in doc["rules"].items():
        cells = ", ".join(acc_cell(a, s in r["failed_runs"]) for s, a in zip(seeds, r["acc"]))
        L.append(f"| {rule} | {lrs(r['max_lr'])} | {cells} | {pm(r['acc_mean'], r['acc_sd'])} | "
                 f"{gap(r['minus_best_grid_pp'])} |")
    L += ["", f"Compute: find {num(doc['find_seconds'])} s per seed, find --verify "
          f"{num(doc['verify_seconds'])} s per seed, grid {num(doc['grid_seconds'])} s "
          f"({doc['grid_runs']} runs). find / grid {pct_ratio(doc['find_over_grid'])}, find / "
          f"one-seed grid {pct_ratio(doc['find_over_one_seed_grid'])}; verify / grid "
          f"{pct_ratio(doc['verify_over_grid'])}, verify / one-seed grid "
          f"{pct_ratio(doc['verify_over_one_seed_grid'])}. In images trained (exact compute): "
          f"find / grid {pct_ratio(doc.get('find_over_grid_images'))}, find / one-seed grid "
          f"{pct_ratio(doc.get('find_over_one_seed_grid_images'))}, verify / grid "
          f"{pct_ratio(doc.get('verify_over_grid_images'))}.", ""]
    if asset:
        L += [f"![{doc['task']}: accuracy against max_lr]({asset})", ""]
    return L


def num(v, fmt="{:.1f}"):
    return "n/a" if v is None else fmt.format(v)


def write_report_md(path, study, meta, docs, assets):
    L = provenance.md_header(meta) + ["# Calibration of lrate's automatic max_lr", "",
         "Generated by `bash bench/calibrate.sh` (`bench/calibrate.py`); do not edit by hand, "
         "rerun the command below.", ""]
    if study.quick:
        L += ["**Quick mode** (tiny subsets, short runs): a smoke test of the pipeline; the "
              "numbers say nothing about the calibration.", ""]
    L += ["**Question:** does `lrate train --max-lr auto` (its max_lr is the pick of `lrate "
          "find`) match the best point of a grid search of 1cycle max_lr, across tasks, "
          "optimizers and seeds?", ""]
    L += md_design(study)
    L += ["## Results", ""] + md_summary(docs) + md_fit(meta, docs) + md_misses(study, meta, docs)
    L += md_rule_summary(meta["rule_summary"])
    if "range_test" in assets:
        t, s = assets["range_test_task"]
        L += [f"Example range test ({t}, seed {s}): the mean of the sweeps and their min-max band.",
              "", f"![range test]({assets['range_test']})", ""]
    L += ["## Per task", ""]
    for d in docs:
        L += md_task(d, assets.get(d["task"]))
    if meta["failed_runs"]:
        L += ["## Failed runs", "", "Cached as failed (rerun with `--retry-failed` to try again):", ""]
        L += [f"- `{f['name']}`: {f['status']}; {f['error'] or 'no message'}".replace("\n", " ")
              for f in meta["failed_runs"]] + [""]
    m = meta["machine"]
    L += ["## Reproduce", "",
          f"- Command: `{meta['command']}`",
          "- Runs made at commit " + ", ".join(
              f"`{c['commit']}`" + (" (uncommitted changes)" if c["dirty"] else "")
              for c in meta["commits"])
          + f"; report written at commit `{meta['provenance']['commit']}`"
          + (" (uncommitted changes)" if meta["provenance"]["dirty"] else "")
          + f"; lrate `{meta['lrate_version'] or 'n/a'}`.",
          f"- Machine: {m['nproc']} cores, CPU `{meta['cpu'] or 'unknown'}`, {m['os']}, "
          f"Python {m['python']}.",
          f"- Study wall time {num(meta['study_wall_seconds'] / 60)} min over "
          f"{meta['invocations']} invocation(s); the runs themselves took "
          f"{num(meta['run_wall_seconds'] / 60)} min. Jobs ran one at a time.",
          f"- Generated {meta['generated']}. Per-run outputs (command.txt, stdout/stderr, "
          "lr_find.*, metrics.csv) are under the study's OUT directory (`runs/NAME/`), not "
          "committed.", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------------------------------------
# Main


def failed_runs(runner):
    out = []
    for name in sorted(runner.done):
        r = read_json(os.path.join(runner.run_dir(name), "result.json"))
        if r and r.get("status") != "ok":
            out.append({"name": name, "status": r.get("status"), "error": r.get("error", "")})
    return out


def run_wall_seconds(runner):
    total = 0.0
    for name in runner.done:
        r = read_json(os.path.join(runner.run_dir(name), "result.json"))
        total += wall(r) or 0.0
    return total


def settings(study):
    return {"quick": study.quick, "seeds": study.seeds, "repeats": study.repeats,
            "num_it": study.num_it, "vary": study.vary, "limit_test": study.limit_test,
            "grid": study.grids, "max_extensions": MAX_EXTENSIONS, "rules": study.rules,
            "chance_acc": CHANCE_ACC, "targets": {"gap_pp": TARGET_GAP_PP, "cost": TARGET_COST},
            "tasks": [{"task": t.id, "split": t.split, "model": t.model, "data": t.data,
                       "optimizer": t.optimizer, "batch": t.batch, "epochs": t.epochs,
                       "limit_train": t.limit_train} for t in study.tasks]}


def report(study, runner, states, fitted, inv, invs):
    docs = [analyse_task(study, st) for st in states]
    rules = default_rules_by_family(states)
    elapsed_now = time.time() - inv["t0"]
    commit, commits, draft = runs_provenance(inv, invs)
    meta = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": study.command, "commit": commit, "commits": commits,
            "dirty": any(c["dirty"] for c in commits), "draft": draft,
            "provenance": dict(inv["provenance"], draft=draft), "cpu": machine()["cpu"],
            "machine": machine(),
            # the binary that made the runs (--report-only runs none)
            "lrate_version": next((i.get("lrate_version") for i in reversed(invs)
                                   if not i.get("report_only") and i.get("lrate_version")),
                                  inv.get("lrate_version")),
            "study_wall_seconds": round(sum(i.get("seconds", 0.0) for i in invs
                                            if i is not inv and not i.get("report_only"))
                                        + (0.0 if study.report_only else elapsed_now), 1),
            "run_wall_seconds": round(run_wall_seconds(runner), 1),
            "invocations": sum(1 for i in invs if not i.get("report_only")),
            "settings": settings(study), "fitted_factor": fitted, "default_rule": rules,
            "default_factor": {f: parse_factor(r) for f, r in rules.items()},
            "default_over_min_point": default_over_min_point(states),
            "rule_summary": rule_summary(docs), "failed_runs": failed_runs(runner)}
    os.makedirs(study.report_dir, exist_ok=True)
    assets = make_plots(study, runner, states, docs)
    write_report_json(os.path.join(study.report_dir, "calibration.json"), meta, docs)
    write_report_md(os.path.join(study.report_dir, "calibration.md"), study, meta, docs, assets)
    return docs, meta


def print_verdict(study, docs, meta):
    log(f"wrote {study.report_dir}/calibration.md, calibration.json and plots; fitted factor "
        f"{meta['fitted_factor']}, default rule {meta['default_rule']}")
    for d in docs:
        tg, tc = d["targets"]["default_within_pp"], d["targets"]["find_cost"]
        log(f"  {d['task']:<20} default {pf(tg['pass']).strip('*'):4} ({tg['detail']}); "
            f"find cost {pf(tc['pass']).strip('*')} ({tc['detail']})")


def check_binary(study):
    if not os.access(study.lrate, os.X_OK):
        raise StudyError(f"lrate binary {study.lrate!r} not found (set LRATE or use "
                         "bench/calibrate.sh, which builds it)")
    helptext = subprocess.run([study.lrate, "find", "--help"], capture_output=True, text=True).stdout
    missing = [f for f in ("--repeats", "--vary", "--verify") if f not in helptext]
    if missing:
        raise StudyError(f"{study.lrate} find lacks {', '.join(missing)}: build a newer lrate")
    for kind, d in study.data_dirs.items():
        if any(t.data == kind for t in study.tasks) and not os.path.isdir(d):
            env = DEFAULT_DATA_DIRS[kind][0]
            raise StudyError(f"{kind} data directory {d} not found (set {env})")


def lock_out(study):
    """Holds OUT/.lock for the life of the process: one invocation per OUT at a time."""
    os.makedirs(study.out, exist_ok=True)
    f = open(os.path.join(study.out, ".lock"), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise StudyError(f"another calibrate.py is using {study.out} (wait for it, or use --out)")
    return f


def finish_invocation(study, runner, inv, outcome):
    """Records this invocation in OUT/invocations.json (its time counts in the study's)."""
    inv.update({"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(time.time() - inv["t0"], 1), "executed_runs": runner.executed,
                "loadavg_at_end": loadavg(), "outcome": outcome})
    return record_invocation(study, {k: v for k, v in inv.items() if k != "t0"})


def lrate_version(study):
    return sh(f"{shlex.quote(study.lrate)} --version") if os.access(study.lrate, os.X_OK) else None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        study = make_study(argv)
        # A dirty tree: refused unless DRAFT=1 (the report is then a DRAFT); --report-only
        # runs nothing and never refuses (runs_provenance names the runs' commits).
        draft = provenance.check_tree(refuse=not study.report_only, prog="calibrate")
        if study.report_only and not os.path.isdir(os.path.join(study.out, "runs")):
            raise StudyError(f"--report-only: no cached runs under {study.out}")
        if not study.report_only:  # --report-only writes nothing under OUT: it may peek at a
            check_binary(study)   # study that is still running
            lock = lock_out(study)  # noqa: F841 (released at exit)
    except StudyError as e:
        log(f"calibrate: {e}")
        return 2
    os.chdir(ROOT)
    prov = provenance.provenance(draft=draft)
    inv = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "t0": time.time(),
           "command": study.command, "commit": prov["commit"], "dirty": prov["dirty"],
           "draft": draft, "provenance": prov, "report_only": study.report_only,
           "loadavg_at_start": loadavg(),
           "lrate_version": lrate_version(study)}
    runner = Runner(study)
    log(f"calibrate: {len(study.tasks)} task(s), seeds {study.seeds}, OUT {study.out}"
        + (" (report only)" if study.report_only else ""))
    try:
        states, fitted = run_study(study, runner)
    except (KeyboardInterrupt, StudyError) as e:
        finish_invocation(study, runner, inv, "interrupted" if isinstance(e, KeyboardInterrupt)
                          else "error")
        log("calibrate: interrupted; rerun the same command to continue"
            if isinstance(e, KeyboardInterrupt) else f"calibrate: {e}")
        return 130 if isinstance(e, KeyboardInterrupt) else 2
    invs = (read_json(os.path.join(study.out, "invocations.json"), []) or [] if study.report_only
            else finish_invocation(study, runner, inv, "done"))
    log(f"calibrate: ran {runner.executed} run(s), reused {len(runner.done) - runner.executed} "
        "cached one(s)")
    invs = [i for i in invs if i.get("started") != inv["started"]] + [inv]
    docs, meta = report(study, runner, states, fitted, inv, invs)
    print_verdict(study, docs, meta)
    failed = meta["failed_runs"]
    if failed:
        log(f"calibrate: {len(failed)} run(s) failed or diverged (counted at chance, listed in "
            "the report)")
    missing = len(runner.planned - runner.done)
    if study.report_only and missing:
        log(f"calibrate: {missing} planned run(s) not cached yet (not in the report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
