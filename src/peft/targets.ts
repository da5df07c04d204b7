/**
 * Which parts of a model a PEFT method touches: the encoder's nn.Linear layers (the targets of
 * LoRA, PiSSA and HyPS), LoRA-PT's three weight tensors, and the "decoder" that stays trainable
 * by default. Everything is derived from the model's parameter list (MONAI names, registration
 * order), so it works for any configuration of the two architectures.
 */
import type { ModelKind } from '../models/model';
import type { ParamSpec } from '../models/params';
import { PeftConfigError } from './errors';

/** The part of a model a method needs to know: its kind and its parameter list. */
export interface ModelShape {
  readonly kind: ModelKind;
  readonly paramSpecs: readonly ParamSpec[];
}

/** One nn.Linear: `module` is its MONAI module name (the ForwardOptions.linear hook's key). */
export interface LinearTarget {
  readonly module: string;
  readonly weight: string;
  readonly bias: string | null;
  /** out_features */
  readonly m: number;
  /** in_features */
  readonly n: number;
}

/**
 * The encoder Linears, in registration order:
 * - UNETR: every ViT block's attn.qkv, attn.out_proj, mlp.linear1, mlp.linear2 (the weights
 *   LoRA-PT tensorises);
 * - SwinUNETR: every nn.Linear under swinViT — attn.qkv, attn.proj, mlp.linear1, mlp.linear2 of
 *   each block and each stage's downsample.reduction (HyPS's 36 layers for depths 2-2-2-2).
 */
const TARGET_WEIGHT: Record<ModelKind, RegExp> = {
  unetr: /^vit\.blocks\.\d+\.(attn\.qkv|attn\.out_proj|mlp\.linear1|mlp\.linear2)\.weight$/,
  swinunetr: /^swinViT\..*\.(attn\.qkv|attn\.proj|mlp\.linear1|mlp\.linear2|downsample\.reduction)\.weight$/,
};

export function targetLinears(model: ModelShape): LinearTarget[] {
  const names = new Set(model.paramSpecs.map((s) => s.name));
  return model.paramSpecs
    .filter((s) => TARGET_WEIGHT[model.kind].test(s.name))
    .map((s) => {
      const module = s.name.slice(0, -'.weight'.length);
      const bias = names.has(`${module}.bias`) ? `${module}.bias` : null;
      return { module, weight: s.name, bias, m: s.shape[0], n: s.shape[1] };
    });
}

/**
 * The decoder that PEFT methods keep trainable by default, as each paper's code does:
 * - UNETR (LoRA-PT's `freeze_parameters`): parameters whose name contains "decoder"
 *   (decoder5…decoder2); the output head stays frozen;
 * - SwinUNETR (HyPS's freezing): decoder1…decoder5 and the output head `out`.
 */
export function isDecoderParam(kind: ModelKind, name: string): boolean {
  if (kind === 'unetr') return /^decoder\d+\./.test(name);
  return /^decoder\d+\./.test(name) || name.startsWith('out.');
}

/** LoRA-PT's tensors (peft-methods.md §2.3). */
export type LoraptTensorName = 'W_up' | 'W_sa' | 'W_down';
export const LORAPT_TENSORS: readonly LoraptTensorName[] = ['W_up', 'W_sa', 'W_down'];

/** Rows [start, end) of a parameter that form one frontal slice. */
export interface SliceRef {
  readonly param: string;
  readonly rows: readonly [number, number];
  /** W_sa only: which projection the slice is. */
  readonly role?: 'O' | 'Q' | 'K' | 'V';
}

export interface LoraptTensorSpec {
  readonly name: LoraptTensorName;
  /** Rows of a slice (out_features). */
  readonly n1: number;
  /** Columns of a slice (in_features). */
  readonly n2: number;
  /** The n3 slices in order. */
  readonly slices: readonly SliceRef[];
}

/**
 * LoRA-PT's three tensors from a UNETR's parameters, in the exact slice order of the
 * reference (`named_parameters()` registration order):
 *   W_up   (L, mlp, hidden): slice i = vit.blocks.i.mlp.linear1.weight
 *   W_sa   (4L, hidden, hidden): [O_i, Q_i, K_i, V_i] per block — out_proj is registered before qkv
 *   W_down (L, hidden, mlp): slice i = vit.blocks.i.mlp.linear2.weight
 */
export function loraptTensorSpecs(model: ModelShape): LoraptTensorSpec[] {
  if (model.kind !== 'unetr') throw new PeftConfigError(`LoRA-PT tensorises a UNETR's ViT; this model is a ${model.kind}`);
  const shape = new Map(model.paramSpecs.map((s) => [s.name, s.shape]));
  const blocks: number[] = [];
  for (const s of model.paramSpecs) {
    const m = /^vit\.blocks\.(\d+)\.mlp\.linear1\.weight$/.exec(s.name);
    if (m) blocks.push(Number(m[1]));
  }
  if (blocks.length === 0) throw new PeftConfigError('LoRA-PT: the model has no ViT blocks');
  const need = (name: string) => {
    const s = shape.get(name);
    if (!s) throw new PeftConfigError(`LoRA-PT: the model has no parameter "${name}"`);
    return s;
  };
  const [mlp, hidden] = need(`vit.blocks.${blocks[0]}.mlp.linear1.weight`);
  const up: SliceRef[] = [];
  const sa: SliceRef[] = [];
  const down: SliceRef[] = [];
  for (const i of blocks) {
    const b = `vit.blocks.${i}`;
    need(`${b}.mlp.linear1.weight`);
    need(`${b}.mlp.linear2.weight`);
    need(`${b}.attn.out_proj.weight`);
    if (need(`${b}.attn.qkv.weight`)[0] !== 3 * hidden) throw new PeftConfigError(`LoRA-PT: ${b}.attn.qkv.weight is not [3·${hidden}, ${hidden}]`);
    up.push({ param: `${b}.mlp.linear1.weight`, rows: [0, mlp] });
    down.push({ param: `${b}.mlp.linear2.weight`, rows: [0, hidden] });
    sa.push({ param: `${b}.attn.out_proj.weight`, rows: [0, hidden], role: 'O' });
    (['Q', 'K', 'V'] as const).forEach((role, t) => sa.push({ param: `${b}.attn.qkv.weight`, rows: [t * hidden, (t + 1) * hidden], role }));
  }
  return [
    { name: 'W_up', n1: mlp, n2: hidden, slices: up },
    { name: 'W_sa', n1: hidden, n2: hidden, slices: sa },
    { name: 'W_down', n1: hidden, n2: mlp, slices: down },
  ];
}

/** The parameters a tensor is built from, each with its contiguous slice range [j0, j1). */
export function slicesByParam(spec: LoraptTensorSpec): { param: string; first: number; count: number }[] {
  const out: { param: string; first: number; count: number }[] = [];
  spec.slices.forEach((s, j) => {
    const last = out[out.length - 1];
    if (last && last.param === s.param) last.count++;
    else out.push({ param: s.param, first: j, count: 1 });
  });
  return out;
}
