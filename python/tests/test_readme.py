"""Every ```python block of python/README.md runs, in order, in a fresh namespace each."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_there_are_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_example(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[i], f"README.md block {i + 1}", "exec"), {})


def test_the_project_readme_example(tmp_path, monkeypatch):
    """The five-line example of the project README, with a model, optimizer and loader."""
    import torch

    monkeypatch.chdir(tmp_path)
    text = (README.parents[1] / "README.md").read_text()
    block = re.search(r"## In PyTorch.*?```python\n(.*?)```", text, flags=re.S).group(1)
    assert len(block.strip().splitlines()) == 5
    torch.manual_seed(0)
    x, y = torch.randn(256, 10), torch.randint(0, 3, (256,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ns = {"model": model, "opt": opt, "loader": loader}
    exec(compile(block, "README.md (PyTorch example)", "exec"), ns)
    assert ns["r"].max_lr is not None and ns["sched"].last_epoch == len(loader)
