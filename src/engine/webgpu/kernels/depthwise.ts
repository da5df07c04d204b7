/**
 * Depthwise convolution (one filter per channel, w [C, 1, kD, kH, kW]) and its gradients: direct
 * kernels, as a depthwise tap is one multiply-add per output (no GEMM to feed). The geometry is
 * baked into the WGSL as constants (as for the GEMM convolutions), so index arithmetic divides
 * by constants. Forward: one thread per output; data gradient: one thread per input element,
 * gathering the outputs that read it (no atomics, deterministic); filter gradient: one
 * workgroup per (channel, tap), a tree sum over batch × output positions.
 */
import type { ConvSpec } from '../../backend';
import { header, main1d } from '../wgsl';
import { mainRows, treeFns } from './reduce';

function consts(s: ConvSpec): string {
  const [ID, IH, IW] = s.inShape;
  const [OD, OH, OW] = s.outShape;
  const [KD, KH, KW] = s.kernel;
  const c = { C: s.Co, ID, IH, IW, OD, OH, OW, KD, KH, KW, SD: s.stride[0], SH: s.stride[1], SW: s.stride[2], PD: s.padding[0], PH: s.padding[1], PW: s.padding[2], DD: s.dilation[0], DH: s.dilation[1], DW: s.dilation[2] };
  return Object.entries(c).map(([k, v]) => `const ${k}: i32 = ${v};`).join('\n') + '\nconst KK: i32 = KD * KH * KW;\nconst INV: i32 = ID * IH * IW;\nconst P: i32 = OD * OH * OW;\n';
}

/** y[n, c, o] = Σ_t w[c, t]·x[n, c, tap t at o]; params: [total]. */
export function depthwiseForwardKernel(s: ConvSpec): string {
  return `${header([{ name: 'X', access: 'read' }, { name: 'Wt', access: 'read' }, { name: 'Y', access: 'rw' }])}${consts(s)}
${main1d(`  let ii = i32(i);
  let nc = ii / P;
  let p = ii % P;
  let od = p / (OH * OW);
  let oh = (p / OW) % OH;
  let ow = p % OW;
  let c = nc % C;
  var acc = 0.0;
  for (var kd = 0; kd < KD; kd++) {
    let id = od * SD - PD + kd * DD;
    if (id < 0 || id >= ID) { continue; }
    for (var kh = 0; kh < KH; kh++) {
      let ih = oh * SH - PH + kh * DH;
      if (ih < 0 || ih >= IH) { continue; }
      for (var kw = 0; kw < KW; kw++) {
        let iw = ow * SW - PW + kw * DW;
        if (iw < 0 || iw >= IW) { continue; }
        acc += Wt[c * KK + (kd * KH + kh) * KW + kw] * X[nc * INV + (id * IH + ih) * IW + iw];
      }
    }
  }
  Y[i] = acc;`)}`;
}

/** dx[n, c, q] = Σ over taps t and outputs o that read q: w[c, t]·g[n, c, o]; params: [total]. */
export function depthwiseBackwardDataKernel(s: ConvSpec): string {
  // Output index along an axis that tap k reads input index q from: (q + pad − k·dil) / stride, when exact and in range.
  return `${header([{ name: 'G', access: 'read' }, { name: 'Wt', access: 'read' }, { name: 'DX', access: 'rw' }])}${consts(s)}
${main1d(`  let ii = i32(i);
  let nc = ii / INV;
  let q = ii % INV;
  let id = q / (IH * IW);
  let ih = (q / IW) % IH;
  let iw = q % IW;
  let c = nc % C;
  var acc = 0.0;
  for (var kd = 0; kd < KD; kd++) {
    let td = id + PD - kd * DD;
    if (td < 0 || td % SD != 0 || td / SD >= OD) { continue; }
    for (var kh = 0; kh < KH; kh++) {
      let th = ih + PH - kh * DH;
      if (th < 0 || th % SH != 0 || th / SH >= OH) { continue; }
      for (var kw = 0; kw < KW; kw++) {
        let tw = iw + PW - kw * DW;
        if (tw < 0 || tw % SW != 0 || tw / SW >= OW) { continue; }
        acc += Wt[c * KK + (kd * KH + kh) * KW + kw] * G[nc * P + ((td / SD) * OH + th / SH) * OW + tw / SW];
      }
    }
  }
  DX[i] = acc;`)}`;
}

/** dw[c, t] = Σ_n Σ_o g[n, c, o]·x[n, c, tap t at o]: one workgroup of `size` per (c, t); params: [C·KK, N]. */
export function depthwiseBackwardFilterKernel(s: ConvSpec, size: number): string {
  return `${header([{ name: 'G', access: 'read' }, { name: 'X', access: 'read' }, { name: 'GW', access: 'rw' }])}${consts(s)}${treeFns(size, [['sum', 'sum']])}
${mainRows(size, 0, `  let c = i32(row) / KK;
  let t = i32(row) % KK;
  let kd = t / (KH * KW);
  let kh = (t / KW) % KH;
  let kw = t % KW;
  let total = i32(pu(1u)) * P;
  var acc = 0.0;
  for (var j = i32(lid); j < total; j += ${size}) {
    let n = j / P;
    let p = j % P;
    let od = p / (OH * OW);
    let oh = (p / OW) % OH;
    let ow = p % OW;
    let id = od * SD - PD + kd * DD;
    let ih = oh * SH - PH + kh * DH;
    let iw = ow * SW - PW + kw * DW;
    if (id >= 0 && id < ID && ih >= 0 && ih < IH && iw >= 0 && iw < IW) {
      let nc = n * C + c;
      acc += G[nc * P + p] * X[nc * INV + (id * IH + ih) * IW + iw];
    }
  }
  let r = wg_sum(acc, lid);
  if (lid == 0u) { GW[row] = r; }`)}`;
}
