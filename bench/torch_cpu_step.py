"""PyTorch side of `npm run bench -- engine --cpu`: one row per case, as JSON lines.

    /usr/bin/python3 bench/torch_cpu_step.py --threads 2 --case unetr|swinunetr|gemm [--reps 5] [--size 1024]

unetr / swinunetr: the shipped configurations (models/*.json; training/monai_nets.py, MONAI's
structure), batch 2 at 32×64×32, full fine-tuning: forward, soft Dice over the classes,
backward, Adam step; median wall time of --reps after one warm-up step. Weights are seeded
and untrained: this measures speed only. gemm: float32 matmul of two size×size matrices,
GFLOP/s of the median of --reps. The Node side (bench/lib/wasm-vs-torch.ts) calls this
between its own rows, so both see the same machine load.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))
from losses import dice_loss  # noqa: E402
from monai_nets import SwinUNETR, UNETR  # noqa: E402

SIZE = (32, 64, 32)
BATCH = 2


def build(name: str) -> torch.nn.Module:
    cfg = json.loads((ROOT / "models" / f"{name}.json").read_text())["config"]
    if name == "unetr":
        return UNETR(1, 3, SIZE, cfg["feature_size"], cfg["hidden_size"], cfg["mlp_dim"], cfg["num_heads"])
    return SwinUNETR(1, 3, cfg["feature_size"], num_heads=tuple(cfg["num_heads"]), window_size=cfg["window_size"])


def step_times(name: str, reps: int) -> dict:
    torch.manual_seed(0)
    model = build(name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(BATCH, 1, *SIZE)
    y = torch.randint(0, 3, (BATCH, *SIZE))
    model.train()
    times = []
    for i in range(reps + 1):  # the first is warm-up (allocator, oneDNN primitives)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = dice_loss(model(x), y, 3)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    return {"case": name, "median_s": statistics.median(times), "times_s": times}


def gemm(size: int, reps: int) -> dict:
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    return {"case": "gemm", "size": size, "median_s": t, "gflops": 2 * size**3 / t / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--case", required=True, choices=["unetr", "swinunetr", "gemm"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", type=int, default=1024)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    row = gemm(a.size, a.reps) if a.case == "gemm" else step_times(a.case, a.reps)
    # ru_maxrss is in KiB on Linux.
    row.update(threads=a.threads, torch=torch.__version__, max_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
