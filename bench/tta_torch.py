"""The PyTorch side of bench/time_to_accuracy.sh: the workflow a PyTorch user runs to pick the
learning rate and train with 1cycle, on the same net, batch, threads and epochs as
`lrate train --max-lr auto`.

1. Fashion-MNIST from its IDX files, scaled to [0, 1] and normalised by the training set's mean
   and std (as lrate does), in a `DataLoader(batch_size=BATCH, shuffle=True)`.
2. torch-lr-finder: `LRFinder(...).range_test(loader, end_lr=10, num_iter=NUM_IT)` from
   lr 1e-7 with SGD (Nesterov momentum 0.9, weight decay 5e-4), its suggestion
   (`plot(suggest_lr=True)`: the steepest descent of the smoothed loss), then `reset()`.
3. `OneCycleLR(max_lr=suggestion, epochs=EPOCHS, steps_per_epoch=len(loader))` with its
   defaults, the same SGD; after every epoch the test accuracy on the 10 000 test images.

Prints `pick: lr=X` and `epoch E/N: train loss L, test accuracy A%` lines (the harness
timestamps them as they arrive). Needs torch, numpy, torch-lr-finder and matplotlib (Agg).
"""
import argparse
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_parity import CnnS, data_dir, load_idx_dir  # noqa: E402 (bench/torch_parity.py)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="fashion-mnist:DIR (IDX files)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--num-it", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    from torch_lr_finder import LRFinder

    xtr, ytr, xte, yte = load_idx_dir(data_dir(a.data))
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr = torch.from_numpy((xtr - mean) / std)
    xte = torch.from_numpy((xte - mean) / std)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=a.batch, shuffle=True)

    net = CnnS(1, 10)
    opt = torch.optim.SGD(net.parameters(), lr=1e-7, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    finder = LRFinder(net, opt, torch.nn.CrossEntropyLoss(), device="cpu")
    finder.range_test(loader, end_lr=10, num_iter=a.num_it)
    _, lr = finder.plot(suggest_lr=True)
    finder.reset()
    print(f"pick: lr={lr:.6g}", flush=True)

    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=a.epochs,
                                                steps_per_epoch=len(loader))
    for epoch in range(a.epochs):
        net.train()
        total, n = 0.0, 0
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            sched.step()
            total, n = total + loss.item() * len(y), n + len(y)
        net.eval()
        ok = 0
        with torch.no_grad():
            for i in range(0, len(xte), 1000):
                ok += (net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
        print(f"epoch {epoch + 1}/{a.epochs}: train loss {total / n:.4f}, test accuracy "
              f"{100.0 * ok / len(xte):.2f}%", flush=True)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
