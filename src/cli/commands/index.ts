import type { CliCommand } from '../command';
import { analyzeCommand } from './analyze';
import { curvatureCommand } from './curvature';
import { demoCommand } from './demo';
import { exampleCommand } from './example';
import { gradnormsCommand } from './gradnorms';
import { reportCommand } from './report';
import { runsCommand } from './runs';
import { scalarsCommand } from './scalars';
import { sweepCommand } from './sweep';

/** Every sub-command of `heatcap`, in the order `heatcap --help` lists them. */
export const commands: CliCommand[] = [analyzeCommand, runsCommand, scalarsCommand, reportCommand, gradnormsCommand, curvatureCommand, exampleCommand, sweepCommand, demoCommand];
