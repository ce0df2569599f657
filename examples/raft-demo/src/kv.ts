/**
 * The demo's state machine: a tiny key-value map driven by text commands `set k=v` and `del k`.
 * Raft replicates the command bytes; every node applies them in log order to its own KvStore.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command as the bytes of a proposal. */
export function encodeCommand(command: string): Uint8Array {
  return encoder.encode(command);
}

/** Decodes the bytes of a committed entry back into its command. */
export function decodeCommand(data: Uint8Array): string {
  return decoder.decode(data);
}

/** A key-value map that only changes by applying commands. */
export class KvStore {
  private readonly map = new Map<string, string>();

  /** Applies one command; unknown commands are ignored, as a real state machine would reject them. */
  apply(command: string): void {
    const set = /^set (\w+)=(.*)$/.exec(command);
    if (set !== null) {
      this.map.set(set[1]!, set[2]!);
      return;
    }
    const del = /^del (\w+)$/.exec(command);
    if (del !== null) this.map.delete(del[1]!);
  }

  /** The contents as `{a=1, b=2}`, keys sorted, so equal stores print equally. */
  describe(): string {
    const keys = [...this.map.keys()].sort();
    return `{${keys.map((k) => `${k}=${this.map.get(k)}`).join(', ')}}`;
  }

  /** The contents as a plain object, for tests. */
  toObject(): Record<string, string> {
    return Object.fromEntries([...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
