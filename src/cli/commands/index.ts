import type { CliCommand } from '../command';

/** Every sub-command of `heatcap`, in the order `heatcap --help` lists them. */
export const commands: CliCommand[] = [];
