/**
 * Just enough of the protobuf wire format to edit an ONNX graph's nodes and outputs
 * without a protobuf library: fields are read as raw byte ranges and written back
 * unchanged unless we replace them. Field numbers follow onnx/onnx.proto.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** ONNX field numbers used by the graph rewrite. */
export const ONNX = {
  model: { graph: 7 },
  graph: { node: 1, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, domain: 7 },
  valueInfo: { name: 1, type: 2 },
  type: { tensor: 1, sequence: 4, map: 5 },
  tensorType: { elemType: 1, shape: 2 },
} as const;

/** ONNX TensorProto.DataType.FLOAT. */
export const ONNX_FLOAT = 1;

export interface ProtoField {
  readonly no: number;
  readonly wire: number;
  /** The whole field, tag included, as it appears in the message. */
  readonly raw: Uint8Array;
  /** The payload of a length-delimited field; empty for the other wire types. */
  readonly body: Uint8Array;
  /** The value of a varint field (exact up to 2^53). */
  readonly varint: number;
}

export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtoError('truncated varint');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new ProtoError('varint longer than 10 bytes');
}

/** Splits a message into its fields, in order. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    pos = afterTag;
    let body: Uint8Array = new Uint8Array(0);
    let varint = 0;
    switch (wire) {
      case WIRE_VARINT:
        [varint, pos] = readVarint(buf, pos);
        break;
      case WIRE_FIXED64:
        pos += 8;
        break;
      case WIRE_FIXED32:
        pos += 4;
        break;
      case WIRE_BYTES: {
        const [len, afterLen] = readVarint(buf, pos);
        body = buf.subarray(afterLen, afterLen + len);
        pos = afterLen + len;
        break;
      }
      default:
        throw new ProtoError(`unsupported wire type ${wire} at byte ${start}`);
    }
    if (pos > buf.length || no === 0) throw new ProtoError(`malformed field at byte ${start}`);
    fields.push({ no, wire, raw: buf.subarray(start, pos), body, varint });
  }
  return fields;
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A length-delimited field (a sub-message or a string). */
export function bytesField(no: number, body: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from([...encodeVarint(no * 8 + WIRE_BYTES), ...encodeVarint(body.length)]), body]);
}

export function varintField(no: number, value: number): Uint8Array {
  return Uint8Array.from([...encodeVarint(no * 8 + WIRE_VARINT), ...encodeVarint(value)]);
}

export function stringField(no: number, value: string): Uint8Array {
  return bytesField(no, new TextEncoder().encode(value));
}

const decoder = new TextDecoder();

/** The string fields numbered `no` of a message. */
export function strings(fields: readonly ProtoField[], no: number): string[] {
  return fields.filter((f) => f.no === no && f.wire === WIRE_BYTES).map((f) => decoder.decode(f.body));
}

export function firstString(fields: readonly ProtoField[], no: number): string | undefined {
  return strings(fields, no)[0];
}

export function firstMessage(fields: readonly ProtoField[], no: number): ProtoField[] | undefined {
  const f = fields.find((x) => x.no === no && x.wire === WIRE_BYTES);
  return f === undefined ? undefined : readFields(f.body);
}
