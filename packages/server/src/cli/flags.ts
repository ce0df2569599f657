/**
 * The `tsetcd` command's settings, read as etcd 3.4 reads its own:
 *
 *   1. command-line flags, Go `flag` syntax: `-flag`, `--flag`, `--flag=value`, `--flag value`
 *      (booleans only `--flag` or `--flag=true|false`); the first non-flag argument is an error;
 *   2. `ETCD_*` environment variables (flag name upper-cased, `-` → `_`) for flags not given; a
 *      variable that repeats a given flag is an error ("conflicting environment variable"), and
 *      an unknown `ETCD_*` variable a warning — both as etcd 3.4 does;
 *   3. or, with `--config-file` (or ETCD_CONFIG_FILE), the YAML file alone: other flags and
 *      environment variables are ignored (etcd 3.4's rule), unknown keys too, as etcd's.
 * Then every setting is turned into a NodeConfig (validated by core's parseNodeConfig, whose
 * ConfigError issues are reported with the flag names) and the server's options.
 *
 * Peer URLs: etcd users write `http://host:port` and `https://host:port`; our transport's URLs
 * are `tcp://` and `tls://`, so http → tcp and https → tls (tcp://, tls:// are accepted as is).
 *
 * Pure except that it reads the files it is told to read (through the injected `readFile`).
 */

import {
  ConfigError,
  DEFAULT_CLUSTER_TOKEN,
  DEFAULT_ELECTION_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_SNAPSHOT_COUNT,
  type NodeConfig,
  parseNodeConfig,
} from '@tsetcd/core';
import { DEFAULT_MAX_TXN_OPS } from '@tsetcd/mvcc';
import { parse as parseYaml } from 'yaml';
import type { ClientTlsOptions } from '../client-listener.js';
import type { ServerOptions } from '../server.js';

/** How a flag's text is read. */
export type FlagKind = 'string' | 'int' | 'bool' | 'enum';

/** One etcd flag we accept. */
export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** etcd's default, as `etcd --help` prints it. */
  readonly default: string;
  readonly help: string;
  /** The key in etcd's YAML config file (dotted for the transport-security sections). */
  readonly yaml?: string;
  /** Allowed values of an 'enum' flag. */
  readonly values?: readonly string[];
}

const f = (
  name: string,
  kind: FlagKind,
  def: string,
  help: string,
  extra: { yaml?: string; values?: readonly string[] } = {},
): FlagSpec => ({ name, kind, default: def, help, yaml: extra.yaml ?? name, ...extra });

/** Every flag the command accepts, in `--help` order; the defaults are etcd's. */
export const FLAGS: readonly FlagSpec[] = [
  f(
    'config-file',
    'string',
    '',
    'Path to the server configuration file (flags and environment are then ignored).',
  ),
  f('name', 'string', 'default', 'Human-readable name for this member.'),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: etcd's help text, not a template.
  f('data-dir', 'string', '${name}.etcd', 'Path to the data directory.'),
  f(
    'snapshot-count',
    'int',
    String(DEFAULT_SNAPSHOT_COUNT),
    'Number of committed transactions to trigger a snapshot to disk.',
  ),
  f(
    'heartbeat-interval',
    'int',
    String(DEFAULT_HEARTBEAT_MS),
    'Time (in milliseconds) of a heartbeat interval.',
  ),
  f(
    'election-timeout',
    'int',
    String(DEFAULT_ELECTION_MS),
    'Time (in milliseconds) for an election to timeout.',
  ),
  f('listen-peer-urls', 'string', 'http://localhost:2380', 'List of URLs to listen on for peer traffic.'),
  f('listen-client-urls', 'string', 'http://localhost:2379', 'List of URLs to listen on for client traffic.'),
  f(
    'quota-backend-bytes',
    'int',
    '0',
    'Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).',
  ),
  f(
    'max-txn-ops',
    'int',
    String(DEFAULT_MAX_TXN_OPS),
    'Maximum number of operations permitted in a transaction.',
  ),
  f(
    'max-request-bytes',
    'int',
    String(DEFAULT_MAX_REQUEST_BYTES),
    'Maximum client request size in bytes the server will accept.',
  ),
  f(
    'initial-advertise-peer-urls',
    'string',
    'http://localhost:2380',
    "List of this member's peer URLs to advertise to the rest of the cluster.",
  ),
  f(
    'initial-cluster',
    'string',
    'default=http://localhost:2380',
    'Initial cluster configuration for bootstrapping.',
  ),
  f('initial-cluster-state', 'enum', 'new', "Initial cluster state ('new' or 'existing').", {
    values: ['new', 'existing'],
  }),
  f(
    'initial-cluster-token',
    'string',
    DEFAULT_CLUSTER_TOKEN,
    'Initial cluster token for the etcd cluster during bootstrap.',
  ),
  f(
    'advertise-client-urls',
    'string',
    'http://localhost:2379',
    "List of this member's client URLs to advertise to the public.",
  ),
  f('strict-reconfig-check', 'bool', 'true', 'Reject reconfiguration requests that would cause quorum loss.'),
  f(
    'auto-compaction-retention',
    'string',
    '0',
    'Auto compaction retention length. 0 means disable auto compaction.',
  ),
  f(
    'auto-compaction-mode',
    'enum',
    'periodic',
    "Interpret 'auto-compaction-retention' one of: periodic|revision.",
    { values: ['periodic', 'revision'] },
  ),
  f('cert-file', 'string', '', 'Path to the client server TLS cert file.', {
    yaml: 'client-transport-security.cert-file',
  }),
  f('key-file', 'string', '', 'Path to the client server TLS key file.', {
    yaml: 'client-transport-security.key-file',
  }),
  f('client-cert-auth', 'bool', 'false', 'Enable client cert authentication.', {
    yaml: 'client-transport-security.client-cert-auth',
  }),
  f('trusted-ca-file', 'string', '', 'Path to the client server TLS trusted CA cert file.', {
    yaml: 'client-transport-security.trusted-ca-file',
  }),
  f('peer-cert-file', 'string', '', 'Path to the peer server TLS cert file.', {
    yaml: 'peer-transport-security.cert-file',
  }),
  f('peer-key-file', 'string', '', 'Path to the peer server TLS key file.', {
    yaml: 'peer-transport-security.key-file',
  }),
  f(
    'peer-client-cert-auth',
    'bool',
    'false',
    'Enable peer client cert authentication (tsetcd peers always authenticate both ways).',
    { yaml: 'peer-transport-security.client-cert-auth' },
  ),
  f('peer-trusted-ca-file', 'string', '', 'Path to the peer server TLS trusted CA file.', {
    yaml: 'peer-transport-security.trusted-ca-file',
  }),
  f('logger', 'enum', 'capnslog', "Log format: 'capnslog' (etcd 3.4's plain lines) or 'zap' (JSON lines).", {
    values: ['capnslog', 'zap'],
  }),
  f('log-level', 'enum', 'info', 'Configures log level. Only supports debug, info, warn, error.', {
    values: ['debug', 'info', 'warn', 'error'],
  }),
];

const BY_NAME = new Map(FLAGS.map((s) => [s.name, s]));

/** A bad command line, environment or config file; `exitCode` is etcd's (2 for flag syntax). */
export class FlagError extends Error {
  readonly code = 'ErrInvalidFlags';
  constructor(
    message: string,
    /** 2: the command line could not be parsed (Go's flag package); 1: a setting is invalid. */
    readonly exitCode: 1 | 2,
    /** Whether etcd prints its short usage after the message (flag syntax errors). */
    readonly showUsage = exitCode === 2,
  ) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Where the settings came from: the raw text of each flag that was set. */
export interface RawSettings {
  readonly values: ReadonlyMap<string, string>;
  /** Warnings to log (unknown ETCD_* variables). */
  readonly warnings: readonly string[];
  /** Set when the settings came from a config file. */
  readonly configFile?: string;
}

/** What `--help`/`--version` ask for, or the settings to run with. */
export type CommandLine =
  | { readonly type: 'help' }
  | { readonly type: 'version' }
  | { readonly type: 'run'; readonly settings: RawSettings };

/** Splits the command line into flag name → text (steps 1 of the file comment). */
export function parseArgs(argv: readonly string[]): Map<string, string> | 'help' | 'version' {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (i + 1 < argv.length) throw notAFlag(argv[i + 1]!);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') throw notAFlag(arg);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === 'h' || name === 'help') return 'help';
    if (name === 'version') return 'version';
    const spec = BY_NAME.get(name);
    if (spec === undefined) throw new FlagError(`flag provided but not defined: -${name}`, 2);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.kind === 'bool') value = 'true';
    else if (i + 1 < argv.length) value = argv[++i]!;
    else throw new FlagError(`flag needs an argument: -${name}`, 2);
    checkValue(spec, value, `for flag -${name}`, 2);
    out.set(name, value);
  }
  return out;
}

function notAFlag(arg: string): FlagError {
  return new FlagError(`'${arg}' is not a valid flag`, 1);
}

/** The ETCD_* variable of a flag (etcd's rule: upper-case, `-` → `_`). */
export function envName(flag: string): string {
  return `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** Variables etcd knows that are not flags here; not worth a warning. */
const QUIET_ENV = new Set(['ETCD_VERSION', 'ETCDCTL_API', 'ETCD_UNSUPPORTED_ARCH']);

/** Steps 1–3 of the file comment, up to the raw text of each setting. */
export function readCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): CommandLine {
  const flags = parseArgs(argv);
  if (flags === 'help' || flags === 'version') return { type: flags };
  const configFile = flags.get('config-file') ?? nonEmpty(env[envName('config-file')]);
  if (configFile !== undefined) {
    return { type: 'run', settings: readConfigFile(configFile, readFile(configFile)) };
  }
  const values = new Map(flags);
  const warnings: string[] = [];
  const known = new Map(FLAGS.map((s) => [envName(s.name), s]));
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('ETCD_') || value === undefined) continue;
    const spec = known.get(key);
    if (spec === undefined) {
      if (!QUIET_ENV.has(key)) warnings.push(`unrecognized environment variable ${key}=${value}`);
      continue;
    }
    if (flags.has(spec.name)) {
      throw new FlagError(
        `conflicting environment variable "${key}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
        1,
      );
    }
    checkValue(spec, value, `for ${key}`, 1);
    values.set(spec.name, value);
  }
  return { type: 'run', settings: { values, warnings } };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/** Reads etcd's YAML config file: each flag's key (see FlagSpec.yaml), unknown keys ignored. */
export function readConfigFile(path: string, text: string): RawSettings {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new FlagError(`error unmarshaling ${path}: ${(err as Error).message.split('\n')[0]}`, 1);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new FlagError(`error unmarshaling ${path}: not a mapping`, 1);
  const values = new Map<string, string>();
  for (const spec of FLAGS) {
    if (spec.name === 'config-file' || spec.yaml === undefined) continue;
    const raw = lookup(doc as Record<string, unknown>, spec.yaml);
    if (raw === undefined || raw === null) continue;
    const want = spec.kind === 'int' ? 'number' : spec.kind === 'bool' ? 'boolean' : 'string';
    // etcd's YAML is typed: a quoted number is an error there too. Numbers are fine as strings.
    if (typeof raw !== want && !(want === 'string' && typeof raw === 'number')) {
      throw new FlagError(
        `config file ${path}: ${spec.yaml}: cannot read ${JSON.stringify(raw)} as a ${want}`,
        1,
      );
    }
    const value = String(raw);
    checkValue(spec, value, `for ${spec.yaml} in ${path}`, 1);
    values.set(spec.name, value);
  }
  return { values, warnings: [], configFile: path };
}

function lookup(doc: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = doc;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function checkValue(spec: FlagSpec, value: string, where: string, exitCode: 1 | 2): void {
  if (spec.kind === 'int' && !/^-?\d+$/.test(value))
    throw new FlagError(`invalid value ${JSON.stringify(value)} ${where}: parse error`, exitCode);
  if (spec.kind === 'bool' && !/^(1|0|t|f|true|false|TRUE|FALSE|True|False)$/.test(value))
    // Go's flag package words a bad boolean without "flag".
    throw new FlagError(
      `invalid boolean value ${JSON.stringify(value)} ${where.replace('for flag -', 'for -')}: parse error`,
      exitCode,
    );
  if (spec.kind === 'enum' && !spec.values!.includes(value)) {
    throw new FlagError(
      `invalid value ${JSON.stringify(value)} ${where}: valid values are ${spec.values!.join(', ')}`,
      exitCode,
    );
  }
}

/** Every setting with etcd's default filled in, typed. */
export interface EtcdFlags {
  readonly name: string;
  readonly dataDir: string;
  readonly snapshotCount: number;
  readonly heartbeatInterval: number;
  readonly electionTimeout: number;
  readonly listenPeerUrls: readonly string[];
  readonly listenClientUrls: readonly string[];
  readonly quotaBackendBytes: number;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  readonly initialAdvertisePeerUrls: readonly string[];
  /** name → peer URLs, in the order written. */
  readonly initialCluster: readonly (readonly [string, string])[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly advertiseClientUrls: readonly string[];
  readonly strictReconfigCheck: boolean;
  readonly autoCompactionRetention: string;
  readonly autoCompactionMode: 'periodic' | 'revision';
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertAuth: boolean;
  readonly trustedCaFile: string;
  readonly peerCertFile: string;
  readonly peerKeyFile: string;
  readonly peerClientCertAuth: boolean;
  readonly peerTrustedCaFile: string;
  readonly logger: 'capnslog' | 'zap';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Fills in etcd's defaults and types each setting. */
export function resolveFlags(values: ReadonlyMap<string, string>): EtcdFlags {
  const s = (n: string) => values.get(n) ?? BY_NAME.get(n)!.default;
  const i = (n: string) => Number(s(n));
  const b = (n: string) => /^(1|t|true|TRUE|True)$/.test(s(n));
  const list = (n: string) =>
    s(n)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const name = s('name');
  return {
    name,
    dataDir: values.get('data-dir') || `${name}.etcd`,
    snapshotCount: i('snapshot-count'),
    heartbeatInterval: i('heartbeat-interval'),
    electionTimeout: i('election-timeout'),
    listenPeerUrls: list('listen-peer-urls'),
    listenClientUrls: list('listen-client-urls'),
    quotaBackendBytes: i('quota-backend-bytes'),
    maxTxnOps: i('max-txn-ops'),
    maxRequestBytes: i('max-request-bytes'),
    initialAdvertisePeerUrls: list('initial-advertise-peer-urls'),
    initialCluster: parseInitialCluster(
      // etcd: without --initial-cluster, the default names this member (not "default").
      values.get('initial-cluster') ??
        list('initial-advertise-peer-urls')
          .map((u) => `${name}=${u}`)
          .join(','),
    ),
    initialClusterState: s('initial-cluster-state') as 'new' | 'existing',
    initialClusterToken: s('initial-cluster-token'),
    advertiseClientUrls: list('advertise-client-urls'),
    strictReconfigCheck: b('strict-reconfig-check'),
    autoCompactionRetention: s('auto-compaction-retention'),
    autoCompactionMode: s('auto-compaction-mode') as 'periodic' | 'revision',
    certFile: s('cert-file'),
    keyFile: s('key-file'),
    clientCertAuth: b('client-cert-auth'),
    trustedCaFile: s('trusted-ca-file'),
    peerCertFile: s('peer-cert-file'),
    peerKeyFile: s('peer-key-file'),
    peerClientCertAuth: b('peer-client-cert-auth'),
    peerTrustedCaFile: s('peer-trusted-ca-file'),
    logger: s('logger') as 'capnslog' | 'zap',
    logLevel: s('log-level') as EtcdFlags['logLevel'],
  };
}

/** etcd's `name1=url1,name2=url2` (a name may repeat for a second URL). */
export function parseInitialCluster(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new FlagError(`invalid --initial-cluster ${JSON.stringify(text)}: ${part} is not name=URL`, 1);
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

/** etcd's peer URL → our transport's: http → tcp, https → tls (see the file comment). */
export function toTransportUrl(url: string): string {
  const m = /^(https?|tcp|tls):\/\/([^/?#]+)\/?$/.exec(url);
  if (m === null) throw new FlagError(`URL scheme must be http, https, unix, or unixs: ${url}`, 1);
  const scheme = m[1] === 'http' ? 'tcp' : m[1] === 'https' ? 'tls' : m[1];
  return `${scheme}://${m[2]}`;
}

/** What a member is started with. */
export interface MemberOptions {
  readonly node: NodeConfig;
  readonly server: ServerOptions;
}

/** Which flag a NodeConfig field comes from, to report core's ConfigError issues in etcd's terms. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  name: '--name',
  dataDir: '--data-dir',
  peers: '--initial-cluster',
  listenPeerUrl: '--listen-peer-urls',
  clientUrls: '--advertise-client-urls',
  initialClusterState: '--initial-cluster-state',
  initialClusterToken: '--initial-cluster-token',
  heartbeatMs: '--heartbeat-interval',
  electionMs: '--election-timeout',
  snapshotCount: '--snapshot-count',
  quotaBackendBytes: '--quota-backend-bytes',
  maxTxnOps: '--max-txn-ops',
  maxRequestBytes: '--max-request-bytes',
  autoCompactionMode: '--auto-compaction-mode',
  autoCompactionRetention: '--auto-compaction-retention',
  strictReconfigCheck: '--strict-reconfig-check',
  peerTls: '--peer-cert-file/--peer-key-file/--peer-trusted-ca-file',
};

/** The member's NodeConfig and server options; throws FlagError (exit 1) listing every problem. */
export function toMemberOptions(flags: EtcdFlags, readFile: (path: string) => string): MemberOptions {
  const problems: string[] = [];
  const peers: Record<string, string> = {};
  for (const [name, url] of flags.initialCluster) {
    if (Object.hasOwn(peers, name)) {
      problems.push(`--initial-cluster: tsetcd takes one peer URL per member (${name} has more)`);
      continue;
    }
    peers[name] = tryUrl('--initial-cluster', url, problems);
  }
  const self = flags.initialCluster.find(([n]) => n === flags.name)?.[1];
  if (self !== undefined && !flags.initialAdvertisePeerUrls.includes(self)) {
    problems.push(
      `--initial-cluster has ${flags.name}=${self} but missing from --initial-advertise-peer-urls=${flags.initialAdvertisePeerUrls.join(',')}`,
    );
  }
  const listenPeer = flags.listenPeerUrls[0];
  if (flags.listenPeerUrls.length > 1) problems.push('--listen-peer-urls: tsetcd listens on one peer URL');
  for (const u of flags.listenClientUrls) {
    if (!/^https?:\/\/[^/]+\/?$/.test(u))
      problems.push(`--listen-client-urls: URL scheme must be http or https: ${u}`);
  }
  const read = (flag: string, path: string): string | undefined => {
    try {
      return readFile(path);
    } catch (err) {
      problems.push(`--${flag}: ${(err as Error).message}`);
      return undefined;
    }
  };
  let tls: ClientTlsOptions | undefined;
  if (flags.certFile !== '' || flags.keyFile !== '') {
    if (flags.certFile === '' || flags.keyFile === '')
      problems.push('--cert-file and --key-file go together');
    else {
      const cert = read('cert-file', flags.certFile);
      const key = read('key-file', flags.keyFile);
      const ca = flags.trustedCaFile !== '' ? read('trusted-ca-file', flags.trustedCaFile) : undefined;
      if (cert !== undefined && key !== undefined)
        tls = { cert, key, clientCertAuth: flags.clientCertAuth, ...(ca !== undefined ? { ca } : {}) };
    }
  } else if (flags.listenClientUrls.some((u) => u.startsWith('https://'))) {
    problems.push('--listen-client-urls: https:// URLs need --cert-file and --key-file');
  }
  if (flags.clientCertAuth && flags.trustedCaFile === '')
    problems.push('--client-cert-auth needs --trusted-ca-file');
  let peerTls: { ca: string; cert: string; key: string } | undefined;
  if (flags.peerCertFile !== '' || flags.peerKeyFile !== '' || flags.peerTrustedCaFile !== '') {
    if (flags.peerCertFile === '' || flags.peerKeyFile === '' || flags.peerTrustedCaFile === '')
      problems.push('peer TLS needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file');
    else {
      const cert = read('peer-cert-file', flags.peerCertFile);
      const key = read('peer-key-file', flags.peerKeyFile);
      const ca = read('peer-trusted-ca-file', flags.peerTrustedCaFile);
      if (cert !== undefined && key !== undefined && ca !== undefined) peerTls = { ca, cert, key };
    }
  }
  const input = {
    name: flags.name,
    dataDir: flags.dataDir,
    peers,
    ...(listenPeer !== undefined
      ? { listenPeerUrl: tryUrl('--listen-peer-urls', listenPeer, problems) }
      : {}),
    clientUrls: [...flags.advertiseClientUrls],
    initialClusterState: flags.initialClusterState,
    initialClusterToken: flags.initialClusterToken,
    heartbeatMs: flags.heartbeatInterval,
    electionMs: flags.electionTimeout,
    snapshotCount: flags.snapshotCount,
    quotaBackendBytes: flags.quotaBackendBytes,
    maxTxnOps: flags.maxTxnOps,
    maxRequestBytes: flags.maxRequestBytes,
    autoCompactionMode: flags.autoCompactionMode,
    autoCompactionRetention: flags.autoCompactionRetention,
    strictReconfigCheck: flags.strictReconfigCheck,
    ...(peerTls !== undefined ? { peerTls } : {}),
  };
  let node: NodeConfig | undefined;
  try {
    node = parseNodeConfig(input);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) {
      const top = issue.path.split('.')[0] ?? '';
      problems.push(`${FLAG_OF_FIELD[top] ?? issue.path}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || node === undefined) throw new FlagError(problems.join('; '), 1);
  return {
    node,
    server: {
      listenClientUrls: flags.listenClientUrls,
      maxRequestBytes: flags.maxRequestBytes,
      ...(tls !== undefined ? { tls } : {}),
    },
  };
}

/** Maps a peer URL, noting a bad one under `flag`; a bad one maps to a placeholder core accepts. */
function tryUrl(flag: string, url: string, problems: string[]): string {
  try {
    return toTransportUrl(url);
  } catch (err) {
    problems.push(`${flag}: ${(err as Error).message}`);
    // Reported once, here: core would only repeat it.
    return `tcp://invalid-url-${problems.length}:0`;
  }
}

/** `tsetcd --help`: etcd's usage text for the flags we accept. */
export function usage(full: boolean): string {
  const head = [
    'Usage:',
    '',
    '  tsetcd [flags]',
    '    Start a tsetcd (etcd v3 API) member.',
    '',
    '  tsetcd --version',
    '    Show the version of tsetcd.',
    '',
    '  tsetcd -h | --help',
    '    Show the help information about tsetcd.',
    '',
    '  tsetcd --config-file',
    '    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.',
    '',
    '  tsetcd snapshot restore FILE --data-dir DIR [--name --initial-cluster --initial-cluster-token --initial-advertise-peer-urls]',
    '    Restore a snapshot into a new data dir; then start the member with the same flags.',
    '',
    '  tsetcd snapshot status FILE [-w simple|table|json]',
    '    Show the hash, revision, total keys and total size of a snapshot.',
    '',
  ];
  if (!full) return `${head.join('\n')}\n`;
  const body = FLAGS.flatMap((s) => [`  --${s.name} '${s.default}'`, `    ${s.help}`]);
  const tail = [
    '',
    'Every flag can also be given as an environment variable: ETCD_ and the flag name upper-cased,',
    'with - as _ (ETCD_DATA_DIR). Peer URLs http:// and https:// mean tsetcd transport over TCP and TLS.',
  ];
  return `${[...head, 'Flags:', ...body, ...tail].join('\n')}\n`;
}
