import { describeError, isHeatcapError, CancelledError } from '../core/errors';
import type { CliIo } from './command';
import { commands } from './commands/index';
import { IPC_FLAG, ipcReporter } from '../shared/cliIpc';
import { exitWhenParentGoes, PARENT_GONE_EXIT_CODE } from './parentWatch';

import { TOOL_VERSION as VERSION } from '../core/version';

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'heatcap: the heat capacity of SGD from training logs and checkpoints',
    '',
    'usage: heatcap <command> [options]   (heatcap <command> --help for details)',
    '',
    'commands:',
    ...lines,
    '',
  ].join('\n');
}

/** Runs the CLI and returns its exit code; errors become one line on stderr naming the file. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  // `--ipc` is the extension's request for progress over the fork channel: valid for every command.
  if (argv.includes(IPC_FLAG)) {
    io = { ...io, ipc: io.ipc ?? ipcReporter([IPC_FLAG]) };
    argv = argv.filter((a) => a !== IPC_FLAG);
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(helpText());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`heatcap: unknown command '${name}'\n${helpText()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof CancelledError) {
      io.err('heatcap: cancelled\n');
      return 130;
    }
    const prefix = isHeatcapError(e) ? 'heatcap: error: ' : 'heatcap: internal error: ';
    io.err(`${prefix}${describeError(e).replace(/\s*\n\s*/g, ' ')}\n`);
    if (!isHeatcapError(e) && process.env.HEATCAP_DEBUG && e instanceof Error) io.err(`${e.stack}\n`);
    return isHeatcapError(e) ? 1 : 70;
  }
}

if (require.main === module) {
  const io: CliIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    cwd: process.cwd(),
  };
  // Forked by the extension host (--ipc): stop when the host goes away, since no one will read the result.
  const stopWatching = process.argv.includes(IPC_FLAG) ? exitWhenParentGoes(process, () => process.exit(PARENT_GONE_EXIT_CODE)) : () => undefined;
  main(process.argv.slice(2), io).then(
    (code) => {
      stopWatching();
      process.exitCode = code;
    },
    (e) => {
      stopWatching();
      process.stderr.write(`heatcap: internal error: ${describeError(e)}\n`);
      process.exitCode = 70;
    },
  );
}
