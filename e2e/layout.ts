/**
 * Layout checks run in the page: every visible control of the header, the side panel and the
 * Fine-tune dock can be scrolled fully into view, is not covered by anything else, does not
 * overlap another control and is not squashed below a usable size.
 */
import type { Page } from '@playwright/test';

/** The smallest usable size of each kind of control, CSS px (a checkbox is drawn 13 px square). */
export const MIN_SIZE = {
  text: { width: 56, height: 18 }, // number and text inputs: a few digits
  select: { width: 72, height: 18 },
  button: { width: 18, height: 16 },
  check: { width: 12, height: 12 },
  range: { width: 80, height: 12 },
  file: { width: 120, height: 18 },
} as const;

export interface LayoutProblem {
  readonly control: string;
  readonly problem: string;
}

/** Finds the problems at the current viewport size; an empty list is a layout that works. */
export async function layoutProblems(page: Page, containers: readonly string[]): Promise<LayoutProblem[]> {
  return page.evaluate(
    ({ containers, min }) => {
      const problems: { control: string; problem: string }[] = [];
      const describe = (el: Element) =>
        `${el.tagName.toLowerCase()}${el.getAttribute('type') ? `[${el.getAttribute('type')}]` : ''} “${
          el.getAttribute('aria-label') ?? (el as HTMLElement).innerText?.trim().slice(0, 40) ?? ''
        }” in ${containers.find((c) => el.closest(c)) ?? '?'}`;
      const kind = (el: Element): keyof typeof min => {
        if (el instanceof HTMLSelectElement) return 'select';
        if (el instanceof HTMLInputElement) {
          if (el.type === 'checkbox' || el.type === 'radio') return 'check';
          if (el.type === 'range') return 'range';
          if (el.type === 'file') return 'file';
          return 'text';
        }
        return 'button';
      };
      const visible = (el: HTMLElement) => {
        const style = getComputedStyle(el);
        return el.offsetParent !== null && style.visibility !== 'hidden' && !el.hidden;
      };
      /** Ancestors that clip their content (overflow other than visible). */
      const clippers = (el: Element) => {
        const out: Element[] = [];
        for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
          const s = getComputedStyle(a);
          if (s.overflowX !== 'visible' || s.overflowY !== 'visible') out.push(a);
        }
        return out;
      };
      const controls: HTMLElement[] = [];
      for (const selector of containers) {
        const root = document.querySelector(selector);
        if (!root) {
          problems.push({ control: selector, problem: 'container not found' });
          continue;
        }
        // A container that scrolls sideways hides part of its content behind a scroll bar.
        if (root.scrollWidth > root.clientWidth + 1) problems.push({ control: selector, problem: `content ${root.scrollWidth} px wide in ${root.clientWidth} px` });
        for (const el of root.querySelectorAll<HTMLElement>('button, input, select, textarea, [role="slider"], [tabindex]:not([tabindex="-1"])')) {
          if (visible(el)) controls.push(el);
        }
      }
      const tolerance = 0.5;
      for (const el of controls) {
        el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        const r = el.getBoundingClientRect();
        const name = describe(el);
        const m = min[kind(el)];
        if (r.width < m.width || r.height < m.height) problems.push({ control: name, problem: `squashed to ${r.width.toFixed(0)} × ${r.height.toFixed(0)} px (needs ${m.width} × ${m.height})` });
        // A button's or select's own text must fit inside it.
        if ((el instanceof HTMLButtonElement || el instanceof HTMLSelectElement) && el.scrollWidth > el.clientWidth + 1) {
          problems.push({ control: name, problem: `its text needs ${el.scrollWidth} px, has ${el.clientWidth}` });
        }
        if (r.left < -tolerance || r.top < -tolerance || r.right > innerWidth + tolerance || r.bottom > innerHeight + tolerance) {
          problems.push({ control: name, problem: `outside the window (${r.left.toFixed(0)}, ${r.top.toFixed(0)}, ${r.right.toFixed(0)}, ${r.bottom.toFixed(0)})` });
        }
        for (const clip of clippers(el)) {
          const c = clip.getBoundingClientRect();
          if (r.left < c.left - tolerance || r.right > c.right + tolerance || r.top < c.top - tolerance || r.bottom > c.bottom + tolerance) {
            problems.push({ control: name, problem: `clipped by ${clip.tagName.toLowerCase()}.${clip.className}` });
          }
        }
        // Whatever is on top at the control's centre must be the control (or inside it).
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!hit || !(hit === el || el.contains(hit))) problems.push({ control: name, problem: `covered by ${hit ? describe(hit) : 'nothing'}` });
      }
      // Controls of one container scroll together: their boxes must not intersect.
      const boxes = controls.map((el) => ({ el, r: el.getBoundingClientRect(), box: containers.find((c) => el.closest(c)) }));
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          if (boxes[i].box !== boxes[j].box) continue; // scrolled separately; covering is checked above
          const a = boxes[i].r;
          const b = boxes[j].r;
          const overlapX = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const overlapY = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (overlapX > 1 && overlapY > 1) problems.push({ control: describe(boxes[i].el), problem: `overlaps ${describe(boxes[j].el)}` });
        }
      }
      return problems;
    },
    { containers: [...containers], min: MIN_SIZE },
  );
}
