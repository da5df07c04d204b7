"""The full-head localiser: a compact 3-D U-Net on a 72³ grid at 4 mm.

Four resolutions (72³, 36³, 18³, 9³). Down: stride-2 max-pool; up: trilinear ×2 Resize then
a 3×3×3 conv (no ConvTranspose3d: onnxruntime-web's WebGPU provider lacks it). Instance
norm + LeakyReLU. 4 output classes: 0 background, 1 brain (intracranial, hippocampi
excluded), 2 left hippocampus (FreeSurfer 17), 3 right hippocampus (53).
"""
from __future__ import annotations

import torch
from torch import nn

N_CLASSES = 4
INPUT_SIZE = 72


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), nn.InstanceNorm3d(cout, affine=True),
                         nn.LeakyReLU(0.1, inplace=True))


class LocaliserUNet(nn.Module):
    def __init__(self, widths=(8, 16, 32, 48), full_res_convs: int = 1):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.enc0 = nn.Sequential(*([block(1, w0)] + [block(w0, w0) for _ in range(full_res_convs - 1)]))
        self.enc1 = nn.Sequential(block(w0, w1), block(w1, w1))
        self.enc2 = nn.Sequential(block(w1, w2), block(w2, w2))
        self.bott = nn.Sequential(block(w2, w3), block(w3, w3))
        self.pool = nn.MaxPool3d(2)
        self.up3 = block(w3, w2)
        self.dec2 = block(2 * w2, w2)
        self.up2 = block(w2, w1)
        self.dec1 = block(2 * w1, w1)
        self.up1 = block(w1, w0)
        self.dec0 = block(2 * w0, w0)
        self.head = nn.Conv3d(w0, N_CLASSES, 1)

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, scale_factor=2.0, mode='trilinear', align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e0 = self.enc0(x)
        e1 = self.enc1(self.pool(e0))
        e2 = self.enc2(self.pool(e1))
        b = self.bott(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up3(self._up(b)), e2], 1))
        d1 = self.dec1(torch.cat([self.up2(self._up(d2)), e1], 1))
        d0 = self.dec0(torch.cat([self.up1(self._up(d1)), e0], 1))
        return self.head(d0)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
