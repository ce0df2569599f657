/**
 * Prometheus text exposition format 0.0.4 for a {@link Registry}: what the server package serves
 * at `/metrics`. Output matches Go's `expfmt` byte for byte for unlabeled metrics (families
 * sorted by name, floats printed as Go's `strconv.FormatFloat(f, 'g', -1, 64)`), so scrapes of
 * tsetcd and etcd look alike.
 *
 * Pure: builds a string. No HTTP here.
 */

import { type Instrument, MetricType, type Registry } from './metrics.js';

/** The `Content-Type` a `/metrics` handler sends with {@link renderPrometheus}'s text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Formats a number as Go's `expfmt.writeFloat` does: `+Inf`, `-Inf`, `NaN`, and otherwise the
 * shortest round-trip digits in `%g` style, which switches to an exponent (`1e+06`, `1e-05`)
 * when the decimal exponent is below -4 or at least 6.
 */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // toExponential() without a digit count gives the shortest round-trip mantissa, as Go does.
  const [mantissa = '', expText = '0'] = f.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  // Within [-4, 6) JavaScript's shortest decimal form is plain positional notation, as is Go's.
  return String(f);
}

/** Escapes a `# HELP` text: backslash and newline, as the 0.0.4 format requires. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function renderOne(m: Instrument, lines: string[]): void {
  lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
  lines.push(`# TYPE ${m.name} ${m.type}`);
  if (m.type !== MetricType.Histogram) {
    lines.push(`${m.name} ${formatGoFloat(m.value)}`);
    return;
  }
  for (const b of m.buckets()) {
    lines.push(`${m.name}_bucket{le="${formatGoFloat(b.le)}"} ${formatGoFloat(b.count)}`);
  }
  lines.push(`${m.name}_sum ${formatGoFloat(m.sum)}`);
  lines.push(`${m.name}_count ${formatGoFloat(m.count)}`);
}

/**
 * Renders every instrument of `registry` (a {@link Metrics} or any {@link Registry}) in the
 * text format: `# HELP`, `# TYPE`, the sample(s); histograms as cumulative `_bucket{le="…"}`
 * lines ending with `+Inf`, then `_sum` and `_count`. Ends with a newline.
 */
export function renderPrometheus(registry: Pick<Registry, 'instruments'>): string {
  const lines: string[] = [];
  for (const m of registry.instruments()) renderOne(m, lines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
