/**
 * The command's log lines, to stderr, in one of etcd 3.4's two formats:
 *
 *   capnslog (etcd 3.4's default): `2026-01-02 15:04:05.000000 I | etcdserver: message`
 *   zap (--logger=zap), one JSON object a line:
 *     `{"level":"info","ts":"2026-01-02T15:04:05.000Z","caller":"etcdserver","msg":"message"}`
 *
 * Only formatting and level filtering; what is worth a line is main.ts's business.
 */

/** A log level, etcd's names. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const CAPNS: Record<LogLevel, string> = { debug: 'D', info: 'I', warn: 'W', error: 'E' };

/** Writes log lines; `pkg` is the etcd-style package prefix (`etcdmain`, `etcdserver`, `embed`). */
export type Log = (level: LogLevel, pkg: string, msg: string, fields?: Record<string, unknown>) => void;

/** Makes a logger for the given format and minimum level; `now` and `write` are injectable. */
export function createLog(
  format: 'capnslog' | 'zap',
  minLevel: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
  now: () => Date = () => new Date(),
): Log {
  return (level, pkg, msg, fields) => {
    if (RANK[level] < RANK[minLevel]) return;
    const t = now();
    if (format === 'zap') {
      write(`${JSON.stringify({ level, ts: t.toISOString(), caller: pkg, msg, ...fields })}\n`);
      return;
    }
    const extra =
      fields === undefined
        ? ''
        : ` ${Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')}`;
    write(`${capnsTime(t)} ${CAPNS[level]} | ${pkg}: ${msg}${extra}\n`);
  };
}

/** `2006-01-02 15:04:05.000000` in local time, as capnslog prints it. */
function capnsTime(t: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ` +
    `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}000`
  );
}
