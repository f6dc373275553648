import { readFileSync } from 'node:fs';

/**
 * Peak resident set size of this process in MiB. On Linux from /proc/self/status (VmHWM belongs to the
 * process image, so it starts afresh in a spawned child), because getrusage's ru_maxrss survives execve
 * and would report the parent's peak for a child spawned from a large benchmark process.
 */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
