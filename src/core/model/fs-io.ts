import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { HeatcapError } from '../errors';
import { checkTopologySizes, normaliseKerasRegularisers, readModelJson, type ModelJsonFile } from './manifest';

type IOHandler = tfTypes.io.IOHandler;
type ModelArtifacts = tfTypes.io.ModelArtifacts;

function readShard(path: string, into: Uint8Array, at: number, length: number): void {
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, into, at + got, length - got, got);
      if (n === 0) throw new HeatcapError(path, 'weight shard shrank while being read');
      got += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates model.json (see manifest.ts); errors name the file at fault. */
export function readModelJsonFile(file: string): ModelJsonFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HeatcapError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const mj = readModelJson(file, text);
  checkTopologySizes(mj);
  normaliseKerasRegularisers(mj.modelTopology);
  return mj;
}

/**
 * A tfjs IOHandler that loads a LayersModel from disk with plain `fs` (no tfjs-node needed): the
 * manifest is validated against the shard files first, then the shards are concatenated in manifest
 * order into one buffer, whose size is the sum of the real file sizes.
 */
export function fileLoader(file: string, mj: ModelJsonFile = readModelJsonFile(file)): IOHandler {
  return {
    load: async (): Promise<ModelArtifacts> => {
      const total = mj.groups.reduce((a, g) => a + g.bytes, 0);
      const data = new Uint8Array(total);
      let at = 0;
      for (const g of mj.groups) {
        for (const s of g.shards) {
          readShard(s.path, data, at, s.bytes);
          at += s.bytes;
        }
      }
      return {
        modelTopology: mj.modelTopology,
        weightSpecs: mj.groups.flatMap((g) => g.weights),
        weightData: data.buffer,
        format: mj.format,
        generatedBy: mj.generatedBy,
        convertedBy: mj.convertedBy,
        // Not trainingConfig: tfjs would compile the model from it (and fail on Keras configs it does
        // not know). We only read the loss from it ourselves (loss.ts).
        userDefinedMetadata: mj.userDefinedMetadata as ModelArtifacts['userDefinedMetadata'],
      };
    },
  };
}

export const WEIGHTS_FILE = 'group1-shard1of1.bin';

/** A tfjs IOHandler that writes model.json and one weight shard into `dir`. */
export function fileSaver(dir: string, extra: { userDefinedMetadata?: Record<string, unknown> } = {}): IOHandler {
  return {
    save: async (artifacts: ModelArtifacts) => {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new HeatcapError(dir, `cannot create folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const wd = artifacts.weightData;
      const buffers = wd === undefined ? [] : Array.isArray(wd) ? wd : [wd];
      const weights = Buffer.concat(buffers.map((b) => new Uint8Array(b)));
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'sgd-heat-capacity',
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), ...(extra.userDefinedMetadata ?? {}) },
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileSync(join(dir, WEIGHTS_FILE), weights);
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs).length,
          weightDataBytes: weights.length,
        },
      };
    },
  };
}
