/**
 * Base64 as Go's base64.StdEncoding decodes it, which is how grpc-gateway reads a bytes field:
 * the standard alphabet, `=` padding required, `\r` and `\n` skipped anywhere, nothing after the
 * padding, and Go's error text with the offending byte's offset (`illegal base64 data at input
 * byte 4`). Non-zero bits left over in the last quantum are accepted, as Go's non-strict decoder
 * does. (Node's Buffer.from(s, 'base64') accepts all of these and more, silently.)
 *
 * Pure.
 */

/** Base64 Go refuses: its CorruptInputError. */
export class CorruptInputError extends Error {
  override readonly name = 'CorruptInputError';
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const PAD = 0x3d;
const isNewline = (c: number | undefined): boolean => c === 0x0a || c === 0x0d;

/** The bytes `src` (base64 text) stands for; throws CorruptInputError as Go's decoder fails. */
export function decodeStdBase64(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor((src.length / 4) * 3) + 3);
  let n = 0;
  let si = 0;
  const quantum = [0, 0, 0, 0];
  for (;;) {
    // One quantum: up to four alphabet characters, newlines skipped.
    let j = 0;
    let padded = false;
    while (j < 4) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        throw new CorruptInputError(si - j);
      }
      const c = src[si++]!;
      const v = DECODE[c]!;
      if (v >= 0) {
        quantum[j++] = v;
        continue;
      }
      if (isNewline(c)) continue;
      if (c !== PAD || j < 2) throw new CorruptInputError(si - 1);
      // Padding: "==" after two characters, "=" after three, then the end of the input.
      if (j === 2) {
        while (isNewline(src[si])) si++;
        if (si === src.length) throw new CorruptInputError(src.length);
        if (src[si] !== PAD) throw new CorruptInputError(si - 1);
        si++;
      }
      while (isNewline(src[si])) si++;
      if (si < src.length) throw new CorruptInputError(si);
      padded = true;
      break;
    }
    const bits = (quantum[0]! << 18) | (quantum[1]! << 12) | ((quantum[2] ?? 0) << 6) | (quantum[3] ?? 0);
    out[n++] = bits >>> 16;
    if (j >= 3) out[n++] = (bits >>> 8) & 0xff;
    if (j === 4) out[n++] = bits & 0xff;
    if (padded) return out.subarray(0, n);
    quantum.fill(0);
  }
}
