/**
 * `seahorse <command>`: the Node entry point. Each command returns an exit status:
 * 0 success, 1 the input or the model could not be used (one clear message on stderr),
 * 2 a bad command line (with usage).
 */
import { ExitStatus, UsageError } from './usage';

export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const USAGE = `Usage: seahorse <command> [options]

Hippocampus segmentation of brain MRI on this machine (onnxruntime on the CPU in Node).

Commands:
  segment <scan> -o <labels.nii.gz>   segment one scan, print label volumes
  eval --model <id> | --protocol freesurfer|msd --data <dir>
                                      Dice, HD95 and volumes against reference labels
                                      (crops and full heads; an aseg as 1 left, 2 right)
  finetune --train <dir> -o <adapter> [--model <id>]
                                      fine-tune with a PEFT method, write an adapter
  prompt <scan> --box LABEL:i0,j0,k0,i1,j1,k1 -o <labels.nii.gz>
                                      any structure from boxes or points (Segment Anything)
  bids <bids_dir> <output_dir> participant|group
                                      the BIDS App: a dataset's T1w scans → BIDS-Derivatives,
                                      group table and QC report
  stats <output_dir> --classify <column>
                                      cross-validated volume-based classifier on the group table

Run "seahorse <command> --help" for a command's options.`;

/**
 * Each command's module is imported only when it runs: a command then loads only the
 * libraries it needs (start-up is part of the wait a user has; pdf-lib alone costs ~0.5 s).
 */
interface Command {
  readonly run: (args: string[], io: CliIO) => Promise<void>;
  readonly usage: string;
}
const COMMANDS: Record<string, () => Promise<Command>> = {
  segment: async () => import('./segment').then((m) => ({ run: m.runSegment, usage: m.SEGMENT_USAGE })),
  eval: async () => import('./eval').then((m) => ({ run: m.runEval, usage: m.EVAL_USAGE })),
  finetune: async () => import('./finetune').then((m) => ({ run: m.runFinetune, usage: m.FINETUNE_USAGE })),
  prompt: async () => import('./prompt').then((m) => ({ run: m.runPrompt, usage: m.PROMPT_USAGE })),
  bids: async () => import('./bids').then((m) => ({ run: m.runBids, usage: m.BIDS_USAGE })),
  stats: async () => import('./stats').then((m) => ({ run: m.runStats, usage: m.STATS_USAGE })),
  // A worker process of `bids … participant --n-procs N` (not listed in the usage).
  '_bids-worker': async () => import('./bids-worker').then((m) => ({ run: (args) => m.runBidsWorker(args), usage: '' })),
};

const stdio: CliIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

export async function main(argv: readonly string[], io: CliIO = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) {
    io.err(`seahorse: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const entry = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(entry.usage);
    return 0;
  }
  try {
    await entry.run(rest, io);
    return 0;
  } catch (err) {
    if (err instanceof ExitStatus) {
      io.err(`seahorse ${command}: ${err.message}`);
      return err.status;
    }
    if (err instanceof UsageError) {
      io.err(`seahorse ${command}: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    io.err(`seahorse ${command}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
