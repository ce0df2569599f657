/**
 * The seeds a differential test runs: DIFF_SEEDS when set ("1..50", "3,7", "1..5,9"), else the
 * test's own CI seeds. Shared by the differential tests against a real etcd.
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
