/**
 * A small POSIX-shell tokenizer: enough to split a script into commands and words the way the shell
 * would, with the source offsets of every character of each word's value. It honours single and
 * double quotes, backslash escapes, line continuations, comments, `$(…)`/`${…}`/backticks (kept
 * inside the word), and skips here-document bodies. It never executes or expands anything; a word
 * that contains an expansion keeps its `$` and so is never mistaken for a number.
 * Linear in the input: every loop advances `i`.
 */

export interface ShellWord {
  /** The word as the program would receive it (quotes removed, expansions left as written). */
  value: string;
  /** `offsets[k]` is the source offset of `value[k]`. */
  offsets: number[];
  start: number;
  end: number;
}

/** A simple command: its words in order (redirection operators and their targets left out). */
export type ShellCommand = ShellWord[];

const SEPARATORS = new Set([';', '&', '|', '(', ')', '\n']);

export function shellCommands(src: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let current: ShellCommand = [];
  let skipNextWord = false;
  const pendingHeredocs: { delimiter: string; stripTabs: boolean }[] = [];
  const n = src.length;
  let i = 0;

  const endCommand = (): void => {
    if (current.length > 0) commands.push(current);
    current = [];
    skipNextWord = false;
  };

  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
    } else if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '\n') {
      endCommand();
      i++;
      i = skipHeredocBodies(src, i, pendingHeredocs.splice(0));
    } else if (SEPARATORS.has(c)) {
      endCommand();
      i++;
    } else if (c === '<' || c === '>') {
      // Redirection: `<<` / `<<-` starts a here-document; `<<<` is a here-string; the next word is a target.
      if (src.startsWith('<<', i) && !src.startsWith('<<<', i)) {
        i += 2;
        const stripTabs = src[i] === '-';
        if (stripTabs) i++;
        while (src[i] === ' ' || src[i] === '\t') i++;
        const w = readWord(src, i);
        i = w.next;
        if (w.word.value) pendingHeredocs.push({ delimiter: w.word.value, stripTabs });
      } else {
        while (i < n && (src[i] === '<' || src[i] === '>' || src[i] === '&')) i++;
        skipNextWord = true;
      }
    } else {
      const w = readWord(src, i);
      i = w.next;
      // `2>&1`: an unquoted number right before a redirection is a file descriptor, not an argument.
      const fd = /^\d+$/.test(w.word.value) && w.word.end - w.word.start === w.word.value.length && (src[i] === '<' || src[i] === '>');
      if (skipNextWord) skipNextWord = false;
      else if (!fd) current.push(w.word);
    }
  }
  endCommand();
  return commands;
}

/** Skips the bodies of here-documents opened on the line that just ended; returns the new position. */
function skipHeredocBodies(src: string, from: number, docs: { delimiter: string; stripTabs: boolean }[]): number {
  let i = from;
  for (const doc of docs) {
    while (i < src.length) {
      const eol = src.indexOf('\n', i);
      const lineEnd = eol < 0 ? src.length : eol;
      let line = src.slice(i, lineEnd).replace(/\r$/, '');
      if (doc.stripTabs) line = line.replace(/^\t+/, '');
      i = eol < 0 ? src.length : eol + 1;
      if (line === doc.delimiter) break;
    }
  }
  return i;
}

function readWord(src: string, from: number): { word: ShellWord; next: number } {
  const n = src.length;
  let value = '';
  const offsets: number[] = [];
  const add = (at: number): void => {
    value += src[at];
    offsets.push(at);
  };
  let i = from;
  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r' || SEPARATORS.has(c) || c === '<' || c === '>') break;
    if (c === '\\') {
      if (src[i + 1] === '\n') {
        i += 2;
      } else {
        if (i + 1 < n) add(i + 1);
        i += 2;
      }
    } else if (c === "'") {
      i++;
      while (i < n && src[i] !== "'") add(i++);
      i++;
    } else if (c === '"') {
      i++;
      while (i < n && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < n && '"\\$`\n'.includes(src[i + 1])) {
          if (src[i + 1] !== '\n') add(i + 1);
          i += 2;
        } else {
          add(i++);
        }
      }
      i++;
    } else if (c === '$' && (src[i + 1] === '(' || src[i + 1] === '{')) {
      i = readBalanced(src, i, add);
    } else if (c === '`') {
      add(i++);
      while (i < n && src[i] !== '`') add(i++);
      if (i < n) add(i++);
    } else {
      add(i++);
    }
  }
  return { word: { value, offsets, start: from, end: Math.min(i, n) }, next: Math.max(i, from + 1) };
}

/** `$( … )` or `${ … }` with nesting, kept verbatim in the word (a `$` there means "not a literal"). */
function readBalanced(src: string, from: number, add: (at: number) => void): number {
  const open = src[from + 1];
  const close = open === '(' ? ')' : '}';
  let depth = 0;
  let i = from;
  add(i++);
  while (i < src.length) {
    const c = src[i];
    add(i++);
    if (c === open) depth++;
    else if (c === close && --depth === 0) break;
  }
  return i;
}
