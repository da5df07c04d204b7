"""Train a shipped base model on MSD hippocampus `base_train`, select on `val`, export.

    nice -n 19 /usr/bin/python3 training/train.py --model swinunetr --seed 1000
    nice -n 19 /usr/bin/python3 training/train.py --model unetr --seed 1000

The same command resumes: state is checkpointed after every epoch to
training/runs/<model>-seed<seed>/last.pt and training continues from there. When the last
epoch is done, the best checkpoint (by mean Dice over head and body on `val`) is exported
to models/<model>.onnx with its manifest models/<model>.json (see export.py).
Recipe (peft-methods.md 1): random crop to the window, flips, per-slice intensity
scale/shift; Adam (amsgrad) lr 1e-3, poly 0.9 over the epochs; loss = the papers' batch
Dice over all classes (--loss dicece adds cross-entropy: measured no better, README.md).
"""
from __future__ import annotations

import os

# Idle OpenMP threads must not spin: the CPU is shared with other work.
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
from configs import DEFAULT_LOSS, RECIPES, Recipe, canonical_command  # noqa: E402
from data import (NUM_CLASSES, Case, augment, default_data_dir, load_case, load_split,  # noqa: E402
                  sliding_window_probs)
from losses import dice_ce_loss, dice_loss  # noqa: E402
from metrics import case_metrics, summarise  # noqa: E402
from monai_nets import build  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SELECTION_METRIC = "mean_dice_head_body"
LOSSES = {"dice": dice_loss, "dicece": dice_ce_loss}


class Log:
    def __init__(self, path: Path):
        self.file = path.open("a", buffering=1)

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        self.file.write(line + "\n")


def poly_lr(recipe: Recipe, epoch: int, epochs: int) -> float:
    """The authors' schedule: round(lr0 * (1 - epoch/epochs)^0.9, 8), per epoch."""
    return round(recipe.lr * (1 - epoch / epochs) ** recipe.poly_power, 8)


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def evaluate(model: torch.nn.Module, cases: list[Case], window: tuple[int, int, int]) -> dict:
    """Sliding-window argmax on each crop (no post-processing) -> per-case + mean metrics."""
    model.eval()
    per_case = []
    with torch.no_grad():
        for case in cases:
            probs = sliding_window_probs(case.image, window, model)
            pred = probs.argmax(0).astype(np.uint8)
            per_case.append({"case": case.name, **case_metrics(pred, case.label, case.spacing)})
    model.train()
    return {"per_case": per_case, "mean": summarise(per_case)}


def train_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, cases: list[Case],
                recipe: Recipe, loss_fn, rng: np.random.Generator) -> float:
    model.train()
    order = rng.permutation(len(cases))
    n_batches = len(cases) // recipe.batch  # drop_last, as the authors
    total = 0.0
    for b in range(n_batches):
        pairs = [augment(cases[i].image, cases[i].label, recipe.input_size, rng)
                 for i in order[b * recipe.batch:(b + 1) * recipe.batch]]
        x = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
        y = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y, NUM_CLASSES)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at batch {b}")
        loss.backward()
        opt.step()
        total += float(loss)
    return total / max(n_batches, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(RECIPES))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--epochs", type=int, help="default: the recipe's")
    ap.add_argument("--loss", choices=sorted(LOSSES), default=DEFAULT_LOSS)
    ap.add_argument("--val-every", type=int, default=4, help="validate every N epochs (and at the end)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--runs", type=Path, default=REPO / "training" / "runs")
    ap.add_argument("--run-name", help="default: <model>-seed<seed>[-<loss> unless the default loss]")
    ap.add_argument("--out", type=Path, default=REPO / "models", help="where the ONNX + manifest go")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--limit", type=int, help="smoke test: use only this many train and val cases")
    ap.add_argument("--stop-after", type=int, help="stop after this epoch (schedule unchanged; for ablations)")
    ap.add_argument("--reschedule", action="store_true",
                    help="resume with a different --epochs: the poly schedule is re-horizoned from the "
                         "current epoch on, and the change is recorded in settings.json and the manifest")
    args = ap.parse_args()

    recipe = RECIPES[args.model]
    epochs = args.epochs or recipe.epochs
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run_name = args.run_name or f"{args.model}-seed{args.seed}" + ("" if args.loss == DEFAULT_LOSS else f"-{args.loss}")
    run_dir = args.runs / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Log(run_dir / "train.log")

    settings = {"model": args.model, "seed": args.seed, "epochs": epochs, "loss": args.loss,
                "val_every": args.val_every, "limit": args.limit, "batch": recipe.batch,
                "lr": recipe.lr, "weight_decay": recipe.weight_decay, "config": recipe.config,
                "input_size": list(recipe.input_size)}
    settings_path = run_dir / "settings.json"
    if settings_path.exists():
        before = json.loads(settings_path.read_text())
        changes = before.pop("schedule_changes", [])
        if args.reschedule and before["epochs"] != epochs and {**before, "epochs": epochs} == settings:
            done = len((run_dir / "history.jsonl").read_text().splitlines()) if (run_dir / "history.jsonl").exists() else 0
            changes.append({"at_epoch": done, "epochs_from": before["epochs"], "epochs_to": epochs})
            log(f"rescheduled {run_dir}: epochs {before['epochs']} -> {epochs} from epoch {done}")
            before["epochs"] = epochs
            settings_path.write_text(json.dumps({**settings, "schedule_changes": changes}, indent=1))
        if changes:
            settings["schedule_changes"] = changes
        if before != {k: v for k, v in settings.items() if k != "schedule_changes"}:
            log(f"refusing to resume {run_dir}: settings changed\n  was {before}\n  now {settings}")
            return 2
    else:
        settings_path.write_text(json.dumps(settings, indent=1))
    command = canonical_command(settings)

    train_names = load_split(args.data, "base_train")[: args.limit]
    val_names = load_split(args.data, "val")[: args.limit]
    train_cases = [load_case(args.data, n) for n in train_names]
    val_cases = [load_case(args.data, n) for n in val_names]

    model = build(recipe.arch, recipe.config)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, amsgrad=True)
    state = {"epoch": 0, "best": -1.0, "best_epoch": -1, "history": [], "train_seconds": 0.0}
    last = run_dir / "last.pt"
    if last.exists():
        ck = torch.load(last)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        log(f"resumed {run_dir} at epoch {state['epoch']}/{epochs}")
    else:
        n_params = sum(p.numel() for p in model.parameters())
        log(f"start {run_name}: {recipe.arch} {recipe.config}, {n_params} parameters, "
            f"{len(train_cases)} train / {len(val_cases)} val cases, {epochs} epochs, batch {recipe.batch}, "
            f"loss {args.loss}, {args.threads} threads; command: {command}")
    log(f"process: /usr/bin/python3 training/train.py {shlex.join(sys.argv[1:])}")

    loss_fn = LOSSES[args.loss]
    for epoch in range(state["epoch"], epochs):
        lr = poly_lr(recipe, epoch, epochs)
        for g in opt.param_groups:
            g["lr"] = lr
        # One generator per (seed, epoch): a resumed run draws exactly what it would have.
        rng = np.random.default_rng([args.seed, epoch])
        torch.manual_seed(args.seed * 100_003 + epoch)
        t0 = time.perf_counter()
        mean_loss = train_epoch(model, opt, train_cases, recipe, loss_fn, rng)
        seconds = time.perf_counter() - t0
        state["train_seconds"] += seconds
        entry = {"epoch": epoch + 1, "lr": lr, "loss": mean_loss, "seconds": round(seconds, 1)}
        msg = f"epoch {epoch + 1}/{epochs} lr {lr:.2e} loss {mean_loss:.4f} {seconds:.0f}s " \
              f"({seconds / (len(train_cases) // recipe.batch * recipe.batch):.2f} s/sample)"
        if (epoch + 1) % args.val_every == 0 or epoch + 1 == epochs:
            t1 = time.perf_counter()
            result = evaluate(model, val_cases, recipe.input_size)
            m = result["mean"]
            entry["val"] = m
            msg += (f" | val dice head {m['head']['dice']:.4f} body {m['body']['dice']:.4f} "
                    f"whole {m['whole']['dice']:.4f} hd95 {m['whole']['hd95_mm']:.2f}mm "
                    f"({time.perf_counter() - t1:.0f}s)")
            if m[SELECTION_METRIC] > state["best"]:
                state["best"], state["best_epoch"] = m[SELECTION_METRIC], epoch + 1
                save_atomic({"model": model.state_dict(), "epoch": epoch + 1, "val": result,
                             "settings": settings, "command": command}, run_dir / "best.pt")
                msg += " *best"
        state["history"].append(entry)
        state["epoch"] = epoch + 1
        save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                     "settings": settings}, last)
        with (run_dir / "history.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")
        log(msg)
        if args.stop_after and epoch + 1 >= args.stop_after:
            log(f"stopped after epoch {epoch + 1} (--stop-after)")
            return 0

    log(f"done: best {SELECTION_METRIC} {state['best']:.4f} at epoch {state['best_epoch']}, "
        f"{state['train_seconds'] / 3600:.2f} h of training")
    if args.no_export or args.limit:
        return 0
    from export import export_run  # noqa: E402  (imports onnx only when exporting)
    export_run(args.model, run_dir, args.out, log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
