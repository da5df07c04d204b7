"""Export a FreeSurfer-protocol run (train_fs.py) to models/<model>-fs.onnx + .json.

    /usr/bin/python3 training/fs_export.py --model swinunetr [--allow-unfinished]

The graph is export.py's (opset 17, ConvTranspose rewritten, initializers named by the MONAI
state_dict, onnxruntime-node parity), with 2 output channels (background, hippocampus). The
manifest says `"protocol": "freesurfer"`; its real-scan metrics are added afterwards by
bench/fs-real.ts (`--write-manifest`), which runs the TypeScript pipeline on the
FreeSurfer-labelled validation subjects.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from configs import RECIPES  # noqa: E402
from data import WINDOW_OVERLAP, random_patch  # noqa: E402
from export import OPSET, check_graph, export_onnx, ort_parity, sha256  # noqa: E402
from monai_nets import build  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELS = [
    {"value": 0, "name": "background", "rgb": [0, 0, 0]},
    {"value": 1, "name": "hippocampus", "rgb": [230, 159, 0]},
]
NAMES = {"swinunetr": "SwinUNETR v1 (compact, hippocampus, FreeSurfer aseg protocol)",
         "unetr": "UNETR (compact, hippocampus, FreeSurfer aseg protocol)"}


def manifest(model: str, onnx_name: str, digest: str, ck: dict, graph: dict, parity: dict,
             state: dict, settings: dict) -> dict:
    recipe = RECIPES[model]
    history = state.get("history", [])
    val = ck["val"]
    return {
        "id": f"{model}-fs",
        "name": NAMES[model],
        "status": "trained",
        "protocol": "freesurfer",
        "architecture": recipe.arch,
        "config": settings["config"],
        "onnx": onnx_name,
        "inputSize": list(recipe.input_size),
        "spacingMm": [1.0, 1.0, 1.0],
        "axisOrder": "ijk",
        "orientation": "as-is",
        "normalisation": {"kind": "zscore", "over": "all"},
        "labels": LABELS,
        "sha256": digest,
        "provenance": {
            "trainingData": "Synthetic T1-like crops generated on the fly (SynthSeg-style: training/synth) from the "
                            "SynthSeg training label maps training_seg_01..18 (FreeSurfer aseg codes; hippocampus "
                            "= 17 left / 53 right); training_seg_19, 20 held out for synthetic validation. No real "
                            "image was used for training or model selection.",
            "dataLicence": "SynthSeg label maps: Apache-2.0 (BBillot/SynthSeg commit 66342c1, "
                           "data/training_label_maps; Billot et al., Medical Image Analysis 2023)",
            "warmStart": {**{k: v for k, v in ck["init"].items() if k != "generator"}, "licence": "the MSD model was trained on Medical Segmentation Decathlon "
                                                   "Task04 Hippocampus, CC BY-SA 4.0 (Simpson et al. 2019; "
                                                   "Antonelli et al., Nat. Commun. 2022)"},
            "generator": ck["init"]["generator"],
            "command": ck["command"],
            "seed": settings["seed"],
            "framework": f"PyTorch {torch.__version__} (CPU), training/monai_nets.py",
            "recipe": {
                "steps": settings["steps"], "batch": settings["batch"], "loss": "dice (batch Dice, both classes)",
                "optimizer": f"Adam amsgrad lr {settings['lr']} weight_decay {settings['weight_decay']}",
                "schedule": "poly 0.9 per step: lr*(1-step/steps)^0.9",
                "scheduleChanges": settings.get("schedule_changes", []),
                "crops": "training/synth synthesise() with fs_crops.FS_CROP (the generator's CROP preset with "
                         "skull-stripping p 0.5: rotation up to 12 deg, scaling, shear, smooth deformation, T1-like or "
                         "random contrast, resolution, bias, noise, FreeSurfer look) on a 60x72x60 mm RAS box, then "
                         "the src/infer/msd-frame.ts framing around the synthesised hippocampus (left RAS, right "
                         "mirrored) moved by a whole-voxel jitter N(0, 2 mm) clipped at 5 mm (training/fs_crops.py)",
                "augmentation": "random 32x64x32 window (zero-pad shorter axes at a random offset), per-j-slice "
                                "intensity scale U(0.9,1.1) and shift U(-0.1,0.1); no flips",
                "selection": "best mean Dice on the synthetic validation crops",
            },
            "selectedStep": ck["step"],
            "trainingFinished": state.get("step", 0) >= settings["steps"],
            "stepsDone": state.get("step", 0),
            "trainingHours": round(state.get("train_seconds", 0) / 3600, 2),
            "preprocessing": "z-score over all voxels of the crop (ddof 0), then windows of inputSize; axes "
                             f"shorter than the window are zero-padded symmetrically; overlap {WINDOW_OVERLAP}",
            "export": {"opset": OPSET, "input": "image", "output": "logits",
                       "convTranspose": "k2s2 ConvTranspose3d exported as 1x1x1 Conv + depth-to-space",
                       "nodes": graph["nodes"], "opTypes": graph["op_types"], "onnxruntimeNodeParity": parity},
            "history": history,
        },
        "metrics": {
            "syntheticVal": {
                "source": "train_fs.py: sliding window, softmax > 0.5, no post-processing, on crops synthesised "
                          "from the held-out maps training_seg_19, 20 (4 jittered crops per side)",
                "cases": len(val["perCase"]),
                "meanDice": val["meanDice"],
                "perCase": val["perCase"],
            },
            # bench/fs-real.ts --write-manifest: real FreeSurfer-labelled scans, validation only.
            "real": None,
        },
    }


def export_fs_run(model: str, run_dir: Path, out_dir: Path, log: Callable[[str], None] = print,
                  allow_unfinished: bool = False) -> Path:
    from data import zscore_all
    from fs_crops import read_side_maps, sample
    from synth import load_priors
    from train_fs import VAL_MAPS
    ck = torch.load(run_dir / "best.pt")
    last = torch.load(run_dir / "last.pt")
    settings = json.loads((run_dir / "settings.json").read_text())
    state = last["state"]
    if state["step"] < settings["steps"] and not allow_unfinished:
        raise RuntimeError(f"{run_dir} has not finished its steps (use --allow-unfinished)")
    net = build(RECIPES[model].arch, settings["config"])
    net.load_state_dict(ck["model"])
    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{model}-fs.onnx"
    proto = export_onnx(net, RECIPES[model].input_size, onnx_path)
    graph = check_graph(proto, ck["model"])
    log(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, {graph['nodes']} nodes)")

    # Parity on a synthetic held-out crop, a deterministic window.
    priors = load_priors()
    boxes = [m for m in read_side_maps(run_dir.parent / "fs-cache" / "side-maps.npz", priors) if m.map_name in VAL_MAPS]
    rng = np.random.default_rng(0)
    img, lab = sample(boxes[0], priors, rng)
    win, _ = random_patch(zscore_all(img), lab, RECIPES[model].input_size, rng)
    x = np.ascontiguousarray(win)[None, None].astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    parity = ort_parity(onnx_path, x, expected)
    parity["case"] = f"synthetic crop of {boxes[0].map_name} {boxes[0].side}"
    log(f"onnxruntime-node vs PyTorch: max|err| {parity['max_abs_err']:.2e} (max|logit| {parity['max_abs_logit']:.1f})")

    man = manifest(model, onnx_path.name, sha256(onnx_path), ck, graph, parity, state, settings)
    man_path = out_dir / f"{model}-fs.json"
    old = json.loads(man_path.read_text()) if man_path.exists() else {}
    if old.get("sha256") == man["sha256"] and (old.get("metrics") or {}).get("real"):
        man["metrics"]["real"] = old["metrics"]["real"]  # same weights: the real-scan figures still hold
    man_path.write_text(json.dumps(man, indent=1) + "\n")
    log(f"wrote {man_path}: step {ck['step']}, synthetic val Dice {ck['val']['meanDice']:.4f}")
    return man_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(RECIPES))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=REPO / "models")
    ap.add_argument("--allow-unfinished", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    export_fs_run(args.model, REPO / "training" / "runs" / f"{args.model}-fs-seed{args.seed}", args.out,
                  allow_unfinished=args.allow_unfinished)
    return 0


if __name__ == "__main__":
    sys.exit(main())
