import { execFileSync } from 'node:child_process';

export interface Proc {
  pid: number;
  ppid: number;
  args: string;
}

/** Every process below `root` (children, grandchildren, …), from one `ps` snapshot. */
export function descendants(root: number): Proc[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  const all: Proc[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) all.push({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] });
  }
  const below: Proc[] = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop() as number;
    for (const p of all) {
      if (p.ppid === parent) {
        below.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return below;
}

/** The `heatcap` CLI jobs (`dist/cli.js <command> …`) running below `root`. */
export function cliJobs(root: number): Proc[] {
  return descendants(root).filter((p) => /\bdist\/cli\.js\b/.test(p.args));
}

/** Whether a process is still alive (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose process group is `pgid` (a detached server's whole tree, orphans included). */
export function processGroup(pgid: number): Proc[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  const found: Proc[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m && Number(m[2]) === pgid) found.push({ pid: Number(m[1]), ppid: -1, args: m[3] });
  }
  return found;
}
