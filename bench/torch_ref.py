"""PyTorch reference for bench/train_speed.sh: the same nets, optimizer, batch and threads as lrate.

Prints one JSON line per model: {"impl": "pytorch", "model", "img_per_s", "eval_img_per_s", "steps", "batch", "threads", "peak_rss_mb"}.
Run one model per process so that peak RSS is per model.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


def conv_bn(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def cnn_s(c_in=1, classes=10):
    return nn.Sequential(
        conv_bn(c_in, 32), nn.MaxPool2d(2),
        conv_bn(32, 64), nn.MaxPool2d(2),
        conv_bn(64, 128), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(128, classes),
    )


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

    def forward(self, x):
        return x + self.body(x)


def resnet9(c_in=3, classes=10):
    return nn.Sequential(
        conv_bn(c_in, 64),
        conv_bn(64, 128), nn.MaxPool2d(2), Residual(128),
        conv_bn(128, 256), nn.MaxPool2d(2),
        conv_bn(256, 512), nn.MaxPool2d(2), Residual(512),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        nn.Linear(512, classes),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["cnn-s", "resnet9"], required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "cnn-s":
        net, shape = cnn_s(), (1, 28, 28)
    else:
        net, shape = resnet9(), (3, 32, 32)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(a.batch, *shape)
    y = torch.randint(0, 10, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    # Evaluation-mode throughput, as lrate's speed example measures it: BN running statistics,
    # no autograd, ceil(steps / 3) forward passes of the batch.
    net.eval()
    eval_reps = max(1, -(-a.steps // 3))
    with torch.no_grad():
        net(x)
        t1 = time.perf_counter()
        for _ in range(eval_reps):
            net(x)
        eval_dt = time.perf_counter() - t1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "impl": "pytorch", "model": a.model, "img_per_s": a.batch * a.steps / dt,
        "eval_img_per_s": a.batch * eval_reps / eval_dt,
        "steps": a.steps, "batch": a.batch, "threads": a.threads, "peak_rss_mb": rss_mb, "cpu_per_wall": cpu / dt,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
