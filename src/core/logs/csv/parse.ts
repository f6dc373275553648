/**
 * An RFC 4180 CSV tokenizer over text that ends on a line boundary. Hand-written rather than papaparse
 * because the log readers need the exact length of the *complete* records consumed (the tail API
 * resumes at that byte offset while a writer appends), and a line without quotes, the normal case for
 * metric logs, takes a fast `split(',')` path.
 */

/**
 * A quoted field may span lines (RFC 4180), but metric logs never hold long ones: a quote still open after
 * this many line breaks is taken for damage (a stray `"`), not a field, so it cannot swallow the rest of
 * the file (issue #10: a corrupted region loses only the rows it touches).
 */
export const MAX_QUOTED_LINES = 16;

/**
 * Calls `onRow(fields)` for each complete record of `text` and returns the number of characters those
 * records span (including their line ends). A record left open by an unclosed quote is not consumed
 * unless `final` or it has run past MAX_QUOTED_LINES line breaks: then its first line is dropped as
 * malformed (`onMalformed`) and tokenizing resumes on the next line. Trailing `\r` (Python's csv module
 * writes `\r\n`) is removed.
 */
export function tokenizeCsv(text: string, onRow: (fields: string[]) => void, final: boolean, onMalformed?: () => void): number {
  let i = 0;
  const n = text.length;
  // Position of the next quote at or after i (n when none): found once, not once per line, so a
  // quote-free chunk is scanned in linear time.
  let quote = -1;
  while (i < n) {
    const nl = text.indexOf('\n', i);
    const lineEnd = nl < 0 ? n : nl;
    if (nl < 0 && !final) return i;
    if (quote < i) {
      quote = text.indexOf('"', i);
      if (quote < 0) quote = n;
    }
    if (quote > lineEnd) {
      let end = lineEnd;
      if (end > i && text.charCodeAt(end - 1) === 13) end--;
      onRow(text.slice(i, end).split(','));
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    // Slow path: a quoted field, possibly spanning lines.
    const fields: string[] = [];
    let field = '';
    let j = i;
    let inQuotes = false;
    // A quote opens a quoted field only as the field's first character; elsewhere it is text, as
    // Python's csv reads it (a header `alert("tag")` keeps its quotes, `a"b` does not swallow the file).
    let atStart = true;
    let closed = false;
    let quotedBreaks = 0;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (inQuotes) {
        if (c === 10 && ++quotedBreaks > MAX_QUOTED_LINES) break;
        if (c === 34) {
          if (text.charCodeAt(j + 1) === 34) {
            field += '"';
            j += 2;
            continue;
          }
          inQuotes = false;
          j++;
          continue;
        }
        field += text[j++];
        continue;
      }
      if (c === 34 && atStart) {
        inQuotes = true;
        atStart = false;
        j++;
      } else if (c === 44) {
        fields.push(field);
        field = '';
        atStart = true;
        j++;
      } else if (c === 10) {
        closed = true;
        j++;
        break;
      } else if (c === 13 && text.charCodeAt(j + 1) === 10) {
        j++;
      } else {
        atStart = false;
        field += text[j++];
      }
    }
    if (inQuotes && (quotedBreaks > MAX_QUOTED_LINES || final)) {
      // An unbalanced quote: drop its line, go on with the next.
      onMalformed?.();
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (!closed && !final) return i;
    fields.push(field);
    onRow(fields);
    i = j;
  }
  return i;
}
