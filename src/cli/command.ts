/**
 * A CLI sub-command. Each lives in its own file under `commands/` and is listed in `commands/index.ts`.
 * `run` returns the process exit code; it writes results to `io.out` and warnings to `io.err`.
 */
import type { IpcReporter } from '../shared/cliIpc';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
  /** Progress/warning channel to the process that forked us (`--ipc`, any command); null otherwise. */
  ipc?: IpcReporter | null;
}

export interface CliCommand {
  name: string;
  /** One line for `heatcap --help`. */
  summary: string;
  /** The full usage text for `heatcap <name> --help`. */
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
