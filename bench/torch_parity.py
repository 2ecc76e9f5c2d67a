"""Training parity between lrate and PyTorch on the same recipe.

Two modes, one script:

* Trace (default): lrate's `parity` example builds a run exactly as `lrate train` would, writes
  its initial weights and the exact batch order, and trains; this script loads the same weights
  into the same net in PyTorch, replays the same batches with the same optimizer and schedule
  (torch.optim.SGD/Adam and torch's own OneCycleLR), and compares per step the loss, lr,
  momentum and weight norm, then the test accuracy.

      python bench/torch_parity.py --data fashion-mnist:DIR --epochs 1
      python bench/torch_parity.py --data synthetic32 --model resnet9 --trace-steps 8

* Suite (`--suite`): the traces (cnn-s SGD at 3 seeds, Adam, resnet9) and the statistics
  below, written to docs/results/training_parity.{json,md}: what the README quotes.

      python bench/torch_parity.py --data fashion-mnist:DIR --suite

* Statistical (`--seeds K`): K independent seeds on each side at 1 and 3 epochs (or
  `--lengths`): PyTorch with its own default init and `randperm` shuffling, lrate with its own
  (`lrate train`); prints mean ± sd of the final test accuracy.

      python bench/torch_parity.py --data fashion-mnist:DIR --seeds 5

The recipe is the issue's: cnn-s, batch 128, SGD Nesterov 0.9, weight decay 5e-4,
OneCycleLR(max_lr=0.4) with PyTorch's defaults (`--schedule onecycle-pytorch`). `--optimizer adam`
switches both sides to Adam (L2 weight decay, β2 from lrate's config, ε 1e-8).

Needs torch and numpy (bench/train_speed.sh installs torch into target/bench-venv).

Provenance (issue 18, bench/provenance.py): whenever it writes a report (`--suite`, or `--json`),
it refuses a working tree with uncommitted changes (exit 2) unless DRAFT=1, and records the
commit, the machine and the versions of torch and numpy ("provenance" in the JSON; a DRAFT
report says so in its first line and with "draft": true).

      python bench/torch_parity.py --data fashion-mnist:DIR --suite    # docs/results/training_parity.*
      DRAFT=1 python bench/torch_parity.py ...                         # on a dirty tree: DRAFT
"""
import argparse
import gzip
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402 (bench/provenance.py, beside this file)


# ---------------------------------------------------------------- the nets, named as lrate's


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout, pool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.pool = pool

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(x, 2) if self.pool else x


class CnnS(nn.Module):
    def __init__(self, c=1, classes=10):
        super().__init__()
        self.block1 = ConvBnRelu(c, 32, True)
        self.block2 = ConvBnRelu(32, 64, True)
        self.block3 = ConvBnRelu(64, 128, True)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        return self.fc(x.mean(dim=(2, 3)))


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.res1 = ConvBnRelu(c, c, False)
        self.res2 = ConvBnRelu(c, c, False)

    def forward(self, x):
        return x + self.res2(self.res1(x))


class ResNet9(nn.Module):
    """lrate's resnet9: prep, layer1 + residual, layer2, layer3 + residual, global max pool,
    linear without bias, ×0.125."""

    def __init__(self, c=3, classes=10):
        super().__init__()
        self.prep = ConvBnRelu(c, 64, False)
        self.layer1 = ConvBnRelu(64, 128, True)
        self.layer1_res = Res(128)
        self.layer2 = ConvBnRelu(128, 256, True)
        self.layer3 = ConvBnRelu(256, 512, True)
        self.layer3_res = Res(512)
        self.fc = nn.Linear(512, classes, bias=False)

    def forward(self, x):
        x = self.layer1_res(self.layer1(self.prep(x)))
        x = self.layer3_res(self.layer3(self.layer2(x)))
        return self.fc(torch.amax(x, dim=(2, 3))) * 0.125


def build(model, c, classes):
    return {"cnn-s": CnnS, "resnet9": ResNet9}[model](c, classes)


def torch_name(lrate_name):
    """lrate's tensor name -> this module's state_dict key."""
    return lrate_name.replace("layer1.res", "layer1_res.res").replace("layer3.res", "layer3_res.res")


# ---------------------------------------------------------------- files


def read_safetensors(path):
    """The `model/<name>` tensors of an lrate checkpoint (safetensors, F32)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or not k.startswith("model/"):
            continue
        assert v["dtype"] == "F32", v
        a, b = v["data_offsets"]
        out[k[len("model/"):]] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy()
    return out


def read_idx(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def find_file(d, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{d}: no {stem}[.gz]")


def load_idx_dir(d, limit_train=None, limit_test=None):
    """Training and test images in [0, 1] (N, 1, 28, 28) and labels, first `limit` of each, as
    lrate's IDX loader reads them."""
    xtr = read_idx(find_file(d, "train-images-idx3-ubyte"))
    ytr = read_idx(find_file(d, "train-labels-idx1-ubyte"))
    xte = read_idx(find_file(d, "t10k-images-idx3-ubyte"))
    yte = read_idx(find_file(d, "t10k-labels-idx1-ubyte"))
    if limit_train:
        xtr, ytr = xtr[:limit_train], ytr[:limit_train]
    if limit_test:
        xte, yte = xte[:limit_test], yte[:limit_test]
    f = lambda x: (x.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64)


def write_random_cifar(d, n_train=1024, n_test=256, seed=0):
    """A small CIFAR-10 binary data set of random 32x32x3 images (lrate's `cifar10:DIR`
    format: a label byte then 3072 pixel bytes per record), for the resnet9 trace."""
    rng = np.random.default_rng(seed)
    os.makedirs(d, exist_ok=True)
    def batch(n):
        rec = np.empty((n, 3073), dtype=np.uint8)
        rec[:, 0] = rng.integers(0, 10, n)
        rec[:, 1:] = rng.integers(0, 256, (n, 3072))
        return rec.tobytes()
    per = n_train // 5
    for i in range(1, 6):
        open(os.path.join(d, f"data_batch_{i}.bin"), "wb").write(batch(per))
    open(os.path.join(d, "test_batch.bin"), "wb").write(batch(n_test))
    return d


def data_dir(spec):
    kind, _, d = spec.partition(":")
    if kind not in ("fashion-mnist", "mnist") or not d:
        raise SystemExit(f"--data {spec}: give fashion-mnist:DIR or mnist:DIR")
    return d


# ---------------------------------------------------------------- the PyTorch side


def make_optimizer(params, opt_cfg, lr):
    (kind, h), = opt_cfg["kind"].items()
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=opt_cfg["momentum"], nesterov=h["nesterov"],
                               weight_decay=h["weight_decay"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(opt_cfg["momentum"], h["beta2"]), eps=h["eps"],
                                weight_decay=h["weight_decay"])
    raise SystemExit(f"optimizer {kind} not covered")


def make_schedule(opt, sched, total):
    """torch's own scheduler for lrate's schedule description (OneCycle or constant)."""
    (kind, c), = sched.items()
    if kind == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=c["max_lr"], total_steps=c["total_steps"], pct_start=c["pct_start"],
            anneal_strategy={"Cos": "cos", "Linear": "linear"}.get(c.get("anneal"), c.get("anneal", "cos")),
            cycle_momentum=c["cycle_momentum"], base_momentum=c["base_momentum"],
            max_momentum=c["max_momentum"], div_factor=c["div_factor"],
            final_div_factor=c["final_div_factor"], three_phase=c.get("three_phase", False))
    if kind == "constant":
        return None
    raise SystemExit(f"schedule {kind} not covered by the harness")


def momentum_of(opt):
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g["momentum"]


def evaluate(net, x, y, batch=256):
    net.eval()
    ok = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            ok += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    net.train()
    return ok / len(x)


def replay(t, w, dtype, limit=None):
    """Replays lrate's trace `t` from its initial weights `w` in PyTorch at `dtype`; returns
    the per-step rows and the test accuracy after each full epoch."""
    c, h, wd = t["input"]
    net = build(t["model"], c, t["num_classes"])
    sd = net.state_dict()
    for name, arr in w.items():
        key = torch_name(name)
        assert key in sd, f"{key} not in the torch net"
        assert tuple(sd[key].shape) == arr.shape, (key, sd[key].shape, arr.shape)
        sd[key] = torch.from_numpy(arr)
    names = {torch_name(n) for n in w}
    missing = [k for k in sd if k not in names and not k.endswith("num_batches_tracked")]
    assert not missing, f"not in lrate's weights: {missing}"
    net.load_state_dict(sd)
    net = net.to(dtype)

    B, spe = t["batch"], t["steps_per_epoch"]
    if t.get("batches_file"):
        # The batches exactly as lrate fed them (augmentation included); no test set.
        raw = np.fromfile(os.path.join(t["work"], t["batches_file"]), dtype="<f4")
        dumped = torch.from_numpy(raw.reshape(-1, c, h, wd)).to(dtype)
        labels = [torch.tensor(l) for l in t["batch_labels"]]
        batch_of = lambda k: (dumped[k * B:(k + 1) * B], labels[k])
        xte = None
    else:
        xtr, ytr, xte, yte = load_idx_dir(data_dir(t["data"]), t["limit_train"], t["limit_test"])
        mean = np.array(t["mean"], dtype=np.float32)[None, :, None, None]
        std = np.array(t["std"], dtype=np.float32)[None, :, None, None]
        xtr = torch.from_numpy((xtr - mean) / std).to(dtype)
        xte = torch.from_numpy((xte - mean) / std).to(dtype)
        ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

        def batch_of(k):
            e, b = divmod(k, spe)
            idx = torch.tensor(t["orders"][e][b * B:(b + 1) * B])
            return xtr[idx], ytr[idx]

    total = t["steps_per_epoch"] * t["epochs"]
    opt = make_optimizer(net.parameters(), t["optimizer"], 0.0)
    sched = make_schedule(opt, t["schedule"], total)
    if sched is None:
        for g in opt.param_groups:
            g["lr"] = t["steps"][0]["lr"]
    net.train()
    rows, accs = [], []
    for k in range(len(t["steps"]) if limit is None else min(limit, len(t["steps"]))):
        e, b = divmod(k, spe)
        x, y = batch_of(k)
        lr, mom = opt.param_groups[0]["lr"], momentum_of(opt)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        wn = math.sqrt(sum(float((p.detach().double() ** 2).sum()) for p in net.parameters()))
        rows.append({"step": k, "loss": loss.item(), "lr": lr, "momentum": mom, "weight_norm": wn})
        if b == spe - 1 and xte is not None:
            accs.append(evaluate(net, xte, yte))
            print(f"torch ({dtype}) epoch {e + 1}: test accuracy {accs[-1] * 100:.2f}%", flush=True)
    return rows, accs


def trace(args):
    """Runs lrate's trace, replays it in PyTorch, compares."""
    work = args.work or tempfile.mkdtemp(prefix="lrate-parity-")
    if args.data == "synthetic32":
        args.data = "cifar10:" + write_random_cifar(os.path.join(work, "cifar"))
    cmd = [args.lrate_example, "--trace-dir", work, "--data", args.data, "--model", args.model,
           "--schedule", args.schedule, "--max-lr", str(args.max_lr), "--epochs", str(args.epochs),
           "--batch", str(args.batch), "--seed", str(args.seed), "--optimizer", args.optimizer,
           "--weight-decay", str(args.weight_decay), "--no-progress"]
    if args.nesterov and args.optimizer == "sgd":
        cmd.append("--nesterov")
    if args.config:
        cmd += ["--config", args.config]
    if args.trace_steps:
        cmd += ["--trace-steps", str(args.trace_steps)]
    if args.limit_train:
        cmd += ["--limit-train", str(args.limit_train)]
    if args.limit_test:
        cmd += ["--limit-test", str(args.limit_test)]
    if args.data.startswith("cifar10:"):
        cmd.append("--dump-batches")
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    t = json.load(open(os.path.join(work, "trace.json")))
    t["work"] = work
    w = read_safetensors(os.path.join(work, "init.safetensors"))

    rows, accs = replay(t, w, torch.float32)
    first = min(50, len(rows))
    # The noise floor: the same replay in float64 from the same start. Rounding differences
    # grow in the early high-lr phase whatever the implementation; lrate's distance from torch
    # (float32) is judged against torch's own distance from itself in float64.
    rows64, _ = replay(t, w, torch.float64, limit=first)

    # Comparison.
    rel = lambda a, b: abs(a - b) / max(abs(b), 1e-12)
    n = len(rows)
    fields = ("loss", "lr", "momentum", "weight_norm")
    worst = {f: max(rel(t["steps"][i][f], rows[i][f]) for i in range(first)) for f in fields}
    floor = {f: max(rel(rows[i][f], rows64[i][f]) for i in range(first)) for f in fields}
    print(f"\nper-step relative difference, first {first} steps:")
    print(f"  {'':<12} {'lrate vs torch f32':>20} {'torch f32 vs f64':>18}")
    for f in fields:
        print(f"  {f:<12} {worst[f]:>20.2e} {floor[f]:>18.2e}")
    print("  first steps, loss |rel| lrate vs torch f32: "
          + " ".join(f"{rel(t['steps'][i]['loss'], rows[i]['loss']):.0e}" for i in range(min(10, n))))
    print("\nloss difference over the run (lrate − torch), mean and mean |·| per window:")
    win = max(1, n // 10)
    curve = []
    for s in range(0, n, win):
        d = [t["steps"][i]["loss"] - rows[i]["loss"] for i in range(s, min(n, s + win))]
        curve.append({"from": s, "to": min(n, s + win) - 1, "mean": statistics.fmean(d),
                      "mean_abs": statistics.fmean(abs(x) for x in d)})
        print(f"  steps {s:>5}-{min(n, s + win) - 1:<5} mean {curve[-1]['mean']:+.4f}  mean|·| {curve[-1]['mean_abs']:.4f}")
    la = [e["test_acc"] for e in t["epoch_results"]]
    for i, (a_l, a_t) in enumerate(zip(la, accs)):
        print(f"epoch {i + 1} test accuracy: lrate {a_l * 100:.2f}%  torch {a_t * 100:.2f}%  "
              f"diff {(a_l - a_t) * 100:+.2f} pp")
    ok_steps = worst["loss"] <= 1e-3
    within_floor = worst["loss"] <= 3 * max(floor["loss"], 1e-7)
    ok_acc = all(abs(a_l - a_t) <= 0.002 + 1e-9 for a_l, a_t in zip(la, accs))
    print(f"\ntarget per-step loss within 1e-3 for the first {first} steps: {'met' if ok_steps else 'MISSED'}"
          f" (torch's own float32-vs-float64 difference over the same steps: {floor['loss']:.1e}; "
          f"lrate is {'within' if within_floor else 'OUTSIDE'} 3x that floor)")
    if la:
        print(f"target test accuracy within 0.2 pp from the same start: {'met' if ok_acc else 'MISSED'}")
    out = {"mode": "trace", "lrate_cmd": cmd, "torch": torch.__version__, "first_steps": first,
           "max_rel_first": worst, "torch_f32_vs_f64_first": floor, "loss_diff_curve": curve, "lrate_acc": la, "torch_acc": accs,
           "steps": n, "targets": {"per_step_loss": ok_steps, "within_float_floor": within_floor, "accuracy": ok_acc}}
    if args.json:
        out["provenance"] = run_provenance(args)
        json.dump(out, open(args.json, "w"), indent=1)
    return 0 if (ok_steps or within_floor) and (ok_acc or not la) else 1


# ---------------------------------------------------------------- statistical parity


def torch_run(args, seed, epochs, data):
    """PyTorch with its own default init and randperm shuffling; the same recipe."""
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    net = CnnS(1, 10)
    wd = args.weight_decay
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=args.max_lr, momentum=0.9, nesterov=args.nesterov, weight_decay=wd)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=args.max_lr, weight_decay=wd)
    n = len(xtr)
    spe = math.ceil(n / args.batch)  # DataLoader(shuffle=True), drop_last=False
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.max_lr, total_steps=spe * epochs)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for b in range(spe):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
            sched.step()
    return evaluate(net, xte, yte)


def lrate_run(args, seed, epochs):
    with tempfile.TemporaryDirectory(prefix="lrate-stat-") as d:
        cmd = [args.lrate, "train", "--data", args.data, "--model", "cnn-s", "--schedule", args.schedule,
               "--max-lr", str(args.max_lr), "--epochs", str(epochs), "--batch", str(args.batch),
               "--seed", str(seed), "--optimizer", args.optimizer, "--weight-decay", str(args.weight_decay),
               "--out", d, "--no-progress"]
        if args.nesterov and args.optimizer == "sgd":
            cmd.append("--nesterov")
        if args.config:
            cmd += ["--config", args.config]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["test_acc"]


def torch_subprocess(args, seed, epochs):
    """One PyTorch run in a fresh process (as a user runs it; also keeps one run's allocator
    state from slowing the next)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--torch-one",
           "--seed", str(seed), "--epochs", str(epochs), "--max-lr", str(args.max_lr),
           "--batch", str(args.batch), "--optimizer", args.optimizer,
           "--weight-decay", str(args.weight_decay), "--threads", str(args.threads),
           "--nesterov" if args.nesterov else "--no-nesterov"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def load_normalised(spec):
    xtr, ytr, xte, yte = load_idx_dir(data_dir(spec))
    mean, std = float(xtr.mean()), float(xtr.std())
    return (torch.from_numpy((xtr - mean) / std), torch.from_numpy(ytr),
            torch.from_numpy((xte - mean) / std), torch.from_numpy(yte))


def statistical(args):
    results = {}
    for epochs in args.lengths:
        for impl in ("pytorch", "lrate"):
            accs = []
            for s in range(args.seeds):
                t0 = time.time()
                a = torch_subprocess(args, s, epochs) if impl == "pytorch" else lrate_run(args, s, epochs)
                accs.append(a)
                print(f"{impl:<8} {epochs} epoch(s) seed {s}: {a * 100:.2f}%  ({time.time() - t0:.0f} s)", flush=True)
            results[f"{impl}_{epochs}ep"] = accs
    print(f"\n| epochs | PyTorch {torch.__version__} | lrate | lrate − PyTorch |")
    print("|---:|---:|---:|---:|")
    rows = []
    for epochs in args.lengths:
        p, l = results[f"pytorch_{epochs}ep"], results[f"lrate_{epochs}ep"]
        ms = lambda v: (statistics.fmean(v) * 100, (statistics.stdev(v) if len(v) > 1 else 0.0) * 100)
        (pm, ps), (lm, ls) = ms(p), ms(l)
        rows.append({"epochs": epochs, "pytorch": p, "lrate": l, "diff_pp": lm - pm})
        print(f"| {epochs} | {pm:.2f} ± {ps:.2f} % | {lm:.2f} ± {ls:.2f} % | {lm - pm:+.2f} pp |")
    if args.json:
        json.dump({"mode": "statistical", "seeds": list(range(args.seeds)), "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "rows": rows, "recipe": vars(args),
                   "provenance": run_provenance(args)},
                  open(args.json, "w"), indent=1)
    return 0


def run_provenance(args):
    """bench/provenance.py's record with the anchors (torch, numpy) and the lrate binary; the
    draft flag is main()'s check of the tree."""
    return provenance.provenance(anchors={"torch": torch.__version__, "numpy": np.__version__},
                                 lrate=args.lrate, draft=args.draft)


def suite(args):
    """Everything the README's parity table shows, from one invocation: same-start traces
    (cnn-s SGD at 3 seeds, cnn-s Adam, resnet9 on random 32x32 data) and the K-seed statistical
    comparison; writes `--out`.json and `--out`.md."""
    base = vars(args).copy()
    traces = []
    specs = [dict(optimizer="sgd", max_lr=args.max_lr, seed=s, label=f"cnn-s SGD Nesterov, 1cycle 0.4, seed {s}")
             for s in range(3)]
    specs.append(dict(optimizer="adam", max_lr=0.003, seed=0, label="cnn-s Adam, 1cycle 0.003, seed 0"))
    specs.append(dict(optimizer="sgd", max_lr=args.max_lr, seed=0, model="resnet9", data="synthetic32",
                      trace_steps=6, batch=64, label="resnet9, random 32x32x3 data, batch 64, 6 steps"))
    for sp in specs:
        a = argparse.Namespace(**{**base, **{k: v for k, v in sp.items() if k != "label"}, "work": None, "json": None})
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            a.json = f.name
            trace(a)
            r = json.load(open(f.name))
        r["label"] = sp["label"]
        traces.append(r)
    a = argparse.Namespace(**{**base, "seeds": args.seeds or 5})
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        a.json = f.name
        statistical(a)
        stat = json.load(open(f.name))
    prov = run_provenance(args)
    doc = {"commit": prov["commit"], "cpu": provenance.cpu_model(), "threads": args.threads, "torch": torch.__version__,
           "draft": prov["draft"], "provenance": prov, "traces": traces, "statistical": stat}
    json.dump(scrub(doc), open(args.out + ".json", "w"), indent=1)
    L = provenance.md_header(prov) + [
         f"# Training parity with PyTorch",
         "",
         f"Generated by `python bench/torch_parity.py --data {public_data(args.data)} --suite --out {os.path.relpath(args.out, ROOT)}` "
         f"at commit `{doc['commit']}`{' (uncommitted changes)' if prov['dirty'] else ''} on {doc['cpu']} "
         f"({args.threads} threads), PyTorch {doc['torch']}, numpy {np.__version__}.",
         "",
         "## Same start, same batches",
         "",
         "lrate's `parity` example writes its initial weights and batch order; PyTorch loads them and "
         "trains on the same batches with `torch.optim` and its own `OneCycleLR`. The rounding floor is "
         "the same PyTorch replay in float64: how far float32 rounding alone moves the loss.",
         "",
         "| run | max rel. loss diff, first 50 steps: lrate vs torch | torch f32 vs f64 | weight-norm diff | test acc lrate | test acc torch | diff |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for r in traces:
        la, ta = r["lrate_acc"], r["torch_acc"]
        acc = (f"{la[0] * 100:.2f} % | {ta[0] * 100:.2f} % | {(la[0] - ta[0]) * 100:+.2f} pp" if la and ta
               else "– | – | –")
        L.append(f"| {r['label']} | {r['max_rel_first']['loss']:.1e} | {r['torch_f32_vs_f64_first']['loss']:.1e} | "
                 f"{r['max_rel_first']['weight_norm']:.1e} | {acc} |")
    sgd = [r for r in traces if r["label"].startswith("cnn-s SGD")]
    d = [(r["lrate_acc"][0] - r["torch_acc"][0]) * 100 for r in sgd]
    L += ["", f"cnn-s SGD, same start: lrate − torch = {statistics.fmean(d):+.2f} ± {statistics.stdev(d):.2f} pp "
          f"over {len(d)} seeds.", "",
          "## Independent seeds",
          "",
          f"Each side with its own init and shuffling, {len(stat['seeds'])} seeds (PyTorch: default init, "
          "`randperm` each epoch, 469 steps per epoch; lrate: `lrate train`, 468). Final test accuracy, mean ± sd:",
          "",
          f"| epochs | PyTorch {doc['torch']} | lrate | lrate − PyTorch |",
          "|---:|---:|---:|---:|"]
    for row in stat["rows"]:
        ms = lambda v: (statistics.fmean(v) * 100, statistics.stdev(v) * 100)
        (pm, ps), (lm, ls) = ms(row["pytorch"]), ms(row["lrate"])
        L.append(f"| {row['epochs']} | {pm:.2f} ± {ps:.2f} % | {lm:.2f} ± {ls:.2f} % | {lm - pm:+.2f} pp |")
    open(args.out + ".md", "w").write("\n".join(L) + "\n")
    print("\n".join(L))
    return 0


def scrub(v):
    """`v` with this machine's paths replaced, so the committed report names none: data
    directories by DIR, temporary files by TMP, the repository by `.`."""
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items()}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    if isinstance(v, str):
        if v.startswith(("fashion-mnist:", "mnist:", "cifar10:")):
            return public_data(v)
        if v.startswith(ROOT + "/"):
            return os.path.relpath(v, ROOT)
        if v.startswith(tempfile.gettempdir() + "/"):
            return "TMP/" + os.path.basename(v).split("-")[0]
        if os.path.isabs(v) and os.path.isdir(v):
            return "DIR"
    return v


def public_data(spec):
    kind, _, d = spec.partition(":")
    return f"{kind}:DIR" if d and d != "/usr/share/datasets/fashion-mnist" else spec


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="fashion-mnist:DIR or mnist:DIR")
    p.add_argument("--model", default="cnn-s", choices=["cnn-s", "resnet9"])
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--schedule", default="onecycle-pytorch")
    p.add_argument("--max-lr", type=float, default=0.4)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=True,
                   help="Nesterov momentum for SGD (default: on, the recipe's)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", help="lrate config file (e.g. for nesterov = true)")
    p.add_argument("--trace-steps", type=int)
    p.add_argument("--limit-train", type=int)
    p.add_argument("--limit-test", type=int)
    p.add_argument("--seeds", type=int, help="statistical mode: this many seeds per side")
    p.add_argument("--lengths", type=int, nargs="+", default=[1, 3])
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    p.add_argument("--work", help="directory for lrate's trace (default: a temp dir)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--torch-one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--suite", action="store_true",
                   help="the README's table: traces and --seeds (default 5) statistics, into --out")
    p.add_argument("--out", default=os.path.join(ROOT, "docs/results/training_parity"),
                   help="with --suite: write OUT.json and OUT.md")
    p.add_argument("--lrate", default=os.path.join(ROOT, "target/release/lrate"))
    p.add_argument("--lrate-example", default=os.path.join(ROOT, "target/release/examples/parity"))
    args = p.parse_args()
    # A report (--suite, --json) from a dirty tree is refused unless DRAFT=1, then marked DRAFT.
    # The --torch-one children of a checked parent write nothing and are not checked again.
    args.draft = (provenance.check_tree(prog="torch_parity.py")
                  if (args.suite or args.json) and not args.torch_one else None)
    torch.set_num_threads(args.threads)
    if args.torch_one:
        print(torch_run(args, args.seed, args.epochs, load_normalised(args.data)))
        sys.exit(0)
    if args.suite:
        sys.exit(suite(args))
    sys.exit(statistical(args) if args.seeds else trace(args))


if __name__ == "__main__":
    main()
