import { fileURLToPath } from 'node:url';

/**
 * The file-system path a document URI stands for: `file:` URIs, and notebook cells
 * (`vscode-notebook-cell:/path/nb.ipynb#cell`), which stand for their notebook file. Undefined for
 * anything else (`untitled:`), which then matches analyses only by learning rate.
 */
export function uriToPath(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    if (url.protocol === 'file:') return fileURLToPath(url);
    if (url.protocol === 'vscode-notebook-cell:') {
      const file = new URL('file://');
      file.pathname = url.pathname;
      file.host = url.host;
      return fileURLToPath(file);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The folder paths of workspace-folder URIs, skipping any that are not `file:` URIs. */
export function folderPaths(uris: string[]): string[] {
  return uris.map(uriToPath).filter((p): p is string => p !== undefined);
}
