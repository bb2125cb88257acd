// A well-formedness check run on COSE bytes before cbor-x decodes them. cbor-x (1.6) trusts its
// input's framing: an indefinite-length array that is never closed makes it read past the end
// until its array limit, a minute of CPU for three bytes (measured: `9f 00` decoded in 60 s).
// Anyone who may push can store such an envelope, and every pull decision would decode it. So
// the framing is walked here first, without building anything: exactly one item, definite
// lengths only (RFC 8949 §4.2.1 core deterministic encoding, which COSE signers use), every
// length within the input, bounded nesting. What passes is then decoded by cbor-x as usual.

/** Throws a short reason unless `bytes` is one well-formed CBOR item of definite lengths. Cost: one pass, no allocation. */
export function assertDefiniteCbor(bytes: Uint8Array, maxDepth = 16): void {
  let pos = 0;
  const need = (n: number) => {
    if (n > bytes.length - pos) throw new Error('a length runs past the end of the data');
  };
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new Error(info === 31 ? 'indefinite-length items are not accepted' : 'a reserved additional-information value');
    need(size);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + bytes[pos + i]!;
    pos += size;
    return value; // beyond 2^53 it is inexact, but then it exceeds any input and fails below
  };
  // Items still to read at each open level (array, map, tag); the bottom level is the one item.
  const open: number[] = [1];
  while (open.length > 0) {
    const top = open.length - 1;
    if (open[top] === 0) {
      open.pop();
      continue;
    }
    open[top]!--;
    need(1);
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const value = argument(initial & 31);
    let items = 0;
    if (major === 2 || major === 3) {
      need(value); // byte and text strings
      pos += value;
    } else if (major === 4) items = value;
    else if (major === 5) items = value * 2;
    else if (major === 6) items = 1; // a tag wraps one item
    if (items > 0) {
      if (items > bytes.length - pos) throw new Error('an array or map declares more items than the data holds');
      if (open.length >= maxDepth) throw new Error(`nesting deeper than ${maxDepth} levels`);
      open.push(items);
    }
  }
  if (pos !== bytes.length) throw new Error('data follows the CBOR item');
}
