"""lr_find under torch.distributed: 2 processes (gloo, 127.0.0.1), each with its own data
shard, return identical results, equal to one process fed the mean of their losses."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import lrate
from lrate.torch import lr_find
from test_torch import quadrant_data, small_cnn

NUM_ITER = 40


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shard(rank):
    ds = quadrant_data(256, seed=10 + rank)
    return torch.utils.data.DataLoader(ds, batch_size=32)


def worker(rank, world, port, out):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)  # the same initial weights on every rank, as DDP makes them
        model = small_cnn()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        r = lr_find(model, opt, torch.nn.CrossEntropyLoss(), shard(rank), num_iter=NUM_ITER)
        out[rank] = (r.lrs, r.losses, r.suggestions, r.max_lr, r.stop_reason)
    finally:
        dist.destroy_process_group()


def test_ranks_agree_and_equal_a_single_process_fed_the_mean():
    world = 2
    out = mp.Manager().dict()
    mp.spawn(worker, args=(world, free_port(), out), nprocs=world, join=True)
    a, b = out[0], out[1]
    assert a == b, "ranks disagree"
    lrs, losses, suggestions, max_lr, _ = a
    # One process fed the mean losses the ranks recorded reproduces the curve and picks.
    rt = lrate.RangeTest(1e-7, 10.0, NUM_ITER, "fastai")
    for loss in losses:
        assert rt.next_lr() is not None
        if rt.record(loss) == "done":
            break
    rl, rraw, _ = rt.curve()
    assert rl == lrs and rraw == losses
    assert {r: rt.suggest(r) for r in suggestions} == suggestions
    # And the mean is of two different shards: each rank alone records other losses.
    torch.manual_seed(0)
    model = small_cnn()
    alone = lr_find(model, torch.optim.SGD(model.parameters(), lr=0.01),
                    torch.nn.CrossEntropyLoss(), shard(0), num_iter=NUM_ITER)
    assert alone.losses[:5] != losses[:5]
