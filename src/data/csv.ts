/**
 * A streaming CSV reader into typed columns, with errors that name the file, the line and
 * the column.
 *
 * Format (RFC 4180, with the leniencies real files need):
 * - Fields are separated by commas. A field may be double-quoted; inside quotes a comma is
 *   data and `""` is one `"`. After a closing quote only a comma or the end of the line may
 *   follow. A `"` inside an unquoted field is kept as a literal character.
 * - Quoted fields spanning lines are NOT supported: a quote still open at the end of its
 *   line is a `CsvError` ("unterminated quoted field"). This keeps every record on one
 *   physical line, so line numbers are exact, a stray quote is reported where it is, and the
 *   file can be cut into complete lines chunk by chunk.
 * - LF and CRLF line endings (mixed too); a final line without a newline is fine. CR-only
 *   line endings are refused (detected in the header). A UTF-8 BOM at the start is dropped.
 * - Blank lines are errors, except trailing ones at the end of the file. A one-column file
 *   must therefore write a missing value as `""` or `NA`, not as an empty line.
 * - The header is line 1: names are unquoted like data fields (R's `write.csv` quotes them)
 *   and kept otherwise as is (not trimmed). Duplicate names are refused; an empty name (R's
 *   row-names column) is allowed once.
 * - Every data line must have exactly as many fields as the header; a trailing comma makes
 *   one field more.
 *
 * Columns:
 * - `numeric`: parsed as decimal numbers: `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?`,
 *   so `12`, `-3.5`, `+7`, `.5`, `5.`, `5e+05`, `1E+05`, `7.5e-3`. Missing → NaN: an empty
 *   cell and `NA`, `NaN`, `null` in any case. Anything else is a `CsvError` quoting the value:
 *   `12a`, `"1,5"`, `0x10`, `Infinity`, surrounding spaces, and values that overflow a double
 *   (`1e999`). A quoted number (`"12"`) is read as the number. Parsing is correctly rounded
 *   (the same double as `Number(text)`).
 * - `text`: the field's text, quotes removed and `""` unescaped. Missing → null: an empty
 *   cell (quoted or not) and an unquoted `NA` (R writes missing strings as a bare NA and the
 *   string "NA" quoted, so a quoted `"NA"` stays the string "NA").
 * - `infer: true` (for files read without a schema): every column not listed in `numeric` or
 *   `text` is numeric if each of its non-missing cells (by the numeric rules) parses as a
 *   number, and text otherwise; an all-missing column is numeric (all NaN). A column that
 *   turns out to be text after numbers were seen in it is re-read from the file for the
 *   rows before that point, so its text is exactly what the file holds (`007` stays `007`);
 *   only those columns and only those rows are re-read.
 * - Without `infer`, columns listed in neither `numeric` nor `text` are not kept (they are
 *   still in `header` and their field count is still checked). Listed columns that are
 *   absent from the file are simply absent from `columns`: `required` is the presence check.
 *   A name listed as both numeric and text is a TypeError.
 *
 * Errors: `CsvError` with `file` (as given), `line` (1-based physical line; the header is
 * line 1) and `column` (the name, when the error is about one column). An empty file is
 * reported at line 1, a header with no data rows at line 2, header problems at line 1. I/O
 * errors (ENOENT, EACCES...) propagate unchanged from node:fs.
 *
 * Speed and memory: the file is streamed in 4 MiB chunks and parsed from the bytes; the text
 * is never held as a JS string (only text cells become strings). Numeric columns are
 * Float64Arrays grown geometrically, with the first growth sized from the bytes per row seen
 * so far and the file size, and trimmed to `rows` at the end. The module only reads the file:
 * no logging, no metrics.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** A malformed CSV file: names the file, the physical line and, when known, the column. */
export class CsvError extends Error {
  override readonly name = 'CsvError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: string | undefined,
    detail: string,
  ) {
    super(column === undefined ? `${file}:${line}: ${detail}` : `${file}:${line}: column "${column}": ${detail}`);
  }
}

export type CsvColumn = { kind: 'numeric'; values: Float64Array } | { kind: 'text'; values: (string | null)[] };

export interface CsvColumns {
  /** The path as given to `readCsvColumns`. */
  readonly file: string;
  /** Every column name of the file, in file order (including columns not kept). */
  readonly header: readonly string[];
  /** The number of data rows; every column has exactly this many values. */
  readonly rows: number;
  /** The kept columns, in file order. */
  readonly columns: ReadonlyMap<string, CsvColumn>;
}

export interface ReadCsvOptions {
  /** Columns parsed as numbers (missing → NaN). */
  numeric?: readonly string[];
  /** Columns kept as strings (missing → null). */
  text?: readonly string[];
  /** Columns that must be in the header. */
  required?: readonly string[];
  /** Keep every other column too, typed numeric or text by its content. */
  infer?: boolean;
}

const CHUNK = 4 * 1024 * 1024;
/** A longer line is refused rather than buffered (a binary file, or no newlines at all). */
const MAX_LINE = 64 * 1024 * 1024;
const MAX_SHOWN = 80;

const SKIP = 0;
const NUMERIC = 1;
const TEXT = 2;
/** Inferred column, numeric so far. */
const INFER = 3;

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Exact powers of ten: m·10^k and m/10^k are correctly rounded for m < 2^53, k ≤ 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * Parses buf[s, e) as a number. NaN for a missing token, undefined when it is not a number.
 * Up to 15 significant digits and a decimal exponent within ±22 take the exact fast path
 * (Clinger); anything else is validated here and converted by `Number`.
 */
function parseNumber(buf: Buffer, s: number, e: number): number | undefined {
  if (s === e) return NaN;
  let p = s;
  let c = buf[p]!;
  let negative = false;
  if (c === 45) {
    negative = true;
    p++;
  } else if (c === 43) {
    p++;
  }
  let m = 0;
  let digits = 0;
  let fraction = 0;
  while (p < e) {
    c = buf[p]! - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
    digits++;
    p++;
  }
  if (p < e && buf[p] === 46) {
    p++;
    while (p < e) {
      c = buf[p]! - 48;
      if (c < 0 || c > 9) break;
      m = m * 10 + c;
      digits++;
      fraction++;
      p++;
    }
  }
  if (digits === 0) return p === s ? missingToken(buf, s, e) : undefined;
  let exponent = 0;
  if (p < e && (buf[p] === 101 || buf[p] === 69)) {
    p++;
    let exponentNegative = false;
    if (p < e && (buf[p] === 45 || buf[p] === 43)) {
      exponentNegative = buf[p] === 45;
      p++;
    }
    const start = p;
    while (p < e) {
      c = buf[p]! - 48;
      if (c < 0 || c > 9) break;
      if (exponent < 100000) exponent = exponent * 10 + c;
      p++;
    }
    if (p === start) return undefined;
    if (exponentNegative) exponent = -exponent;
  }
  if (p !== e) return undefined;
  const k = exponent - fraction;
  if (digits <= 15 && k >= -22 && k <= 22) {
    const v = k === 0 ? m : k > 0 ? m * POW10[k]! : m / POW10[-k]!;
    return negative ? -v : v;
  }
  const v = Number(buf.toString('latin1', s, e));
  return Number.isFinite(v) ? v : undefined;
}

/** NaN for `NA`, `NaN` and `null` in any case, undefined for anything else. */
function missingToken(buf: Buffer, s: number, e: number): number | undefined {
  const n = e - s;
  const a = buf[s]! | 0x20;
  const b = buf[s + 1]! | 0x20;
  if (n === 2 && a === 110 && b === 97) return NaN; // na
  if (n === 3 && a === 110 && b === 97 && (buf[s + 2]! | 0x20) === 110) return NaN; // nan
  if (n === 4 && a === 110 && b === 117 && (buf[s + 2]! | 0x20) === 108 && (buf[s + 3]! | 0x20) === 108) return NaN; // null
  return undefined;
}

function show(value: string): string {
  return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 40).map((n) => JSON.stringify(n));
  return names.length > 40 ? `${shown.join(', ')} … and ${names.length - 40} more` : shown.join(', ');
}

/** What the parser keeps of each header column. */
type Plan = (header: string[]) => Uint8Array;

/**
 * Parses complete lines handed to it by `scan`. Numeric and text values go straight into
 * their columns; `line` counts physical lines, `rows` data rows.
 */
class Parser {
  line = 0;
  rows = 0;
  stopped = false;
  header: string[] | undefined;
  kinds: Uint8Array = new Uint8Array(0);
  numbers: (Float64Array | undefined)[] = [];
  texts: ((string | null)[] | undefined)[] = [];
  /** INFER columns that became text: the row where it happened, else -1. */
  switchedAt: Int32Array = new Int32Array(0);
  /** INFER columns that held a cell before switching that is not missing as text. */
  dirty: Uint8Array = new Uint8Array(0);
  private capacity = 0;
  private pendingBlank = 0;
  private headerBytes = 0;
  private dataBytes = 0;

  constructor(
    readonly file: string,
    private readonly fileSize: number,
    private readonly plan: Plan,
    private readonly stopAt: number,
  ) {}

  /** Parses the lines of buf[from, to): each ends with LF, except maybe the file's last. */
  block(buf: Buffer, from: number, to: number): void {
    let pos = from;
    while (pos < to) {
      let nl = buf.indexOf(LF, pos);
      if (nl < 0 || nl >= to) nl = to;
      let end = nl;
      if (end > pos && buf[end - 1] === CR) end--;
      this.line++;
      let start = pos;
      if (this.line === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) {
        start += 3;
      }
      if (start === end) {
        if (this.pendingBlank === 0) this.pendingBlank = this.line;
      } else {
        if (this.pendingBlank !== 0) this.blankLine();
        if (this.header === undefined) {
          this.headerBytes = nl + 1 - pos;
          this.readHeader(buf, start, end);
        } else {
          this.dataBytes += nl + 1 - pos;
          this.record(buf, start, end);
          if (this.rows >= this.stopAt) {
            this.stopped = true;
            return;
          }
        }
      }
      pos = nl + 1;
    }
  }

  /**
   * After the last line: empty-file checks, then cuts the numeric columns to `rows`: a view
   * when at most 1/8 of the capacity is unused (copying 24 fresh 8 MB arrays costs a third
   * of a second), else a copy.
   */
  finish(): void {
    if (this.header === undefined) throw new CsvError(this.file, 1, undefined, 'the file is empty');
    if (this.rows === 0) throw new CsvError(this.file, 2, undefined, 'the file has no data rows (only a header)');
    const rows = this.rows;
    const copy = this.capacity - rows > this.capacity / 8;
    for (let i = 0; i < this.numbers.length; i++) {
      const values = this.numbers[i];
      if (values !== undefined && values.length !== rows) this.numbers[i] = copy ? values.slice(0, rows) : values.subarray(0, rows);
    }
  }

  private blankLine(): never {
    const detail =
      this.header === undefined ? 'the header line is blank' : 'blank line (blank lines are allowed only at the end of the file)';
    throw new CsvError(this.file, this.pendingBlank, undefined, detail);
  }

  private readHeader(buf: Buffer, start: number, end: number): void {
    const cr = buf.indexOf(CR, start);
    if (cr >= 0 && cr < end) {
      throw new CsvError(this.file, 1, undefined, 'the header contains a bare carriage return (CR-only line endings are not supported)');
    }
    const header = this.fields(buf, start, end);
    const seen = new Map<string, number>();
    header.forEach((name, i) => {
      const first = seen.get(name);
      if (first !== undefined) {
        throw new CsvError(this.file, 1, name, `duplicate column name at positions ${first + 1} and ${i + 1}`);
      }
      seen.set(name, i);
    });
    this.header = header;
    this.kinds = this.plan(header);
    this.numbers = Array.from(this.kinds, () => undefined);
    this.texts = Array.from(this.kinds, (k) => (k === TEXT ? [] : undefined));
    this.switchedAt = new Int32Array(header.length).fill(-1);
    this.dirty = new Uint8Array(header.length);
    this.grow();
  }

  /** Splits a line into field strings (the header, and counting fields for an error). */
  private fields(buf: Buffer, pos: number, end: number): string[] {
    const out: string[] = [];
    for (;;) {
      if (pos < end && buf[pos] === QUOTE) {
        const [s, e, escaped, after] = this.quoted(buf, pos, end, undefined);
        const text = buf.toString('utf8', s, e);
        out.push(escaped ? text.replaceAll('""', '"') : text);
        if (after === end) return out;
        pos = after + 1;
      } else {
        let p = pos;
        while (p < end && buf[p] !== COMMA) p++;
        out.push(buf.toString('utf8', pos, p));
        if (p === end) return out;
        pos = p + 1;
      }
    }
  }

  /**
   * A quoted field starting at buf[pos] (the quote): [content start, content end, whether it
   * holds `""`, the position after the closing quote (a comma or `end`)].
   */
  private quoted(buf: Buffer, pos: number, end: number, column: string | undefined): [number, number, boolean, number] {
    let p = pos + 1;
    let escaped = false;
    for (;;) {
      while (p < end && buf[p] !== QUOTE) p++;
      if (p === end) {
        throw new CsvError(
          this.file,
          this.line,
          column,
          'unterminated quoted field (a quoted field must close on its own line; multi-line fields are not supported)',
        );
      }
      if (p + 1 < end && buf[p + 1] === QUOTE) {
        escaped = true;
        p += 2;
        continue;
      }
      break;
    }
    const after = p + 1;
    if (after < end && buf[after] !== COMMA) {
      const c = String.fromCharCode(buf[after]!);
      throw new CsvError(this.file, this.line, column, `unexpected character ${JSON.stringify(c)} after a closing quote`);
    }
    return [pos + 1, p, escaped, after];
  }

  private record(buf: Buffer, start: number, end: number): void {
    let pos = start;
    const kinds = this.kinds;
    const width = kinds.length;
    const row = this.rows;
    if (row >= this.capacity) this.grow();
    let i = 0;
    for (;;) {
      if (i === width) this.fieldCount(buf, start, end);
      const kind = kinds[i]!;
      if (kind === NUMERIC || kind === INFER) {
        // Fast path: an unquoted integer of 1 to 15 digits, parsed while looking for the comma.
        let p = pos;
        const negative = p < end && buf[p] === 45;
        if (negative) p++;
        const digits = p;
        let m = 0;
        while (p < end) {
          const d = buf[p]! - 48;
          if (d < 0 || d > 9) break;
          m = m * 10 + d;
          p++;
        }
        const n = p - digits;
        if (n > 0 && n <= 15 && (p === end || buf[p] === COMMA)) {
          this.numbers[i]![row] = negative ? -m : m;
          if (kind === INFER) this.dirty[i] = 1;
          i++;
          if (p === end) break;
          pos = p + 1;
          continue;
        }
      }
      let s: number;
      let e: number;
      let next: number;
      let quoted = false;
      let escaped = false;
      if (pos < end && buf[pos] === QUOTE) {
        quoted = true;
        const q = this.quoted(buf, pos, end, this.header![i]);
        s = q[0];
        e = q[1];
        escaped = q[2];
        next = q[3];
      } else {
        let p = pos;
        while (p < end && buf[p] !== COMMA) p++;
        s = pos;
        e = p;
        next = p;
      }
      if (kind === NUMERIC) {
        const v = parseNumber(buf, s, e);
        if (v === undefined) this.notANumber(buf, s, e, escaped, i);
        this.numbers[i]![row] = v;
      } else if (kind === TEXT) {
        this.texts[i]!.push(textValue(buf, s, e, quoted, escaped));
      } else if (kind === INFER) {
        const v = parseNumber(buf, s, e);
        if (v === undefined) {
          this.kinds[i] = TEXT;
          this.switchedAt[i] = row;
          this.numbers[i] = undefined;
          const values = new Array<string | null>(row).fill(null);
          values.push(textValue(buf, s, e, quoted, escaped));
          this.texts[i] = values;
        } else {
          this.numbers[i]![row] = v;
          if (this.dirty[i] === 0 && !textMissing(buf, s, e, quoted)) this.dirty[i] = 1;
        }
      }
      i++;
      if (next === end) break;
      pos = next + 1;
    }
    if (i !== width) this.fieldCount(buf, start, end, i);
    this.rows = row + 1;
  }

  private notANumber(buf: Buffer, s: number, e: number, escaped: boolean, i: number): never {
    const text = buf.toString('utf8', s, e);
    const value = escaped ? text.replaceAll('""', '"') : text;
    throw new CsvError(this.file, this.line, this.header![i], `cannot parse ${show(value)} as a number`);
  }

  /** A row with the wrong number of fields; `seen` is the count when the line ended early. */
  private fieldCount(buf: Buffer, start: number, end: number, seen?: number): never {
    const width = this.kinds.length;
    let count = seen;
    if (count === undefined) {
      // More fields than the header: count them all.
      try {
        count = this.fields(buf, start, end).length;
      } catch {
        count = width + 1;
      }
    }
    throw new CsvError(
      this.file,
      this.line,
      undefined,
      `the row has ${count} field${count === 1 ? '' : 's'} but the header has ${width}`,
    );
  }

  /**
   * Grows every numeric column: by half, or at once to the row count the file size predicts
   * from the bytes per row seen so far, whichever is larger.
   */
  private grow(): void {
    let next = Math.max(1024, Math.ceil(this.capacity * 1.5));
    if (this.rows > 0 && this.dataBytes > 0) {
      const predicted = Math.ceil(((this.fileSize - this.headerBytes) / this.dataBytes) * this.rows * 1.02) + 64;
      if (predicted > next) next = predicted;
    }
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i];
      if (kind !== NUMERIC && kind !== INFER) continue;
      const grown = new Float64Array(next);
      const old = this.numbers[i];
      if (old !== undefined) grown.set(old.subarray(0, this.rows));
      this.numbers[i] = grown;
    }
    this.capacity = next;
  }
}

/** Whether a cell is missing as text: empty, or a bare (unquoted) NA. */
function textMissing(buf: Buffer, s: number, e: number, quoted: boolean): boolean {
  return s === e || (!quoted && e - s === 2 && buf[s] === 78 && buf[s + 1] === 65);
}

/** A text cell: null when missing. */
function textValue(buf: Buffer, s: number, e: number, quoted: boolean, escaped: boolean): string | null {
  if (textMissing(buf, s, e, quoted)) return null;
  const text = buf.toString('utf8', s, e);
  return escaped ? text.replaceAll('""', '"') : text;
}

/**
 * Streams the file through the parser, complete lines at a time: 4 MiB reads into two
 * alternating buffers (the next read runs while this chunk is parsed), carrying the partial
 * last line over. Reads the handle by position rather than through a ReadStream, because a
 * FileHandle's stream closes the handle when it is destroyed, and the inference re-read
 * needs the same open file again.
 */
async function scan(handle: FileHandle, parser: Parser): Promise<void> {
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
  let which = 0;
  let position = 0;
  let pending = handle.read(buffers[0], 0, CHUNK, 0);
  let carry: Buffer | undefined;
  try {
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, CHUNK, position);
      const chunk = buffer.subarray(0, bytesRead);
      let from = 0;
      if (carry !== undefined) {
        const nl = chunk.indexOf(LF);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          if (carry.length > MAX_LINE) tooLong(parser);
          continue;
        }
        const joined = Buffer.concat([carry, chunk.subarray(0, nl + 1)]);
        carry = undefined;
        parser.block(joined, 0, joined.length);
        if (parser.stopped) return;
        from = nl + 1;
      }
      const last = chunk.lastIndexOf(LF);
      if (last >= from) {
        parser.block(chunk, from, last + 1);
        if (parser.stopped) return;
        from = last + 1;
      }
      // A copy: the buffer is reused by the read after next.
      if (from < chunk.length) {
        carry = Buffer.from(chunk.subarray(from));
        if (carry.length > MAX_LINE) tooLong(parser);
      }
    }
    if (carry !== undefined) parser.block(carry, 0, carry.length);
  } finally {
    // Settle the read in flight before the caller closes the handle.
    await pending.catch(() => undefined);
  }
}

function tooLong(parser: Parser): never {
  throw new CsvError(parser.file, parser.line + 1, undefined, `line longer than ${MAX_LINE / 1024 / 1024} MiB`);
}

/**
 * Reads a CSV file into typed columns (see the module comment for the format and the
 * typing rules). Rejects with a `CsvError` naming the file, the line and the column.
 */
export async function readCsvColumns(file: string, opts: ReadCsvOptions = {}): Promise<CsvColumns> {
  const numeric = new Set(opts.numeric ?? []);
  const text = new Set(opts.text ?? []);
  for (const name of numeric) {
    if (text.has(name)) throw new TypeError(`readCsvColumns: column "${name}" is listed as both numeric and text`);
  }
  const required = [...new Set(opts.required ?? [])];
  const infer = opts.infer === true;

  const plan: Plan = (header) => {
    const present = new Set(header);
    const missing = required.filter((name) => !present.has(name));
    if (missing.length > 0) {
      const s = missing.length === 1 ? '' : 's';
      throw new CsvError(file, 1, undefined, `missing required column${s} ${listNames(missing)}; the header has ${listNames(header)}`);
    }
    return Uint8Array.from(header, (name) => (numeric.has(name) ? NUMERIC : text.has(name) ? TEXT : infer ? INFER : SKIP));
  };

  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const parser = new Parser(file, size, plan, Infinity);
    await scan(handle, parser);
    parser.finish();
    const header = parser.header!;

    // Inferred columns that turned to text after holding values: re-read their first rows.
    const reread = [...parser.switchedAt.keys()].filter((i) => parser.switchedAt[i]! > 0 && parser.dirty[i] === 1);
    if (reread.length > 0) {
      const upTo = Math.max(...reread.map((i) => parser.switchedAt[i]!));
      const again = new Parser(
        file,
        size,
        (h) => {
          if (h.length !== header.length || h.some((name, i) => name !== header[i])) {
            throw new CsvError(file, 1, undefined, 'the header changed while the file was being read');
          }
          return Uint8Array.from(h, (_, i) => (reread.includes(i) ? TEXT : SKIP));
        },
        upTo,
      );
      await scan(handle, again);
      for (const i of reread) {
        const values = parser.texts[i]!;
        const first = again.texts[i]!;
        for (let r = 0; r < parser.switchedAt[i]!; r++) values[r] = first[r] ?? null;
      }
    }

    const columns = new Map<string, CsvColumn>();
    header.forEach((name, i) => {
      const numbers = parser.numbers[i];
      const texts = parser.texts[i];
      if (numbers !== undefined) columns.set(name, { kind: 'numeric', values: numbers });
      else if (texts !== undefined) columns.set(name, { kind: 'text', values: texts });
    });
    return { file, header, rows: parser.rows, columns };
  } finally {
    await handle.close();
  }
}
