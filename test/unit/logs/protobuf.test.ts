import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ProtoError, ProtoReader } from '../../../src/core/logs/tfevents/protobuf';
import { EventDecoder, bfloat16ToNumber, halfToNumber } from '../../../src/core/logs/tfevents/event';
import { decodeHparamsPluginData } from '../../../src/core/logs/tfevents/hparams';
import { ProtoWriter } from '../../../src/core/logs/tfevents/encode';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function collect(payloads: Uint8Array[]) {
  const points: [string, number, number, number][] = [];
  const hparams: Record<string, unknown>[] = [];
  const d = new EventDecoder({ scalar: (t, s, w, v) => points.push([t, s, w, v]), hparams: (h) => hparams.push({ ...h.hparams }) });
  for (const p of payloads) d.decode(p);
  return { points, hparams, decoder: d };
}

describe('protobuf wire reader', () => {
  it('reads varints as in the protobuf encoding guide (150 = 96 01) and 64-bit values', () => {
    assert.equal(new ProtoReader(hex('9601')).varint(), 150);
    assert.equal(new ProtoReader(hex('ffffffff0f')).varint(), 0xffffffff);
    // 2^53 - 1 = 0x1fffffffffffff: eight 7-bit groups of ones then 0x0f.
    assert.equal(new ProtoReader(hex('ffffffffffffff0f')).varint(), 2 ** 53 - 1);
    // int64 -1 is ten bytes ff…ff 01.
    assert.equal(new ProtoReader(hex('ffffffffffffffffff01')).int64(), -1);
  });

  it('rejects truncated and over-long varints, and fields that run past their message', () => {
    assert.throws(() => new ProtoReader(hex('96')).varint(), ProtoError);
    assert.throws(() => new ProtoReader(hex('ffffffffffffffffffff01')).varint(), ProtoError);
    const r = new ProtoReader(hex('0a05616263')); // field 1, length 5, only 3 bytes follow
    r.tag();
    assert.throws(() => r.bytes(), ProtoError);
  });

  it('never throws anything but ProtoError and always terminates on random bytes (property, 2,000 inputs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = new EventDecoder({ scalar: () => undefined, hparams: () => undefined });
        try {
          d.decode(bytes);
        } catch (e) {
          if (!(e instanceof ProtoError)) throw e;
        }
        try {
          decodeHparamsPluginData(bytes);
        } catch (e) {
          if (!(e instanceof ProtoError)) throw e;
        }
        return true;
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('decodes a TF2 tensor scalar event written by TensorFlow (bytes from a real Keras log)', () => {
    // 09 <double wall_time> | 2a 27 summary { 0a 25 value { 0a 0a "epoch_loss" | 42 0a tensor { 08 01 dtype=DT_FLOAT,
    // 12 00 shape=[], 22 04 31 32 43 3f tensor_content = float32 0x3f433231 } | 4a 0b metadata { plugin "scalars" } } }
    // No step field: step 0. 0x3f433231 = 0.76248461008… (float32).
    const payload = hex('09124da50aaf30d9412a270a250a0a65706f63685f6c6f7373420a0801120022043132433f4a0b0a090a077363616c617273');
    const { points } = collect([payload]);
    assert.equal(points.length, 1);
    const [tag, step, wall, value] = points[0];
    assert.equal(tag, 'epoch_loss');
    assert.equal(step, 0);
    assert.equal(value, new DataView(Uint8Array.from([0x31, 0x32, 0x43, 0x3f]).buffer).getFloat32(0, true));
    assert.ok(Math.abs(wall - 1690483754.58) < 0.01, `wall time ${wall}`);
  });

  it('reads later TF2 events that omit the metadata, by remembering the tag\'s plugin', () => {
    const tensorEvent = (tag: string, step: number, v: number, withMeta: boolean): Uint8Array => {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setFloat32(0, v, true);
      const tensor = new ProtoWriter().uint(1, 1).bytes(2, new Uint8Array(0)).bytes(4, new Uint8Array(dv.buffer)).finish();
      const val = new ProtoWriter().string(1, tag).bytes(8, tensor);
      if (withMeta) val.bytes(9, new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'scalars').finish()).finish());
      return new ProtoWriter().double(1, 1).uint(2, step).bytes(5, new ProtoWriter().bytes(1, val.finish()).finish()).finish();
    };
    const { points } = collect([tensorEvent('loss', 1, 0.5, true), tensorEvent('loss', 2, 0.25, false), tensorEvent('other', 3, 1, false)]);
    // 'other' never said it is a scalar: a bare tensor is not read as one.
    assert.deepEqual(points.map((p) => [p[0], p[1], p[3]]), [['loss', 1, 0.5], ['loss', 2, 0.25]]);
  });

  it('reads float_val / double_val / int64_val / half_val scalars and skips multi-element tensors', () => {
    const meta = new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'scalars').finish()).finish();
    const ev = (tensor: Uint8Array): Uint8Array =>
      new ProtoWriter().uint(2, 5).bytes(5, new ProtoWriter().bytes(1, new ProtoWriter().string(1, 't').bytes(9, meta).bytes(8, tensor).finish()).finish()).finish();
    const dim = (n: number): Uint8Array => new ProtoWriter().uint(1, n).finish();
    const f64 = new DataView(new ArrayBuffer(8));
    f64.setFloat64(0, 0.1, true);
    const cases: [Uint8Array, number | undefined][] = [
      [new ProtoWriter().uint(1, 1).float(5, 1.5).finish(), 1.5],
      [new ProtoWriter().uint(1, 2).bytes(6, new Uint8Array(f64.buffer)).finish(), 0.1], // packed double_val
      [new ProtoWriter().uint(1, 9).uint(10, 42).finish(), 42],
      [new ProtoWriter().uint(1, 19).uint(13, 0x3c00).finish(), 1], // half 1.0
      [new ProtoWriter().uint(1, 1).bytes(2, new ProtoWriter().bytes(2, dim(3)).finish()).float(5, 1).float(5, 2).float(5, 3).finish(), undefined],
    ];
    for (const [tensor, want] of cases) {
      const { points } = collect([ev(tensor)]);
      if (want === undefined) assert.equal(points.length, 0);
      else assert.deepEqual(points.map((p) => p[3]), [want]);
    }
  });

  it('converts half and bfloat16 bit patterns (IEEE 754 reference values)', () => {
    assert.equal(halfToNumber(0x3c00), 1);
    assert.equal(halfToNumber(0xc000), -2);
    assert.equal(halfToNumber(0x7bff), 65504);
    assert.equal(halfToNumber(0x0001), 2 ** -24);
    assert.equal(halfToNumber(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToNumber(0x7e00)));
    assert.equal(bfloat16ToNumber(0x3f80), 1);
    assert.equal(bfloat16ToNumber(0xc040), -3);
  });

  it('reads an hparams session_start_info: number, string and bool values', () => {
    // Built by hand: map entry { key "lr", value { number_value 0.1 } }, { "opt", { string_value "sgd" } },
    // { "nesterov", { bool_value true } }, group_name "g".
    const entry = (k: string, v: Uint8Array): Uint8Array => new ProtoWriter().string(1, k).bytes(2, v).finish();
    const session = new ProtoWriter()
      .bytes(1, entry('lr', new ProtoWriter().double(2, 0.1).finish()))
      .bytes(1, entry('opt', new ProtoWriter().string(3, 'sgd').finish()))
      .bytes(1, entry('nesterov', new ProtoWriter().uint(4, 1).finish()))
      .string(4, 'g')
      .finish();
    const h = decodeHparamsPluginData(new ProtoWriter().uint(1, 0).bytes(3, session).finish());
    assert.equal(h.kind, 'session_start');
    assert.deepEqual({ ...h.hparams }, { lr: 0.1, opt: 'sgd', nesterov: true });
    assert.equal(h.groupName, 'g');
  });
});

describe('event fast path', () => {
  it('emits exactly what the general decoder emits, on valid and byte-flipped scalar events (property, 3,000 cases)', () => {
    const meta = new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'scalars').finish());
    const event = (tag: string, step: number, value: number, kind: number): Uint8Array => {
      const val = new ProtoWriter().string(1, tag);
      if (kind === 0) val.float(2, value);
      else {
        const dv = new DataView(new ArrayBuffer(4));
        dv.setFloat32(0, value, true);
        val.bytes(8, new ProtoWriter().uint(1, 1).bytes(2, new Uint8Array(0)).bytes(4, new Uint8Array(dv.buffer)).finish());
        if (kind === 2) val.bytes(9, new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'scalars').finish()).uint(4, 1).finish());
        if (kind === 3) val.bytes(9, meta.finish());
      }
      return new ProtoWriter().double(1, 1.5e9).uint(2, step).bytes(5, new ProtoWriter().bytes(1, val.finish()).finish()).finish();
    };
    const run = (fast: boolean, payloads: Uint8Array[]) => {
      const out: unknown[] = [];
      const d = new EventDecoder({ scalar: (t, s, w, v) => out.push([t, s, w, v]) }, { fastPath: fast });
      for (const p of payloads) {
        try {
          d.decode(p);
        } catch (e) {
          if (!(e instanceof ProtoError)) throw e;
          out.push('error');
        }
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.nat(2 ** 40), fc.float({ noDefaultInfinity: false }), fc.nat(3)), { minLength: 1, maxLength: 4 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))),
        (events, flip) => {
          const payloads = events.map(([t, s, v, k]) => event(t, s, v, k));
          if (flip) {
            const [at, mask] = flip;
            const p = payloads[at % payloads.length];
            p[at % p.length] ^= mask;
          }
          assert.deepEqual(run(true, payloads), run(false, payloads));
        },
      ),
      { seed: 17, numRuns: 3000 },
    );
  });
});
