"""Prove the PyTorch port in monai_nets.py against the golden MONAI fixtures.

Loads ../shared/fixtures/{unetr_tiny,swinunetr_tiny}/weights.bin by state_dict name, runs
input.bin in float64 and compares with logits.bin and loss.json (and the legacy-merging
variant's sampled logits and loss). Exits non-zero on any mismatch.

    /usr/bin/python3 training/check_against_fixtures.py [--fixtures ../shared/fixtures]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monai_nets import SwinUNETR, UNETR, export_mode, load_monai_state_dict  # noqa: E402
from losses import dice_loss_terms  # noqa: E402

# The references are float64 results stored as float32 (relative rounding <= 6e-8 of
# each element, fixtures README section 0), so a float64 port can only agree to ~1e-7 of
# max|ref|. 1e-6 leaves headroom for summation-order differences; any structural error
# (wrong merge order, missing mask, misnamed weight) is >= 1e-2 (legacy vs MONAI: 1.52).
LOGIT_TOL_REL_MAX = 1e-6
# The loss is stored in float64; ours sums over ~1e5 voxels in float64 from float32-stored
# logits' inputs, so 1e-9 absolute is ample and still far below any real difference.
LOSS_TOL_ABS = 1e-9
SAMPLE_STRIDE = 61


def load_bin_index(folder: Path, stem: str) -> dict[str, torch.Tensor]:
    idx = json.loads((folder / f"{stem}.json").read_text())
    buf = (folder / f"{stem}.bin").read_bytes()
    dtypes = {"float32": np.float32, "int64": np.int64, "uint8": np.uint8}
    out = {}
    for name, e in idx["tensors"].items():
        shape = e["shape"]
        n = int(np.prod(shape)) if shape else 1
        arr = np.frombuffer(buf, dtype=dtypes[e["dtype"]], count=n, offset=e["offset"]).reshape(shape)
        out[name] = torch.from_numpy(arr.copy())
    return out


def read_array(path: Path, dtype: type, shape: list[int]) -> np.ndarray:
    return np.fromfile(path, dtype=dtype).reshape(shape)


def compare(name: str, got: np.ndarray, ref: np.ndarray, tol: float) -> bool:
    err = float(np.abs(got - ref).max())
    scale = float(np.abs(ref).max())
    rel = err / scale
    ok = rel <= tol
    print(f"  {name:<32} max|err| {err:.3e}  / max|ref| {scale:.3g} = {rel:.2e}  {'OK' if ok else 'FAIL'}")
    return ok


def check_loss(name: str, got: float, ref: float) -> bool:
    err = abs(got - ref)
    ok = err <= LOSS_TOL_ABS
    print(f"  {name:<32} {got:.16f} vs {ref:.16f}  |err| {err:.1e}  {'OK' if ok else 'FAIL'}")
    return ok


def run_case(model: torch.nn.Module, folder: Path, export: bool = False) -> tuple[np.ndarray, float, list[float]]:
    """Float64 forward + loss; with export=True, the trace-friendly export forward."""
    io = json.loads((folder / "io.json").read_text())
    x = read_array(folder / "input.bin", np.float32, io["input"]["shape"])
    y = read_array(folder / "label.bin", np.uint8, io["label"]["shape"])
    model.double().eval()
    with torch.no_grad(), (export_mode() if export else contextlib.nullcontext()):
        logits = model(torch.from_numpy(x).double())
        terms = dice_loss_terms(logits, torch.from_numpy(y.astype(np.int64))[None], 3)
    return logits.numpy(), float(terms.sum()), [float(t) for t in terms]


def check_unetr(fx: Path) -> bool:
    folder = fx / "unetr_tiny"
    kw = json.loads((folder / "config.json").read_text())["kwargs"]
    model = UNETR(kw["in_channels"], kw["out_channels"], kw["img_size"], kw["feature_size"],
                  kw["hidden_size"], kw["mlp_dim"], kw["num_heads"], kw["dropout_rate"])
    load_monai_state_dict(model, load_bin_index(folder, "weights"))
    logits, loss, _ = run_case(model, folder)
    io = json.loads((folder / "io.json").read_text())
    ref = read_array(folder / "logits.bin", np.float32, io["logits"]["shape"])
    print("unetr_tiny")
    ok = compare("logits", logits, ref, LOGIT_TOL_REL_MAX)
    ok = check_loss("loss", loss, json.loads((folder / "loss.json").read_text())["loss_float64"]) and ok
    logits, _, _ = run_case(model, folder, export=True)
    return compare("logits, export forward", logits, ref, LOGIT_TOL_REL_MAX) and ok


def swin_model(folder: Path, merging: str) -> SwinUNETR:
    kw = json.loads((folder / "config.json").read_text())["kwargs"]
    model = SwinUNETR(kw["in_channels"], kw["out_channels"], kw["feature_size"], kw["depths"],
                      kw["num_heads"], merging=merging)
    state = load_bin_index(folder, "weights")
    load_monai_state_dict(model, state)
    return model


def check_swin(fx: Path) -> bool:
    folder = fx / "swinunetr_tiny"
    print("swinunetr_tiny (MONAI 1.5 merging)")
    logits, loss, _ = run_case(swin_model(folder, "monai"), folder)
    io = json.loads((folder / "io.json").read_text())
    ref = read_array(folder / "logits.bin", np.float32, io["logits"]["shape"])
    ok = compare("logits", logits, ref, LOGIT_TOL_REL_MAX)
    ok = check_loss("loss", loss, json.loads((folder / "loss.json").read_text())["loss_float64"]) and ok
    logits, _, _ = run_case(swin_model(folder, "monai"), folder, export=True)
    ok = compare("logits, export forward", logits, ref, LOGIT_TOL_REL_MAX) and ok

    print("swinunetr_tiny/legacy_merging")
    legacy = json.loads((folder / "legacy_merging" / "legacy.json").read_text())
    logits, loss, _ = run_case(swin_model(folder, "legacy"), folder)
    sample = np.fromfile(folder / "legacy_merging" / "logits_sample.bin", dtype=np.float32)
    ok = compare("logits (every 61st)", logits.reshape(-1)[::SAMPLE_STRIDE], sample, LOGIT_TOL_REL_MAX) and ok
    l2 = float(np.sqrt((logits.astype(np.float64) ** 2).sum()))
    l2_ref = legacy["logits_checksums"]["l2"]
    l2_ok = abs(l2 - l2_ref) / l2_ref <= LOGIT_TOL_REL_MAX
    print(f"  {'logits l2 (full)':<32} {l2:.10g} vs {l2_ref:.10g}  {'OK' if l2_ok else 'FAIL'}")
    return check_loss("loss", loss, legacy["loss_float64"]) and ok and l2_ok


def check_onnx(fx: Path) -> bool:
    """Export path: fixture weights -> export.py's ONNX -> onnxruntime-node vs logits.bin."""
    import tempfile
    from export import ORT_TOL_REL_MAX, check_graph, export_onnx, ort_parity
    ok = True
    for name, model in (("unetr_tiny", None), ("swinunetr_tiny", None)):
        folder = fx / name
        kw = json.loads((folder / "config.json").read_text())["kwargs"]
        if name == "unetr_tiny":
            model = UNETR(kw["in_channels"], kw["out_channels"], kw["img_size"], kw["feature_size"],
                          kw["hidden_size"], kw["mlp_dim"], kw["num_heads"], kw["dropout_rate"])
        else:
            model = SwinUNETR(kw["in_channels"], kw["out_channels"], kw["feature_size"], kw["depths"],
                              kw["num_heads"])
        state = load_bin_index(folder, "weights")
        load_monai_state_dict(model, state)
        io = json.loads((folder / "io.json").read_text())
        x = read_array(folder / "input.bin", np.float32, io["input"]["shape"])
        ref = read_array(folder / "logits.bin", np.float32, io["logits"]["shape"])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            proto = export_onnx(model, tuple(io["input"]["shape"][2:]), path)
            graph = check_graph(proto, model.state_dict())
            try:
                parity = ort_parity(path, x, ref)
                good = True
            except RuntimeError as e:
                print(f"  {name} onnx: {e}")
                good = False
        if good:
            print(f"{name} ONNX (export.py, {graph['nodes']} nodes, no ConvTranspose) in onnxruntime-node")
            print(f"  {'logits vs logits.bin':<32} max|err| {parity['max_abs_err']:.3e} / max|ref| "
                  f"{parity['max_abs_logit']:.3g} = {parity['rel_to_max']:.2e} (tol {ORT_TOL_REL_MAX:g})  OK")
        ok = ok and good
    return ok


def main() -> int:
    default = Path(os.environ.get("SEAHORSE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "fixtures"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=Path, default=default)
    ap.add_argument("--onnx", action="store_true",
                    help="also export both fixture models with export.py and run them in onnxruntime-node")
    args = ap.parse_args()
    if not args.fixtures.is_dir():
        print(f"fixtures not found at {args.fixtures} (set SEAHORSE_SHARED)", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    ok = check_unetr(args.fixtures)
    ok = check_swin(args.fixtures) and ok
    if args.onnx:
        ok = check_onnx(args.fixtures) and ok
    print("ALL OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
