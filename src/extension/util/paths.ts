/** Path containment, used by the file watcher and the runs view. No `vscode` import. */
import * as path from 'node:path';

/** Is `child` the same path as `parent` or inside it? Both absolute file-system paths. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export function insideAny(child: string, parents: readonly string[]): boolean {
  return parents.some((p) => isInside(child, p));
}
