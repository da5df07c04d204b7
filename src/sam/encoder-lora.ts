/**
 * LoRA on SAM's image encoder (issue 17, after the paper: the encoder frozen with LoRA on its
 * attention weights): W' = W + (α/r)·B·A on `layers.L.blocks.B.attn.qkv` and `.attn.proj` of the
 * chosen attention stages, with peft's parametrisation, names (`<module>.lora_A` [r, in],
 * `.lora_B` [out, r]) and initialisation (A Kaiming-uniform, seeded per layer; B zero), so an
 * adapter at step 0 is the frozen encoder (`src/peft/lowrank.ts`).
 *
 * Stages: TinyViT's attention stages are 1 (2 blocks, 128 ch at 128²), 2 (6 blocks, 160 ch at
 * 64²) and 3 (2 blocks, 320 ch at 64²). Everything before the first adapted stage is frozen and
 * needs no gradient: a run computes its output once per slice (`SamImageEncoder.stageInput`) and
 * each step runs only the adapted stages and the neck (`fromStage`).
 */
import type { Engine, Tensor } from '../engine';
import { SAM_ATTENTION_STAGES, SamImageEncoder, TINY_VIT, type SamEncoderHooks } from '../models/sam-encoder';
import type { HostTensors } from '../peft/adapted-model';
import { PeftConfigError } from '../peft/errors';
import { LoraBranches, loraInit } from '../peft/lowrank';
import type { LinearTarget } from '../peft/targets';
import type { HostWeight } from './decoder-weights';

export interface SamLoraConfig {
  readonly rank: number;
  /** Scale α/r as peft's LoRA (default α = r: scale 1). */
  readonly alpha: number;
  /** Attention stages with LoRA (1–3), ascending. */
  readonly stages: readonly number[];
  /** Seed of A's initialisation. */
  readonly seed: number;
}

/**
 * Rank 4 (the brief's default). Stage 3 only: measured on this 2-core machine a step from stage 3
 * costs a fraction of one from stage 1 (src/sam/README.md); `--lora-stages 1,2,3` is the paper's "all".
 */
export const SAM_LORA_DEFAULTS: SamLoraConfig = { rank: 4, alpha: 4, stages: [3], seed: 1000 };

/** "3" or "2,3" or "all" → ascending stages; throws naming the bad part. */
export function parseLoraStages(text: string): number[] {
  if (text.trim() === 'all') return [...SAM_ATTENTION_STAGES];
  const stages = text.split(',').map((s) => Number(s.trim()));
  for (const s of stages) if (!SAM_ATTENTION_STAGES.includes(s as 1)) throw new PeftConfigError(`LoRA stages are the encoder's attention stages 1, 2, 3 (or "all"), got "${text}"`);
  return [...new Set(stages)].sort((a, b) => a - b);
}

/** The adapted Linears, stage by stage, block by block, qkv then proj: qkv [3C, C] (per head q | k | v of 32), proj [C, C]. */
export function samLoraTargets(stages: readonly number[]): LinearTarget[] {
  const out: LinearTarget[] = [];
  for (const l of stages) {
    const C = TINY_VIT.embedDims[l];
    for (let b = 0; b < TINY_VIT.depths[l]; b++) {
      for (const [name, m] of [['qkv', 3 * C], ['proj', C]] as const) {
        const module = `layers.${l}.blocks.${b}.attn.${name}`;
        out.push({ module, weight: `${module}.weight`, bias: `${module}.bias`, m, n: C });
      }
    }
  }
  return out;
}

/** LoRA parameters: r·(m + n) per target. */
export function samLoraParamCount(cfg: Pick<SamLoraConfig, 'rank' | 'stages'>): number {
  return samLoraTargets(cfg.stages).reduce((n, t) => n + cfg.rank * (t.m + t.n), 0);
}

/** Checks the rank against every target and the stages; returns the targets. */
export function checkSamLora(cfg: SamLoraConfig): LinearTarget[] {
  if (!cfg.stages.length) throw new PeftConfigError('LoRA on the SAM encoder needs at least one stage');
  if (!Number.isInteger(cfg.rank) || cfg.rank < 1) throw new PeftConfigError(`LoRA rank must be a positive integer, got ${cfg.rank}`);
  if (!(cfg.alpha > 0)) throw new PeftConfigError(`LoRA alpha must be positive, got ${cfg.alpha}`);
  const targets = samLoraTargets(cfg.stages);
  for (const t of targets) if (cfg.rank > Math.min(t.m, t.n)) throw new PeftConfigError(`LoRA rank ${cfg.rank} exceeds ${t.weight}'s ${t.m}×${t.n}`);
  return targets;
}

/** Initial LoRA tensors (A Kaiming-uniform, B zero) for the configuration. */
export function samLoraInit(cfg: SamLoraConfig): Map<string, { shape: readonly number[]; data: Float32Array }> {
  return loraInit(checkSamLora(cfg), cfg.rank, cfg.seed);
}

/** The image encoder with trainable LoRA factors on the engine (the encoder's own weights frozen). */
export class SamEncoderLora {
  readonly branches: LoraBranches;
  readonly firstStage: number;
  private constructor(
    readonly encoder: SamImageEncoder,
    readonly cfg: SamLoraConfig,
    current: HostTensors,
    private readonly ownsEncoder: boolean,
  ) {
    this.branches = new LoraBranches(encoder.engine, checkSamLora(cfg), current, cfg.alpha / cfg.rank, 'SAM encoder LoRA');
    this.firstStage = cfg.stages[0];
  }

  /** `current`: the factors to start from (default `samLoraInit`). */
  static create(engine: Engine, weights: ReadonlyMap<string, HostWeight>, cfg: SamLoraConfig, current: HostTensors = samLoraInit(cfg)): SamEncoderLora {
    const encoder = SamImageEncoder.fromWeights(engine, weights);
    try {
      return new SamEncoderLora(encoder, cfg, current, true);
    } catch (e) {
      encoder.dispose();
      throw e;
    }
  }

  /** LoRA factors on an encoder already on the engine (which `dispose` leaves to its owner). */
  static on(encoder: SamImageEncoder, cfg: SamLoraConfig, current: HostTensors = samLoraInit(cfg)): SamEncoderLora {
    return new SamEncoderLora(encoder, cfg, current, false);
  }

  get params(): ReadonlyMap<string, Tensor> {
    return this.branches.params;
  }

  /** This pass's hooks (W + s·B·A materialised: call inside a `tidy`). */
  hooks(): SamEncoderHooks {
    const w = this.branches.weights((n) => this.encoder.params.get(n)!);
    return { param: (name) => w.get(name) };
  }

  /** Features [B, C, H, W] entering the first adapted stage → embedding [B, 256, 64, 64], with LoRA. */
  embed(features: Tensor): Tensor {
    return this.encoder.fromStage(features, this.firstStage, this.hooks());
  }

  dispose(): void {
    this.branches.dispose();
    if (this.ownsEncoder) this.encoder.dispose();
  }
}

/** W + (α/r)·B·A in float64, rounded to float32, for every target (the merge into encoder.onnx). */
export function mergeSamLora(base: ReadonlyMap<string, HostWeight>, lora: HostTensors, cfg: SamLoraConfig): Map<string, HostWeight> {
  const s = cfg.alpha / cfg.rank;
  const out = new Map<string, HostWeight>();
  for (const t of checkSamLora(cfg)) {
    const w = base.get(t.weight);
    const a = lora.get(`${t.module}.lora_A`);
    const b = lora.get(`${t.module}.lora_B`);
    if (!w || !a || !b) throw new PeftConfigError(`SAM encoder LoRA: ${!w ? `the encoder has no ${t.weight}` : `the adapter lacks ${t.module}.lora_${a ? 'B' : 'A'}`}`);
    const r = cfg.rank;
    if (a.shape[0] !== r || a.shape[1] !== t.n || b.shape[0] !== t.m || b.shape[1] !== r) throw new PeftConfigError(`SAM encoder LoRA: ${t.module}'s factors are [${a.shape}], [${b.shape}]; rank ${r} needs [${r}, ${t.n}], [${t.m}, ${r}]`);
    const data = new Float32Array(t.m * t.n);
    for (let i = 0; i < t.m; i++) {
      for (let j = 0; j < t.n; j++) {
        let d = 0;
        for (let c = 0; c < r; c++) d += b.data[i * r + c] * a.data[c * t.n + j];
        data[i * t.n + j] = w.data[i * t.n + j] + s * d;
      }
    }
    out.set(t.weight, { shape: [t.m, t.n], data });
  }
  return out;
}
