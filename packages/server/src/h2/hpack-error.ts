/** The error of HPACK decoding (hpack.ts, huffman.ts), in a file of its own so neither imports the other. */

/**
 * A header block that is not valid HPACK, or that breaks a limit we set. The decoder's state is
 * undefined after one: the connection must end with a COMPRESSION_ERROR (RFC 7540 §4.3).
 */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}
