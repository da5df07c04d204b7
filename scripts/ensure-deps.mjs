#!/usr/bin/env node
// Makes `npm run dev` and `npm test` work on a fresh machine: installs the locked npm
// packages when they are missing or stale, and (for tests) checks for Debian's Chromium.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const needBrowser = process.argv.includes('--browser');
const installed = 'node_modules/.package-lock.json';

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('[seahorse] installing npm packages (npm ci)…');
  execSync('npm ci', { stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
}

if (needBrowser && !existsSync(process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) {
    console.log('[seahorse] installing Debian chromium for the browser tests…');
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
  } else {
    console.error('[seahorse] the browser tests need Chromium: sudo apt-get install -y chromium (or set SEAHORSE_CHROMIUM)');
    process.exit(1);
  }
}
