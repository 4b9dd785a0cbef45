// safetensors files: the format byte for byte, atomic saves, and a parser that refuses every
// malformed or hostile file with a clear Error. Python reference files come from
// scripts/make_safetensors_fixtures.py → test/fixtures/safetensors/.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Parameter, Tensor } from '../lib/core/tensor';
import { loadSafetensors, saveSafetensors } from '../lib/io/safetensors';

// The real fs module object (not an import-star copy), so jest.spyOn reaches lib/safetensors.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const realFs: typeof fs = require('fs');

const FIXTURES = path.join(__dirname, 'fixtures', 'safetensors');

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  bits: number[];
}
interface ExpectedFile {
  metadata: Record<string, string> | null;
  order: string[];
  tensors: Record<string, ExpectedTensor>;
}
const expected: { files: Record<string, ExpectedFile> } = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'),
);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-safetensors-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const bitsOf = (t: Tensor): number[] => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
const fromBits = (bits: number[], shape: number[]): Tensor => new Tensor(new Float32Array(Uint32Array.from(bits).buffer), shape);

/** A file from a header string (not padded: the reader must not need padding) and data bytes. */
function file(header: string, data: number | ArrayLike<number> = 0): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const d = typeof data === 'number' ? new Uint8Array(data) : Uint8Array.from(data);
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}
const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
  JSON.stringify({ dtype, shape, data_offsets: [begin, end] });

function expectLoadError(bytes: Uint8Array, message: RegExp): void {
  let error: unknown;
  try {
    loadSafetensors(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(TypeError);
  expect(error).not.toBeInstanceOf(RangeError);
  expect((error as Error).message).toMatch(/^loadSafetensors: /);
  expect((error as Error).message).toMatch(message);
}

describe('saveSafetensors()', () => {
  it('round-trips tensors of every shape: matrices, scalars, zero-sized, views, Parameters', () => {
    const big = new Float32Array(40);
    for (let i = 0; i < big.length; i++) big[i] = Math.fround(Math.sin(i) * 1e3);
    const specials = fromBits([0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0x00000001], [7]);
    const tensors: Record<string, Tensor> = {
      weight: new Tensor(big.subarray(8, 20), [3, 4]), // a view with a byteOffset: only the view is saved
      scalar: new Tensor([-2.5], []),
      empty: Tensor.zeros([0, 5]),
      empty2: Tensor.zeros([3, 0]),
      param: new Parameter([1, 2, 3, 4, 5, 6], [1, 2, 3]),
      specials,
      'ünïcode.名前': new Tensor([7], [1]),
    };
    Object.defineProperty(tensors, '__proto__', { value: new Tensor([9, 8], [2]), enumerable: true });
    const p = path.join(dir, 'model.safetensors');
    saveSafetensors(p, tensors);

    const { tensors: back, metadata } = loadSafetensors(p);
    expect(metadata).toEqual({});
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const name of Object.keys(tensors)) {
      const t = Object.getOwnPropertyDescriptor(back, name)!.value as Tensor;
      expect(t).toBeInstanceOf(Tensor);
      expect(t.shape).toEqual(tensors[name].shape);
      expect(bitsOf(t)).toEqual(bitsOf(tensors[name])); // bit-exact, NaN payloads included
    }
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype); // "__proto__" stayed a property
    expect(back.scalar.shape).toEqual([]);
    expect(back.scalar.size).toBe(1);
    expect(back.empty.size).toBe(0);
    // 8 + N is a multiple of 8 and the file is exactly header + 4 bytes per element.
    const bytes = fs.readFileSync(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(bytes.length).toBe(8 + n + 4 * (12 + 1 + 6 + 7 + 1 + 2));
  });

  it('writes the reference byte layout (known-answer vectors from the safetensors Rust tests)', () => {
    const attn = new Tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    const p = path.join(dir, 'a.safetensors');
    saveSafetensors(p, { 'attn.0': attn });
    // prettier-ignore
    expect([...fs.readFileSync(p)]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
      116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
      58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
      101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
      0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
    saveSafetensors(p, { attn0: attn.reshape([1, 1, 2, 3]) }); // forced padding with spaces
    // prettier-ignore
    expect([...fs.readFileSync(p)]).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
      121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
      91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
      115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
      32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
      160, 64,
    ]);
    saveSafetensors(p, {});
    expect([...fs.readFileSync(p)]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    saveSafetensors(p, {}, { framework: 'pt' });
    // prettier-ignore
    expect([...fs.readFileSync(p)]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
      95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
      116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('stores metadata as __metadata__, first in the header, and reads it back', () => {
    const p = path.join(dir, 'm.safetensors');
    const metadata = { format: 'pt', 'note "quoted"': 'line1\nline2\tü', empty: '' };
    saveSafetensors(p, { b: new Tensor([1], [1]), a: new Tensor([2], [1]) }, metadata);
    const bytes = fs.readFileSync(p);
    const header = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
    expect(header.startsWith('{"__metadata__":{')).toBe(true);
    expect(header.indexOf('"a":')).toBeLessThan(header.indexOf('"b":')); // sorted by name
    expect(header.trimEnd()).toBe(JSON.stringify(JSON.parse(header))); // compact JSON…
    expect(header).toMatch(/} *$/); // …padded with trailing spaces only
    expect(JSON.parse(header).__metadata__).toEqual(metadata);
    expect(loadSafetensors(p).metadata).toEqual(metadata);
    // Without metadata there is no __metadata__ key; with {} there is an empty one (as Python).
    saveSafetensors(p, { a: new Tensor([2], [1]) });
    expect(fs.readFileSync(p).toString('utf8')).not.toContain('__metadata__');
    saveSafetensors(p, { a: new Tensor([2], [1]) }, {});
    expect(fs.readFileSync(p).toString('utf8')).toContain('"__metadata__":{}');
    expect(loadSafetensors(p).metadata).toEqual({});
  });

  it('sorts names byte-wise in UTF-8 (Rust str order), not by UTF-16 code units', () => {
    // U+FF21 (3 UTF-8 bytes) sorts before U+1F600 (4 bytes, a surrogate pair in UTF-16), though
    // in UTF-16 code units 0xD83D < 0xFF21.
    const p = path.join(dir, 'u.safetensors');
    saveSafetensors(p, { '\u{1F600}': new Tensor([1], [1]), '\uFF21': new Tensor([2], [1]), Z: new Tensor([3], [1]) });
    expect(Object.keys(loadSafetensors(p).tensors)).toEqual(['Z', '\uFF21', '\u{1F600}']);
  });

  it('reproduces the Python reference f32.safetensors byte for byte', () => {
    const ref = expected.files['f32.safetensors'];
    const tensors: Record<string, Tensor> = {};
    for (const name of Object.keys(ref.tensors).reverse()) {
      const t = ref.tensors[name];
      tensors[name] = fromBits(t.bits, t.shape);
    }
    const p = path.join(dir, 'f32.safetensors');
    saveSafetensors(p, tensors, ref.metadata!);
    expect(fs.readFileSync(p).equals(fs.readFileSync(path.join(FIXTURES, 'f32.safetensors')))).toBe(true);
    // And load → save of the reference file is the identity.
    const loaded = loadSafetensors(path.join(FIXTURES, 'f32.safetensors'));
    saveSafetensors(p, loaded.tensors, loaded.metadata);
    expect(fs.readFileSync(p).equals(fs.readFileSync(path.join(FIXTURES, 'f32.safetensors')))).toBe(true);
  });

  it('replaces an existing file and leaves no temporary file', () => {
    const p = path.join(dir, 'w.safetensors');
    fs.writeFileSync(p, 'old contents');
    saveSafetensors(p, { x: new Tensor([1, 2], [2]) });
    expect(bitsOf(loadSafetensors(p).tensors.x)).toEqual(bitsOf(new Tensor([1, 2], [2])));
    expect(fs.readdirSync(dir)).toEqual(['w.safetensors']);
  });

  describe('atomicity', () => {
    const old = Buffer.from('the old file, which must survive');
    let p: string;
    beforeEach(() => {
      p = path.join(dir, 'keep.safetensors');
      fs.writeFileSync(p, old);
    });
    const tensors = () => ({ a: new Tensor(new Float32Array(1000), [10, 100]), b: new Tensor([1], []) });

    it('a write failing part-way (after the header) leaves the old file whole, no temp file', () => {
      let calls = 0;
      const original = realFs.writeSync;
      jest.spyOn(realFs, 'writeSync').mockImplementation(((...args: Parameters<typeof fs.writeSync>) => {
        if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return (original as (...a: unknown[]) => number)(...args);
      }) as typeof fs.writeSync);
      expect(() => saveSafetensors(p, tensors())).toThrow(/ENOSPC/);
      expect(calls).toBe(2);
      expect(fs.readFileSync(p).equals(old)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['keep.safetensors']);
    });

    it('an fsync failure leaves the old file whole, no temp file', () => {
      jest.spyOn(realFs, 'fsyncSync').mockImplementation(() => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      });
      expect(() => saveSafetensors(p, tensors())).toThrow(/EIO/);
      expect(fs.readFileSync(p).equals(old)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['keep.safetensors']);
    });

    it('a failing rename (the target is a directory) leaves the target and no temp file', () => {
      const target = path.join(dir, 'adir');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'inside'), 'x');
      expect(() => saveSafetensors(target, tensors())).toThrow(/EISDIR|EEXIST|ENOTEMPTY|EPERM/);
      expect(fs.statSync(target).isDirectory()).toBe(true);
      expect(fs.readdirSync(target)).toEqual(['inside']);
      expect(fs.readdirSync(dir).sort()).toEqual(['adir', 'keep.safetensors']);
    });

    it('bad arguments write nothing at all', () => {
      expect(() => saveSafetensors(p, { a: new Tensor([1], [1]), b: 'nope' as any })).toThrow(TypeError);
      expect(fs.readFileSync(p).equals(old)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['keep.safetensors']);
    });

    it('a directory that does not exist is the fs error', () => {
      expect(() => saveSafetensors(path.join(dir, 'missing', 'x.safetensors'), tensors())).toThrow(/ENOENT/);
    });
  });

  describe('argument validation', () => {
    const t = new Tensor([1], [1]);
    const target = () => path.join(dir, 'v.safetensors');
    it.each([
      ['path not a string', () => saveSafetensors(42 as any, { t }), TypeError, /saveSafetensors: expected a non-empty string for path but received 42 of type number/],
      ['path empty', () => saveSafetensors('', { t }), RangeError, /expected a non-empty string for path but received "" of type string/],
      ['tensors null', () => saveSafetensors(target(), null as any), TypeError, /expected a plain object of Tensors by name for tensors but received null of type null/],
      ['tensors an array', () => saveSafetensors(target(), [t] as any), TypeError, /for tensors but received \[\[object Tensor\]\] of type array/],
      ['tensors a Map', () => saveSafetensors(target(), new Map([['t', t]]) as any), TypeError, /for tensors but received \[object Map\]/],
      ['tensors a Tensor', () => saveSafetensors(target(), t as any), TypeError, /for tensors but received \[object Tensor\]/],
      ['a value not a Tensor', () => saveSafetensors(target(), { w: new Float32Array(2) } as any), TypeError, /expected a Tensor for tensors\["w"\] but received Float32Array\(2\)/],
      ['an empty name', () => saveSafetensors(target(), { '': t }), RangeError, /expected a non-empty string other than "__metadata__" for a tensor name but received ""/],
      ['the name __metadata__', () => saveSafetensors(target(), { __metadata__: t }), RangeError, /for a tensor name but received "__metadata__"/],
      ['a lone surrogate in a name', () => saveSafetensors(target(), { ['a\uD800']: t }), RangeError, /well-formed Unicode/],
      ['metadata not an object', () => saveSafetensors(target(), { t }, 'pt' as any), TypeError, /expected a plain object of strings by key for metadata but received "pt"/],
      ['metadata an array', () => saveSafetensors(target(), { t }, ['pt'] as any), TypeError, /for metadata but received \["pt"\] of type array/],
      ['a metadata value not a string', () => saveSafetensors(target(), { t }, { epoch: 3 } as any), TypeError, /expected a string for metadata\["epoch"\] but received 3 of type number/],
      ['a metadata value null', () => saveSafetensors(target(), { t }, { a: null } as any), TypeError, /for metadata\["a"\] but received null/],
      ['a lone surrogate in metadata', () => saveSafetensors(target(), { t }, { a: '\uDC00' }), RangeError, /well-formed Unicode/],
    ])('%s', (_what, call, type, message) => {
      expect(call).toThrow(type as any);
      expect(call).toThrow(message);
      expect(fs.readdirSync(dir)).toEqual([]);
    });

    it('a tensor whose data no longer matches its shape', () => {
      const bad = new Tensor([1, 2], [2]);
      (bad as any).data = new Float32Array(3);
      expect(() => saveSafetensors(target(), { bad })).toThrow(RangeError);
      expect(() => saveSafetensors(target(), { bad })).toThrow(/a Float32Array of 2 elements \(shape \[2\]\) for tensors\["bad"\]\.data/);
    });
  });
});

describe('loadSafetensors()', () => {
  describe('Python reference files', () => {
    it.each(Object.keys(expected.files))('%s: every tensor, bit for bit, in file order, with metadata', (name) => {
      const ref = expected.files[name];
      const { tensors, metadata } = loadSafetensors(path.join(FIXTURES, name));
      expect(metadata).toEqual(ref.metadata ?? {});
      expect(Object.keys(tensors)).toEqual(ref.order);
      for (const [tname, t] of Object.entries(ref.tensors)) {
        expect(tensors[tname].shape).toEqual(t.shape);
        expect(tensors[tname].data).toBeInstanceOf(Float32Array);
        expect({ tname, bits: bitsOf(tensors[tname]) }).toEqual({ tname, bits: t.bits });
      }
    });

    it('covers the conversion edge cases it claims to', () => {
      const f16 = expected.files['f16.safetensors'].tensors.h.bits;
      expect(f16).toContain(0x33800000); // 2^-24, the smallest F16 subnormal
      expect(f16).toContain(0x387fc000); // the largest F16 subnormal
      expect(f16).toContain(0x7f800000); // inf
      expect(f16).toContain(0x7fc02000); // signalling NaN, quieted with its payload
      const h = loadSafetensors(path.join(FIXTURES, 'f16.safetensors')).tensors.h.data;
      expect(h[2]).toBe(2 ** -24);
      expect(h[4]).toBe(1023 * 2 ** -24);
      expect(h[8]).toBe(65504);
      expect(h[11]).toBe(-Infinity);
      expect(Number.isNaN(h[12])).toBe(true);
      expect(Object.is(h[1], -0)).toBe(true);
      const x = loadSafetensors(path.join(FIXTURES, 'f64.safetensors')).tensors.x.data;
      expect(x[0]).toBe(Math.fround(0.1));
      expect(x[5]).toBe(Infinity); // 1e300 overflows float32
      expect(x[10]).toBe(1); // 1 + 2^-24 ties to even
      expect(x[11]).toBe(1 + 2 ** -22); // 1 + 3·2^-24 ties to even
      const b = loadSafetensors(path.join(FIXTURES, 'bf16.safetensors')).tensors.b.data;
      expect(b[6]).toBe(1);
      expect(b[7]).toBe(-2.5);
      expect(b[15]).toBe(3.140625);
    });

    it('reads from bytes at any alignment, and never aliases the source', () => {
      for (const name of Object.keys(expected.files)) {
        const bytes = fs.readFileSync(path.join(FIXTURES, name));
        const ref = loadSafetensors(bytes);
        for (const shift of [1, 2, 3, 5]) {
          const holder = new Uint8Array(bytes.length + shift);
          holder.set(bytes, shift);
          const view = holder.subarray(shift);
          const got = loadSafetensors(view);
          for (const t of Object.keys(ref.tensors)) expect(bitsOf(got.tensors[t])).toEqual(bitsOf(ref.tensors[t]));
          holder.fill(0xff);
          for (const t of Object.keys(ref.tensors)) expect(bitsOf(got.tensors[t])).toEqual(bitsOf(ref.tensors[t]));
        }
      }
    });

    it('reads tensors at unaligned offsets within the buffer (any dtype order)', () => {
      // One F16 (2 bytes) then an F32 at offset 2 and an F64 at offset 6: legal, if unusual.
      const data = new Uint8Array(14);
      const dv = new DataView(data.buffer);
      dv.setUint16(0, 0x3c00, true); // 1.0
      dv.setFloat32(2, 1.5, true);
      dv.setFloat64(6, -0.75, true);
      const header = `{"h":${entry('F16', [], 0, 2)},"f":${entry('F32', [1], 2, 6)},"d":${entry('F64', [1, 1], 6, 14)}}`;
      const { tensors } = loadSafetensors(file(header, data));
      expect(Object.keys(tensors)).toEqual(['h', 'f', 'd']);
      expect(Array.from(tensors.h.data)).toEqual([1]);
      expect(Array.from(tensors.f.data)).toEqual([1.5]);
      expect(Array.from(tensors.d.data)).toEqual([-0.75]);
      expect(tensors.d.shape).toEqual([1, 1]);
    });

    it('accepts any JSON whitespace, escapes in names, and "__metadata__": null (as the reference does)', () => {
      const header = ` \n{ "__metadata__" : null ,\t"a\\u00e9\\n\\ud83d\\ude00" : {"shape":[ ],"data_offsets":[0,4],"dtype":"F32"} }\r\n  `;
      const data = new Uint8Array(new Float32Array([4.25]).buffer);
      const { tensors, metadata } = loadSafetensors(file(header, data));
      expect(metadata).toEqual({});
      expect(Object.keys(tensors)).toEqual(['a\u00e9\n\u{1F600}']);
      expect(tensors['a\u00e9\n\u{1F600}'].data[0]).toBe(4.25);
    });

    it('two zero-sized tensors may share an offset', () => {
      const h = `{"a":${entry('F32', [0], 0, 0)},"b":${entry('F16', [2, 0], 0, 0)},"c":${entry('BF16', [1], 0, 2)},"d":${entry('F32', [0, 7], 2, 2)}}`;
      const { tensors } = loadSafetensors(file(h, [0x80, 0x3f]));
      expect(tensors.a.shape).toEqual([0]);
      expect(tensors.b.shape).toEqual([2, 0]);
      expect(Array.from(tensors.c.data)).toEqual([1]);
      expect(tensors.d.size).toBe(0);
    });
  });

  describe('argument validation', () => {
    it('rejects a source that is neither a path nor bytes', () => {
      expect(() => loadSafetensors(42 as any)).toThrow(TypeError);
      expect(() => loadSafetensors(42 as any)).toThrow(/loadSafetensors: expected a path string or a Uint8Array for source but received 42 of type number/);
      expect(() => loadSafetensors(new ArrayBuffer(8) as any)).toThrow(TypeError);
      expect(() => loadSafetensors([1, 2] as any)).toThrow(/for source but received \[1, 2\] of type array/);
      expect(() => loadSafetensors('')).toThrow(RangeError);
    });

    it('a missing file is the fs error', () => {
      expect(() => loadSafetensors(path.join(dir, 'nope.safetensors'))).toThrow(/ENOENT/);
    });

    it('names the file in errors when given a path', () => {
      const p = path.join(dir, 'bad.safetensors');
      fs.writeFileSync(p, Buffer.from([1, 2, 3]));
      expect(() => loadSafetensors(p)).toThrow(`loadSafetensors: ${JSON.stringify(p).slice(0, 41)}`);
    });
  });

  describe('malformed and hostile files', () => {
    const F = (begin: number, end: number, shape = [(end - begin) / 4]) => entry('F32', shape, begin, end);
    const u64 = (lo: number, hi: number, rest: number[] = []) => {
      const b = new Uint8Array(8 + rest.length);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, lo, true);
      dv.setUint32(4, hi, true);
      b.set(rest, 8);
      return b;
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      // the length field
      ['an empty file', new Uint8Array(0), /file is 0 bytes, shorter than the 8-byte header length field/],
      ['a 7-byte file', new Uint8Array(7), /file is 7 bytes, shorter than the 8-byte/],
      ['a header length past the end', u64(100, 0, [0x7b, 0x7d]), /header length 100 runs past the end of the file \(2 bytes follow/],
      ['a header length just past the end', u64(3, 0, [0x7b, 0x7d]), /header length 3 runs past the end/],
      ['a header length over 100 MB in a small file', u64(100_000_001, 0, [0x7b, 0x7d]), /not a safetensors file: header length 100000001 runs past the end of the file \(2 bytes follow/],
      ['a header length of 2^64 - 1', u64(0xffffffff, 0xffffffff), /not a safetensors file: header length 18446744073709551615 runs past the end/],
      ['a header length of 2^32', u64(0, 1), /not a safetensors file: header length 4294967296 runs past the end/],
      // the header text
      ['a header that is not UTF-8', file('{"\xff":1}').map((b, i) => (i === 10 ? 0xff : b)), /header is not valid UTF-8/],
      ['a truncated UTF-8 sequence', u64(2, 0, [0x7b, 0xc3]), /header is not valid UTF-8/],
      ['an empty header', file(''), /header is not valid JSON: the header is empty/],
      ['a header of spaces', file('        '), /header is not valid JSON: the header is empty/],
      ['a header that is not JSON', file('hello'), /header is not valid JSON: unexpected character "h" at position 0/],
      ['truncated JSON', file('{"a":'), /header is not valid JSON/],
      ['truncated JSON inside an entry', file('{"a":{"dtype":"F32","shape":[1'), /header is not valid JSON: unexpected end of input/],
      ['an unterminated string', file('{"abc'), /header is not valid JSON: unterminated string/],
      ['a bad escape', file('{"a\\x":1}'), /header is not valid JSON: invalid escape/],
      ['a bad \\u escape', file('{"a\\u12g4":1}'), /header is not valid JSON: invalid \\u escape/],
      ['a lone surrogate escape', file('{"\\ud800":1}'), /header is not valid JSON: lone surrogate/],
      ['a raw control character in a string', file('{"a\tb":1}'), /header is not valid JSON: control character/],
      ['a missing colon', file('{"a" 1}'), /header is not valid JSON: expected ":"/],
      ['a missing comma', file(`{"a":${F(0, 0)} "b":${F(0, 0)}}`), /header is not valid JSON: expected "," or "}"/],
      ['a trailing comma', file(`{"a":${F(0, 0)},}`), /header is not valid JSON: expected a string key/],
      ['an unquoted key', file('{a:1}'), /header is not valid JSON: expected a string key/],
      ['a byte-order mark', u64(5, 0, [0xef, 0xbb, 0xbf, 0x7b, 0x7d]), /header is not valid JSON: unexpected character/],
      ['data after the object', file('{} {}'), /header is not valid JSON: unexpected data after the header object/],
      ['NUL padding', file('{}\0\0\0\0\0\0'), /unexpected data after the header object/],
      ['a header that is an array', file('[1,2]'), /header is not a JSON object \(it starts with an array\)/],
      ['a header that is a string', file('"{}"'), /header is not a JSON object \(it starts with a string\)/],
      ['a header that is null', file('null'), /header is not a JSON object \(it starts with null\)/],
      ['a header that is a number', file('42'), /header is not a JSON object \(it starts with the number 42\)/],
      // duplicate keys
      ['a duplicate tensor', file(`{"a":${F(0, 4)},"a":${F(4, 8)}}`, 8), /duplicate key "a" in header/],
      ['a duplicate tensor spelled with an escape', file(`{"ab":${F(0, 4)},"\\u0061b":${F(0, 4)}}`, 4), /duplicate key "ab" in header/],
      ['a duplicate __metadata__', file('{"__metadata__":{},"__metadata__":{"a":"b"}}'), /duplicate key "__metadata__" in header/],
      ['a duplicate metadata key', file('{"__metadata__":{"k":"1","k":"2"}}'), /duplicate key "k" in __metadata__/],
      ['a duplicate field in an entry', file('{"a":{"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}}', 4), /duplicate key "dtype" in tensor "a"/],
      // entries
      ['an entry that is a number', file('{"a":5}'), /tensor "a" must be an object with dtype, shape and data_offsets, found the number 5/],
      ['an entry that is an array', file('{"a":["F32",[1],[0,4]]}', 4), /tensor "a" must be an object with dtype, shape and data_offsets, found an array/],
      ['an entry that is null', file('{"a":null}'), /tensor "a" must be an object .* found null/],
      ['an entry with an extra field', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"foo":1}}', 4), /tensor "a" has an unexpected field "foo" \(expected exactly dtype, shape and data_offsets\)/],
      ['an entry without dtype', file('{"a":{"shape":[1],"data_offsets":[0,4]}}', 4), /tensor "a" is missing its dtype/],
      ['an entry without shape', file('{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4), /tensor "a" is missing its shape/],
      ['an entry without data_offsets', file('{"a":{"dtype":"F32","shape":[1]}}', 4), /tensor "a" is missing its data_offsets/],
      ['an empty entry', file('{"a":{}}'), /tensor "a" is missing its dtype/],
      // dtype
      ['an unknown dtype', file(`{"a":${entry('F31', [1], 0, 4)}}`, 4), /tensor "a": unknown dtype "F31"/],
      ['a lowercase dtype', file(`{"a":${entry('f32', [1], 0, 4)}}`, 4), /unknown dtype "f32"/],
      ['an integer dtype', file(`{"a":${entry('I64', [1], 0, 8)}}`, 8), /tensor "a": unsupported dtype I64 \(F32, F64, F16 and BF16 can be read\)/],
      ['a BOOL dtype', file(`{"a":${entry('BOOL', [1], 0, 1)}}`, 1), /unsupported dtype BOOL/],
      ['an F8 dtype', file(`{"a":${entry('F8_E4M3', [1], 0, 1)}}`, 1), /unsupported dtype F8_E4M3/],
      ['a dtype that is not a string', file('{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}', 4), /tensor "a": dtype must be a string, found the number 32/],
      // shape
      ['a shape that is not an array', file('{"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}', 16), /tensor "a": shape must be an array of non-negative integers, found the number 4/],
      ['a shape that is a string', file('{"a":{"dtype":"F32","shape":"[4]","data_offsets":[0,16]}}', 16), /shape must be an array .* found a string/],
      ['a negative dimension', file('{"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}}'), /tensor "a": shape\[1\] must be a non-negative integer, found -1/],
      ['a fractional dimension', file('{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', 8), /shape\[0\] must be a non-negative integer, found 2.0/],
      ['an exponent dimension', file('{"a":{"dtype":"F32","shape":[1e1],"data_offsets":[0,40]}}', 40), /shape\[0\] must be a non-negative integer, found 1e1/],
      ['a dimension past 2^53', file('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}', 4), /shape\[0\] must be a non-negative integer at most 2\^53 - 1, found 9007199254740993/],
      ['a 30-digit dimension', file(`{"a":{"dtype":"F32","shape":[${'9'.repeat(30)}],"data_offsets":[0,4]}}`, 4), /at most 2\^53 - 1, found 9{24}…/],
      ['a dimension that is a string', file('{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', 8), /shape\[0\] must be a non-negative integer, found a string/],
      ['a nested shape', file('{"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}}', 8), /shape\[0\] must be a non-negative integer, found an array/],
      ['a shape whose element count overflows', file(`{"a":${entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], 0, 4)}}`, 4), /tensor "a": the element count of shape \[1073741824, 1073741824, 1073741824\] overflows/],
      ['a shape whose byte size overflows', file(`{"a":${entry('F64', [2 ** 26, 2 ** 26], 0, 8)}}`, 8), /tensor "a": the byte size of shape \[67108864, 67108864\] overflows/],
      // data_offsets
      ['offsets that are not an array', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":4}}', 4), /data_offsets must be an array of two non-negative integers \[begin, end\], found the number 4/],
      ['one offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', 4), /tensor "a": data_offsets must be two non-negative integers \[begin, end\], found 1/],
      ['three offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', 8), /data_offsets must be two .* found 3/],
      ['a negative offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', 4), /data_offsets\[0\] must be a non-negative integer, found -4/],
      ['a fractional offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}', 4), /data_offsets\[1\] must be a non-negative integer, found 4.5/],
      ['an offset of null', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,null]}}', 4), /data_offsets\[1\] must be a non-negative integer, found null/],
      ['an offset past 2^53', file('{"a":{"dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}}'), /data_offsets\[0\] must be a non-negative integer at most 2\^53 - 1/],
      ['offsets that run backwards', file(`{"a":${entry('F32', [1], 8, 4)}}`, 8), /tensor "a": data_offsets \[8, 4\] run backwards/],
      // shape against offsets
      ['a span shorter than the shape', file(`{"a":${entry('F32', [3], 0, 8)}}`, 8), /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/],
      ['a span longer than the shape', file(`{"a":${entry('F16', [2, 2], 0, 16)}}`, 16), /shape \[2, 2\] of F16 needs 8 bytes but data_offsets \[0, 16\] span 16/],
      ['a scalar with no bytes', file(`{"a":${entry('F64', [], 0, 0)}}`), /shape \[\] of F64 needs 8 bytes but data_offsets \[0, 0\] span 0/],
      // layout of the buffer
      ['overlapping tensors', file(`{"a":${F(0, 8)},"b":${F(4, 12)}}`, 12), /tensor "b" \(data_offsets \[4, 12\]\) overlaps tensor "a" \(data_offsets \[0, 8\]\)/],
      ['the same bytes twice', file(`{"a":${F(0, 8)},"b":${F(0, 8)}}`, 8), /tensor "b" \(data_offsets \[0, 8\]\) overlaps tensor "a"/],
      ['a gap between tensors', file(`{"a":${F(0, 4)},"b":${F(8, 12)}}`, 12), /gap in the data: bytes \[4, 8\) belong to no tensor \(before tensor "b" \(data_offsets \[8, 12\]\)\)/],
      ['a gap at the start', file(`{"a":${F(4, 8)}}`, 8), /gap in the data: bytes \[0, 4\) belong to no tensor/],
      ['a tensor past the end of the data', file(`{"a":${F(0, 8)}}`, 4), /tensor "a" \(data_offsets \[0, 8\]\) runs past the end of the data buffer \(4 bytes\)/],
      ['a huge tensor claimed by a tiny file', file(`{"a":${entry('F32', [2 ** 40], 0, 2 ** 42)}}`, 4), /runs past the end of the data buffer \(4 bytes\)/],
      ['trailing bytes that belong to no tensor', file(`{"a":${F(0, 4)}}`, 8), /the tensors do not cover the data buffer: bytes \[4, 8\) belong to no tensor/],
      ['data but no tensors', file('{}', 4), /do not cover the data buffer: bytes \[0, 4\)/],
      // metadata
      ['metadata that is an array', file('{"__metadata__":["a"]}'), /__metadata__ must be an object of string to string, found an array/],
      ['metadata that is a string', file('{"__metadata__":"pt"}'), /__metadata__ must be an object of string to string, found a string/],
      ['a metadata value that is a number', file('{"__metadata__":{"epoch":1}}'), /__metadata__\["epoch"\] must be a string, found the number 1/],
      ['a metadata value that is an object', file('{"__metadata__":{"a":{"b":"c"}}}'), /__metadata__\["a"\] must be a string, found an object/],
      ['a metadata value that is null', file('{"__metadata__":{"a":null}}'), /__metadata__\["a"\] must be a string, found null/],
    ];

    it.each(cases)('%s', (_what, bytes, message) => {
      expectLoadError(bytes, message);
    });

    it('a tensor too large for this library is refused, not allocated', () => {
      // Valid safetensors (zero bytes), but a dimension past what a Tensor can hold.
      expectLoadError(file(`{"a":${entry('F32', [2 ** 31, 0], 0, 0)}}`), /tensor "a" of shape \[2147483648, 0\] is too large for a Tensor/);
    });

    it('survives thousands of random corruptions of valid files with an Error, never a crash', () => {
      let seed = 12345;
      const rand = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const sources = Object.keys(expected.files).map((n) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, n))));
      let failures = 0;
      for (let trial = 0; trial < 3000; trial++) {
        const src = sources[trial % sources.length];
        let bytes = src.slice();
        const kind = rand(4);
        if (kind === 0) bytes = bytes.slice(0, rand(bytes.length)); // truncation
        else if (kind === 1) bytes[rand(bytes.length)] ^= 1 << rand(8); // bit flip
        else if (kind === 2) bytes[rand(Math.min(bytes.length, 8 + 200))] = rand(256); // header byte
        else {
          const extra = new Uint8Array(bytes.length + 1 + rand(8));
          extra.set(bytes);
          bytes = extra; // trailing junk
        }
        try {
          const { tensors } = loadSafetensors(bytes);
          for (const t of Object.values(tensors)) expect(t.data.length).toBe(t.size);
        } catch (e) {
          failures++;
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^loadSafetensors: /);
        }
      }
      expect(failures).toBeGreaterThan(1000);
    });
  });
});
