"""Golden values for the engine's 2-D convolutions (src/engine/conv2d.torch.test.ts).

torch 1.13, float64: depthwise (stride 2, padding 1, batch 2), grouped (groups 2, padding 1)
and ConvTranspose2d (kernel = stride = 2), each with bias, forward and the gradients of the
probe loss sum(y * r). Inputs are closed-form (sin/cos of the flat index), so only outputs are
stored. Run: /usr/bin/python3 training/torch_conv2d_reference.py > src/engine/testing/torch-conv2d.json
"""
import json
import math

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def wave(shape, a, b, s=1.0, f=math.sin):
    n = math.prod(shape)
    return torch.tensor([s * f(a * i + b) for i in range(n)]).reshape(shape)


def case(name, xs, ws, fn):
    x = wave(xs, 0.7, 0.3).requires_grad_()
    w = wave(ws, 1.3, 0.0, 0.5, math.cos).requires_grad_()
    co = ws[1] if name == "convTranspose2d" else ws[0]
    b = torch.tensor([0.1 * i - 0.2 for i in range(co)]).requires_grad_()
    y = fn(x, w, b)
    r = wave(list(y.shape), 0.37, 1.0)
    (y * r).sum().backward()
    r9 = lambda t: [float(f"{v:.10g}") for v in t.detach().flatten().tolist()]
    return {"x": xs, "w": ws, "y_shape": list(y.shape), "y": r9(y), "dx": r9(x.grad), "dw": r9(w.grad), "db": r9(b.grad)}


out = {
    "torch": torch.__version__,
    "depthwise_s2_p1": case("depthwise", [2, 3, 5, 4], [3, 1, 3, 3], lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=3)),
    "grouped_g2_p1": case("grouped", [1, 4, 4, 4], [6, 2, 3, 3], lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2)),
    "convTranspose2d": case("convTranspose2d", [1, 3, 2, 2], [3, 2, 2, 2], lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2)),
}
print(json.dumps(out, separators=(",", ":")))
