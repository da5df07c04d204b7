"""The two shipped base models: MONAI constructor kwargs and training recipe.

Why these sizes (measured with bench_throughput.py on this 2-core CPU; see README.md):
* Window 32x64x32 for both. MSD crops are 31-43 x 40-59 x 24-47 voxels, so the long axis
  (j) fits in one window and the other two need at most 2 windows each (overlap 0.25).
  SwinUNETR needs multiples of 32, UNETR multiples of 16; one window size keeps the
  pipeline and the comparison simple. 48x64x48 (UNETR) cost ~3x more per sample.
* SwinUNETR feature_size 12 (the fixtures' size, 3.9 M parameters, ~15 MB ONNX) with
  window 4 instead of 7: with a 16x32x16 stage-1 grid, window 7 pads it to 21x35x21
  (1.9x the tokens) and spends ~70% of a training step in attention; window 4 tiles it
  exactly and trained ~3x faster per sample. feature_size 24 would be 15.7 M parameters
  (60 MB of float32, over the 50 MB budget).
* UNETR hidden 192 / MLP 768 / 3 heads (head dim 64 as in the paper's 768/12), 12 layers,
  feature_size 16, patch 16: 8.9 M parameters (~34 MB). Hidden 384 is 26 M (100 MB).
"""
from __future__ import annotations

from dataclasses import dataclass, field

INPUT_SIZE = (32, 64, 32)
# The papers' loss (peft-methods.md 1.3); Dice + CE measured no better (README.md).
DEFAULT_LOSS = "dice"


@dataclass(frozen=True)
class Recipe:
    model_id: str
    name: str
    arch: str
    config: dict
    batch: int
    weight_decay: float
    epochs: int
    lr: float = 1e-3  # peft-methods.md 1.3 (Adam, amsgrad, poly 0.9)
    poly_power: float = 0.9
    input_size: tuple[int, int, int] = INPUT_SIZE
    paper: dict = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "unetr": Recipe(
        model_id="unetr",
        name="UNETR (compact, hippocampus head/body)",
        arch="UNETR",
        config={
            "in_channels": 1, "out_channels": 3, "img_size": list(INPUT_SIZE), "feature_size": 16,
            "hidden_size": 192, "mlp_dim": 768, "num_heads": 3, "proj_type": "conv",
            "norm_name": "instance", "res_block": True, "conv_block": True, "dropout_rate": 0.0,
        },
        batch=4,  # LoRA-PT's batch size and weight decay
        weight_decay=1e-5,
        epochs=50,
        paper={"hidden_size": 768, "mlp_dim": 3072, "num_heads": 12, "feature_size": 16,
               "img_size": [128, 128, 128], "dropout_rate": 0.1, "out_channels": 2,
               "parameters": 93_011_170},
    ),
    "swinunetr": Recipe(
        model_id="swinunetr",
        name="SwinUNETR v1 (compact, hippocampus head/body)",
        arch="SwinUNETR",
        config={
            "in_channels": 1, "out_channels": 3, "feature_size": 12, "depths": [2, 2, 2, 2],
            "num_heads": [3, 6, 12, 24], "window_size": 4, "patch_size": 2, "norm_name": "instance",
            "downsample": "merging", "use_v2": False,
        },
        batch=2,  # HyPS's batch size and weight decay
        weight_decay=2e-5,
        epochs=50,
        paper={"feature_size": 48, "window_size": 7, "img_size": [128, 128, 128], "out_channels": 2,
               "downsample": "merging (legacy slice order in the HyPS repo)", "parameters": "about 62.2 M"},
    ),
}


def canonical_command(settings: dict) -> str:
    """The command(s) that (re)create a run from its settings, whatever flags started it. A run
    whose schedule was shortened with --reschedule is recreated by stopping at that epoch and
    resuming with the new horizon, joined with &&."""
    base = f"/usr/bin/python3 training/train.py --model {settings['model']} --seed {settings['seed']}"
    if settings["loss"] != DEFAULT_LOSS:
        base += f" --loss {settings['loss']}"
    changes = settings.get("schedule_changes", [])
    horizons = [c["epochs_from"] for c in changes] + [settings["epochs"]]
    steps = []
    for n, epochs in enumerate(horizons):
        cmd = base + (f" --epochs {epochs}" if epochs != RECIPES[settings["model"]].epochs else "")
        if n > 0:
            cmd += " --reschedule"
        if n < len(changes):
            cmd += f" --stop-after {changes[n]['at_epoch']}"
        steps.append(cmd)
    return " && ".join(steps)
