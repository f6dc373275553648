/**
 * A small, defensive HDF5 reader for Keras files, on top of h5wasm (the HDF5 C library compiled to
 * WebAssembly, with its binary inlined in the JS).
 *
 * Why h5wasm rather than jsfive (`npm view jsfive`: 0.4.2, pure JS, CJS + ESM builds, depends on
 * pako): h5wasm *is* libhdf5, so whatever layout h5py writes for Keras (superblock versions, dense or
 * compact link storage, vlen string attributes, chunked/filtered data) is read by the reference
 * implementation, and libhdf5's own consistency checks give precise messages on damaged files
 * ("truncated file: eof = …, stored_eof = …"). jsfive is a port of the pyfive re-implementation; its
 * README says "Not all features of HDF5 are supported" and lists unsupported datatypes. h5wasm was
 * also already a dependency; jsfive would be a new one. The cost of h5wasm: ~4 MB of inlined wasm in
 * every bundle that imports this module, and an ESM-only package. We import the generic ESM build
 * `h5wasm`, not `h5wasm/node`: the Node build calls `createRequire(import.meta.url)`, and
 * `import.meta.url` is undefined in our CommonJS esbuild bundles (it throws ERR_INVALID_ARG_VALUE at
 * start-up); the generic build needs nothing from Node (only its in-memory file system), so esbuild
 * bundles it as it is, with no change to esbuild.mjs (checked: a CJS/node20 bundle of this module,
 * run from outside the repository, loads the fixtures).
 *
 * Safety: we never hand HDF5 a size we did not check. Every dataset's and string attribute's size is
 * bounded by the bytes the file actually has before it is read; only numeric datasets and string
 * attributes are read; links are not followed. Data is read with our own calls into h5wasm's module
 * (not `Dataset.value` / `Attribute.value`), because h5wasm 0.10.3 ignores H5Dread/H5Aread's status:
 * on a damaged file it decodes an uninitialised buffer and then frees the garbage "pointers" in it as
 * variable-length strings, which corrupts the wasm heap (our fuzz test found traps a few files
 * later). We zero the buffer first, check the status, and only then decode. libhdf5's error stack
 * goes to h5wasm's stderr hook, which we capture (not print) and quote in the HeatcapError. libhdf5's
 * default error handler is kept: h5wasm's "throwing" handler throws a JS exception through libhdf5's
 * C frames, leaving its internal state inconsistent after an error. Anything else libhdf5 throws,
 * including a wasm trap, becomes a HeatcapError naming the file; after a trap the reader refuses
 * further files in this process rather than trust a damaged heap.
 */
import { HeatcapError } from '../../errors';

type H5 = typeof import('h5wasm');
type H5File = InstanceType<H5['File']>;
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;
interface Meta {
  type: number;
  size: number;
  vlen: boolean;
  signed: boolean;
  cset?: number;
  shape: number[] | null;
}

let modulePromise: Promise<H5> | undefined;
let counter = 0;
/** Set when libhdf5 trapped (wasm abort): its module cannot be trusted or restarted in this process. */
let crashed: string | undefined;
/** libhdf5's error stack lines, as written to h5wasm's stderr hook since the last read. */
const captured: string[] = [];

function noteCrash(e: unknown): void {
  if (e instanceof WebAssembly.RuntimeError) crashed ??= e.message.split('\n')[0];
}

async function h5wasm(): Promise<H5> {
  modulePromise ??= (async () => {
    // h5wasm binds console.error as its stderr when the module starts: hand it a collector for
    // libhdf5's error stacks (we quote them in our errors), then put console.error back.
    const original = console.error;
    console.error = (...args: unknown[]) => {
      captured.push(args.map(String).join(' '));
      if (captured.length > 400) captured.splice(0, captured.length - 200);
    };
    try {
      const m = await import('h5wasm');
      await m.ready;
      return m;
    } finally {
      console.error = original;
    }
  })();
  return modulePromise;
}

/** The innermost cause of a libhdf5 error stack ("… in H5F__super_read(): truncated file: …"). */
function hdf5Cause(text: string): string | undefined {
  const causes = [...text.matchAll(/ in \w+\(\): (.+)$/gm)].map((m) => m[1].trim());
  return causes.length > 0 ? causes[causes.length - 1].slice(0, 300) : undefined;
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return hdf5Cause(text) ?? hdf5Cause(captured.join('\n')) ?? text.split('\n')[0].slice(0, 300);
}

/** Element counts above this are refused whatever the file claims (2^28 floats = 1 GiB). */
const MAX_ELEMENTS = 2 ** 28;
/** Compressed (filtered) datasets may hold more than the file's bytes, but not beyond this ratio. */
const MAX_FILTER_RATIO = 64;
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;

export interface H5Array {
  shape: number[];
  data: Float32Array;
}

/** What the Keras readers need from an HDF5 file; paths are '/'-separated from the root. */
export interface Hdf5Reader {
  /** Label used in errors, e.g. `model.weights.h5`. */
  readonly where: string;
  /** 'group', 'dataset' or undefined when there is nothing (or something else, e.g. a link) there. */
  kind(path: string): 'group' | 'dataset' | undefined;
  /** Member names of a group, in the order libhdf5 lists them. */
  keys(path: string): string[];
  /** A string attribute (fixed or variable length); undefined when absent or not a string. */
  attrString(path: string, name: string): string | undefined;
  /** A string-list attribute (Keras `weight_names`, `layer_names`); [] for an empty numeric array. */
  attrStrings(path: string, name: string): string[] | undefined;
  /** Shape of a numeric dataset, checked against the file's size; throws for anything else. */
  shape(path: string): number[];
  /** Reads a numeric dataset as float32 after checking its size against the file. */
  read(path: string): H5Array;
  close(): void;
}

/**
 * Opens HDF5 bytes (already in memory) read-only. `file` names the file on disk for errors, `where`
 * the member inside it when the HDF5 file is inside a zip (`.keras`).
 */
export async function openHdf5(bytes: Uint8Array, file: string, where = file): Promise<Hdf5Reader> {
  const prefix = where === file ? '' : `${where}: `;
  const fail = (what: string, e?: unknown): HeatcapError => {
    noteCrash(e);
    const cause = e === undefined ? hdf5Cause(captured.join('\n')) : message(e);
    captured.length = 0;
    return new HeatcapError(file, `${prefix}${what}${cause === undefined ? '' : ` (${cause})`}`, e === undefined ? undefined : { cause: e });
  };
  const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new HeatcapError(file, `${prefix}not an HDF5 file (no HDF5 signature at offset 0)`);
  if (crashed) throw new HeatcapError(file, `${prefix}cannot be read: the HDF5 reader crashed earlier in this process (${crashed}); restart to read HDF5 files again`);
  const h5 = await h5wasm();
  const M = h5.Module as unknown as {
    _malloc(n: number): number;
    _free(p: number): void;
    HEAPU8: Uint8Array;
    UTF8ToString(p: number): string;
    get_attribute_data(id: bigint, obj: string, name: string, ptr: bigint): number;
    get_dataset_data(id: bigint, path: string, c: null, o: null, s: null, ptr: bigint): number;
    reclaim_vlen_memory(id: bigint, obj: string, name: string, ptr: bigint): number;
  };
  const FS = h5.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void } | null;
  if (!FS) throw fail('the HDF5 reader (h5wasm) did not start');
  const memPath = `/heatcap-keras-${process.pid}-${++counter}.h5`;
  const unlink = () => {
    try {
      FS.unlink(memPath);
    } catch {
      /* already gone */
    }
  };
  let f: H5File;
  captured.length = 0;
  try {
    FS.writeFile(memPath, bytes);
  } catch (e) {
    throw fail('cannot be staged for the HDF5 reader', e);
  }
  try {
    f = new h5.File(memPath, 'r');
    if (!(f.file_id > 0n)) throw fail('is not a readable HDF5 file');
  } catch (e) {
    unlink();
    if (e instanceof HeatcapError) throw e;
    throw fail('is not a readable HDF5 file', e);
  }
  const fileBytes = bytes.length;
  let closed = false;

  const guard = <T>(path: string, fn: () => T): T => {
    if (closed) throw new Error('HDF5 reader used after close');
    if (crashed) throw fail(`cannot read '${path}': the HDF5 reader crashed (${crashed})`);
    try {
      return fn();
    } catch (e) {
      if (e instanceof HeatcapError) throw e;
      throw fail(`cannot read '${path}'`, e);
    }
  };
  const entity = (path: string) => {
    if (path === '' || path === '/') return f;
    // Keras paths never contain '.' or '..' components; refuse them rather than ask libhdf5.
    if (path.split('/').some((c) => c === '.' || c === '..')) return null;
    // Soft and external links come back as their own classes, which callers refuse: only
    // hard-linked groups and datasets are used.
    return f.get(path);
  };
  const group = (path: string): H5Group => {
    const g = entity(path);
    if (!(g instanceof h5.Group)) throw fail(`'${path}' is not a group`);
    return g;
  };
  const dataset = (path: string): H5Dataset => {
    const d = entity(path);
    if (!(d instanceof h5.Dataset)) throw fail(`'${path}' is not a dataset`);
    return d;
  };
  const count = (shape: number[] | null, what: string): number => {
    let n = 1;
    for (const d of shape ?? []) {
      if (!Number.isSafeInteger(d) || d < 0) throw fail(`${what} has an invalid shape [${shape}]`);
      n *= d;
      if (n > MAX_ELEMENTS) throw fail(`${what} claims shape [${shape}]: too large`);
    }
    return n;
  };

  /**
   * Runs one libhdf5 read into a zeroed buffer of `nbytes`, checks its status, copies the bytes out
   * (decoding variable-length strings while their memory is alive), then reclaims and frees.
   */
  const readInto = <T>(what: string, nbytes: number, vlen: boolean, read: (ptr: bigint) => number, decode: (bytes: Uint8Array, ptr: number) => T, reclaim: (ptr: bigint) => void): T => {
    const ptr = M._malloc(Math.max(nbytes, 1));
    if (!ptr) throw fail(`${what}: the HDF5 reader could not allocate ${nbytes} bytes`);
    M.HEAPU8.fill(0, ptr, ptr + nbytes);
    captured.length = 0;
    let ok = false;
    try {
      const status = read(BigInt(ptr));
      if (status < 0) throw fail(`${what} cannot be read`);
      const out = decode(M.HEAPU8.slice(ptr, ptr + nbytes), ptr);
      ok = true;
      return out;
    } finally {
      try {
        if (vlen) reclaim(BigInt(ptr));
      } finally {
        M._free(ptr);
        if (!ok) captured.length = 0;
      }
    }
  };

  const stringAttr = (path: string, name: string): string[] | undefined => {
    const e = entity(path);
    if (!(e instanceof h5.Group) && !(e instanceof h5.Dataset)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(e.attrs, name)) return undefined;
    const a = e.attrs[name];
    const meta = a.metadata as Meta;
    const what = `attribute '${name}' of '${path}'`;
    if (meta.type !== H5T_STRING) {
      // h5py writes an empty list as a float64 array of shape [0].
      return a.shape && a.shape.length === 1 && a.shape[0] === 0 ? [] : undefined;
    }
    const n = count(a.shape, what);
    const nbytes = n * meta.size;
    if (!Number.isSafeInteger(nbytes) || (meta.vlen ? n : nbytes) > fileBytes || (meta.vlen && ![4, 8].includes(meta.size))) {
      throw fail(`${what} claims ${n} strings of ${meta.size} bytes in a ${fileBytes}-byte file`);
    }
    const objPath = path === '' ? '/' : path;
    return readInto(
      what,
      nbytes,
      meta.vlen,
      (ptr) => M.get_attribute_data(f.file_id, objPath, name, ptr),
      (buf) => {
        const out: string[] = [];
        const dv = new DataView(buf.buffer);
        const utf8 = new TextDecoder('utf-8', { fatal: false });
        for (let i = 0; i < n; i++) {
          if (meta.vlen) {
            const p = meta.size === 8 ? Number(dv.getBigUint64(i * 8, true)) : dv.getUint32(i * 4, true);
            if (p === 0 || p >= M.HEAPU8.length) throw fail(`${what} has an unreadable string`);
            let end = p;
            while (end < M.HEAPU8.length && M.HEAPU8[end] !== 0 && end - p <= fileBytes) end++;
            if (end - p > fileBytes) throw fail(`${what} has an unterminated string`);
            out.push(utf8.decode(M.HEAPU8.subarray(p, end)));
          } else {
            const raw = buf.subarray(i * meta.size, (i + 1) * meta.size);
            const zero = raw.indexOf(0);
            out.push(utf8.decode(zero < 0 ? raw : raw.subarray(0, zero)).replace(/ +$/, ''));
          }
        }
        return out;
      },
      (ptr) => M.reclaim_vlen_memory(f.file_id, objPath, name, ptr),
    );
  };

  const checkedShape = (path: string, d: H5Dataset): { shape: number[]; elements: number; meta: Meta } => {
    const meta = d.metadata as Meta;
    if ((meta.type !== H5T_INTEGER && meta.type !== H5T_FLOAT) || meta.vlen || ![1, 2, 4, 8].includes(meta.size) || (meta.type === H5T_FLOAT && meta.size < 4)) {
      throw fail(`dataset '${path}' is not a float32/float64/integer array (HDF5 type class ${meta.type}, ${meta.size} bytes)`);
    }
    const shape = meta.shape ?? [];
    const elements = count(shape, `dataset '${path}'`);
    const filtered = d.filters.length > 0;
    const limit = filtered ? fileBytes * MAX_FILTER_RATIO : fileBytes;
    if (elements * meta.size > limit) throw fail(`dataset '${path}' claims ${elements * meta.size} bytes of data in a ${fileBytes}-byte file`);
    return { shape, elements, meta };
  };

  const decodeNumbers = (buf: Uint8Array, meta: Meta, n: number): Float32Array => {
    const b = buf.buffer as ArrayBuffer;
    if (meta.type === H5T_FLOAT) return meta.size === 4 ? new Float32Array(b, 0, n) : Float32Array.from(new Float64Array(b, 0, n));
    const Ctor =
      meta.size === 1 ? (meta.signed ? Int8Array : Uint8Array) : meta.size === 2 ? (meta.signed ? Int16Array : Uint16Array) : meta.size === 4 ? (meta.signed ? Int32Array : Uint32Array) : undefined;
    if (Ctor) return Float32Array.from(new Ctor(b, 0, n));
    return Float32Array.from(meta.signed ? new BigInt64Array(b, 0, n) : new BigUint64Array(b, 0, n), (x) => Number(x));
  };

  return {
    where,
    kind: (path) =>
      guard(path, () => {
        const e = entity(path);
        if (e instanceof h5.Group) return 'group';
        if (e instanceof h5.Dataset) return 'dataset';
        return undefined;
      }),
    keys: (path) => guard(path, () => group(path).keys()),
    attrString: (path, name) =>
      guard(path, () => {
        const v = stringAttr(path, name);
        return v && v.length === 1 ? v[0] : undefined;
      }),
    attrStrings: (path, name) => guard(path, () => stringAttr(path, name)),
    shape: (path) => guard(path, () => checkedShape(path, dataset(path)).shape),
    read: (path) =>
      guard(path, () => {
        const d = dataset(path);
        const { shape, elements, meta } = checkedShape(path, d);
        const data = readInto(
          `dataset '${path}'`,
          elements * meta.size,
          false,
          (ptr) => M.get_dataset_data(f.file_id, path, null, null, null, ptr),
          (buf) => decodeNumbers(buf, meta, elements),
          () => undefined,
        );
        return { shape, data };
      }),
    close() {
      if (closed) return;
      closed = true;
      try {
        f.close();
      } catch {
        /* a broken file may fail to close; its memory copy is removed below */
      }
      unlink();
      captured.length = 0;
    },
  };
}
