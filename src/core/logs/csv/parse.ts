/**
 * An RFC 4180 CSV tokenizer over text that ends on a line boundary. Hand-written rather than papaparse
 * because the log readers need the exact length of the *complete* records consumed (the tail API
 * resumes at that byte offset while a writer appends), and a line without quotes, the normal case for
 * metric logs, takes a fast `split(',')` path.
 */

/**
 * Calls `onRow(fields)` for each complete record of `text` and returns the number of characters those
 * records span (including their line ends). A record left open by an unclosed quote is not consumed
 * unless `final`, when it is returned as it stands. Trailing `\r` (Python's csv module writes `\r\n`)
 * is removed.
 */
export function tokenizeCsv(text: string, onRow: (fields: string[]) => void, final: boolean): number {
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
    let closed = false;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (inQuotes) {
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
      if (c === 34) {
        inQuotes = true;
        j++;
      } else if (c === 44) {
        fields.push(field);
        field = '';
        j++;
      } else if (c === 10) {
        closed = true;
        j++;
        break;
      } else if (c === 13 && text.charCodeAt(j + 1) === 10) {
        j++;
      } else field += text[j++];
    }
    if (!closed && !final) return i;
    fields.push(field);
    onRow(fields);
    i = j;
  }
  return i;
}
