/**
 * A segment of the rows, written as one comparison of a feature with a number:
 * `AGE<30`, `LIMIT_BAL>=300000`, `EDUCATION=3`, `SEX!=1` (spaces allowed; `==` is `=`).
 * A row whose value is missing is never in a segment.
 */
export interface Segment {
  readonly feature: string;
  readonly op: '<' | '<=' | '>' | '>=' | '=' | '!=';
  readonly value: number;
  /** The text it was parsed from, for summaries. */
  readonly text: string;
}

const PATTERN = /^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>|=)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

/** Parses a segment; undefined when the text is not `FEATURE OP NUMBER`. */
export function parseSegment(text: string): Segment | undefined {
  const m = PATTERN.exec(text);
  if (m === null) return undefined;
  const op = (m[2] === '==' ? '=' : m[2]) as Segment['op'];
  return { feature: m[1]!, op, value: Number(m[3]), text: `${m[1]}${op}${m[3]}` };
}

/** Whether a value (null = missing) is in the segment. */
export function inSegment(s: Segment, v: number | null): boolean {
  if (v === null || v !== v) return false;
  switch (s.op) {
    case '<': return v < s.value;
    case '<=': return v <= s.value;
    case '>': return v > s.value;
    case '>=': return v >= s.value;
    case '=': return v === s.value;
    case '!=': return v !== s.value;
  }
}
