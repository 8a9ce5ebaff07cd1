// BLAKE3 of an input of at most one chunk (1024 bytes), in plain JavaScript and without
// allocating: the routing key hash's hot path. Keys are a few dozen bytes, and for them the
// WASM hasher's per-call views and copies (hash.ts) cost more than the hash itself. Longer
// inputs are the WASM hasher's job. Written from the BLAKE3 specification (one chunk, root
// output); tests check it against the official vectors and @noble/hashes.

/** Most input bytes hashed here: one chunk. */
export const CHUNK_LENGTH = 1024;

const IV = Int32Array.of(
  0x6a09e667,
  0xbb67ae85 | 0,
  0x3c6ef372,
  0xa54ff53a | 0,
  0x510e527f,
  0x9b05688c | 0,
  0x1f83d9ab,
  0x5be0cd19,
);
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;
const BLOCK = 64;

// Working state (the function is synchronous and not re-entrant): the chaining value, the
// message block as little-endian words, and the output words of the last compression.
const cv = new Int32Array(8);
const block = new Int32Array(16);
const v = new Int32Array(16);

/**
 * The compression function on `block` with chaining value `cv` (counter 0: a single chunk);
 * its output words 0..7 (the next chaining value, or the root's digest) go to v[0..8). The
 * state and message live in locals, not arrays: several times faster in V8.
 */
// prettier-ignore
function compress(blockLength: number, flags: number): void {
  let v0 = cv[0] as number, v1 = cv[1] as number, v2 = cv[2] as number, v3 = cv[3] as number;
  let v4 = cv[4] as number, v5 = cv[5] as number, v6 = cv[6] as number, v7 = cv[7] as number;
  let v8 = IV[0] as number, v9 = IV[1] as number, v10 = IV[2] as number, v11 = IV[3] as number;
  let v12 = 0, v13 = 0, v14 = blockLength, v15 = flags;
  let m0 = block[0] as number, m1 = block[1] as number, m2 = block[2] as number, m3 = block[3] as number;
  let m4 = block[4] as number, m5 = block[5] as number, m6 = block[6] as number, m7 = block[7] as number;
  let m8 = block[8] as number, m9 = block[9] as number, m10 = block[10] as number, m11 = block[11] as number;
  let m12 = block[12] as number, m13 = block[13] as number, m14 = block[14] as number, m15 = block[15] as number;
  for (let round = 0; ; round++) {
    // G on the columns, then on the diagonals: two lines each.
    v0 = (v0 + v4 + m0) | 0; v12 = rotr(v12 ^ v0, 16); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 12);
    v0 = (v0 + v4 + m1) | 0; v12 = rotr(v12 ^ v0, 8); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 7);
    v1 = (v1 + v5 + m2) | 0; v13 = rotr(v13 ^ v1, 16); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 12);
    v1 = (v1 + v5 + m3) | 0; v13 = rotr(v13 ^ v1, 8); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 7);
    v2 = (v2 + v6 + m4) | 0; v14 = rotr(v14 ^ v2, 16); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 12);
    v2 = (v2 + v6 + m5) | 0; v14 = rotr(v14 ^ v2, 8); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 7);
    v3 = (v3 + v7 + m6) | 0; v15 = rotr(v15 ^ v3, 16); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 12);
    v3 = (v3 + v7 + m7) | 0; v15 = rotr(v15 ^ v3, 8); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 7);
    v0 = (v0 + v5 + m8) | 0; v15 = rotr(v15 ^ v0, 16); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 12);
    v0 = (v0 + v5 + m9) | 0; v15 = rotr(v15 ^ v0, 8); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 7);
    v1 = (v1 + v6 + m10) | 0; v12 = rotr(v12 ^ v1, 16); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 12);
    v1 = (v1 + v6 + m11) | 0; v12 = rotr(v12 ^ v1, 8); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 7);
    v2 = (v2 + v7 + m12) | 0; v13 = rotr(v13 ^ v2, 16); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 12);
    v2 = (v2 + v7 + m13) | 0; v13 = rotr(v13 ^ v2, 8); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 7);
    v3 = (v3 + v4 + m14) | 0; v14 = rotr(v14 ^ v3, 16); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 12);
    v3 = (v3 + v4 + m15) | 0; v14 = rotr(v14 ^ v3, 8); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 7);
    if (round === 6) break;
    // The message permutation between rounds.
    const t0 = m0, t1 = m1, t2 = m2, t3 = m3, t4 = m4, t5 = m5, t6 = m6, t7 = m7;
    const t8 = m8, t9 = m9, t10 = m10, t11 = m11, t12 = m12, t13 = m13, t14 = m14, t15 = m15;
    m0 = t2; m1 = t6; m2 = t3; m3 = t10; m4 = t7; m5 = t0; m6 = t4; m7 = t13;
    m8 = t1; m9 = t11; m10 = t12; m11 = t5; m12 = t9; m13 = t14; m14 = t15; m15 = t8;
  }
  v[0] = v0 ^ v8; v[1] = v1 ^ v9; v[2] = v2 ^ v10; v[3] = v3 ^ v11;
  v[4] = v4 ^ v12; v[5] = v5 ^ v13; v[6] = v6 ^ v14; v[7] = v7 ^ v15;
}

/** x rotated right by n bits (int32). */
function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** Loads b[start, start + length) (at most one block) into `block` as little-endian words, zero-padded. */
function loadBlock(b: Uint8Array, start: number, length: number): void {
  block.fill(0);
  for (let k = 0; k < length; k++) {
    const w = k >> 2;
    block[w] = (block[w] as number) | ((b[start + k] as number) << ((k & 3) << 3));
  }
}

/**
 * The first two little-endian words of BLAKE3(b[0, length)), which must be at most
 * CHUNK_LENGTH bytes: the digest's bytes 0..3 and 4..7, in v[0] and v[1] until the next call.
 */
function hashChunk(b: Uint8Array, length: number): void {
  if (length > CHUNK_LENGTH) throw new RangeError(`more than ${CHUNK_LENGTH} bytes`);
  cv.set(IV);
  let start = 0;
  let flags = CHUNK_START;
  // Every block but the last chains into cv; the last one (possibly empty) is the root.
  while (length - start > BLOCK) {
    loadBlock(b, start, BLOCK);
    compress(BLOCK, flags);
    for (let k = 0; k < 8; k++) cv[k] = v[k] as number;
    start += BLOCK;
    flags = 0;
  }
  loadBlock(b, start, length - start);
  compress(length - start, flags | CHUNK_END | ROOT);
}

/** A 32-bit word's bytes reversed: a little-endian word read as big-endian, unsigned. */
function byteSwap(w: number): number {
  return (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
}

/** BLAKE3(b[0, length)), at most CHUNK_LENGTH bytes, as a new 32-byte array. */
export function blake3Chunk(b: Uint8Array, length: number = b.length): Uint8Array {
  hashChunk(b, length);
  const out = new Uint8Array(32);
  for (let k = 0; k < 32; k++) out[k] = ((v[k >> 2] as number) >>> ((k & 3) << 3)) & 0xff;
  return out;
}

/**
 * The first 8 bytes of BLAKE3(b[0, length)) as big-endian unsigned 32-bit halves, written to
 * `into` (hi at 0, lo at 1). At most CHUNK_LENGTH bytes.
 */
export function blake3Prefix64(b: Uint8Array, length: number, into: Uint32Array): void {
  hashChunk(b, length);
  into[0] = byteSwap(v[0] as number);
  into[1] = byteSwap(v[1] as number);
}
