#!/usr/bin/env node
/**
 * The `tsetcd` command: runs one member as `etcd` does, with etcd's flags, environment variables
 * and config file (flags.ts), and serves its client URLs (startServer). In order:
 *
 *   1. `snapshot ...` goes to snapshot.ts; `--help` and `--version` print and exit 0;
 *   2. read the settings — a flag syntax error exits 2 with the short usage, an invalid setting
 *      exits 1 with "error verifying flags, …" (etcd's two codes);
 *   3. open the member (createNode) and log its identity; log leader changes, members added and
 *      removed, and alarms, as they happen;
 *   4. serve the client URLs; log "ready to serve client requests on …" once there is a leader;
 *   5. on SIGINT/SIGTERM close the server, then the member, and exit 0. A member that fails
 *      exits 1; one removed from the cluster exits 0.
 * Log lines go to stderr (log.ts); subcommand output to stdout.
 */

import { readFileSync } from 'node:fs';
import { createNode, idToString, type TsetcdNode } from '@tsetcd/core';
import { ETCD_SERVER_VERSION, type RunningServer, startServer } from '../server.js';
import { FlagError, readCommandLine, resolveFlags, toMemberOptions, usage } from './flags.js';
import { createLog, type Log } from './log.js';
import { snapshotCommand } from './snapshot.js';

const readText = (path: string) => readFileSync(path, 'utf8');

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: readonly string[]): Promise<void> {
  // 1.
  if (argv[0] === 'snapshot') {
    const log = createLog('capnslog', 'info');
    process.exitCode = await snapshotCommand(argv.slice(1), log, (t) => process.stdout.write(t));
    return;
  }
  const bootLog = createLog('capnslog', 'info');
  // 2.
  let line: ReturnType<typeof readCommandLine>;
  try {
    line = readCommandLine(argv, process.env, readText);
  } catch (err) {
    return fail(bootLog, err);
  }
  if (line.type === 'help') {
    process.stdout.write(usage(true));
    return;
  }
  if (line.type === 'version') {
    process.stdout.write(
      `tsetcd Version: ${version()}\netcd API Version: ${ETCD_SERVER_VERSION}\n` +
        `Node Version: ${process.version}\nNode OS/Arch: ${process.platform}/${process.arch}\n`,
    );
    return;
  }
  const { settings } = line;
  let log = bootLog;
  let opts: ReturnType<typeof toMemberOptions>;
  try {
    const flags = resolveFlags(settings.values);
    log = createLog(flags.logger, flags.logLevel);
    if (settings.configFile !== undefined) {
      log(
        'info',
        'etcdmain',
        `Loading server configuration from ${JSON.stringify(settings.configFile)}. Other configuration command line flags and environment variables will be ignored if provided.`,
      );
    }
    for (const w of settings.warnings) log('warn', 'pkg/flags', w);
    opts = toMemberOptions(flags, readText);
    log('info', 'etcdmain', `tsetcd Version: ${version()}`);
    log('info', 'etcdmain', `Node Version: ${process.version}`);
    if (!settings.values.get('data-dir'))
      log('warn', 'etcdmain', `no data-dir provided, using default data-dir ./${flags.dataDir}`);
  } catch (err) {
    return fail(log, err);
  }
  const c = opts.node;
  log('info', 'embed', `name = ${c.name}`);
  log('info', 'embed', `data dir = ${c.dataDir}`);
  log('info', 'embed', `heartbeat = ${c.heartbeatMs}ms`);
  log('info', 'embed', `election = ${c.electionMs}ms`);
  log('info', 'embed', `snapshot count = ${c.snapshotCount}`);
  log('info', 'embed', `advertise client URLs = ${c.clientUrls.join(',')}`);

  // 3.
  let node: TsetcdNode;
  try {
    node = await createNode(c, { logger: (level, message) => log(level, 'etcdserver', message) });
  } catch (err) {
    log('error', 'etcdmain', (err as Error).message);
    process.exitCode = 1;
    return;
  }
  watchNode(node, log);

  // 4.
  let server: RunningServer;
  try {
    server = await startServer(node, opts.server);
  } catch (err) {
    log('error', 'embed', (err as Error).message);
    await node.close();
    process.exitCode = 1;
    return;
  }
  if (c.listenPeerUrl !== undefined) log('info', 'embed', `listening for peers on ${c.listenPeerUrl}`);
  const ready = () =>
    log('info', 'embed', `ready to serve client requests on ${server.urls.join(', ')}`, undefined);
  if (node.leaderId !== 0n) ready();
  else {
    const once = (e: { leader: bigint }) => {
      if (e.leader === 0n) return;
      node.off('leader', once);
      ready();
    };
    node.on('leader', once);
  }

  // 5.
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await server.close().catch((err: unknown) => log('warn', 'embed', (err as Error).message));
    await node.close().catch((err: unknown) => log('warn', 'etcdserver', (err as Error).message));
    log('info', 'etcdmain', 'stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const what = signal === 'SIGINT' ? 'interrupt' : 'terminated';
      log('info', 'pkg/osutil', `received ${what} signal, shutting down...`);
      void stop(0);
    });
  }
  node.on('error', (err) => {
    log('error', 'etcdserver', `member failed: ${(err as Error).message}`);
    void stop(1);
  });
  node.on('removed', () => {
    log('warn', 'etcdserver', 'the member has been permanently removed from the cluster');
    void stop(0);
  });
}

/** Step 3's event lines, in etcd's words. */
function watchNode(node: TsetcdNode, log: Log): void {
  const me = idToString(node.id);
  const cluster = () => idToString(node.clusterId);
  let previous = 0n;
  const onLeader = ({ leader, term, isLeader }: { leader: bigint; term: number; isLeader: boolean }) => {
    if (leader === 0n)
      log('info', 'raft', `raft.node: ${me} lost leader ${idToString(previous)} at term ${term}`);
    else if (isLeader) log('info', 'raft', `${me} became leader at term ${term}`);
    else if (previous === 0n)
      log('info', 'raft', `raft.node: ${me} elected leader ${idToString(leader)} at term ${term}`);
    else
      log(
        'info',
        'raft',
        `raft.node: ${me} changed leader from ${idToString(previous)} to ${idToString(leader)} at term ${term}`,
      );
    previous = leader;
  };
  // A lone voter has already won its election inside createNode, before anyone listened.
  if (node.leaderId !== 0n) onLeader({ leader: node.leaderId, term: node.term, isLeader: node.isLeader });
  node.on('leader', onLeader);
  node.on('memberAdded', (m) =>
    log(
      'info',
      'etcdserver/membership',
      `added member ${idToString(m.id)} [${m.peerUrls.join(' ')}]${m.isLearner ? ' as learner' : ''} to cluster ${cluster()}`,
    ),
  );
  node.on('memberRemoved', (id) =>
    log('info', 'etcdserver/membership', `removed member ${idToString(id)} from cluster ${cluster()}`),
  );
  node.on('memberUpdated', (m) =>
    log('info', 'etcdserver/membership', `updated member ${idToString(m.id)} [${m.peerUrls.join(' ')}]`),
  );
  node.on('alarm', ({ action, memberId, alarm }) => {
    if (action === 'ACTIVATE')
      log('warn', 'etcdserver', `alarm ${alarm} raised by member ${idToString(memberId)}`);
    else log('info', 'etcdserver', `alarm ${alarm} cleared for member ${idToString(memberId)}`);
  });
}

/** Step 2's failure: etcd's messages and exit codes. */
function fail(log: Log, err: unknown): void {
  if (err instanceof FlagError && err.exitCode === 2) {
    process.stderr.write(`${err.message}\n${usage(false)}`);
    process.exitCode = 2;
    return;
  }
  log('error', 'etcdmain', `error verifying flags, ${(err as Error).message}. See 'tsetcd --help'.`);
  process.exitCode = 1;
}

await main(process.argv.slice(2));
