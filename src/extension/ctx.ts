/**
 * The context every part of the extension shares: where the bundles are, the log, the state store,
 * the user's run overrides (persisted in workspaceState) and the settings of a folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readSettings, type Settings } from './config';
import type { Log } from './outputChannel';
import { AnalysisStore } from './state/analysisStore';
import { RunOverrides } from './state/runOverrides';
import { Emitter } from './util/emitter';

const OVERRIDES_KEY = 'heatcap.runOverrides';

export class Ctx implements vscode.Disposable {
  readonly store = new AnalysisStore();
  /** `<extension>/dist/cli.js`: every heavy job runs as this CLI in a child process. */
  readonly cliPath: string;
  readonly serverPath: string;
  readonly distUri: vscode.Uri;
  readonly mediaUri: vscode.Uri;
  private overridesValue: RunOverrides;
  private readonly overridesChanged = new Emitter<void>();
  readonly onDidChangeOverrides = this.overridesChanged.event;
  /** Settings problems already logged, so a bad value is reported once, not on every read. */
  private readonly reported = new Set<string>();

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: Log,
  ) {
    this.cliPath = extension.asAbsolutePath(path.join('dist', 'cli.js'));
    this.serverPath = extension.asAbsolutePath(path.join('dist', 'server.js'));
    this.distUri = vscode.Uri.joinPath(extension.extensionUri, 'dist');
    this.mediaUri = vscode.Uri.joinPath(extension.extensionUri, 'media');
    this.overridesValue = RunOverrides.fromJSON(extension.workspaceState.get(OVERRIDES_KEY));
  }

  get overrides(): RunOverrides {
    return this.overridesValue;
  }

  async setOverrides(next: RunOverrides): Promise<void> {
    this.overridesValue = next;
    this.overridesChanged.fire();
    await this.extension.workspaceState.update(OVERRIDES_KEY, next.toJSON());
  }

  /** The workspace folder a path lies in (resource-scoped settings and relative paths use it). */
  folderOf(fsPath: string): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(fsPath));
  }

  /**
   * The folder that relative paths in the settings of `fsPath` resolve against: the workspace folder
   * holding it, else the first workspace folder (a folder analysed from outside the workspace gets the
   * workspace's settings, whose relative paths, e.g. a checkpoint picked inside the workspace, are
   * relative to that folder).
   */
  settingsFolderOf(fsPath: string): string | undefined {
    return (this.folderOf(fsPath) ?? vscode.workspace.workspaceFolders?.[0])?.uri.fsPath;
  }

  /** The settings that apply to a folder (its own `.vscode/settings.json` in a multi-root workspace). */
  settingsFor(fsPath?: string): Settings {
    const scope = fsPath === undefined ? undefined : (this.folderOf(fsPath)?.uri ?? vscode.Uri.file(fsPath));
    const { settings, problems } = readSettings(vscode.workspace.getConfiguration('heatcap', scope));
    for (const p of problems) {
      if (this.reported.has(p)) continue;
      this.reported.add(p);
      this.log.warn(`settings: ${p}`);
    }
    return settings;
  }

  dispose(): void {
    this.overridesChanged.dispose();
    this.store.dispose();
  }
}
