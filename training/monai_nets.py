"""UNETR and SwinUNETR (v1) in plain PyTorch with MONAI 1.5's module structure.

MONAI cannot be installed here, so these are written from its documented structure and
checked number-for-number against the golden fixtures (`check_against_fixtures.py`).
Module nesting, registration order and `state_dict` names are MONAI's, so checkpoints
load either way. What is left out: UNETR's unused MONAI>=1.4 cross-attention parameters
(a MONAI-1.5 checkpoint loads with `load_monai_state_dict`, which drops them), dropout
paths other than plain dropout, v2 residual blocks, 2-D variants.

Two things exist only for ONNX export (`export_mode()`); both leave weights and names as
they are:
* a kernel-2 stride-2 ConvTranspose3d runs as a 1x1x1 Conv with out*8 channels plus a
  depth-to-space Reshape/Transpose (ONNX Runtime's WebGPU provider has no 3-D
  ConvTranspose); the Conv weight is a Transpose+Reshape of the stored ConvTranspose
  weight, so the initializer keeps its MONAI name;
* shape arithmetic uses Python ints and the Swin shift masks / relative-position indices
  are baked as constants, so the graph has no Shape/ScatterND chains.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Triple = tuple[int, int, int]

_EXPORT = False


@contextlib.contextmanager
def export_mode() -> Iterator[None]:
    """Trace-friendly forward for torch.onnx.export (see module docstring)."""
    global _EXPORT
    previous, _EXPORT = _EXPORT, True
    try:
        yield
    finally:
        _EXPORT = previous


def _dims(x: torch.Tensor) -> list[int]:
    """Static shape as Python ints: traced as constants, not Shape ops."""
    return [int(s) for s in x.shape]


def _triple(v: int | Sequence[int]) -> Triple:
    if isinstance(v, int):
        return (v, v, v)
    t = tuple(int(i) for i in v)
    assert len(t) == 3, f"expected 3 spatial values, got {v}"
    return t  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Convolutional blocks (monai.networks.blocks.dynunet_block / unetr_block)
# --------------------------------------------------------------------------------------

class Convolution(nn.Sequential):
    """MONAI `Convolution(conv_only=True)`: a Sequential whose only child is `conv`."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = False,
                 transposed: bool = False):
        super().__init__()
        if transposed:
            # get_padding(k, s) = (k - s + 1) // 2 and output padding 2p + s - k: 0 for k2 s2.
            assert kernel == 2 and stride == 2, "only MONAI's k2 s2 up-sampling is used"
            self.add_module("conv", nn.ConvTranspose3d(cin, cout, kernel, stride, bias=bias))
        else:
            pad = (kernel - stride + 1) // 2
            self.add_module("conv", nn.Conv3d(cin, cout, kernel, stride, padding=pad, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        conv = self.conv
        if _EXPORT and isinstance(conv, nn.ConvTranspose3d):
            return _k2s2_transposed_as_conv(x, conv)
        return conv(x)


def _k2s2_transposed_as_conv(x: torch.Tensor, conv: nn.ConvTranspose3d) -> torch.Tensor:
    """ConvTranspose3d(k=2, s=2) == Conv 1x1x1 to (out,a,b,c) channels + depth-to-space.

    y[o, 2d+a, 2h+b, 2w+c] = sum_i x[i, d, h, w] * W[i, o, a, b, c].
    """
    cin, cout = int(conv.weight.shape[0]), int(conv.weight.shape[1])
    w = conv.weight.permute(1, 2, 3, 4, 0).reshape(cout * 8, cin, 1, 1, 1)
    y = F.conv3d(x, w, conv.bias.repeat_interleave(8) if conv.bias is not None else None)
    b, _, d, h, wd = _dims(x)
    y = y.reshape(b, cout, 2, 2, 2, d, h, wd).permute(0, 1, 5, 2, 6, 3, 7, 4)
    return y.reshape(b, cout, 2 * d, 2 * h, 2 * wd)


class UnetResBlock(nn.Module):
    """conv3-IN-LReLU-conv3-IN (+ 1x1 conv-IN residual when channels change), then LReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1):
        super().__init__()
        self.conv1 = Convolution(cin, cout, kernel, stride)
        self.conv2 = Convolution(cout, cout, kernel, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.01, inplace=True)
        self.norm1 = nn.InstanceNorm3d(cout)
        self.norm2 = nn.InstanceNorm3d(cout)
        if cin != cout or stride != 1:
            self.conv3 = Convolution(cin, cout, 1, stride)
            self.norm3 = nn.InstanceNorm3d(cout)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.norm1(self.conv1(inp)))
        out = self.norm2(self.conv2(out))
        residual = inp
        if hasattr(self, "conv3"):
            residual = self.norm3(self.conv3(residual))
        return self.lrelu(out + residual)


class UnetrBasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.layer = UnetResBlock(cin, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class UnetrPrUpBlock(nn.Module):
    """transp_conv_init, then `num_layer` x (transposed conv, UnetResBlock)."""

    def __init__(self, cin: int, cout: int, num_layer: int):
        super().__init__()
        self.transp_conv_init = Convolution(cin, cout, 2, 2, transposed=True)
        self.blocks = nn.ModuleList([
            nn.Sequential(Convolution(cout, cout, 2, 2, transposed=True), UnetResBlock(cout, cout))
            for _ in range(num_layer)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.transp_conv_init(x)
        for blk in self.blocks:
            x = blk(x)
        return x


class UnetrUpBlock(nn.Module):
    """Transposed conv up, concatenate the skip, UnetResBlock(2*out -> out)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.transp_conv = Convolution(cin, cout, 2, 2, transposed=True)
        self.conv_block = UnetResBlock(cout + cout, cout)

    def forward(self, inp: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv_block(torch.cat((self.transp_conv(inp), skip), dim=1))


class UnetOutBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = Convolution(cin, cout, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MLPBlock(nn.Module):
    """linear1 - GELU (exact erf) - dropout - linear2 - dropout."""

    def __init__(self, hidden: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.linear1 = nn.Linear(hidden, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden)
        self.fn = nn.GELU()
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.linear2(self.drop1(self.fn(self.linear1(x)))))


# --------------------------------------------------------------------------------------
# UNETR (monai.networks.nets.UNETR with its ViT)
# --------------------------------------------------------------------------------------

class SABlock(nn.Module):
    """Multi-head self-attention; `out_proj` is registered before `qkv` as in MONAI."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0, qkv_bias: bool = False):
        super().__init__()
        assert hidden % heads == 0
        self.out_proj = nn.Linear(hidden, hidden)
        self.qkv = nn.Linear(hidden, hidden * 3, bias=qkv_bias)
        self.drop_output = nn.Dropout(dropout)
        self.drop_weights = nn.Dropout(dropout)
        self.num_heads = heads
        self.scale = (hidden // heads) ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = _dims(x)
        # "b n (qkv l d) -> qkv b l n d": Q|K|V blocks, each head-major.
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (torch.matmul(q, k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        x = torch.matmul(self.drop_weights(att), v)
        x = x.permute(0, 2, 1, 3).reshape(b, n, c)
        return self.drop_output(self.out_proj(x))


class TransformerBlock(nn.Module):
    """Pre-norm block; registration order mlp, norm1, attn, norm2 as in MONAI."""

    def __init__(self, hidden: int, mlp_dim: int, heads: int, dropout: float = 0.0,
                 qkv_bias: bool = False):
        super().__init__()
        self.mlp = MLPBlock(hidden, mlp_dim, dropout)
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = SABlock(hidden, heads, dropout, qkv_bias)
        self.norm2 = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbeddingBlock(nn.Module):
    def __init__(self, cin: int, img_size: Triple, patch: Triple, hidden: int, dropout: float = 0.0):
        super().__init__()
        n_patches = math.prod(i // p for i, p in zip(img_size, patch))
        self.patch_embeddings = nn.Conv3d(cin, hidden, kernel_size=patch, stride=patch)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n_patches, hidden))
        self.dropout = nn.Dropout(dropout)
        nn.init.trunc_normal_(self.position_embeddings, std=0.02, a=-2.0, b=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embeddings(x)
        b, c = _dims(x)[:2]
        x = x.reshape(b, c, -1).transpose(1, 2)  # tokens in C order of the (d, h, w) grid
        return self.dropout(x + self.position_embeddings)


class ViT(nn.Module):
    def __init__(self, cin: int, img_size: Triple, patch: Triple, hidden: int, mlp_dim: int,
                 layers: int, heads: int, dropout: float = 0.0, qkv_bias: bool = False):
        super().__init__()
        self.patch_embedding = PatchEmbeddingBlock(cin, img_size, patch, hidden, dropout)
        self.blocks = nn.ModuleList(
            [TransformerBlock(hidden, mlp_dim, heads, dropout, qkv_bias) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.patch_embedding(x)
        hidden_states_out = []
        for blk in self.blocks:
            x = blk(x)
            hidden_states_out.append(x)
        return self.norm(x), hidden_states_out


UNETR_PATCH = 16
UNETR_LAYERS = 12


class UNETR(nn.Module):
    """MONAI UNETR (proj_type='conv', norm 'instance', res_block=True, conv_block=True)."""

    def __init__(self, in_channels: int, out_channels: int, img_size: int | Sequence[int],
                 feature_size: int = 16, hidden_size: int = 768, mlp_dim: int = 3072,
                 num_heads: int = 12, dropout_rate: float = 0.0, qkv_bias: bool = False):
        super().__init__()
        self.img_size = _triple(img_size)
        patch = _triple(UNETR_PATCH)
        assert all(i % p == 0 for i, p in zip(self.img_size, patch)), "img_size must be a multiple of 16"
        self.feat_size = tuple(i // p for i, p in zip(self.img_size, patch))
        self.hidden_size = hidden_size
        fs = feature_size
        self.vit = ViT(in_channels, self.img_size, patch, hidden_size, mlp_dim, UNETR_LAYERS,
                       num_heads, dropout_rate, qkv_bias)
        self.encoder1 = UnetrBasicBlock(in_channels, fs)
        self.encoder2 = UnetrPrUpBlock(hidden_size, fs * 2, num_layer=2)
        self.encoder3 = UnetrPrUpBlock(hidden_size, fs * 4, num_layer=1)
        self.encoder4 = UnetrPrUpBlock(hidden_size, fs * 8, num_layer=0)
        self.decoder5 = UnetrUpBlock(hidden_size, fs * 8)
        self.decoder4 = UnetrUpBlock(fs * 8, fs * 4)
        self.decoder3 = UnetrUpBlock(fs * 4, fs * 2)
        self.decoder2 = UnetrUpBlock(fs * 2, fs)
        self.out = UnetOutBlock(fs, out_channels)

    def proj_feat(self, x: torch.Tensor) -> torch.Tensor:
        b = _dims(x)[0]
        x = x.reshape(b, *self.feat_size, self.hidden_size)
        return x.permute(0, 4, 1, 2, 3).contiguous()

    def forward(self, x_in: torch.Tensor) -> torch.Tensor:
        x, hs = self.vit(x_in)
        enc1 = self.encoder1(x_in)
        enc2 = self.encoder2(self.proj_feat(hs[3]))
        enc3 = self.encoder3(self.proj_feat(hs[6]))
        enc4 = self.encoder4(self.proj_feat(hs[9]))
        dec3 = self.decoder5(self.proj_feat(x), enc4)
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        return self.out(self.decoder2(dec1, enc1))


# --------------------------------------------------------------------------------------
# SwinUNETR v1 (monai.networks.nets.swin_unetr)
# --------------------------------------------------------------------------------------

def get_window_size(x_size: Sequence[int], window: Triple, shift: Triple) -> tuple[Triple, Triple]:
    """MONAI clamps the window to the feature size and drops the shift along that axis."""
    w, s = list(window), list(shift)
    for i, n in enumerate(x_size):
        if n <= window[i]:
            w[i] = n
            s[i] = 0
    return tuple(w), tuple(s)  # type: ignore[return-value]


def window_partition(x: torch.Tensor, ws: Triple) -> torch.Tensor:
    b, d, h, w, c = _dims(x)
    x = x.reshape(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws[0] * ws[1] * ws[2], c)


def window_reverse(windows: torch.Tensor, ws: Triple, dims: Sequence[int]) -> torch.Tensor:
    b, d, h, w = dims
    x = windows.reshape(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def compute_mask(dims: Sequence[int], ws: Triple, shift: Triple) -> np.ndarray:
    """Region ids of the cyclic shift -> 0 / -100 additive mask [n_windows, n, n].

    The slices are MONAI's, including slice(-0, None) == everything along an axis whose
    shift is 0 (that axis then contributes no split).
    """
    d, h, w = dims
    img = np.zeros((1, d, h, w, 1), dtype=np.float64)
    cnt = 0
    def cuts(i: int) -> list[slice]:
        return [slice(-ws[i]), slice(-ws[i], -shift[i]), slice(-shift[i], None)]
    for sd in cuts(0):
        for sh in cuts(1):
            for sw in cuts(2):
                img[:, sd, sh, sw, :] = cnt
                cnt += 1
    m = img.reshape(1, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], 1)
    m = m.transpose(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws[0] * ws[1] * ws[2])
    diff = m[:, None, :] - m[:, :, None]
    return np.where(diff != 0, -100.0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: Triple, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        self.dim, self.num_heads, self.window_size = dim, heads, window
        self.scale = (dim // heads) ** -0.5
        w0, w1, w2 = window
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * w0 - 1) * (2 * w1 - 1) * (2 * w2 - 1), heads))
        self.register_buffer("relative_position_index", torch.from_numpy(relative_position_index(window)))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.softmax = nn.Softmax(dim=-1)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = _dims(x)
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1))
        # MONAI takes the top-left n x n block of the full-window index, also when the
        # window was clamped (then it is not the geometric index of the smaller window).
        if _EXPORT:
            index = torch.from_numpy(relative_position_index(self.window_size)[:n, :n].reshape(-1).copy())
        else:
            index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = int(mask.shape[0])
            attn = attn.reshape(b // nw, nw, self.num_heads, n, n) + mask.to(attn.dtype).unsqueeze(1).unsqueeze(0)
            attn = attn.reshape(-1, self.num_heads, n, n)
        attn = self.attn_drop(self.softmax(attn))
        x = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


def relative_position_index(window: Triple) -> np.ndarray:
    w0, w1, w2 = window
    coords = np.stack(np.meshgrid(np.arange(w0), np.arange(w1), np.arange(w2), indexing="ij")).reshape(3, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0).copy()
    rel[:, :, 0] += w0 - 1
    rel[:, :, 1] += w1 - 1
    rel[:, :, 2] += w2 - 1
    rel[:, :, 0] *= (2 * w1 - 1) * (2 * w2 - 1)
    rel[:, :, 1] *= 2 * w2 - 1
    return rel.sum(-1).astype(np.int64)


def _pad_end(x: torch.Tensor, pads: Sequence[int]) -> torch.Tensor:
    """Zero-pad channels-last [B, D, H, W, C] at the end of D, H, W. For export, a Concat
    with zero constants (F.pad traces into Shape/ConstantOfShape chains)."""
    if not any(pads):
        return x
    if not _EXPORT:
        return F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    for axis, p in enumerate(pads, start=1):
        if p:
            shape = _dims(x)
            shape[axis] = p
            x = torch.cat([x, torch.zeros(shape, dtype=x.dtype)], dim=axis)
    return x


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: Triple, shift: Triple, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop: float = 0.0, attn_drop: float = 0.0):
        super().__init__()
        self.window_size, self.shift_size = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window, qkv_bias, attn_drop, drop)
        self.drop_path = nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio), drop)

    def _attend(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = _dims(x)
        ws, shift = get_window_size((d, h, w), self.window_size, self.shift_size)
        x = self.norm1(x)
        pads = [(ws[i] - n % ws[i]) % ws[i] for i, n in enumerate((d, h, w))]
        # Zero padding after norm1; non-shifted blocks do not mask the padded tokens.
        x = _pad_end(x, pads)
        dims = [b, d + pads[0], h + pads[1], w + pads[2]]
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=(-shift[0], -shift[1], -shift[2]), dims=(1, 2, 3))
        windows = self.attn(window_partition(x, ws), mask if shifted else None)
        x = window_reverse(windows.reshape(-1, *ws, c), ws, dims)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        if any(p > 0 for p in pads):
            x = x[:, :d, :h, :w, :].contiguous()
        return x

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.drop_path(self._attend(x, mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))


MERGING_ORDERS: dict[str, tuple[Triple, ...]] = {
    # MONAI 1.5 `PatchMerging` ("merging"): no duplicated slices.
    "monai": ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)),
    # MONAI <= 1.3 and the HyPS repo: slices 5 and 6 repeat 2 and 3.
    "legacy": ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 0), (0, 0, 1), (1, 1, 1)),
}


class PatchMerging(nn.Module):
    """Concatenate 8 stride-2 sub-grids (channels last), LayerNorm(8C), Linear(8C -> 2C)."""

    def __init__(self, dim: int, order: str = "monai"):
        super().__init__()
        self.reduction = nn.Linear(8 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(8 * dim)
        self.offsets = MERGING_ORDERS[order]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, d, h, w, _ = _dims(x)
        x = _pad_end(x, [d % 2, h % 2, w % 2])
        x = torch.cat([x[:, i::2, j::2, k::2, :] for i, j, k in self.offsets], -1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, window: Triple, mlp_ratio: float,
                 qkv_bias: bool, drop: float, attn_drop: float, merging: str):
        super().__init__()
        self.window_size = window
        self.shift_size = tuple(i // 2 for i in window)
        no_shift = (0, 0, 0)
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, heads, window, no_shift if i % 2 == 0 else self.shift_size,  # type: ignore[arg-type]
                                 mlp_ratio, qkv_bias, drop, attn_drop)
            for i in range(depth)
        ])
        self.downsample = PatchMerging(dim, merging)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = _dims(x)
        ws, shift = get_window_size((d, h, w), self.window_size, self.shift_size)  # type: ignore[arg-type]
        x = x.permute(0, 2, 3, 4, 1)
        padded = [int(math.ceil(n / ws[i])) * ws[i] for i, n in enumerate((d, h, w))]
        mask = torch.from_numpy(compute_mask(padded, ws, shift)).to(x.dtype)
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.downsample(x.reshape(b, d, h, w, -1))
        return x.permute(0, 4, 1, 2, 3)


class PatchEmbed(nn.Module):
    def __init__(self, patch: Triple, cin: int, embed_dim: int):
        super().__init__()
        self.patch_size = patch
        self.proj = nn.Conv3d(cin, embed_dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class SwinTransformer(nn.Module):
    def __init__(self, in_chans: int, embed_dim: int, window: Triple, patch: Triple,
                 depths: Sequence[int], num_heads: Sequence[int], mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 merging: str = "monai"):
        super().__init__()
        assert len(depths) == 4 and len(num_heads) == 4
        self.patch_embed = PatchEmbed(patch, in_chans, embed_dim)
        self.pos_drop = nn.Dropout(drop_rate)
        for i in range(4):
            layer = BasicLayer(embed_dim * 2 ** i, depths[i], num_heads[i], window, mlp_ratio,
                               qkv_bias, drop_rate, attn_drop_rate, merging)
            self.add_module(f"layers{i + 1}", nn.ModuleList([layer]))

    @staticmethod
    def proj_out(x: torch.Tensor) -> torch.Tensor:
        """Affine-free LayerNorm over channels (explicit ones/zeros: torch 1.13 ONNX export)."""
        c = _dims(x)[1]
        x = x.permute(0, 2, 3, 4, 1)
        one = torch.ones(c, dtype=x.dtype)
        x = F.layer_norm(x, [c], one, torch.zeros_like(one))
        return x.permute(0, 4, 1, 2, 3)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x0 = self.pos_drop(self.patch_embed(x))
        x1 = self.layers1[0](x0.contiguous())
        x2 = self.layers2[0](x1.contiguous())
        x3 = self.layers3[0](x2.contiguous())
        x4 = self.layers4[0](x3.contiguous())
        return [self.proj_out(t) for t in (x0, x1, x2, x3, x4)]


SWIN_DIVISOR = 32  # patch 2, then four 2x merges


class SwinUNETR(nn.Module):
    """MONAI SwinUNETR v1 (use_v2=False, normalize=True, patch_norm=False, 'merging')."""

    def __init__(self, in_channels: int, out_channels: int, feature_size: int = 24,
                 depths: Sequence[int] = (2, 2, 2, 2), num_heads: Sequence[int] = (3, 6, 12, 24),
                 window_size: int = 7, patch_size: int = 2, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, merging: str = "monai"):
        super().__init__()
        fs = feature_size
        self.swinViT = SwinTransformer(in_channels, fs, _triple(window_size), _triple(patch_size),
                                       depths, num_heads, 4.0, True, drop_rate, attn_drop_rate, merging)
        self.encoder1 = UnetrBasicBlock(in_channels, fs)
        self.encoder2 = UnetrBasicBlock(fs, fs)
        self.encoder3 = UnetrBasicBlock(2 * fs, 2 * fs)
        self.encoder4 = UnetrBasicBlock(4 * fs, 4 * fs)
        self.encoder10 = UnetrBasicBlock(16 * fs, 16 * fs)
        self.decoder5 = UnetrUpBlock(16 * fs, 8 * fs)
        self.decoder4 = UnetrUpBlock(8 * fs, 4 * fs)
        self.decoder3 = UnetrUpBlock(4 * fs, 2 * fs)
        self.decoder2 = UnetrUpBlock(2 * fs, fs)
        self.decoder1 = UnetrUpBlock(fs, fs)
        self.out = UnetOutBlock(fs, out_channels)

    def forward(self, x_in: torch.Tensor) -> torch.Tensor:
        spatial = _dims(x_in)[2:]
        if any(s % SWIN_DIVISOR for s in spatial):
            raise ValueError(f"SwinUNETR input {spatial} must be divisible by {SWIN_DIVISOR}")
        hs = self.swinViT(x_in)
        enc0 = self.encoder1(x_in)
        enc1 = self.encoder2(hs[0])
        enc2 = self.encoder3(hs[1])
        enc3 = self.encoder4(hs[2])
        dec4 = self.encoder10(hs[4])
        dec3 = self.decoder5(dec4, hs[3])
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        dec0 = self.decoder2(dec1, enc1)
        return self.out(self.decoder1(dec0, enc0))


# --------------------------------------------------------------------------------------
# Checkpoint helpers
# --------------------------------------------------------------------------------------

UNUSED_CROSS_ATTENTION = ("norm_cross_attn.", "cross_attn.")


def load_monai_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Strict load, except MONAI>=1.4 UNETR's unused cross-attention entries are dropped."""
    kept = {k: v for k, v in state.items() if not any(p in k for p in UNUSED_CROSS_ATTENTION)}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if missing or unexpected:
        raise KeyError(f"state_dict mismatch: missing {missing[:5]}..., unexpected {unexpected[:5]}...")


def build(arch: str, config: dict) -> nn.Module:
    """Build from MONAI constructor kwargs (a manifest's `config`)."""
    kw = dict(config)
    if arch == "UNETR":
        fixed = {"proj_type": "conv", "norm_name": "instance", "res_block": True, "conv_block": True}
        for key, value in fixed.items():
            if kw.pop(key, value) != value:
                raise ValueError(f"UNETR {key}={config[key]!r} is not supported (only {value!r})")
        return UNETR(**kw)
    if arch == "SwinUNETR":
        if kw.pop("use_v2", False):
            raise ValueError("SwinUNETR v2 is not supported")
        if kw.pop("norm_name", "instance") != "instance":
            raise ValueError("only norm_name='instance' is supported")
        downsample = kw.pop("downsample", "merging")
        if downsample != "merging":
            raise ValueError(f"downsample={downsample!r} is not supported (MONAI 'merging' only)")
        return SwinUNETR(**kw)
    raise ValueError(f"unknown architecture {arch}")
