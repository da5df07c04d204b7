"""Train the full-head localiser on synthetic heads (training/synth), PyTorch on CPU.

    nice -n 5 /usr/bin/python3 training/train_localiser.py --seed 1300 --steps 3000

Resumable: run the same command again; `training/runs/localiser/last.pt` (atomic, every
`--ckpt-every` steps) holds model, optimiser, step and history, and each step's data comes
from `default_rng([seed, step])`, so a resumed run draws what a straight one would.
Maps 19 and 20 are held out for validation (fixed synthetic heads, seeded).

Training samples are 48³ crops at 4 mm (192 mm boxes, 85% containing both hippocampi, 10%
anywhere in the head, 5% pure noise / smooth blobs with an all-background target); the
net is fully convolutional and is exported and validated at the contract's 72³.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from localiser_net import N_CLASSES, LocaliserUNet, n_params  # noqa: E402
from synth import HEAD, label_map_paths, load_label_map, load_priors, structure_centroid, synthesise  # noqa: E402
from synth.labels import LEFT_HIPPOCAMPUS, RIGHT_HIPPOCAMPUS  # noqa: E402

HERE = Path(__file__).resolve().parent
RUN_DIR = HERE / 'runs' / 'localiser'
CACHE = HERE / 'runs' / 'cache'
SPACING_MM = 4.0
FULL = 72
CROP = 48
GROUPS = ('brain_other', 'left_hippocampus', 'right_hippocampus')
VAL_MAPS = (18, 19)   # 0-based: training_seg_19, training_seg_20
CLIP_MAX = 2.0


def normalise(img: np.ndarray) -> np.ndarray:
    """The contract: divide by the 99th percentile of voxels > 0, clip to [0, 2]."""
    pos = img[img > 0]
    if pos.size == 0:
        return np.zeros_like(img, np.float32)
    p99 = float(np.percentile(pos, 99))
    return np.clip(img / max(p99, 1e-12), 0, CLIP_MAX).astype(np.float32)


def target_from(fr: dict[str, np.ndarray]) -> np.ndarray:
    t = np.stack([np.zeros_like(fr[GROUPS[0]])] + [fr[g] for g in GROUPS])
    t[0] = np.clip(1 - t[1:].sum(0), 0, 1)
    return t.astype(np.float32)


class Maps:
    def __init__(self):
        self.priors = load_priors()
        self.paths = label_map_paths()
        self.maps = [load_label_map(p, self.priors, CACHE) for p in self.paths]
        self.hip = [(structure_centroid(m, LEFT_HIPPOCAMPUS), structure_centroid(m, RIGHT_HIPPOCAMPUS)) for m in self.maps]


def negative_sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Not a head: noise, or smooth random blobs (an abdominal crop, a phantom)."""
    from scipy import ndimage
    if rng.random() < 0.5:
        img = rng.random((n, n, n), dtype=np.float32)
    else:
        img = np.maximum(ndimage.gaussian_filter(rng.standard_normal((n, n, n)).astype(np.float32), rng.uniform(1, 4)), 0)
    if rng.random() < 0.5:  # a small box of signal in a zero field, like an MSD crop
        keep = np.zeros_like(img)
        a = rng.integers(0, n // 2, 3)
        b = a + rng.integers(4, n // 2, 3)
        keep[a[0]:b[0], a[1]:b[1], a[2]:b[2]] = 1
        img = img * keep
    t = np.zeros((N_CLASSES, n, n, n), np.float32)
    t[0] = 1
    return normalise(img), t


def training_sample(maps: Maps, train_ids: list[int], seed: int, step: int, p_anywhere: float = 0.10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, step])
    u = rng.random()
    if u < 0.05:
        return negative_sample(rng, CROP)
    k = train_ids[rng.integers(len(train_ids))]
    lm = maps.maps[k]
    mid = (maps.hip[k][0] + maps.hip[k][1]) / 2
    off = rng.uniform(-35, 35, 3) if u < 1.0 - p_anywhere else rng.uniform(-80, 80, 3)
    s = synthesise(lm, maps.priors, (CROP,) * 3, SPACING_MM, mid + off, rng, HEAD, 2, GROUPS)
    img, tgt = normalise(s.image), target_from(s.fractions)
    img *= np.float32(rng.uniform(0.8, 1.25))   # the crop's p99 is not the whole grid's
    np.clip(img, 0, CLIP_MAX, out=img)
    if rng.random() < 0.5:   # mirror left-right: the left hippocampus becomes the right one
        img = img[::-1].copy()
        tgt = tgt[:, ::-1][[0, 1, 3, 2]].copy()
    return img, tgt


def validation_set(maps: Maps, seed: int, n: int = 8) -> list[dict]:
    """Fixed full-grid (72³) heads from the held-out maps, centred as real scans are
    (brain midpoint + the generator's FOV offset)."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, 10 ** 6 + i])
        k = VAL_MAPS[i % len(VAL_MAPS)]
        lm = maps.maps[k]
        mid = (maps.hip[k][0] + maps.hip[k][1]) / 2 + np.array([0, 0, 15.0]) + rng.uniform(-10, 10, 3)
        s = synthesise(lm, maps.priors, (FULL,) * 3, SPACING_MM, mid, rng, HEAD, 2, GROUPS)
        # true centroids on the output grid, from the 2 mm partial-volume fractions
        cents = []
        for g in ('left_hippocampus', 'right_hippocampus'):
            f = s.fractions[g]
            ijk = (np.argwhere(f > 0) * f[f > 0][:, None]).sum(0) / f.sum()
            cents.append(s.affine[:3, :3] @ ijk + s.affine[:3, 3])
        out.append(dict(image=normalise(s.image), target=target_from(s.fractions), affine=s.affine,
                        centroids=np.array(cents), info=s.info, map=maps.paths[k].name))
    return out


def soft_centroid(prob: np.ndarray, cls: np.ndarray, c: int, affine: np.ndarray) -> np.ndarray | None:
    """Probability-weighted centroid over the largest connected component of argmax == c
    (the rule the TypeScript stage uses)."""
    from scipy import ndimage
    lab, n = ndimage.label(cls == c)
    if n == 0:
        return None
    sizes = ndimage.sum(np.ones_like(lab), lab, range(1, n + 1))
    comp = lab == (int(np.argmax(sizes)) + 1)
    w = prob[c] * comp
    ijk = (np.argwhere(comp) * w[comp][:, None]).sum(0) / w[comp].sum()
    return affine[:3, :3] @ ijk + affine[:3, 3]


def evaluate(model: nn.Module, val: list[dict]) -> dict:
    model.eval()
    errs, dices = [], []
    with torch.no_grad():
        for v in val:
            logits = model(torch.from_numpy(v['image'])[None, None])[0]
            prob = torch.softmax(logits, 0).numpy()
            cls = prob.argmax(0)
            for side, c in ((0, 2), (1, 3)):
                got = soft_centroid(prob, cls, c, v['affine'])
                errs.append(float('inf') if got is None else float(np.linalg.norm(got - v['centroids'][side])))
            t = v['target'].argmax(0)
            for c in (1, 2, 3):
                a, b = cls == c, t == c
                dices.append(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
    model.train()
    e = np.array(errs)
    return dict(centroid_err_mean_mm=float(np.mean(e[np.isfinite(e)])) if np.isfinite(e).any() else None,
                centroid_err_max_mm=float(e.max()), n_missed=int((~np.isfinite(e)).sum()),
                n_over_5mm=int((e > 5).sum()), dice_brain=float(np.mean(dices[0::3])),
                dice_left=float(np.mean(dices[1::3])), dice_right=float(np.mean(dices[2::3])))


def loss_fn(logits: torch.Tensor, target: torch.Tensor, hippo_weight: float = 1.0) -> torch.Tensor:
    """Soft cross-entropy (voxel mean; the hippocampus classes weighted `hippo_weight`, as
    they hold ~0.1% of the voxels) + soft Dice over classes 1–3 (batch Dice)."""
    logp = torch.log_softmax(logits, 1)
    w = torch.tensor([1.0, 1.0, hippo_weight, hippo_weight], dtype=logits.dtype).view(1, 4, 1, 1, 1)
    ce = -(w * target * logp).sum(1).mean()
    p = logp.exp()
    dims = (0, 2, 3, 4)
    inter = (p * target).sum(dims)[1:]
    denom = (p + target).sum(dims)[1:]
    dice = 1 - ((2 * inter + 1e-3) / (denom + 1e-3)).mean()
    return ce + dice


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix('.tmp')
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=1300)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--ckpt-every', type=int, default=25)
    ap.add_argument('--val-every', type=int, default=250)
    ap.add_argument('--widths', default='8,16,32,64')
    ap.add_argument('--val-seed', type=int, default=None, help='seed of the fixed validation heads (default: --seed)')
    ap.add_argument('--p-anywhere', type=float, default=0.10, help='share of crops placed anywhere in the head (else around the hippocampi)')
    ap.add_argument('--hippo-weight', type=float, default=1.0)
    ap.add_argument('--run-dir', type=Path, default=RUN_DIR)
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads (not a setting: may change on resume)')
    ap.add_argument('--init-from', type=Path, default=None,
                    help='start a new phase from another run\'s checkpoint (weights only; recorded in settings)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run_dir = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = dict(seed=args.seed, steps=args.steps, lr=args.lr, batch=args.batch, widths=args.widths, crop=CROP)
    if args.p_anywhere != 0.10:
        settings['p_anywhere'] = args.p_anywhere
    if args.hippo_weight != 1.0:
        settings['hippo_weight'] = args.hippo_weight
    if args.init_from is not None:
        settings['init_from'] = str(args.init_from)
    log = open(run_dir / 'train.log', 'a')

    def say(msg: str) -> None:
        line = f'{time.strftime("%H:%M:%S")} {msg}'
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    torch.manual_seed(args.seed)
    model = LocaliserUNet(tuple(int(w) for w in args.widths.split(',')))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, history = 0, []
    last = run_dir / 'last.pt'
    if last.exists():
        ck = torch.load(last)
        if 'init_step' in ck['settings']:
            settings['init_step'] = ck['settings']['init_step']
        # The step count may change on resume (the cosine schedule is then re-based on the
        # new total, a small jump in lr that the history records); nothing else may.
        fixed = lambda d: {k: v for k, v in d.items() if k != 'steps'}  # noqa: E731
        if fixed(ck['settings']) != fixed(settings):
            raise SystemExit(f'refusing to resume: settings changed {ck["settings"]} → {settings}')
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, history = ck['step'], ck['history']
        if ck['settings']['steps'] != settings['steps']:
            history.append(dict(step=step, note=f'total steps changed {ck["settings"]["steps"]} → {settings["steps"]} on resume'))
        say(f'resumed at step {step}')
    else:
        if args.init_from is not None:
            init = torch.load(args.init_from)
            model.load_state_dict(init['model'])
            settings['init_step'] = init['step']
        say(f'new run {settings}, {n_params(model)} parameters')

    maps = Maps()
    train_ids = [i for i in range(len(maps.maps)) if i not in VAL_MAPS]
    val_seed = args.seed if args.val_seed is None else args.val_seed
    val_cache = run_dir / f'val-seed{val_seed}.pt'
    if val_cache.exists():
        val = torch.load(val_cache)
    else:
        val = validation_set(maps, val_seed)
        atomic_save(val, val_cache)
    say(f'validation: {len(val)} heads from {sorted({v["map"] for v in val})}')
    t0, tl = time.time(), []
    while step < args.steps:
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g['lr'] = lr
        xs, ts = zip(*(training_sample(maps, train_ids, args.seed, step * args.batch + b, args.p_anywhere) for b in range(args.batch)))
        x = torch.from_numpy(np.stack(xs))[:, None]
        t = torch.from_numpy(np.stack(ts))
        loss = loss_fn(model(x), t, args.hippo_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        tl.append(float(loss))
        if step % args.ckpt_every == 0 or step == args.steps:
            rec = dict(step=step, loss=float(np.mean(tl)), lr=lr, s_per_step=(time.time() - t0) / len(tl))
            if step % args.val_every == 0 or step == args.steps:
                rec.update(evaluate(model, val))
            history.append(rec)
            say(json.dumps(rec))
            atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), step=step, history=history,
                             settings=settings), last)
            t0, tl = time.time(), []
    atomic_save(dict(model=model.state_dict(), step=step, history=history, settings=settings), run_dir / 'final.pt')
    say('done')


if __name__ == '__main__':
    main()
