"""Train a FreeSurfer-protocol hippocampus model (aseg 17/53, whole hippocampus) on synthetic
crops from the SynthSeg label maps, warm-started from the shipped MSD model.

    nice -n 5 /usr/bin/python3 training/train_fs.py --model swinunetr --seed 1000 --steps 1200

Same command resumes (checkpoint every --ckpt-every steps in training/runs/<model>-fs-seed<seed>/).
When the steps are done, the checkpoint with the best synthetic-validation Dice is exported to
models/<model>-fs.onnx + models/<model>-fs.json (fs_export.py).

* Data: `training_seg_01..18` train, `training_seg_19, 20` are held out for synthetic validation
  (VAL_MAPS); real FreeSurfer-labelled scans are never used here (validation only:
  bench/fs-real.ts).
* Crops: fs_crops.py (the pipeline's MSD framing, jittered), images synthesised per sample.
* Warm start: every weight from models/<model>.onnx (the MSD model; initializers are named
  by the MONAI state_dict), except the output conv, which goes from 3 classes (background,
  head, body + tail) to 2 (background, hippocampus): background keeps its row, hippocampus
  gets the mean of head and body rows and the log-sum-exp of their biases' offset (log 2).
* Window: a random 32x64x32 window of the crop (data.random_patch), per-slice intensity
  scale/shift as the MSD recipe; no flips (the pipeline's framing fixes the orientation).
* Adam (amsgrad), lr LR poly 0.9 over the steps, batch 2, weight decay 2e-5; loss the
  papers' batch Dice over both classes.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from configs import RECIPES  # noqa: E402
from data import SHIFT_OFFSET_RANGE, SHIFT_SCALE_RANGE, random_patch, window_starts, zscore_all  # noqa: E402
from fs_crops import FS_CROP, SideMap, load_side_maps, read_side_maps, sample, save_side_maps  # noqa: E402
from losses import dice_loss  # noqa: E402
from metrics import dice  # noqa: E402
from monai_nets import build  # noqa: E402
from synth import load_priors  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NUM_CLASSES = 2
VAL_MAPS = ("training_seg_19.nii.gz", "training_seg_20.nii.gz")
VAL_CROPS_PER_SIDE = 4
LR = 3e-4
BATCH = 2
WEIGHT_DECAY = 2e-5
POLY = 0.9


def fs_config(model: str) -> dict:
    return {**RECIPES[model].config, "out_channels": NUM_CLASSES}


def warm_start(model_id: str, net: torch.nn.Module, onnx_path: Path) -> dict:
    """Load the MSD model's weights from its ONNX initializers; map the 3-class head to 2."""
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(onnx_path)).graph.initializer}
    state = net.state_dict()
    loaded, skipped = 0, []
    for name, tensor in state.items():
        if name.startswith("out.conv.conv."):
            continue
        if name not in inits:
            skipped.append(name)  # buffers rebuilt by the module (relative_position_index)
            continue
        arr = torch.from_numpy(inits[name].copy())
        if arr.shape != tensor.shape:
            raise ValueError(f"{name}: ONNX {tuple(arr.shape)} vs model {tuple(tensor.shape)}")
        state[name] = arr
        loaded += 1
    w, b = torch.from_numpy(inits["out.conv.conv.weight"].copy()), torch.from_numpy(inits["out.conv.conv.bias"].copy())
    state["out.conv.conv.weight"] = torch.stack([w[0], (w[1] + w[2]) / 2])
    state["out.conv.conv.bias"] = torch.stack([b[0], (b[1] + b[2]) / 2 + float(np.log(2.0))])
    non_param = [n for n in skipped if "relative_position_index" not in n]
    if non_param:
        raise ValueError(f"weights missing from {onnx_path.name}: {non_param}")
    net.load_state_dict(state)
    return {"from": str(onnx_path.relative_to(REPO)), "tensors": loaded,
            "outputHead": "background row kept; hippocampus = mean of head and body rows, bias + log 2"}


def load_maps(priors, cache: Path, log) -> list[SideMap]:
    """Both hippocampi of the 20 maps, cut around each (cached as one npz: reading takes ~1 min)."""
    if cache.exists():
        return read_side_maps(cache, priors)
    maps = load_side_maps(priors)
    for m in maps:
        log(f"read {m.map_name} {m.side}: hippocampus {m.volume_mm3:.0f} mm3")
    save_side_maps(maps, cache)
    return maps


def generator_commit() -> str:
    """The last commit that touched training/synth (recorded with the run)."""
    import subprocess
    proc = subprocess.run(["git", "log", "-1", "--format=%H", "--", "training/synth"], capture_output=True, text=True, cwd=REPO)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "training/synth"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    return proc.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def training_pair(m: SideMap, priors, rng: np.random.Generator, input_size) -> tuple[np.ndarray, np.ndarray]:
    img, lab = sample(m, priors, rng)
    img, lab = random_patch(zscore_all(img), lab, input_size, rng)
    h = img.shape[1]
    img = img * rng.uniform(*SHIFT_SCALE_RANGE, size=(1, h, 1)) + rng.uniform(*SHIFT_OFFSET_RANGE, size=(1, h, 1))
    return np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(lab)


def sliding_probs(image: np.ndarray, window, net) -> np.ndarray:
    """Hippocampus probability over a crop: the pipeline's sliding window (data.py's, 2 classes)."""
    pads = [((w - s) // 2, w - s - (w - s) // 2) if s < w else (0, 0) for s, w in zip(image.shape, window)]
    padded = np.pad(image, pads)
    acc = np.zeros(padded.shape)
    count = np.zeros(padded.shape)
    starts = [window_starts(s, w) for s, w in zip(padded.shape, window)]
    slices = [(slice(a, a + window[0]), slice(b, b + window[1]), slice(c, c + window[2]))
              for a in starts[0] for b in starts[1] for c in starts[2]]
    with torch.no_grad():
        probs = torch.softmax(net(torch.from_numpy(np.stack([padded[s] for s in slices]))[:, None]), 1)[:, 1].numpy()
    for p, s in zip(probs, slices):
        acc[s] += p
        count[s] += 1
    crop = tuple(slice(p[0], p[0] + s) for p, s in zip(pads, image.shape))
    return (acc / count)[crop]


def make_val_set(maps: list[SideMap], priors, seed: int) -> list[dict]:
    out = []
    for n, m in enumerate(maps):
        for r in range(VAL_CROPS_PER_SIDE):
            rng = np.random.default_rng([seed, 7_000_000, n, r])
            img, lab = sample(m, priors, rng)
            out.append({"case": f"{m.map_name}:{m.side}:{r}", "image": zscore_all(img), "label": lab})
    return out


def evaluate(net: torch.nn.Module, val: list[dict], window) -> dict:
    net.eval()
    per = []
    for v in val:
        pred = sliding_probs(v["image"], window, net) > 0.5
        per.append({"case": v["case"], "dice": dice(pred, v["label"] > 0),
                    "mm3Predicted": float(pred.sum()), "mm3Reference": float((v["label"] > 0).sum())})
    net.train()
    return {"meanDice": float(np.mean([p["dice"] for p in per])), "perCase": per}


def canonical_command(settings: dict) -> str:
    """The command(s) that recreate a run; a --reschedule is a stop at that step then a resume."""
    base = f"nice -n 5 /usr/bin/python3 training/train_fs.py --model {settings['model']} --seed {settings['seed']}"
    changes = settings.get("schedule_changes", [])
    if not changes:
        return f"{base} --steps {settings['steps']}"
    cmds = [f"{base} --steps {changes[0]['steps_from']} --stop-after {changes[0]['at_step']}"]
    for n, c in enumerate(changes):
        stop = f" --stop-after {changes[n + 1]['at_step']}" if n + 1 < len(changes) else ""
        cmds.append(f"{base} --steps {c['steps_to']} --reschedule{stop}")
    return " && ".join(cmds)


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(RECIPES))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--steps", type=int, required=True, help="optimiser steps of BATCH crops")
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=Path, default=REPO / "training" / "runs")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--stop-after", type=int, help="stop after this step (schedule unchanged)")
    ap.add_argument("--reschedule", action="store_true",
                    help="resume with a different --steps: the poly schedule takes the new horizon from the "
                         "current step on; the change is recorded in settings.json and the manifest")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    recipe = RECIPES[args.model]
    run_dir = args.runs / f"{args.model}-fs-seed{args.seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    logf = (run_dir / "train.log").open("a", buffering=1)

    def log(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")

    settings = {"model": args.model, "seed": args.seed, "steps": args.steps, "batch": BATCH, "lr": LR,
                "weight_decay": WEIGHT_DECAY, "val_maps": list(VAL_MAPS), "config": fs_config(args.model)}
    settings_path = run_dir / "settings.json"
    changes: list[dict] = []
    if settings_path.exists():
        before = json.loads(settings_path.read_text())
        changes = before.pop("schedule_changes", [])
        if args.reschedule and before["steps"] != args.steps and {**before, "steps": args.steps} == settings:
            done = torch.load(run_dir / "last.pt")["state"]["step"] if (run_dir / "last.pt").exists() else 0
            if done >= args.steps:
                log(f"refusing to reschedule to {args.steps} steps: {done} are done")
                return 2
            changes.append({"at_step": done, "steps_from": before["steps"], "steps_to": args.steps})
            log(f"rescheduled {run_dir}: steps {before['steps']} -> {args.steps} from step {done}")
        elif before != settings:
            log(f"refusing to resume {run_dir}: settings changed\n  was {before}\n  now {settings}")
            return 2
    if changes:
        settings["schedule_changes"] = changes
    settings_path.write_text(json.dumps(settings, indent=1))
    command = canonical_command(settings)

    priors = load_priors()
    maps = load_maps(priors, args.runs / "fs-cache" / "side-maps.npz", log)
    train_maps = [m for m in maps if m.map_name not in VAL_MAPS]
    val_maps = [m for m in maps if m.map_name in VAL_MAPS]
    if len(val_maps) != 2 * len(VAL_MAPS) or len(train_maps) < 2:
        raise RuntimeError(f"expected 20 label maps with {VAL_MAPS} among them, found {len(maps) // 2}")
    val = make_val_set(val_maps, priors, args.seed)

    net = build(recipe.arch, settings["config"])
    opt = torch.optim.Adam(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, amsgrad=True)
    state = {"step": 0, "best": -1.0, "best_step": -1, "history": [], "train_seconds": 0.0}
    last = run_dir / "last.pt"
    if last.exists():
        ck = torch.load(last)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state, init = ck["state"], ck["init"]
        log(f"resumed {run_dir} at step {state['step']}/{args.steps}")
    else:
        init = warm_start(args.model, net, REPO / "models" / f"{args.model}.onnx")
        init["generator"] = {"code": "training/synth", "commit": generator_commit(), "preset": "fs_crops.FS_CROP",
                             "config": {k: v for k, v in vars(FS_CROP).items()}}
        log(f"start: {recipe.arch} {settings['config']}, warm start {init}, {len(train_maps)} train sides / "
            f"{len(val)} val crops, {args.steps} steps of {BATCH}; command: {command}")
        m = evaluate(net, val, recipe.input_size)
        state["history"].append({"step": 0, "val": m["meanDice"]})
        log(f"step 0 (warm start, MSD protocol) synthetic val Dice {m['meanDice']:.4f}")
    log(f"process: /usr/bin/python3 training/train_fs.py {shlex.join(sys.argv[1:])}")

    losses: list[float] = []
    t0 = time.perf_counter()
    for step in range(state["step"], args.steps):
        lr = round(LR * (1 - step / args.steps) ** POLY, 8)
        for g in opt.param_groups:
            g["lr"] = lr
        # One generator per (seed, step): a resumed run draws what an uninterrupted one would.
        rng = np.random.default_rng([args.seed, step])
        torch.manual_seed(args.seed * 100_003 + step)
        pairs = [training_pair(train_maps[int(rng.integers(len(train_maps)))], priors, rng, recipe.input_size)
                 for _ in range(BATCH)]
        x = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
        y = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))
        opt.zero_grad(set_to_none=True)
        loss = dice_loss(net(x), y, NUM_CLASSES)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss at step {step}")
        loss.backward()
        opt.step()
        losses.append(float(loss))
        state["step"] = step + 1
        done = step + 1
        if done % args.ckpt_every == 0 or done == args.steps:
            seconds = time.perf_counter() - t0
            state["train_seconds"] += seconds
            entry = {"step": done, "lr": lr, "loss": float(np.mean(losses)), "seconds": round(seconds, 1)}
            msg = f"step {done}/{args.steps} lr {lr:.2e} loss {entry['loss']:.4f} ({seconds / len(losses):.2f} s/step)"
            if done % args.val_every == 0 or done == args.steps:
                m = evaluate(net, val, recipe.input_size)
                entry["val"] = m["meanDice"]
                msg += f" | synthetic val Dice {m['meanDice']:.4f}"
                if m["meanDice"] > state["best"]:
                    state["best"], state["best_step"] = m["meanDice"], done
                    save_atomic({"model": net.state_dict(), "step": done, "val": m, "settings": settings,
                                 "command": command, "init": init}, run_dir / "best.pt")
                    msg += " *best"
            state["history"].append(entry)
            save_atomic({"model": net.state_dict(), "optimizer": opt.state_dict(), "state": state,
                         "settings": settings, "init": init}, last)
            log(msg)
            losses, t0 = [], time.perf_counter()
        if args.stop_after and done >= args.stop_after and done % args.ckpt_every == 0:
            log(f"stopped after step {done} (--stop-after)")
            return 0

    log(f"done: best synthetic val Dice {state['best']:.4f} at step {state['best_step']}, "
        f"{state['train_seconds'] / 3600:.2f} h of training")
    if args.no_export:
        return 0
    from fs_export import export_fs_run  # noqa: E402
    export_fs_run(args.model, run_dir, REPO / "models", log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
