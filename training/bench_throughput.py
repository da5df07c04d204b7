"""CPU training throughput of candidate compact configurations (forward + backward).

    nice -n 19 /usr/bin/python3 training/bench_throughput.py [--threads 2] [--batch 2] [--iters 3]

Prints one row per candidate: parameters, ONNX-size estimate (float32), seconds per
sample for a training step (forward, Dice+CE backward, Adam step), and seconds for a
forward pass alone, with the thread count and CPU model. The machine is shared, so run it
when the load is known and read the figures as upper bounds on the time per sample.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from losses import dice_ce_loss  # noqa: E402
from monai_nets import SwinUNETR, UNETR  # noqa: E402

CANDIDATES = {
    "unetr-h192-fs16-48x64x48": lambda: (UNETR(1, 3, (48, 64, 48), 16, 192, 768, 4), (48, 64, 48)),
    "unetr-h384-fs16-48x64x48": lambda: (UNETR(1, 3, (48, 64, 48), 16, 384, 1536, 8), (48, 64, 48)),
    "unetr-h384-fs16-32x64x32": lambda: (UNETR(1, 3, (32, 64, 32), 16, 384, 1536, 8), (32, 64, 32)),
    "unetr-h768-fs16-48x64x48": lambda: (UNETR(1, 3, (48, 64, 48), 16, 768, 3072, 12), (48, 64, 48)),
    "swin-fs12-32x64x32": lambda: (SwinUNETR(1, 3, 12), (32, 64, 32)),
    "swin-fs24-32x64x32": lambda: (SwinUNETR(1, 3, 24), (32, 64, 32)),
    "swin-fs36-32x64x32": lambda: (SwinUNETR(1, 3, 36), (32, 64, 32)),
    "swin-fs48-32x64x32": lambda: (SwinUNETR(1, 3, 48), (32, 64, 32)),
    "swin-fs24-64x64x64": lambda: (SwinUNETR(1, 3, 24), (64, 64, 64)),
}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def bench(name: str, batch: int, iters: int) -> None:
    torch.manual_seed(0)
    model, size = CANDIDATES[name]()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)
    x = torch.randn(batch, 1, *size)
    y = torch.randint(0, 3, (batch, *size))
    model.train()
    times = []
    for i in range(iters + 1):  # first iteration is warm-up (allocator, oneDNN primitives)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = dice_ce_loss(model(x), y, 3)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        model(x[:1])
        fwd = time.perf_counter() - t0
    step = min(times) / batch
    print(f"| {name:<26} | {params / 1e6:7.2f} M | {params * 4 / 2**20:7.1f} MiB | {step:7.2f} s | {fwd:6.2f} s |",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("names", nargs="*", default=list(CANDIDATES))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, {cpu_name()}")
    print("| candidate | params | f32 size | train s/sample | fwd s (1 sample) |")
    print("|---|---:|---:|---:|---:|")
    for name in args.names:
        bench(name, args.batch, args.iters)


if __name__ == "__main__":
    main()
