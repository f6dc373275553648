/**
 * Workspace Trust for writes (package.json declares `untrustedWorkspaces: limited`): reading and
 * analysing are always allowed; writing a file inside a workspace folder needs a trusted workspace;
 * writing outside the workspace (a report saved to ~/Documents) is always fine.
 */
import * as vscode from 'vscode';

/**
 * True when `target` may be written now. Otherwise tells the user why, offers to manage trust, and
 * returns false (the caller then does not write).
 */
export async function checkMayWrite(target: vscode.Uri, what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted || vscode.workspace.getWorkspaceFolder(target) === undefined) return true;
  const manage = 'Manage Workspace Trust';
  const choice = await vscode.window.showWarningMessage(
    `Heat Capacity does not write ${what} into an untrusted workspace. Save it outside the workspace folders, or trust this workspace.`,
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** Settings written to the workspace (`.vscode/settings.json`) are a write into the workspace too. */
export async function checkMayWriteWorkspaceSettings(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  const choice = await vscode.window.showWarningMessage(
    `Heat Capacity does not change workspace settings (${what}) in an untrusted workspace, and VS Code ignores the checkpoint settings there until it is trusted.`,
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}
