/**
 * The "Heat Capacity" output channel: a log channel (levels, timestamps, the user picks the level) that
 * the extension, the CLI jobs it runs (their stderr and command lines) and the language client share.
 */
import * as vscode from 'vscode';

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel('Heat Capacity', { log: true });
}
