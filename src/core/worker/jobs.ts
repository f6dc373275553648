import { runExactJob, runGradNormJob } from '../gradnorm/job-handler';
import { runLabJob } from '../lab/job';
import type { JobHandler } from './job-context';
import { runPing } from './ping';
import type { JobKind } from './protocol';

/**
 * Every job kind the worker runs. The mapped type makes a kind declared in protocol.ts without a
 * handler here (or the reverse) a compile error. Add one import and one entry per kind.
 */
export const jobHandlers: { [K in JobKind]: JobHandler<K> } = {
  gradnorms: runGradNormJob,
  exact: runExactJob,
  ping: runPing,
  lab: runLabJob,
};
