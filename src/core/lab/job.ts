import type { DataFiles } from '../data/open';
import type { BackendPref } from '../tf/backend';
import type { JobHandler } from '../worker/job-context';
import { runHparams, type LabSetup } from './config';
import type { RunLogDirs } from './logs';
import { openLab, type LabEngine } from './open';
import { trainRun, type RunOutcome } from './train';

/** The `lab` worker job: one run of a sweep (one η), from loading the checkpoint to its last log row. */
export interface LabRunRequest {
  model: string;
  data: DataFiles;
  loss?: string;
  engine: LabEngine;
  backend: BackendPref;
  lr: number;
  setup: LabSetup;
  logs: RunLogDirs;
  stateFile: string;
  resume: boolean;
  toolVersion: string;
}

export interface LabRunResult extends RunOutcome {
  engine: 'dense-f64' | 'tfjs';
  /** Training examples N and the loss's name, for the sweep manifest. */
  n: number;
  lossName: string;
  paramCount: number;
  notes: string[];
}

/** Progress events: updates done so far. */
export interface LabRunEvent {
  step: number;
}

export async function runLabRequest(req: LabRunRequest, ctx: Parameters<JobHandler<'lab'>>[1]): Promise<LabRunResult> {
  const lab = await openLab({ model: req.model, data: req.data, loss: req.loss, engine: req.engine, backend: req.backend, batchSize: req.setup.batchSize });
  try {
    const hparams = runHparams(req.setup, req.lr, { loss: lab.lossName, datasetSize: lab.model.n, toolVersion: req.toolVersion });
    const outcome = await trainRun(
      lab.model,
      lab.initial,
      { logs: req.logs, stateFile: req.stateFile, lr: req.lr, setup: req.setup, hparams },
      {
        token: ctx.token,
        resume: req.resume,
        onProgress: (step, total) => {
          ctx.emit({ step });
          ctx.progress({ fraction: step / total, message: `η = ${req.lr}: ${step}/${total} steps` });
        },
      },
    );
    return { ...outcome, engine: lab.model.engine, n: lab.model.n, lossName: lab.lossName, paramCount: lab.model.paramCount, notes: lab.notes };
  } finally {
    lab.model.dispose();
  }
}

export const runLabJob: JobHandler<'lab'> = (req, ctx) => runLabRequest(req, ctx);
