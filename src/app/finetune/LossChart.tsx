import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ValidationPoint } from '../../train/adapter-store';

/** The chart fills its card; below this it would be unreadable. */
const MIN_WIDTH = 200;
const HEIGHT = 150;

/**
 * Training loss per step and validation loss and Dice per epoch, on one step axis (uPlot).
 * Loss on the left axis, Dice (0–1) on the right. As wide as its card (a fixed width overflowed
 * the dock's narrower layouts): resized with it.
 */
export function LossChart({ losses, validation }: { losses: readonly number[]; validation: readonly ValidationPoint[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = () => Math.max(MIN_WIDTH, Math.floor(el.clientWidth));
    const opts: uPlot.Options = {
      width: width(),
      height: HEIGHT,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, dice: { range: [0, 1] } },
      axes: [
        { label: 'step', stroke: '#9aa4b2', grid: { stroke: '#2a2f3a' } },
        { label: 'loss', stroke: '#9aa4b2', grid: { stroke: '#2a2f3a' } },
        { scale: 'dice', side: 1, label: 'Dice', stroke: '#9aa4b2', grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'train loss', stroke: '#e69f00', width: 1.5, points: { show: false } },
        { label: 'val loss', stroke: '#56b4e9', width: 1.5, points: { show: true, size: 5 }, spanGaps: true },
        { label: 'val Dice', scale: 'dice', stroke: '#009e73', width: 1.5, points: { show: true, size: 5 }, spanGaps: true },
      ],
    };
    plot.current = new uPlot(opts, [[], [], [], []], el);
    const resized = new ResizeObserver(() => {
      if (plot.current && plot.current.width !== width()) plot.current.setSize({ width: width(), height: HEIGHT });
    });
    resized.observe(el);
    return () => {
      resized.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(chartData(losses, validation));
  }, [losses, validation]);

  return <div ref={host} className="loss-chart" data-testid="loss-chart" />;
}

/** Columns on a shared step axis (0…last step); gaps are null. */
export function chartData(losses: readonly number[], validation: readonly ValidationPoint[]): uPlot.AlignedData {
  const last = Math.max(losses.length, ...validation.map((v) => v.step), 0);
  const x = Array.from({ length: last + 1 }, (_, i) => i);
  const train = x.map((s) => (s >= 1 && Number.isFinite(losses[s - 1]) ? losses[s - 1] : null));
  const byStep = new Map(validation.map((v) => [v.step, v]));
  const valLoss = x.map((s) => byStep.get(s)?.loss ?? null);
  const valDice = x.map((s) => {
    const d = byStep.get(s)?.dice;
    return d === undefined || Number.isNaN(d) ? null : d;
  });
  return [x, train, valLoss, valDice];
}
