/**
 * This process's CPU time in seconds (wall time where `process.cpuUsage` is missing): the finite-η solves'
 * budgets are in CPU time so that a loaded machine does not change the answer.
 */
export function cpuSeconds(): number {
  if (typeof process !== 'undefined' && typeof process.cpuUsage === 'function') {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  return Date.now() / 1000;
}
