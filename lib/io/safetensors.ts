/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors),
 * byte for byte as the reference (Rust / Python) implementation does:
 *
 * ```
 * [8 bytes]  N, the header length, little-endian u64
 * [N bytes]  JSON header: {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..],
 *            "data_offsets": [begin, end]}, ...}, padded with spaces so 8 + N is a multiple of 8
 * [rest]     the byte buffer: little-endian, row-major tensor data; offsets are relative to it
 * ```
 *
 * Writing produces exactly what `safetensors.torch.save` produces for the same float32 tensors:
 * tensors sorted by dtype alignment (descending) then name (byte-wise UTF-8), data back to back
 * in that order, compact JSON with `__metadata__` first. Reading accepts F32, F64, F16 and BF16
 * (converted to float32) and rejects anything malformed with an `Error` saying what is wrong,
 * before allocating anything the file's own size does not pay for.
 */
import * as fs from 'fs';
import { Tensor } from '../core/tensor';
import { writeFileAtomic } from './atomic-write';
import { MAX_ELEMENTS, rangeError, shapeString, show, typeError } from '../core/validate';

/** What {@link loadSafetensors} returns. */
export interface SafetensorsContents {
  /** The tensors by name, in the order of their data in the file; all float32. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` string map ({} when the file has none). */
  metadata: Record<string, string>;
}

/** Largest header the reference reader accepts (safetensors' MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;

/** Every dtype of the format, with its size in bytes where we can read it. */
const READABLE: Readonly<Record<string, number>> = { F32: 4, F64: 8, F16: 2, BF16: 2 };
const UNSUPPORTED = new Set([
  'BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Saves float32 tensors (and optional string metadata) to a `.safetensors` file, atomically.
 *
 * The bytes are exactly those `safetensors.torch.save(tensors, metadata)` writes for the same
 * float32 tensors: tensors sorted by name (byte-wise UTF-8), data back to back, compact JSON
 * header padded with spaces to a multiple of 8, `__metadata__` first when `metadata` is given
 * (even `{}`, as Python does; metadata keys are written sorted). The file is written to a
 * temporary file in the same folder (`.<name>.<pid>.<random>.tmp`), fsynced, renamed over
 * `path`, and the folder is fsynced: an error part-way leaves any previous file whole and no
 * temporary file behind; a crash or kill part-way leaves the previous file whole and at most
 * that temporary file, which the next save into the same folder removes once its process no
 * longer runs.
 *
 * @param path Where to write; an existing file is replaced.
 * @param tensors A plain object of {@link Tensor}s by name (names non-empty, not `__metadata__`).
 * @param metadata Optional string → string map, stored as the header's `__metadata__`.
 * @throws TypeError / RangeError for bad arguments (nothing is written); an Error naming `path`
 *   and the reason (with the fs error's `code`, e.g. `ENOENT` and the missing folder) if the
 *   file cannot be written.
 *
 * @example
 * import { Tensor, saveSafetensors } from 'rnn-native';
 * saveSafetensors('model.safetensors', { ...lstm.stateDict(), scale: new Tensor([0.5], []) }, { format: 'pt' });
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const ctx = 'saveSafetensors';
  if (typeof path !== 'string') throw typeError(ctx, 'path', 'a non-empty string', path);
  if (path.length === 0) throw rangeError(ctx, 'path', 'a non-empty string', path);
  writeFileAtomic(ctx, path, encodeSafetensors(ctx, tensors, metadata));
}

/**
 * The bytes of a safetensors file, as chunks in file order (the header, then each tensor's
 * data, viewing the tensors' own memory where it can). Validates like saveSafetensors.
 * @internal
 */
export function encodeSafetensors(ctx: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array[] {
  const { header, data } = encode(ctx, tensors, metadata);
  return [header, ...data];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Byte-wise UTF-8 order (Rust's `str` Ord), which for well-formed strings is code-point order. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Validates everything and builds the header bytes and the data chunks, in file order. */
function encode(
  ctx: string,
  tensors: unknown,
  metadata: unknown,
): { header: Uint8Array; data: Uint8Array[] } {
  if (!isPlainObject(tensors)) throw typeError(ctx, 'tensors', 'a plain object of Tensors by name', tensors);
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === '' || name === '__metadata__')
      throw rangeError(ctx, 'a tensor name', 'a non-empty string other than "__metadata__"', name);
    if (LONE_SURROGATE.test(name)) throw rangeError(ctx, 'a tensor name', 'well-formed Unicode (no lone surrogates)', name);
    const t = tensors[name];
    const label = `tensors[${show(name)}]`;
    if (!(t instanceof Tensor)) throw typeError(ctx, label, 'a Tensor', t);
    let size = 1;
    for (const d of t.shape) size *= d;
    if (!(t.data instanceof Float32Array) || t.data.length !== size)
      throw rangeError(ctx, `${label}.data`, `a Float32Array of ${size} elements (shape ${shapeString(t.shape)})`, t.data);
  }

  let metaJson = '';
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw typeError(ctx, 'metadata', 'a plain object of strings by key', metadata);
    const keys = Object.keys(metadata).sort(compareUtf8);
    const parts: string[] = [];
    for (const key of keys) {
      const value = metadata[key];
      if (typeof value !== 'string') throw typeError(ctx, `metadata[${show(key)}]`, 'a string', value);
      if (LONE_SURROGATE.test(key)) throw rangeError(ctx, 'a metadata key', 'well-formed Unicode (no lone surrogates)', key);
      if (LONE_SURROGATE.test(value))
        throw rangeError(ctx, `metadata[${show(key)}]`, 'well-formed Unicode (no lone surrogates)', value);
      parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    metaJson = `"__metadata__":{${parts.join(',')}}`;
  }

  // All F32, so the reference order (dtype alignment descending, then name) is by name.
  names.sort(compareUtf8);
  const entries: string[] = metaJson ? [metaJson] : [];
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as Tensor;
    const bytes = float32Bytes(t.data);
    entries.push(
      `${JSON.stringify(name)}:{"dtype":"F32","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.byteLength}]}`,
    );
    offset += bytes.byteLength;
    data.push(bytes);
  }
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const header = Buffer.alloc(8 + n, 0x20);
  header.writeBigUInt64LE(BigInt(n), 0);
  json.copy(header, 8);
  return { header, data };
}

/** The little-endian bytes of a Float32Array (a view on little-endian machines, else a copy). */
function float32Bytes(a: Float32Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) return view;
  const out = new Uint8Array(view);
  for (let i = 0; i < out.length; i += 4) {
    const b0 = out[i], b1 = out[i + 1];
    out[i] = out[i + 3];
    out[i + 1] = out[i + 2];
    out[i + 2] = b1;
    out[i + 3] = b0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Loads a `.safetensors` file (a path, or its bytes) into float32 {@link Tensor}s.
 *
 * F32, F64, F16 and BF16 tensors are read (converted to float32: F64 rounds to nearest even,
 * F16 handles subnormals, infinities and NaN, BF16 is the top half of a float32); other dtypes
 * are an "unsupported dtype" error. The file is checked as strictly as the reference reader
 * checks it, and more: a short file, a header length past the end or over 100,000,000 bytes, a
 * header that is not UTF-8 JSON, duplicate keys, entries without exactly dtype, shape and
 * data_offsets, bad shapes or offsets, offsets that overlap, leave gaps or do not cover the data
 * exactly, sizes that do not match the shape, or metadata that is not string → string, each
 * throws an `Error` saying what is wrong; input that cannot be a safetensors file at all (a
 * text file, say: its first 8 bytes give a header length past the end, or the header does not
 * start with "{") says "not a safetensors file". From a path, the header is read and checked
 * before anything else, then each tensor is read straight into its own buffer. Nothing is
 * allocated beyond what the file's own size pays for. The returned tensors own their data
 * (nothing aliases `source`).
 *
 * @param source A file path, or the file's bytes (a `Uint8Array` or `Buffer`).
 * @returns `{ tensors, metadata }`; `metadata` is `{}` when the file has none.
 * @throws Error for a malformed file; the fs error for an unreadable path; TypeError/RangeError
 *   for a bad argument.
 *
 * @example
 * import { loadSafetensors } from 'rnn-native';
 * const { tensors, metadata } = loadSafetensors('model.safetensors');
 * console.log(metadata.format, tensors['lstm.weight_ih_l0'].shape);
 *
 * @example
 * // From bytes, e.g. fetched over the network.
 * const { tensors } = loadSafetensors(new Uint8Array(await response.arrayBuffer()));
 */
export function loadSafetensors(source: string | Uint8Array): SafetensorsContents {
  const header = inspectSafetensors('loadSafetensors', source);
  return { tensors: header.read(), metadata: header.metadata };
}

/** One tensor of a file's header: name, dtype, shape, and its byte range in the data buffer. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * A checked safetensors header: what the file holds, known before any tensor is read, so that
 * a loader can compare it with what it expects before allocating anything.
 */
export interface SafetensorsHeader {
  /** `${ctx}: "<path>"` or `${ctx}`: the start of every error message about this file. */
  readonly where: string;
  readonly metadata: Record<string, string>;
  /** The tensors in the order of their data. */
  readonly entries: readonly SafetensorsEntry[];
  /** The file's size in bytes. */
  readonly fileBytes: number;
  /**
   * Reads the tensors (float32, owning their data). For a path the file is read again and
   * must still carry the same header and size.
   */
  read(): Record<string, Tensor>;
}

/**
 * Reads and checks a safetensors header: from a path only the first 8 + N bytes are read.
 * Errors say `${ctx}: "<path>": …`; input that cannot be a safetensors file (shorter than 8
 * bytes, a header length past the end, a header not starting with "{") says "not a
 * safetensors file". @internal
 */
export function inspectSafetensors(ctx: string, source: string | Uint8Array): SafetensorsHeader {
  if (typeof source === 'string') {
    if (source.length === 0) throw rangeError(ctx, 'source', 'a non-empty path or a Uint8Array', source);
    const where = `${ctx}: ${JSON.stringify(source)}`;
    const { head, size } = readHead(source, where);
    const parsed = parseHeader(head, size, where);
    return {
      where, metadata: parsed.metadata, entries: parsed.entries, fileBytes: size,
      read: () => readTensorsFromFile(source, where, head, size, parsed.entries),
    };
  }
  if (!(source instanceof Uint8Array)) throw typeError(ctx, 'source', 'a path string or a Uint8Array', source);
  const bytes = source;
  const parsed = parseHeader(bytes, bytes.byteLength, ctx);
  const start = parsed.start;
  return {
    where: ctx, metadata: parsed.metadata, entries: parsed.entries, fileBytes: bytes.byteLength,
    read: () => {
      const tensors: Record<string, Tensor> = {};
      for (const e of parsed.entries) setOwn(tensors, e.name, new Tensor(toFloat32(e.dtype, bytes.subarray(start + e.begin, start + e.end)), e.shape.slice()));
      return tensors;
    },
  };
}

function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  // Plain assignment of "__proto__" would set the prototype instead of a property.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The Error of a malformed file: `${where}: ${detail}`. `notSafetensors` marks input that
 * cannot be a safetensors file at all (`detail` then starts "not a safetensors file: "), so
 * that a loader of a format built on safetensors can say the file is not of its format.
 * @internal
 */
export class SafetensorsFormatError extends Error {
  constructor(readonly detail: string, where: string, readonly notSafetensors: boolean) {
    super(`${where}: ${detail}`);
    this.name = 'Error';
  }
}

function failWith(where: string): (msg: string) => never {
  return (msg: string): never => {
    throw new SafetensorsFormatError(msg, where, msg.startsWith('not a safetensors file: '));
  };
}

/** Reads `length` bytes at `position` of `fd` into `into` (at `offset`), or fails. */
function readExactly(fd: number, into: Uint8Array, offset: number, length: number, position: number, fail: (m: string) => never): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, into, offset + done, Math.min(length - done, 1 << 30), position + done);
    if (n <= 0) fail(`the file ended early (it changed while being read?): ${done} of ${length} bytes read at offset ${position}`);
    done += n;
  }
}

/** The length field and the header of a file (nothing more is read), and the file's size. */
function readHead(file: string, where: string): { head: Uint8Array; size: number } {
  const fail = failWith(where);
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) fail('is a folder, not a safetensors file');
    const size = st.size;
    const lengthField = new Uint8Array(8);
    const n = checkLength(lengthField, size, fail, () => readExactly(fd, lengthField, 0, 8, 0, fail));
    const head = new Uint8Array(8 + n);
    head.set(lengthField);
    readExactly(fd, head, 8, n, 8, fail);
    return { head, size };
  } finally {
    fs.closeSync(fd);
  }
}

/** Checks the 8-byte length field against the file's size (filling it first) and returns N. */
function checkLength(field: Uint8Array, size: number, fail: (m: string) => never, fill?: () => void): number {
  if (size < 8) fail(`not a safetensors file: the file is ${size} bytes, shorter than the 8-byte header length field`);
  fill?.();
  const n64 = new DataView(field.buffer, field.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(size - 8))
    fail(`not a safetensors file: header length ${n64} runs past the end of the file (${size - 8} bytes follow the length field)`);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} is over the limit of ${MAX_HEADER_BYTES} bytes`);
  return Number(n64);
}

/**
 * Parses and checks the header at the start of `head` (a whole file, or its first 8 + N bytes)
 * for a file of `size` bytes. Nothing is allocated beyond what the header's own size pays for.
 */
function parseHeader(head: Uint8Array, size: number, where: string): { metadata: Record<string, string>; entries: SafetensorsEntry[]; start: number } {
  const fail = failWith(where);
  const n = checkLength(head.subarray(0, Math.min(8, head.byteLength)), size, fail);
  // The first byte that is not JSON whitespace must open the object: anything else is some
  // other kind of file (text, a pickle, a zip), and the message says so first.
  let first = 8;
  while (first < 8 + n && (head[first] === 0x20 || head[first] === 0x09 || head[first] === 0x0a || head[first] === 0x0d)) first++;
  const foreign = first >= 8 + n || head[first] !== 0x7b;
  const failHeader = (msg: string): never => fail(foreign ? `not a safetensors file: ${msg}` : msg);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(head.subarray(8, 8 + n));
  } catch {
    failHeader('header is not valid UTF-8');
  }
  let parsed: { metadata: Record<string, string>; entries: SafetensorsEntry[] } | undefined;
  try {
    parsed = new HeaderParser(text).parse();
  } catch (err) {
    if (err instanceof HeaderError) failHeader(err.message);
    throw err;
  }
  const { metadata, entries } = parsed!;

  // The buffer must be covered exactly: sorted by offsets, each tensor starts where the last ended.
  const bufferLength = size - 8 - n;
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of sorted) {
    const at = `tensor ${show(e.name)} (data_offsets [${e.begin}, ${e.end}])`;
    if (e.begin < covered)
      fail(`${at} overlaps tensor ${show(previous!.name)} (data_offsets [${previous!.begin}, ${previous!.end}])`);
    if (e.begin > covered)
      fail(`gap in the data: bytes [${covered}, ${e.begin}) belong to no tensor (before ${at})`);
    if (e.end > bufferLength)
      fail(`${at} runs past the end of the data buffer (${bufferLength} bytes)`);
    covered = e.end;
    previous = e;
  }
  if (covered !== bufferLength)
    fail(`the tensors do not cover the data buffer: bytes [${covered}, ${bufferLength}) belong to no tensor`);

  // Valid file. Can this library hold each tensor?
  for (const e of sorted) {
    const count = (e.end - e.begin) / READABLE[e.dtype];
    if (count > MAX_ELEMENTS || e.shape.some((d) => d > MAX_ELEMENTS))
      fail(`tensor ${show(e.name)} of shape ${shapeString(e.shape)} is too large for a Tensor (at most ${MAX_ELEMENTS} elements)`);
  }
  return { metadata, entries: sorted, start: 8 + n };
}

/** Reads the tensors of a file whose header was checked; the file must not have changed. */
function readTensorsFromFile(file: string, where: string, head: Uint8Array, size: number, entries: readonly SafetensorsEntry[]): Record<string, Tensor> {
  const fail = failWith(where);
  const fd = fs.openSync(file, 'r');
  try {
    const again = new Uint8Array(head.byteLength);
    if (fs.fstatSync(fd).size !== size) fail('the file changed while being read (its size differs)');
    readExactly(fd, again, 0, again.byteLength, 0, fail);
    if (Buffer.compare(again, head) !== 0) fail('the file changed while being read (its header differs)');
    const start = head.byteLength;
    const tensors: Record<string, Tensor> = {};
    for (const e of entries) {
      const bytes = e.end - e.begin;
      let data: Float32Array;
      if (e.dtype === 'F32' && LITTLE_ENDIAN) {
        // straight into the tensor's memory
        data = new Float32Array(bytes / 4);
        readExactly(fd, new Uint8Array(data.buffer), 0, bytes, start + e.begin, fail);
      } else {
        const raw = new Uint8Array(bytes);
        readExactly(fd, raw, 0, bytes, start + e.begin, fail);
        data = toFloat32(e.dtype, raw);
      }
      setOwn(tensors, e.name, new Tensor(data, e.shape.slice()));
    }
    return tensors;
  } finally {
    fs.closeSync(fd);
  }
}

// --- conversion to float32 -------------------------------------------------------------------

/** A copy of `src` in a fresh, aligned buffer when a typed view of `src` would be misaligned. */
function aligned(src: Uint8Array, width: number): ArrayBuffer {
  if (src.byteOffset % width === 0 && src.buffer instanceof ArrayBuffer) return src.buffer;
  // a copy in a fresh buffer (not src.slice(): on a Buffer that is a view of the same memory)
  return new Uint8Array(src).buffer;
}

function toFloat32(dtype: string, src: Uint8Array): Float32Array {
  const width = READABLE[dtype];
  const count = src.byteLength / width;
  const out = new Float32Array(count);
  if (count === 0) return out;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const bits = new Uint32Array(out.buffer);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < count; i++) bits[i] = dv.getUint32(4 * i, true);
      break;
    case 'F64':
      if (LITTLE_ENDIAN) {
        const buf = aligned(src, 8);
        const offset = buf === src.buffer ? src.byteOffset : 0;
        out.set(new Float64Array(buf, offset, count)); // rounds to nearest, ties to even
      } else for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case 'F16': {
      const table = halfTable();
      if (LITTLE_ENDIAN) {
        const buf = aligned(src, 2);
        const u16 = new Uint16Array(buf, buf === src.buffer ? src.byteOffset : 0, count);
        for (let i = 0; i < count; i++) bits[i] = table[u16[i]];
      } else for (let i = 0; i < count; i++) bits[i] = table[dv.getUint16(2 * i, true)];
      break;
    }
    case 'BF16':
      if (LITTLE_ENDIAN) {
        const buf = aligned(src, 2);
        const u16 = new Uint16Array(buf, buf === src.buffer ? src.byteOffset : 0, count);
        for (let i = 0; i < count; i++) bits[i] = u16[i] << 16;
      } else for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      break;
  }
  return out;
}

let HALF_TABLE: Uint32Array | undefined;

/** float32 bit patterns of all 65536 IEEE binary16 values (NaNs quieted, payload kept, as torch). */
function halfTable(): Uint32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfToFloatBits(h);
  return (HALF_TABLE = table);
}

function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0; // ±0
    // Subnormal: mant · 2^-24. Normalize the mantissa into float32's implicit-1 form.
    let e = 113; // 127 - 15 + 1
    let m = mant;
    while ((m & 0x400) === 0) {
      m <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
  }
  if (exp === 31) return (sign | 0x7f800000 | (mant !== 0 ? 0x400000 | (mant << 13) : 0)) >>> 0; // inf, NaN
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

// --- the header ------------------------------------------------------------------------------

class HeaderError extends Error {}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A strict JSON reader for the one shape a header may have (RFC 8259 syntax, no recursion):
 * an object of tensor entries plus an optional `__metadata__` object of strings. Unlike
 * JSON.parse it sees duplicate keys, keeps integers exact (rejecting fractions, exponents and
 * anything past 2^53 − 1), and stops at the first thing out of place with a message naming it.
 */
class HeaderParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  parse(): { metadata: Record<string, string>; entries: SafetensorsEntry[] } {
    const metadata: Record<string, string> = {};
    const entries: SafetensorsEntry[] = [];
    this.ws();
    if (this.peek() !== 0x7b) {
      if (this.pos >= this.s.length) this.syntax('the header is empty');
      this.schema(`header is not a JSON object (it starts with ${this.found()})`);
    }
    const seen = new Set<string>();
    this.members('header', seen, (key) => {
      if (key === '__metadata__') this.metadata(metadata);
      else entries.push(this.entry(key));
    });
    this.ws();
    if (this.pos < this.s.length) this.syntax('unexpected data after the header object');
    return { metadata, entries };
  }

  // -- errors
  private syntax(msg: string): never {
    throw new HeaderError(`header is not valid JSON: ${msg} at position ${this.pos}`);
  }
  private schema(msg: string): never {
    throw new HeaderError(msg);
  }
  /** What the value at the cursor is, for a message. */
  private found(): string {
    const c = this.peek();
    if (c === 0x7b) return 'an object';
    if (c === 0x5b) return 'an array';
    if (c === 0x22) return 'a string';
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return `the number ${this.s.slice(this.pos).match(/^-?[0-9.eE+-]{1,24}/)![0]}`;
    if (c === 0x74 || c === 0x66) return 'a boolean';
    if (c === 0x6e) return 'null';
    if (c < 0) this.syntax('unexpected end of input');
    return this.syntax(`unexpected character ${JSON.stringify(this.s[this.pos])}`);
  }

  // -- tokens
  private peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }
  private ws(): void {
    while (this.pos < this.s.length && WS.has(this.s.charCodeAt(this.pos))) this.pos++;
  }
  private expect(c: number, what: string): void {
    this.ws();
    if (this.peek() !== c) {
      if (this.pos >= this.s.length) this.syntax(`unexpected end of input, expected ${what}`);
      this.syntax(`expected ${what} but found ${JSON.stringify(this.s[this.pos])}`);
    }
    this.pos++;
  }
  private literal(word: string): boolean {
    if (this.s.startsWith(word, this.pos)) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  /** `{ "k": <value>, ... }` with the value read by `onMember`; duplicate keys are an error. */
  private members(where: string, seen: Set<string>, onMember: (key: string) => void): void {
    this.expect(0x7b, '"{"');
    this.ws();
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) this.syntax(this.pos >= this.s.length ? 'unexpected end of input, expected a key' : 'expected a string key');
      const key = this.string();
      if (seen.has(key)) this.schema(`duplicate key ${show(key)} in ${where}`);
      seen.add(key);
      this.expect(0x3a, '":"');
      this.ws();
      onMember(key);
      this.ws();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      if (c < 0) this.syntax('unexpected end of input, expected "," or "}"');
      this.syntax(`expected "," or "}" but found ${JSON.stringify(this.s[this.pos])}`);
    }
  }

  private string(): string {
    const s = this.s;
    this.pos++; // the opening quote
    let out = '';
    let run = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.syntax('unterminated string');
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.syntax('control character in a string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(run, this.pos);
      const e = s[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = this.hex4();
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s[this.pos] !== '\\' || s[this.pos + 1] !== 'u') this.syntax('lone surrogate in a \\u escape');
            this.pos += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) this.syntax('lone surrogate in a \\u escape');
            out += String.fromCharCode(u, lo);
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            this.syntax('lone surrogate in a \\u escape');
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          this.pos -= 1;
          this.syntax('invalid escape in a string');
      }
      run = this.pos;
    }
  }

  private hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.syntax('invalid \\u escape');
    this.pos += 4;
    return parseInt(h, 16);
  }

  /** A JSON number that must be a non-negative integer ≤ 2^53 − 1. */
  private integer(what: string): number {
    const m = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.pos;
    const r = m.exec(this.s);
    if (!r) this.syntax('invalid number');
    const text = r[0];
    if (text.startsWith('-')) this.schema(`${what} must be a non-negative integer, found ${text}`);
    if (r[2] !== undefined || r[3] !== undefined) this.schema(`${what} must be a non-negative integer, found ${text}`);
    const v = Number(text);
    if (text.length > 16 || !Number.isSafeInteger(v))
      this.schema(`${what} must be a non-negative integer at most 2^53 - 1, found ${text.length > 24 ? text.slice(0, 24) + '…' : text}`);
    this.pos += text.length;
    return v;
  }

  /** `[int, int, ...]` (each checked by `integer`). */
  private integers(what: string, expected: string): number[] {
    if (this.peek() !== 0x5b) this.schema(`${what} must be ${expected}, found ${this.found()}`);
    this.pos++;
    const out: number[] = [];
    this.ws();
    if (this.peek() === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      const c = this.peek();
      if (c !== 0x2d && !(c >= 0x30 && c <= 0x39)) this.schema(`${what}[${out.length}] must be a non-negative integer, found ${this.found()}`);
      out.push(this.integer(`${what}[${out.length}]`));
      this.ws();
      const d = this.peek();
      if (d === 0x2c) {
        this.pos++;
        continue;
      }
      if (d === 0x5d) {
        this.pos++;
        return out;
      }
      if (d < 0) this.syntax('unexpected end of input, expected "," or "]"');
      this.syntax(`expected "," or "]" but found ${JSON.stringify(this.s[this.pos])}`);
    }
  }

  private metadata(into: Record<string, string>): void {
    if (this.literal('null')) return; // the reference reader takes null as "no metadata"
    if (this.peek() !== 0x7b) this.schema(`__metadata__ must be an object of string to string, found ${this.found()}`);
    this.members('__metadata__', new Set(), (key) => {
      if (this.peek() !== 0x22) this.schema(`__metadata__[${show(key)}] must be a string, found ${this.found()}`);
      setOwn(into, key, this.string());
    });
  }

  private entry(name: string): SafetensorsEntry {
    const where = `tensor ${show(name)}`;
    if (this.peek() !== 0x7b)
      this.schema(`${where} must be an object with dtype, shape and data_offsets, found ${this.found()}`);
    let dtype: string | undefined;
    let shape: number[] | undefined;
    let offsets: number[] | undefined;
    this.members(where, new Set(), (key) => {
      if (key === 'dtype') {
        if (this.peek() !== 0x22) this.schema(`${where}: dtype must be a string, found ${this.found()}`);
        dtype = this.string();
        if (!(dtype in READABLE)) {
          if (UNSUPPORTED.has(dtype)) this.schema(`${where}: unsupported dtype ${dtype} (F32, F64, F16 and BF16 can be read)`);
          this.schema(`${where}: unknown dtype ${show(dtype)}`);
        }
      } else if (key === 'shape') {
        shape = this.integers(`${where}: shape`, 'an array of non-negative integers');
      } else if (key === 'data_offsets') {
        offsets = this.integers(`${where}: data_offsets`, 'an array of two non-negative integers [begin, end]');
        if (offsets.length !== 2)
          this.schema(`${where}: data_offsets must be two non-negative integers [begin, end], found ${offsets.length}`);
      } else {
        this.schema(`${where} has an unexpected field ${show(key)} (expected exactly dtype, shape and data_offsets)`);
      }
    });
    if (dtype === undefined) this.schema(`${where} is missing its dtype`);
    if (shape === undefined) this.schema(`${where} is missing its shape`);
    if (offsets === undefined) this.schema(`${where} is missing its data_offsets`);
    const [begin, end] = offsets;
    if (end < begin) this.schema(`${where}: data_offsets [${begin}, ${end}] run backwards (end before begin)`);
    let count = 1;
    for (const d of shape) {
      count *= d;
      if (count > Number.MAX_SAFE_INTEGER) this.schema(`${where}: the element count of shape ${shapeString(shape)} overflows`);
    }
    const nbytes = count * READABLE[dtype];
    if (nbytes > Number.MAX_SAFE_INTEGER) this.schema(`${where}: the byte size of shape ${shapeString(shape)} overflows`);
    if (nbytes !== end - begin)
      this.schema(
        `${where}: shape ${shapeString(shape)} of ${dtype} needs ${nbytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    return { name, dtype, shape, begin, end };
  }
}
