/**
 * `npm run bench`: runs every benchmark section (bench/<area>.ts exporting `run(): Promise<string>`) one
 * after another in this process order, prints the Markdown, and saves it to .bench-out/results.md so the
 * figures can be copied into README. Pass area names to run a subset: `npm run bench -- logs onnx`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const areas = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
    .map((f) => f.replace(/\.ts$/, ''))
    .filter((a) => wanted.length === 0 || wanted.includes(a))
    .sort();
  const header = `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const sections = [`# Benchmarks\n\n${header}\n`];
  console.log(sections[0]);
  for (const area of areas) {
    const mod = (await import(path.join(__dirname, `${area}.ts`))) as { run?: () => Promise<string> };
    if (typeof mod.run !== 'function') continue;
    const started = Date.now();
    const md = await mod.run();
    const section = `${md.trim()}\n\n_(section ran in ${((Date.now() - started) / 1000).toFixed(1)} s)_\n`;
    sections.push(section);
    console.log(section);
  }
  mkdirSync('.bench-out', { recursive: true });
  writeFileSync(path.join('.bench-out', 'results.md'), sections.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
