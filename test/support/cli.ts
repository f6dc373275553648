import { main } from '../../src/cli/main';

/** Runs the CLI in-process and captures what it prints. */
export async function runCli(argv: string[], cwd = process.cwd()): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}
