"""Export a trained run to models/<id>.onnx + models/<id>.json (the registry manifest).

    /usr/bin/python3 training/export.py --model swinunetr [--run training/runs/swinunetr-seed1000]

train.py calls this after its last epoch; run it by hand to re-export a run (for example
from the best checkpoint of an unfinished run, with --allow-unfinished).

The ONNX is opset 17, input `image` [1,1,D,H,W] float32, output `logits` [1,3,D,H,W],
static shapes, initializers named by the MONAI state_dict. Every ConvTranspose (k2 s2) is
exported as a 1x1x1 Conv + depth-to-space (ONNX Runtime's WebGPU provider has no 3-D
ConvTranspose); the Conv weight is computed in-graph from the named ConvTranspose weight.
The file is checked with onnx.checker and run with onnxruntime-node on a real val crop
window against PyTorch (training/ort_check.mjs).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from configs import RECIPES, Recipe, canonical_command  # noqa: E402
from data import WINDOW_OVERLAP, default_data_dir, load_case, load_split, random_patch  # noqa: E402
from monai_nets import build, export_mode  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OPSET = 17
# ORT CPU vs PyTorch float32 on the same graph: the fixtures measured 1.4e-5 (UNETR) and
# 3.6e-5 (Swin) max abs error on logits of magnitude ~10; 1e-4 of max|logit| allows for
# trained weights' larger logits and still fails on any graph or weight-layout error.
ORT_TOL_REL_MAX = 1e-4
# Ops that ONNX Runtime's WebGPU provider must not see (design.md: ConvTranspose 3-D fails
# at run time without falling back); Einsum / ScatterND are avoided to keep graphs plain.
FORBIDDEN_OPS = {"ConvTranspose", "Einsum", "ScatterND"}
LABELS = [
    {"value": 0, "name": "background", "rgb": [0, 0, 0]},
    # Okabe-Ito orange and sky blue: distinguishable with common colour-vision deficiencies.
    {"value": 1, "name": "hippocampus head", "rgb": [230, 159, 0]},
    {"value": 2, "name": "hippocampus body + tail", "rgb": [86, 180, 233]},
]


def export_onnx(model: torch.nn.Module, input_size: tuple[int, int, int], path: Path) -> onnx.ModelProto:
    model.eval().float()
    x = torch.zeros(1, 1, *input_size)
    with export_mode(), torch.no_grad():
        torch.onnx.export(model, x, str(path), opset_version=OPSET, input_names=["image"],
                          output_names=["logits"], export_params=True, do_constant_folding=False,
                          keep_initializers_as_inputs=False)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    return proto


def check_graph(proto: onnx.ModelProto, state: dict[str, torch.Tensor]) -> dict:
    ops = Counter(n.op_type for n in proto.graph.node)
    bad = FORBIDDEN_OPS & set(ops)
    if bad:
        raise RuntimeError(f"exported graph still has {sorted(bad)}")
    inits = {i.name for i in proto.graph.initializer}
    params = {k for k, v in state.items() if v.is_floating_point()}
    # torch dedupes identical tensors into one initializer; every other parameter must be
    # there under its own MONAI name.
    missing = sorted(params - inits)
    extra = sorted(inits - params)
    for name in missing:
        twin = [k for k in params & inits if torch.equal(state[k], state[name])]
        if not twin:
            raise RuntimeError(f"parameter {name} is not an initializer of the ONNX graph")
    return {"op_types": dict(sorted(ops.items())), "nodes": len(proto.graph.node),
            "initializers": len(inits), "deduplicated_parameters": missing, "other_initializers": extra}


def ort_parity(onnx_path: Path, x: np.ndarray, expected: np.ndarray) -> dict:
    """Run onnxruntime-node on `x` and compare with the PyTorch logits."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed for the onnxruntime-node check")
    with tempfile.TemporaryDirectory() as tmp:
        xin, yout = Path(tmp) / "x.bin", Path(tmp) / "y.bin"
        x.astype("<f4").tofile(xin)
        proc = subprocess.run([node, str(REPO / "training" / "ort_check.mjs"), str(onnx_path), str(xin),
                               ",".join(map(str, x.shape)), str(yout)], capture_output=True, text=True,
                              cwd=REPO)
        if proc.returncode:
            raise RuntimeError(f"ort_check failed: {proc.stderr or proc.stdout}")
        got = np.fromfile(yout, dtype="<f4").reshape(expected.shape)
    err = float(np.abs(got - expected).max())
    scale = float(np.abs(expected).max())
    argmax_agree = float((got.argmax(1) == expected.argmax(1)).mean())
    result = {"max_abs_err": err, "max_abs_logit": scale, "rel_to_max": err / scale,
              "argmax_agreement": argmax_agree, "tolerance_rel_to_max": ORT_TOL_REL_MAX}
    if err / scale > ORT_TOL_REL_MAX:
        raise RuntimeError(f"onnxruntime-node differs from PyTorch: {result}")
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Where the MSD subjects held their hippocampi relative to Colin27's, and how far about it the
# full-head crops may stay unturned (core/fullhead/head-pose.ts): `npm run bench -- training-pose`
# over base_train, and the perturbation grid with and without (bench/RESULTS.md, "Crops cut in the
# training subjects' pose").
MSD_TRAINING_POSE = {"pitchDeg": -10.7, "allowanceDeg": 0}
MSD_TRAINING_POSE_NOTE = (
    "measured: the MSD crops of base_train (every 4th, 40) registered to Colin27 at their hippocampi sit pitched "
    "-10.7 deg (sd 7.0; roll -2.3, turn 0.5) from its pose: npm run bench -- training-pose. Full-head crops are cut "
    "turned to that pose, with no allowance (bench/RESULTS.md, 'Crops cut in the training subjects' pose')")


def manifest(recipe: Recipe, onnx_name: str, digest: str, ck: dict, graph: dict, parity: dict,
             finished: bool, train_state: dict | None, settings: dict) -> dict:
    val = ck["val"]
    history = (train_state or {}).get("history", [])
    return {
        "id": recipe.model_id,
        "name": recipe.name,
        "status": "trained",
        "protocol": "msd",
        "architecture": recipe.arch,
        "config": recipe.config,
        "onnx": onnx_name,
        "inputSize": list(recipe.input_size),
        "spacingMm": [1.0, 1.0, 1.0],
        "axisOrder": "ijk",
        "orientation": "as-is",
        "trainingPose": MSD_TRAINING_POSE,
        "normalisation": {"kind": "zscore", "over": "all"},
        "labels": LABELS,
        "sha256": digest,
        "provenance": {
            "trainingData": "Medical Segmentation Decathlon Task04 Hippocampus, split.json 'base_train' "
                            "(158 cases); model selection on 'val' (40 cases); 'fewshot_pool' never used",
            "dataLicence": "CC BY-SA 4.0 (Simpson et al. 2019; Antonelli et al., Nat. Commun. 2022)",
            "command": canonical_command(settings),
            "seed": settings["seed"],
            "framework": f"PyTorch {torch.__version__} (CPU), training/monai_nets.py (MONAI 1.5 structure, "
                         "checked against ../shared/fixtures by training/check_against_fixtures.py)",
            "recipe": {
                "epochs": settings["epochs"], "batch": settings["batch"], "loss": settings["loss"],
                "optimizer": f"Adam amsgrad lr {settings['lr']} weight_decay {settings['weight_decay']}",
                "schedule": "poly 0.9 per epoch: round(lr*(1-epoch/epochs)^0.9, 8)",
                "scheduleChanges": settings.get("schedule_changes", []),
                "augmentation": "random crop to inputSize (zero-pad shorter axes at a random offset), flip "
                                "each axis p=0.5, per-j-slice intensity scale U(0.9,1.1) and shift U(-0.1,0.1)",
                "selection": "best mean Dice over head and body on val",
            },
            "selectedEpoch": ck["epoch"],
            "trainingFinished": finished,
            "epochsDone": len(history),
            "trainingHours": round(sum(h["seconds"] for h in history) / 3600, 2) if history else None,
            "differencesFromPaper": recipe.paper,
            "preprocessing": "z-score over all voxels of the crop (ddof 0), then windows of inputSize; axes "
                             f"shorter than the window are zero-padded symmetrically; overlap {WINDOW_OVERLAP}, "
                             "uniform averaging of softmax probabilities",
            "export": {"opset": OPSET, "input": "image", "output": "logits",
                       "convTranspose": "k2s2 ConvTranspose3d exported as 1x1x1 Conv + depth-to-space",
                       "nodes": graph["nodes"], "opTypes": graph["op_types"],
                       "onnxruntimeNodeParity": parity},
            "trainingPose": MSD_TRAINING_POSE_NOTE,
        },
        "metrics": {
            # Filled by cli_eval(): the studio's own pipeline on onnxruntime-node.
            "val": None,
            "valTraining": {
                "source": "training/train.py model selection in PyTorch: sliding window overlap "
                          f"{WINDOW_OVERLAP}, uniform blending, argmax, no post-processing",
                "cases": len(val["per_case"]),
                "mean": val["mean"],
                "perCase": val["per_case"],
            },
        },
    }


def cli_eval(model_id: str, data_dir: Path, log: Callable[[str], None]) -> dict:
    """`npx seahorse eval` on val with the manifest just written: the headline metrics."""
    try:
        data_arg = str(data_dir.resolve().relative_to(REPO.parent.resolve()))
        data_arg = f"../{data_arg}"
    except ValueError:
        data_arg = str(data_dir)
    args = ["eval", "--model", model_id, "--data", data_arg, "--split", f"{data_arg}/split.json", "--set", "val"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "eval.json"
        proc = subprocess.run(["node", str(REPO / "bin" / "seahorse.mjs"), *args, "--json", str(out)],
                              capture_output=True, text=True, cwd=REPO)
        if proc.returncode:
            raise RuntimeError(f"seahorse eval failed: {proc.stderr or proc.stdout}")
        result = json.loads(out.read_text())
    mean = {m["name"]: {k: m[k]["mean"] for k in ("dice", "hd95", "mm3Predicted", "mm3Reference")}
            for m in result["mean"]}
    head, body = mean["hippocampus head"]["dice"], mean["hippocampus body + tail"]["dice"]
    log(f"seahorse eval on val: Dice head {head:.4f} body {body:.4f} "
        f"whole {mean['whole (label > 0)']['dice']:.4f}, HD95 whole {mean['whole (label > 0)']['hd95']:.2f} mm")
    return {
        "source": "npx seahorse " + " ".join(args) + f" ({result['backend']['reason']})",
        "cases": len(result["cases"]),
        "mean": mean,
        "meanDiceHeadBody": (head + body) / 2,
        "perCase": result["cases"],
    }


README_START, README_END = "<!-- trained-models:start -->", "<!-- trained-models:end -->"


def update_models_readme(models_dir: Path) -> None:
    """Regenerate the metrics table of models/README.md from the trained manifests."""
    readme = models_dir / "README.md"
    if not readme.exists():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    rows = ["| id | epochs | head | body + tail | mean head/body | whole | HD95 whole | ONNX |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for path in sorted(models_dir.glob("*.json")):
        man = json.loads(path.read_text())
        val = (man.get("metrics") or {}).get("val")
        if man.get("status") != "trained" or not val:
            continue
        m = val["mean"]
        prov = man["provenance"]
        epochs = f"{prov['selectedEpoch']} of {prov['recipe']['epochs']}"
        if not prov["trainingFinished"]:
            epochs += f" (interim: {prov['epochsDone']} done)"
        size = (models_dir / man["onnx"]).stat().st_size / 1e6
        rows.append(f"| `{man['id']}` | {epochs} | {m['hippocampus head']['dice']:.3f} | "
                    f"{m['hippocampus body + tail']['dice']:.3f} | {val['meanDiceHeadBody']:.3f} | "
                    f"{m['whole (label > 0)']['dice']:.3f} | {m['whole (label > 0)']['hd95']:.2f} mm | {size:.1f} MB |")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(head + README_START + "\n" + "\n".join(rows) + "\n" + README_END + tail)


def export_run(model_id: str, run_dir: Path, out_dir: Path, log: Callable[[str], None] = print,
               allow_unfinished: bool = False, data_dir: Path | None = None) -> Path:
    recipe = RECIPES[model_id]
    best = run_dir / "best.pt"
    if not best.exists():
        raise FileNotFoundError(f"{best} not found: train first")
    ck = torch.load(best)
    last = run_dir / "last.pt"
    train_state = torch.load(last)["state"] if last.exists() else None
    # The run's settings, not the checkpoint's: a --reschedule after the best epoch is recorded there.
    settings = json.loads((run_dir / "settings.json").read_text())
    finished = bool(train_state and train_state["epoch"] >= settings["epochs"])
    if not finished and not allow_unfinished:
        raise RuntimeError(f"{run_dir} has not finished its epochs (use --allow-unfinished)")
    model = build(recipe.arch, recipe.config)
    model.load_state_dict(ck["model"])
    model.eval()

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{model_id}.onnx"
    proto = export_onnx(model, recipe.input_size, onnx_path)
    graph = check_graph(proto, ck["model"])
    size_mb = onnx_path.stat().st_size / 1e6
    log(f"exported {onnx_path} ({size_mb:.1f} MB, {graph['nodes']} nodes: {graph['op_types']})")

    # Parity on a real crop: the first val case, a deterministic window.
    data_dir = data_dir or default_data_dir()
    case = load_case(data_dir, load_split(data_dir, "val")[0])
    img, _ = random_patch(case.image, case.label, recipe.input_size, np.random.default_rng(0))
    x = np.ascontiguousarray(img)[None, None].astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    parity = ort_parity(onnx_path, x, expected)
    parity["case"] = case.name
    log(f"onnxruntime-node vs PyTorch on {case.name}: max|err| {parity['max_abs_err']:.2e} "
        f"(max|logit| {parity['max_abs_logit']:.1f}), argmax agreement {parity['argmax_agreement']:.6f}")

    digest = sha256(onnx_path)
    man = manifest(recipe, onnx_path.name, digest, ck, graph, parity, finished, train_state, settings)
    man_path = out_dir / f"{model_id}.json"
    man_path.write_text(json.dumps(man, indent=1) + "\n")
    if out_dir.resolve() == (REPO / "models").resolve():
        man["metrics"]["val"] = cli_eval(model_id, data_dir, log)
    else:
        del man["metrics"]["val"]  # the CLI evaluates registry models (models/) only
    man_path.write_text(json.dumps(man, indent=1) + "\n")
    update_models_readme(out_dir)
    m = ck["val"]["mean"]
    log(f"wrote {man_path}: epoch {ck['epoch']}, val Dice head {m['head']['dice']:.4f} body "
        f"{m['body']['dice']:.4f} whole {m['whole']['dice']:.4f}, sha256 {digest[:12]}…")
    return man_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(RECIPES))
    ap.add_argument("--run", type=Path, help="default: training/runs/<model>-seed1000")
    ap.add_argument("--out", type=Path, default=REPO / "models")
    ap.add_argument("--allow-unfinished", action="store_true",
                    help="export the best checkpoint so far of a run that is still training")
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--readme-only", action="store_true", help="only regenerate the table in models/README.md")
    args = ap.parse_args()
    if args.readme_only:
        update_models_readme(args.out)
        return 0
    torch.set_num_threads(2)
    run = args.run or REPO / "training" / "runs" / f"{args.model}-seed1000"
    export_run(args.model, run, args.out, allow_unfinished=args.allow_unfinished, data_dir=args.data)
    print(f"python {platform.python_version()}, torch {torch.__version__}, onnx {onnx.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
