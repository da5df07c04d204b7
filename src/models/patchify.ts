/**
 * Non-overlapping patch embedding (Conv3d with kernel = stride = patch, as UNETR's ViT and
 * Swin's patch_embed use) as one GEMM: cut the volume into patches, flatten each in the conv
 * weight's (c, kd, kh, kw) order, multiply by the weight viewed as [out, c·kd·kh·kw]. Same
 * arithmetic as the convolution; as a matmul its backward is two GEMMs, where a general strided
 * convolution's data gradient would scan every kernel tap for every input voxel.
 */
import { add, matmul, permute, reshape, type Tensor } from '../engine';
import { ModelConfigError } from './errors';
import type { Triple } from './model';

/** x [B, C, D, H, W] (dims divisible by the patch) → tokens [B, (D/pd)(H/ph)(W/pw), out], C-order over the patch grid. */
export function patchEmbed(x: Tensor, weight: Tensor, bias: Tensor | null, patch: Triple): Tensor {
  const [B, C, D, H, W] = x.shape;
  const [pd, ph, pw] = patch;
  if (D % pd || H % ph || W % pw) throw new ModelConfigError(`patch embedding: input ${x.describe()} is not divisible by the patch [${patch}]`);
  const [out] = weight.shape;
  const grid = [D / pd, H / ph, W / pw];
  const v = reshape(x, [B, C, grid[0], pd, grid[1], ph, grid[2], pw]);
  const patches = reshape(permute(v, [0, 2, 4, 6, 1, 3, 5, 7]), [B, grid[0] * grid[1] * grid[2], C * pd * ph * pw]);
  const tokens = matmul(patches, reshape(weight, [out, C * pd * ph * pw]), { transB: true });
  return bias ? add(tokens, bias) : tokens;
}
