// A gateway in a process of its own (the fedledger-gateway CLI on the Fabric network), started on
// a fixed port and state folder so that a restart after SIGKILL finds its blobs and clients find
// it again. Ready when it prints its "ready" line (after resuming every run from the ledger).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

const GATEWAY_CLI = join(REPO_ROOT, 'gateway', 'dist', 'src', 'cli', 'gateway.js');

/** A running gateway process. */
export interface GatewayProcess {
  url: string;
  caCertPath: string;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `fedledger-gateway serve --ledger fabric` and resolves once it is ready.
 * @param env extra environment (the crash tests' FEDLEDGER_CRASH_AT / FEDLEDGER_CRASH_RUN)
 * @throws when the process exits before it is ready
 */
export function startGatewayProcess(options: {
  stateDir: string;
  networkDir: string;
  port: number;
  env?: Record<string, string>;
  /** Options for node itself (`--unhandled-rejections=strict`). */
  nodeOptions?: string[];
}): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(options.nodeOptions ?? []),
      GATEWAY_CLI,
      'serve',
      '--ledger',
      'fabric',
      '--network-dir',
      options.networkDir,
      '--state-dir',
      options.stateDir,
      '--port',
      String(options.port),
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const ready = /fedledger gateway ready at (https:\/\/\S+)/.exec(output);
      if (ready?.[1] && !settled) {
        settled = true;
        resolve({
          url: ready[1],
          caCertPath: join(options.stateDir, 'tls', 'ca.pem'),
          output: () => output,
          exited,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    let settled = false;
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      if (!settled) {
        settled = true;
        reject(
          new Error(
            `the gateway exited (${signal ?? String(code)}) before it was ready:\n${output}`,
          ),
        );
      }
    });
  });
}
