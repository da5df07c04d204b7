#!/usr/bin/env node
// The README's screenshot (docs/studio.png): the studio at 1440 × 900 in Debian's Chromium after
// "Try a sample scan" has segmented the sample with the default model, then 256 colours.
//   npm run dev &                                     # or: npx vite build && npx vite preview
//   node scripts/studio-screenshot.mjs http://localhost:5173/ /tmp/studio.png
//   /usr/bin/python3 -c "from PIL import Image; Image.open('/tmp/studio.png').convert('RGB').quantize(256, method=Image.FASTOCTREE, dither=Image.NONE).save('docs/studio.png', optimize=True)"
import { chromium } from 'playwright-core';

const [url = 'http://localhost:5173/', out = 'studio.png'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(url);
  await page.getByRole('button', { name: 'Try a sample scan' }).click();
  // SwiftShader (no GPU) takes minutes for the full head; a GPU takes seconds.
  await page.getByTestId('volumes-table').waitFor({ timeout: 900_000 });
  await page.waitForTimeout(2000); // NiiVue draws the masks on the next frames
  await page.screenshot({ path: out, timeout: 300_000 });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
