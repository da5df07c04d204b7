import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run the CLI from there). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliRun {
  readonly status: number | null;
  /** The signal that ended the process (null when it exited by itself). */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node bin/seahorse.mjs …` as a user would, collecting its exit status and output; with
 * `interrupt`, sends it `signal` as soon as its stderr first matches `when` (a user's Ctrl-C, a
 * cluster's time limit, or a crash with SIGKILL).
 */
export function runCli(args: string[], interrupt?: { readonly when: RegExp; readonly signal: NodeJS.Signals }): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/seahorse.mjs'), ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (interrupt && !sent && interrupt.when.test(stderr)) {
        sent = true;
        child.kill(interrupt.signal);
      }
    });
    child.on('error', fail);
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
  });
}
