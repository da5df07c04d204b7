"""Segmentation losses (peft-methods.md section 1.3, generalised to C classes)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

DICE_EPS = 1e-5  # the authors' smoothing term (criterionsWT.softmax_dice2)


def dice_loss_terms(logits: torch.Tensor, label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class batch-Dice terms 1 - 2*sum(p*t) / (sum p + sum t + eps), background included.

    logits [B, C, D, H, W]; label [B, D, H, W] integer. Sums run over batch and voxels.
    """
    p = torch.softmax(logits, dim=1)
    t = F.one_hot(label.long(), num_classes).permute(0, 4, 1, 2, 3).to(p.dtype)
    dims = (0, 2, 3, 4)
    inter = (p * t).sum(dims)
    return 1 - 2 * inter / (p.sum(dims) + t.sum(dims) + DICE_EPS)


def dice_loss(logits: torch.Tensor, label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Sum over classes of the batch-Dice terms (no mean, no CE): the papers' loss."""
    return dice_loss_terms(logits, label, num_classes).sum()


def dice_ce_loss(logits: torch.Tensor, label: torch.Tensor, num_classes: int,
                 ce_weight: float = 1.0) -> torch.Tensor:
    """The papers' Dice plus voxel-mean cross-entropy (weighted by ce_weight)."""
    return dice_loss(logits, label, num_classes) + ce_weight * F.cross_entropy(logits, label.long())
