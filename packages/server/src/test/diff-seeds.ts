/**
 * How a differential test against a real etcd runs, from the environment: the seeds (DIFF_SEEDS:
 * "1..50", "3,7", "1..5,9"; else the test's own CI seeds), the ops per seed (DIFF_OPS), whether to
 * report every mismatch of a run rather than stop at the first (DIFF_CONTINUE=1), and whether to
 * print each op with both answers (DIFF_TRACE=1). Shared by every differential test.
 */

/** The seeds in `spec`, or `ciSeeds` when it is unset or blank. */
export function diffSeeds(spec: string | undefined, ciSeeds: readonly number[]): readonly number[] {
  if (spec === undefined || spec.trim() === '') return ciSeeds;
  return spec.split(',').flatMap((part) => {
    const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(part);
    if (range === null) return [Number(part)];
    const out: number[] = [];
    for (let s = Number(range[1]); s <= Number(range[2]); s++) out.push(s);
    return out;
  });
}

/** A differential test's run settings; see the file comment. */
export interface DiffSettings {
  readonly seeds: readonly number[];
  readonly ops: number;
  readonly continueOnMismatch: boolean;
  readonly trace: boolean;
}

/** The settings in `env` (process.env by default), with the test's CI seeds and ops per seed. */
export function diffSettings(
  ciSeeds: readonly number[],
  defaultOps: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DiffSettings {
  return {
    seeds: diffSeeds(env.DIFF_SEEDS, ciSeeds),
    ops: Number(env.DIFF_OPS ?? defaultOps),
    continueOnMismatch: env.DIFF_CONTINUE === '1',
    trace: env.DIFF_TRACE === '1',
  };
}
