import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { EventDecoder, type EventSink } from '../../../src/core/logs/tfevents/event';
import { ProtoError } from '../../../src/core/logs/tfevents/protobuf';
import { ProtoWriter } from '../../../src/core/logs/tfevents/encode';
import { TagTable, findShape, sameShape, type TagEntry } from '../../../src/core/logs/tfevents/tag-table';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('tag table (the fast path finds tags by their bytes)', () => {
  it('finds every tag again, in the cycling order and in any other, by bytes at any offset', () => {
    const t = new TagTable();
    const names = ['loss', 'acc', 'lr', 'l', 'loss2', 'ßø'];
    const at = (name: string, pad: number) => {
      const b = new Uint8Array(pad + 40);
      b.set(enc(name), pad);
      return [b, pad, pad + enc(name).length] as const;
    };
    const entries = new Map<string, TagEntry>();
    for (const n of names) {
      assert.equal(t.lookup(...at(n, 3)), undefined);
      const e = t.insert(...at(n, 3), n);
      assert.ok(e);
      entries.set(n, e);
    }
    // The cycle (prediction hits), then a shuffled order (hash lookups), then cycles again.
    const order = [...names, ...names, 'lr', 'loss', 'ßø', 'l', 'acc', 'loss2', 'l', 'l', ...names];
    order.forEach((n, i) => assert.equal(t.lookup(...at(n, i % 7)), entries.get(n), `${n} at ${i}`));
    // Prefixes and extensions of known tags are other tags.
    assert.equal(t.lookup(...at('los', 0)), undefined);
    assert.equal(t.lookup(...at('lossy', 0)), undefined);
  });

  it('keeps at most its limit of entries (tags are untrusted)', () => {
    const t = new TagTable(3);
    for (const n of ['a', 'b', 'c']) assert.ok(t.insert(enc(n), 0, 1, n));
    assert.equal(t.insert(enc('d'), 0, 1, 'd'), undefined);
    assert.equal(t.lookup(enc('d'), 0, 1), undefined);
    assert.equal(t.lookup(enc('b'), 0, 1)?.text, 'b');
  });
});

describe('record shapes (bytes equal apart from the value)', () => {
  it('sameShape equals a byte-by-byte comparison that skips the 4 value bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 60 }), fc.nat(), fc.nat(), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))), (bytes, holeSeed, padSeed, flip) => {
        const valueAt = holeSeed % (bytes.length - 3);
        const tag = new TagTable().insert(enc('t'), 0, 1, 't') as TagEntry;
        const pad = padSeed % 5;
        const rec = new Uint8Array(pad + bytes.length + 3);
        rec.set(bytes, pad);
        const view = new DataView(rec.buffer);
        const sh = findShape(tag, rec, view, pad, pad + bytes.length, valueAt, false, false);
        assert.ok(sh);
        // Any value bytes: still the same shape.
        rec[pad + valueAt] ^= 0x5a;
        rec[pad + valueAt + 3] ^= 0xa5;
        if (flip) rec[pad + (flip[0] % bytes.length)] ^= flip[1];
        let want = true;
        for (let i = 0; i < bytes.length; i++) if ((i < valueAt || i >= valueAt + 4) && rec[pad + i] !== bytes[i]) want = false;
        assert.equal(sameShape(sh, view, pad), want);
        // Found again (or, when different, added as a second shape of the tag).
        const again = findShape(tag, rec, view, pad, pad + bytes.length, valueAt, false, false);
        assert.equal(again === sh, want);
      }),
      { seed: 31, numRuns: 2000 },
    );
  });
});

describe('event fast path on streams of events (state across records)', () => {
  // Events over a few tags in any mix of encodings and field layouts, read by one decoder, so that tag
  // entries, shapes, predictions and the per-tag `scalars` flag are all reused and invalidated.
  const scalarsMeta = (dataClass: boolean) => {
    const w = new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'scalars').finish());
    return (dataClass ? w.uint(4, 1) : w).finish();
  };
  const f32 = (v: number) => {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, v, true);
    return new Uint8Array(dv.buffer);
  };
  type Kind = 'simple' | 'tensor' | 'tensorMeta' | 'tensorMetaClass' | 'tensorMetaAfter' | 'histogram' | 'simpleMeta';
  const value = (tag: string, kind: Kind, v: number): Uint8Array => {
    const w = new ProtoWriter().string(1, tag);
    const tensor = new ProtoWriter().uint(1, 1).bytes(2, new Uint8Array(0)).bytes(4, f32(v)).finish();
    switch (kind) {
      case 'simple':
        return w.float(2, v).finish();
      case 'simpleMeta':
        return w.float(2, v).bytes(9, scalarsMeta(false)).finish();
      case 'tensor':
        return w.bytes(8, tensor).finish();
      case 'tensorMeta':
        return w.bytes(9, scalarsMeta(false)).bytes(8, tensor).finish();
      case 'tensorMetaClass':
        return w.bytes(9, scalarsMeta(true)).bytes(8, tensor).finish();
      case 'tensorMetaAfter': // TensorFlow's own field order: tensor (8) before metadata (9)
        return w.bytes(8, tensor).bytes(9, scalarsMeta(false)).finish();
      case 'histogram': // the same tag claimed by another plugin: later bare tensors are not scalars
        return w.bytes(9, new ProtoWriter().bytes(1, new ProtoWriter().string(1, 'histograms').finish()).finish()).bytes(8, tensor).finish();
    }
  };
  // Layouts other than wall, step, summary are read by the general decoder; the last three end like a
  // known shape but are not one (the last wall time or summary wins; a cut record).
  type Layout = 'canonical' | 'noStep' | 'summaryFirst' | 'stepFirst' | 'wallAfter' | 'twoSummaries' | 'cut';
  const event = (tag: string, kind: Kind, layout: Layout, step: number, wall: number, v: number): Uint8Array => {
    const summary = new ProtoWriter().bytes(1, value(tag, kind, v)).finish();
    const w = new ProtoWriter();
    if (layout === 'noStep') return w.double(1, wall).bytes(5, summary).finish();
    if (layout === 'summaryFirst') return w.bytes(5, summary).double(1, wall).uint(2, step).finish();
    if (layout === 'stepFirst') return w.uint(2, step).double(1, wall).bytes(5, summary).finish();
    w.double(1, wall).uint(2, step).bytes(5, summary);
    if (layout === 'wallAfter') w.double(1, 12345);
    if (layout === 'twoSummaries') w.bytes(5, new ProtoWriter().bytes(1, value('other', 'simple', 7)).finish());
    const out = w.finish();
    return layout === 'cut' ? out.slice(0, out.length - 1) : out;
  };
  const run = (payloads: Uint8Array[], fastPath: boolean, targets: boolean) => {
    const out: unknown[] = [];
    const sink: EventSink = { scalar: (t, s, w, v) => out.push([t, s, w, v]) };
    if (targets) {
      sink.scalar = () => assert.fail('scalar() is not called when the sink gives targets');
      sink.scalarTarget = (t) => ({ push: (s, v, w) => out.push([t, s, w, v]) });
    }
    const d = new EventDecoder(sink, { fastPath });
    for (const p of payloads) {
      try {
        d.decode(p);
      } catch (e) {
        if (!(e instanceof ProtoError)) throw e;
        out.push('error');
      }
    }
    return { out, unreadable: d.unreadableScalarTensors };
  };

  it('emits exactly what the general decoder emits, with either kind of sink (property)', () => {
    const kinds: Kind[] = ['simple', 'tensor', 'tensorMeta', 'tensorMetaClass', 'tensorMetaAfter', 'histogram', 'simpleMeta'];
    const layouts: Layout[] = ['canonical', 'canonical', 'canonical', 'canonical', 'noStep', 'summaryFirst', 'stepFirst', 'wallAfter', 'twoSummaries', 'cut'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('loss', 'acc', 'lr'), fc.constantFrom(...kinds), fc.constantFrom(...layouts), fc.nat(2 ** 40), fc.double({ noNaN: true }), fc.float()), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 2 }),
        (events, flips) => {
          const payloads = events.map(([t, k, l, s, w, v]) => event(t, k, l, s, w, v));
          for (const [which, at, mask] of flips) {
            const p = payloads[which % payloads.length];
            p[at % p.length] ^= mask;
          }
          const general = run(payloads, false, false);
          assert.deepEqual(run(payloads, true, false), general);
          assert.deepEqual(run(payloads, true, true), general);
          assert.deepEqual(run(payloads, false, true), general);
        },
      ),
      { seed: 29, numRuns: 1500 },
    );
  });

  it('reads repeated records by their shape: many steps of a few tags, identical to the general decoder', () => {
    // Long enough for every shape to be learnt and predicted; steps cross varint lengths (1–3 bytes).
    const kinds: Kind[] = ['simple', 'tensorMeta', 'tensor', 'tensorMetaAfter'];
    const stream = (layout: (i: number) => Layout, tag = (i: number) => ['a', 'bb', 'c/d'][i % 3]) => Array.from({ length: 3000 }, (_, i) => event(tag(i), kinds[Math.floor(i / 3) % 4], layout(i), i * 37, 1e9 + i, Math.sin(i)));
    const canonical = stream(() => 'canonical');
    const general = run(canonical, false, false);
    assert.equal(general.out.length, 3000);
    assert.deepEqual(run(canonical, true, false), general);
    assert.deepEqual(run(canonical, true, true), general);
    // Runs of records that look like a known shape up to a point, repeated so predictions hit them
    // (tags named per layout: a tag keeps only a few shapes).
    const near: Layout[] = ['canonical', 'wallAfter', 'canonical', 'twoSummaries', 'cut'];
    const layoutAt = (i: number) => near[Math.floor(i / 60) % near.length];
    const mixed = stream(layoutAt, (i) => `${['a', 'bb', 'c/d'][i % 3]}-${layoutAt(i)}`);
    assert.deepEqual(run(mixed, true, true), run(mixed, false, false));
  });
});
