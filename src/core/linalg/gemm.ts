/**
 * Dense double-precision matrix products C = op(A)·op(B) for the P³-sized work of the finite-η
 * full-parameter solve (src/core/finite-eta/dense-full.ts). Both operands are packed into panels of four
 * rows of A / four columns of B (k-major), zero-padded to multiples of four, and a 4×4 register-tiled
 * micro-kernel runs over k in blocks of KC, adding each block's sums into C. The micro-kernel is a small
 * WebAssembly SIMD function (two f64 lanes, eight accumulators; the module is assembled below, about 300
 * bytes) with a plain-JS twin of the same loop order where WebAssembly SIMD is unavailable; both do the
 * same multiplications and additions in the same order (no fused multiply-add), so they agree bit for bit.
 * Synchronous: the callers are synchronous solvers.
 */

/** One operand: element (r, c) of op(X) is data[offset + r·ld + c], or data[offset + c·ld + r] when trans. */
export interface MatView {
  data: Float64Array;
  /** Leading dimension (row stride of the stored matrix). */
  ld: number;
  offset?: number;
  trans?: boolean;
}

export interface GemmOptions {
  /** Only the 4×4 tiles on or above the diagonal (m = n; C symmetric by construction): entries below are 0. */
  upper?: boolean;
  /** Use the plain-JS micro-kernel even where WebAssembly SIMD is available (tests). */
  js?: boolean;
}

const KC = 128;

// ---- WebAssembly micro-kernel ---------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * kernel(aOff, bOff, cOff, mb, nb, k, p0, p1, ldc, upper): for every row panel ip < mb and column panel
 * jp < nb (jp ≥ ip when upper ≠ 0), C[4ip.., 4jp..] += Σ_{p0 ≤ p < p1} Apanel_ip[p] ⊗ Bpanel_jp[p], with the
 * panels at aOff + (ip·k + p)·32 and bOff + (jp·k + p)·32 bytes and C row-major with ldc bytes per row.
 */
function kernelModule(): Uint8Array<ArrayBuffer> {
  // Locals: params 0..9, then i32 ip 10, jp 11, pa 12, pb 13, pend 14, cp 15; v128 acc 16..23, b01 24, b23 25, a 26.
  const [aOff, bOff, cOff, mb, nb, k, p0, p1, ldc, upper] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [ip, jp, pa, pb, pend, cp] = [10, 11, 12, 13, 14, 15];
  const acc = [16, 17, 18, 19, 20, 21, 22, 23];
  const [b01, b23, av] = [24, 25, 26];
  const get = (l: number): number[] => [0x20, ...uleb(l)];
  const set = (l: number): number[] => [0x21, ...uleb(l)];
  const i32 = (v: number): number[] => [0x41, ...sleb(v)];
  const SIMD = 0xfd;
  const v128load = (off: number): number[] => [SIMD, 0x00, 3, ...uleb(off)];
  const v128store = (off: number): number[] => [SIMD, 0x0b, 3, ...uleb(off)];
  const f64load = (off: number): number[] => [0x2b, 3, ...uleb(off)];
  const splat = [SIMD, 0x14];
  const add = [SIMD, ...uleb(0xf0)];
  const mul = [SIMD, ...uleb(0xf2)];
  const zero = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
  const [I32ADD, I32MUL, I32GEU, I32SHL] = [0x6a, 0x6c, 0x4f, 0x74];
  const BLOCK = [0x02, 0x40];
  const LOOP = [0x03, 0x40];
  const END = 0x0b;
  const brIf = (d: number): number[] => [0x0d, d];
  const br = (d: number): number[] => [0x0c, d];
  const body: number[] = [];
  const emit = (...xs: (number | number[])[]): void => {
    for (const x of xs) {
      if (typeof x === 'number') body.push(x);
      else body.push(...x);
    }
  };
  // ip = 0; loop over row panels
  emit(i32(0), set(ip), BLOCK, LOOP);
  emit(get(ip), get(mb), I32GEU, brIf(1));
  // jp = upper ? ip : 0
  emit(get(ip), i32(0), get(upper), 0x1b /* select */, set(jp));
  emit(BLOCK, LOOP);
  emit(get(jp), get(nb), I32GEU, brIf(1));
  for (const a of acc) emit(zero, set(a));
  // pa = aOff + ((ip·k + p0) << 5); pend = aOff + ((ip·k + p1) << 5); pb = bOff + ((jp·k + p0) << 5)
  emit(get(aOff), get(ip), get(k), I32MUL, get(p0), I32ADD, i32(5), I32SHL, I32ADD, set(pa));
  emit(get(aOff), get(ip), get(k), I32MUL, get(p1), I32ADD, i32(5), I32SHL, I32ADD, set(pend));
  emit(get(bOff), get(jp), get(k), I32MUL, get(p0), I32ADD, i32(5), I32SHL, I32ADD, set(pb));
  emit(BLOCK, LOOP);
  emit(get(pa), get(pend), I32GEU, brIf(1));
  emit(get(pb), v128load(0), set(b01), get(pb), v128load(16), set(b23));
  for (let r = 0; r < 4; r++) {
    emit(get(pa), f64load(8 * r), splat, set(av));
    emit(get(acc[2 * r]), get(av), get(b01), mul, add, set(acc[2 * r]));
    emit(get(acc[2 * r + 1]), get(av), get(b23), mul, add, set(acc[2 * r + 1]));
  }
  emit(get(pa), i32(32), I32ADD, set(pa), get(pb), i32(32), I32ADD, set(pb));
  emit(br(0), END, END);
  // cp = cOff + (ip << 2)·ldc + (jp << 5); C rows += accumulators
  emit(get(cOff), get(ip), i32(2), I32SHL, get(ldc), I32MUL, I32ADD, get(jp), i32(5), I32SHL, I32ADD, set(cp));
  for (let r = 0; r < 4; r++) {
    emit(get(cp), get(cp), v128load(0), get(acc[2 * r]), add, v128store(0));
    emit(get(cp), get(cp), v128load(16), get(acc[2 * r + 1]), add, v128store(16));
    if (r < 3) emit(get(cp), get(ldc), I32ADD, set(cp));
  }
  emit(get(jp), i32(1), I32ADD, set(jp), br(0), END, END);
  emit(get(ip), i32(1), I32ADD, set(ip), br(0), END, END, END);
  const I32 = 0x7f;
  const V128 = 0x7b;
  const func = [2, 6, I32, 11, V128, ...body];
  const module = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 10, ...new Array<number>(10).fill(I32), 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, 3, 0x6d, 0x65, 0x6d, 0x02, 0, 1, 0x6b, 0x00, 0]),
    ...section(10, [1, ...uleb(func.length), ...func]),
  ];
  return new Uint8Array(module);
}

interface Kernel {
  memory: WebAssembly.Memory;
  run: (aOff: number, bOff: number, cOff: number, mb: number, nb: number, k: number, p0: number, p1: number, ldc: number, upper: number) => void;
}

let wasmKernel: Kernel | null | undefined;

function loadKernel(): Kernel | null {
  if (wasmKernel !== undefined) return wasmKernel;
  wasmKernel = null;
  try {
    const bytes = kernelModule();
    if (typeof WebAssembly === 'object' && WebAssembly.validate(bytes)) {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      const ex = inst.exports as unknown as { mem: WebAssembly.Memory; k: Kernel['run'] };
      wasmKernel = { memory: ex.mem, run: ex.k };
    }
  } catch {
    wasmKernel = null;
  }
  return wasmKernel;
}

/** Whether products run in the WebAssembly SIMD kernel (else the plain-JS one). */
export function gemmUsesWasm(): boolean {
  return loadKernel() !== null;
}

// ---- plain-JS micro-kernel (same order of operations) ---------------------------------------------

function jsKernel(h: Float64Array, aOff: number, bOff: number, cOff: number, mb: number, nb: number, k: number, p0: number, p1: number, ldc: number, upper: boolean): void {
  for (let ip = 0; ip < mb; ip++) {
    for (let jp = upper ? ip : 0; jp < nb; jp++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = aOff + (ip * k + p0) * 4;
      const pend = aOff + (ip * k + p1) * 4;
      let pb = bOff + (jp * k + p0) * 4;
      for (; pa < pend; pa += 4, pb += 4) {
        const b0 = h[pb], b1 = h[pb + 1], b2 = h[pb + 2], b3 = h[pb + 3];
        const x0 = h[pa], x1 = h[pa + 1], x2 = h[pa + 2], x3 = h[pa + 3];
        c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
        c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
        c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
        c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
      }
      let o = cOff + 4 * ip * ldc + 4 * jp;
      h[o] += c00; h[o + 1] += c01; h[o + 2] += c02; h[o + 3] += c03;
      o += ldc;
      h[o] += c10; h[o + 1] += c11; h[o + 2] += c12; h[o + 3] += c13;
      o += ldc;
      h[o] += c20; h[o + 1] += c21; h[o + 2] += c22; h[o + 3] += c23;
      o += ldc;
      h[o] += c30; h[o + 1] += c31; h[o + 2] += c32; h[o + 3] += c33;
    }
  }
}

let jsHeap = new Float64Array(0);

/** Panels of four rows of op(X) (rows × depth), k-major, zero rows past `rows`, written at h[at…]. */
function packRows(h: Float64Array, at: number, x: MatView, rows: number, depth: number): void {
  const { data, ld } = x;
  const off = x.offset ?? 0;
  const panels = Math.ceil(rows / 4);
  for (let ip = 0; ip < panels; ip++) {
    const base = at + ip * depth * 4;
    const i0 = 4 * ip;
    if (x.trans && i0 + 4 <= rows) {
      // Four consecutive entries of each stored row p.
      for (let p = 0, q = off + i0, o = base; p < depth; p++, q += ld, o += 4) {
        h[o] = data[q];
        h[o + 1] = data[q + 1];
        h[o + 2] = data[q + 2];
        h[o + 3] = data[q + 3];
      }
      continue;
    }
    for (let r = 0; r < 4; r++) {
      const i = i0 + r;
      if (i >= rows) {
        for (let p = 0; p < depth; p++) h[base + 4 * p + r] = 0;
      } else if (x.trans) {
        for (let p = 0; p < depth; p++) h[base + 4 * p + r] = data[off + p * ld + i];
      } else {
        const row = off + i * ld;
        for (let p = 0; p < depth; p++) h[base + 4 * p + r] = data[row + p];
      }
    }
  }
}

/**
 * C = op(A)·op(B), op(A) m×k and op(B) k×n, returned row-major m×n (a new array). With `upper`, only the
 * 4×4 tiles on or above the diagonal are computed (every entry j ≥ i is exact; the caller mirrors).
 */
export function gemm(m: number, k: number, n: number, a: MatView, b: MatView, opts: GemmOptions = {}): Float64Array {
  const out = new Float64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return out;
  if (opts.upper && m !== n) throw new Error(`gemm: upper needs a square result, got ${m}×${n}`);
  const mb = Math.ceil(m / 4);
  const nb = Math.ceil(n / 4);
  const ldc = 4 * nb;
  const aLen = 4 * mb * k;
  const bLen = 4 * nb * k;
  const total = aLen + bLen + 4 * mb * ldc;
  const kernel = opts.js ? null : loadKernel();
  let h: Float64Array;
  if (kernel) {
    const need = total * 8;
    const have = kernel.memory.buffer.byteLength;
    if (need > have) kernel.memory.grow(Math.ceil((need - have) / 65536));
    h = new Float64Array(kernel.memory.buffer, 0, total);
  } else {
    if (jsHeap.length < total) jsHeap = new Float64Array(total);
    h = jsHeap;
  }
  // The op(B) panels are the rows of op(B)ᵀ.
  packRows(h, 0, a, m, k);
  packRows(h, aLen, { data: b.data, ld: b.ld, offset: b.offset, trans: !b.trans }, n, k);
  const cOff = aLen + bLen;
  h.fill(0, cOff, total);
  const upper = opts.upper ?? false;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const p1 = Math.min(k, p0 + KC);
    if (kernel) kernel.run(0, aLen * 8, cOff * 8, mb, nb, k, p0, p1, ldc * 8, upper ? 1 : 0);
    else jsKernel(h, 0, aLen, cOff, mb, nb, k, p0, p1, ldc, upper);
  }
  for (let i = 0; i < m; i++) out.set(h.subarray(cOff + i * ldc, cOff + i * ldc + n), i * n);
  return out;
}

/** C = A·B for row-major A (m×k) and B (k×n). */
export function gemmRowMajor(a: Float64Array, b: Float64Array, m: number, k: number, n: number, opts: GemmOptions = {}): Float64Array {
  return gemm(m, k, n, { data: a, ld: k }, { data: b, ld: n }, opts);
}
