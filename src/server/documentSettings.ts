/**
 * The learning-rate settings of open documents, parsed at most once per document version (and size
 * limit), and a debounce so a burst of keystrokes costs one parse: lens requests wait until a
 * document has been quiet for `DEBOUNCE_MS`.
 */
import type { CancellationToken } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { detectSettings, excludedBecause, languageFor, type DetectedSetting, type ParseState } from './detect';

export const DEBOUNCE_MS = 250;

export interface DocumentSettings {
  version: number;
  settings: DetectedSetting[];
  /** Why the document was not searched, or not fully (too large, unsupported, a parse error). */
  problem?: string;
  /** Milliseconds the detector took (for the log). */
  parseMs: number;
}

interface Entry extends DocumentSettings {
  maxFileSize: number;
  /** Kept for an incremental re-parse of the next version. */
  state?: ParseState;
}

export class SettingsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly lastChange = new Map<string, number>();

  constructor(
    private readonly maxFileSize: () => number,
    /** Told about every fresh parse (for the server log). */
    private readonly onParsed: (uri: string, s: DocumentSettings) => void = () => undefined,
  ) {}

  get(doc: TextDocument): DocumentSettings {
    const limit = this.maxFileSize();
    const cached = this.entries.get(doc.uri);
    if (cached && cached.version === doc.version && cached.maxFileSize === limit) return cached;
    const entry: Entry = { ...compute(doc, limit, cached?.state), maxFileSize: limit };
    this.entries.set(doc.uri, entry);
    this.onParsed(doc.uri, entry);
    return entry;
  }

  changed(uri: string): void {
    this.lastChange.set(uri, Date.now());
  }

  forget(uri: string): void {
    this.entries.delete(uri);
    this.lastChange.delete(uri);
  }

  /** Resolves once the document has not changed for DEBOUNCE_MS; false when `token` was cancelled meanwhile. */
  async settled(uri: string, token?: CancellationToken): Promise<boolean> {
    for (;;) {
      if (token?.isCancellationRequested) return false;
      const quietFor = Date.now() - (this.lastChange.get(uri) ?? 0);
      if (quietFor >= DEBOUNCE_MS) return true;
      await new Promise((r) => setTimeout(r, DEBOUNCE_MS - quietFor));
    }
  }
}

function compute(doc: TextDocument, maxFileSize: number, previous: ParseState | undefined): DocumentSettings & { state?: ParseState } {
  const version = doc.version;
  const language = languageFor(doc.languageId, doc.uri);
  if (!language) return { version, settings: [], problem: `language ${doc.languageId} is not searched`, parseMs: 0 };
  const excluded = excludedBecause(doc.uri);
  if (excluded) return { version, settings: [], problem: excluded, parseMs: 0 };
  const text = doc.getText();
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: only measure bytes when it can matter.
  const bytes = text.length * 3 <= maxFileSize ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > maxFileSize) {
    return { version, settings: [], problem: `${bytes} bytes, above heatcap.server.maxFileSize (${maxFileSize})`, parseMs: 0 };
  }
  const t0 = performance.now();
  const result = detectSettings(text, language, { previous, notebookCell: doc.uri.startsWith('vscode-notebook-cell:') });
  const parseMs = performance.now() - t0;
  const state = result.state;
  return result.error !== undefined
    ? { version, settings: result.settings, problem: result.error, parseMs, state }
    : { version, settings: result.settings, parseMs, state };
}
