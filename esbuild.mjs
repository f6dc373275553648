// Bundles every entry point of the product with one esbuild config per target.
//   node esbuild.mjs               development build (sourcemaps)
//   node esbuild.mjs --production  minified, no sourcemaps (what `npm run package` ships)
//   node esbuild.mjs --watch       rebuild on change; type checking runs separately (`npm run typecheck`)
//   node esbuild.mjs --ort-target=universal|<os>-<arch>   which ONNX Runtime to ship (see copyOnnxRuntime)
import * as esbuild from 'esbuild';
import { copyFileSync, cpSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const outdir = 'dist';
const ortTarget = process.argv.find((a) => a.startsWith('--ort-target='))?.slice('--ort-target='.length) ?? process.env.HEATCAP_ORT_TARGET ?? `${process.platform}-${process.arch}`;

// Node-side bundles share these settings. `vscode` is provided by the host; tfjs-node is an optional
// native accelerator loaded with a guarded require, so it must never be bundled.
const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', '@tensorflow/tfjs-node', 'node-fetch'],
};

/** @type {import('esbuild').BuildOptions[]} */
const targets = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/main.ts' }, outdir },
  { ...nodeCommon, entryPoints: { server: 'src/server/main.ts' }, outdir },
  { ...nodeCommon, entryPoints: { worker: 'src/core/worker/main.ts' }, outdir },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir, banner: { js: '#!/usr/bin/env node' } },
  {
    bundle: true,
    platform: 'browser',
    target: 'chrome114',
    format: 'iife',
    sourcemap: production ? false : 'inline',
    minify: production,
    logLevel: 'warning',
    entryPoints: { webview: 'webview/main.ts' },
    outdir,
  },
].filter((t) => Object.values(t.entryPoints).every((p) => existsSync(p)));

/** The wasm backend loads its .wasm binaries from disk at run time: ship them next to the bundles. */
function copyWasmBinaries() {
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  mkdirSync(outdir, { recursive: true });
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(pkgDir, 'dist', f), join(outdir, f));
  }
  // SQLite for the MLflow SQLite store reader (src/core/logs/mlflow-sqlite/sqljs.ts looks beside the bundle).
  copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), join(outdir, 'sql-wasm.wasm'));
}

/**
 * ONNX Runtime is loaded at run time (never bundled), from dist/node_modules, where `require(...)` from
 * dist/*.js finds it in a .vsix packaged without node_modules:
 *  - onnxruntime-web's WebAssembly build in every package (its Node entry, the one .wasm and its loader;
 *    14 MB): the fallback where no native binary loads, and `heatcap.engineRuntime: wasm`;
 *  - onnxruntime-node's JS and the native binary of one platform only (the npm package holds five, 288 MB;
 *    linux-x64 is 45 MB), or none for the universal package.
 * `--ort-target=<os>-<arch>` (or HEATCAP_ORT_TARGET) picks another platform (with
 * `npm run package -- --target <os>-<arch>`), `--ort-target=universal` leaves the native runtime out
 * (`npm run package:universal`); default: this machine's platform.
 */
function copyOnnxRuntime() {
  const nodeDir = dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common's and onnxruntime-web's exports maps hide package.json: resolve their entries.
  const commonDir = dirname(dirname(dirname(require.resolve('onnxruntime-common', { paths: [nodeDir] }))));
  const webDist = dirname(require.resolve('onnxruntime-web'));
  const out = join(outdir, 'node_modules');
  const noMaps = (f) => !f.endsWith('.map') && !f.endsWith('.d.ts');
  // Only this target's runtime: a previous build for another target must not leave its own behind.
  rmSync(join(out, 'onnxruntime-node'), { recursive: true, force: true });
  rmSync(join(out, 'onnxruntime-web'), { recursive: true, force: true });
  cpSync(join(commonDir, 'package.json'), join(out, 'onnxruntime-common', 'package.json'));
  cpSync(join(commonDir, 'dist', 'cjs'), join(out, 'onnxruntime-common', 'dist', 'cjs'), { recursive: true, filter: noMaps });
  cpSync(join(dirname(webDist), 'package.json'), join(out, 'onnxruntime-web', 'package.json'));
  for (const f of ['ort.node.min.js', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) cpSync(join(webDist, f), join(out, 'onnxruntime-web', 'dist', f));
  if (ortTarget === 'universal') return;
  const [os, arch] = ortTarget.split('-');
  const bin = join('bin', 'napi-v6', os, arch);
  if (!existsSync(join(nodeDir, bin))) throw new Error(`onnxruntime-node has no binary for ${os}-${arch} (${join(nodeDir, bin)}); --ort-target=universal packages the WebAssembly runtime only`);
  cpSync(join(nodeDir, 'package.json'), join(out, 'onnxruntime-node', 'package.json'));
  cpSync(join(nodeDir, 'dist'), join(out, 'onnxruntime-node', 'dist'), { recursive: true, filter: noMaps });
  cpSync(join(nodeDir, bin), join(out, 'onnxruntime-node', bin), { recursive: true });
}

copyWasmBinaries();
copyOnnxRuntime();
if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${targets.length} bundles`);
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
