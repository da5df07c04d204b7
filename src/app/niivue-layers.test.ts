import { describe, expect, it } from 'vitest';
import { type LayeredViewer, putOverlay, refreshOverlays, removeAllVolumes, removeOverlay } from './niivue-layers';

/**
 * A stand-in for Niivue's layer lists that records which layers each helper builds. The pixels
 * these calls draw on the real Niivue are checked end to end (studio.spec.ts, fullhead.spec.ts).
 */
class Layers implements LayeredViewer<string> {
  volumes: string[] = [];
  overlays: string[] = [];
  opts = { is2DSliceShader: false };
  readonly calls: string[] = [];
  addVolume(v: string): void {
    this.volumes = [...this.volumes, v];
    this.overlays = this.volumes.slice(1);
    this.calls.push(`full rebuild (add ${v})`);
  }
  removeVolume(v: string): void {
    this.volumes = this.volumes.filter((x) => x !== v);
    this.overlays = this.volumes.slice(1);
    this.calls.push(`full rebuild (remove ${v})`);
  }
  refreshLayers(v: string, layer: number): void {
    this.calls.push(`layer ${layer}: ${v}`);
  }
  updateGLVolume(): void {
    this.calls.push('full rebuild');
  }
  drawScene(): void {
    this.calls.push('draw');
  }
}

function showing(...volumes: string[]): Layers {
  const nv = new Layers();
  nv.volumes = volumes;
  nv.overlays = volumes.slice(1);
  return nv;
}

describe('NiiVue layers, one overlay at a time', () => {
  it('adds an overlay on top, building only its layer', () => {
    const nv = showing('scan', 'masks');
    putOverlay(nv, undefined, 'outline');
    expect(nv.volumes).toEqual(['scan', 'masks', 'outline']);
    expect(nv.overlays).toEqual(['masks', 'outline']);
    expect(nv.calls).toEqual(['layer 2: outline', 'draw']);
  });

  it('replaces a mask in place, keeping the layer order, and builds only the overlays', () => {
    const nv = showing('scan', 'masks', 'outline');
    putOverlay(nv, 'masks', 'new masks');
    expect(nv.volumes).toEqual(['scan', 'new masks', 'outline']);
    expect(nv.overlays).toEqual(['new masks', 'outline']);
    expect(nv.calls).toEqual(['layer 1: new masks', 'layer 2: outline', 'draw']);
  });

  it('adds on top when the overlay to replace is not shown (never replaces the scan)', () => {
    const nv = showing('scan');
    putOverlay(nv, 'scan', 'masks');
    expect(nv.volumes).toEqual(['scan', 'masks']);
    putOverlay(nv, 'gone', 'outline');
    expect(nv.volumes).toEqual(['scan', 'masks', 'outline']);
  });

  it('takes one overlay off, building the overlays left', () => {
    const nv = showing('scan', 'masks', 'outline');
    removeOverlay(nv, 'masks');
    expect(nv.volumes).toEqual(['scan', 'outline']);
    expect(nv.overlays).toEqual(['outline']);
    expect(nv.calls).toEqual(['layer 1: outline', 'draw']);
  });

  it('takes the last overlay off through NiiVue’s full rebuild, and ignores one not shown', () => {
    const nv = showing('scan', 'masks');
    removeOverlay(nv, 'outline');
    expect(nv.calls).toEqual([]);
    removeOverlay(nv, 'masks');
    expect(nv.volumes).toEqual(['scan']);
    expect(nv.calls).toEqual(['full rebuild (remove masks)']);
  });

  it('takes everything off with the scan removed alone', () => {
    const nv = showing('scan', 'masks', 'outline');
    removeAllVolumes(nv);
    expect(nv.volumes).toEqual([]);
    expect(nv.overlays).toEqual([]);
    expect(nv.calls).toEqual(['full rebuild (remove scan)']);
    removeAllVolumes(nv);
    expect(nv.calls).toHaveLength(1);
  });

  it('lets NiiVue rebuild everything for a scan drawn slice by slice', () => {
    const nv = showing('scan', 'masks');
    nv.opts.is2DSliceShader = true;
    refreshOverlays(nv);
    expect(nv.calls).toEqual(['full rebuild']);
  });
});
