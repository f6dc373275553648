/**
 * A CLI started by the extension host (`fork(dist/cli.js, [..., '--ipc'])`) works only for that host: when
 * the host goes away (VS Code closed, the extension host restarted or killed), nobody reads the result, and
 * a heavy analysis or sweep left running would hold the user's cores for minutes. Node closes the fork
 * channel when the parent exits; this turns that 'disconnect' into an exit.
 *
 * Listening for 'disconnect' keeps the channel referenced (Node counts 'message' and 'disconnect'
 * listeners), which would keep a finished CLI alive: the returned function removes the listener and is
 * called once the command has returned.
 */
export interface ParentChannel {
  connected?: boolean;
  send?: unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  removeListener(event: 'disconnect', listener: () => void): unknown;
}

/** Exit code of a CLI whose parent went away: the same as a cancellation. */
export const PARENT_GONE_EXIT_CODE = 130;

/**
 * Calls `onGone` when the fork channel to the parent closes before the command ends. Returns the function
 * that stops watching; a no-op when the process has no channel (a CLI run from a shell).
 */
export function exitWhenParentGoes(proc: ParentChannel, onGone: () => void): () => void {
  if (typeof proc.send !== 'function') return () => undefined;
  if (proc.connected === false) {
    onGone();
    return () => undefined;
  }
  const listener = (): void => onGone();
  proc.on('disconnect', listener);
  return () => {
    proc.removeListener('disconnect', listener);
  };
}
