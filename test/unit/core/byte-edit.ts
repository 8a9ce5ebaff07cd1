// One-byte damage for the recognizers' soundness tests: replace, insert or remove the byte at i.

export type ByteEdit = 'replace' | 'insert' | 'remove';

/** `good` with `byte` put in place of, or before, the byte at `i`, or that byte removed. */
export function editByte(good: Uint8Array, i: number, byte: number, edit: ByteEdit): Uint8Array {
  return new Uint8Array([
    ...good.subarray(0, i),
    ...(edit === 'remove' ? [] : [byte]),
    ...good.subarray(edit === 'insert' ? i : i + 1),
  ]);
}
