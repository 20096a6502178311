// The Fabric network for integration tests: bring it up (or use a running one), drive single
// nodes through scripts/network.sh, and poll for readiness instead of sleeping.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './paths';

const NETWORK_SCRIPT = join(REPO_ROOT, 'scripts', 'network.sh');
const INSTALL_SCRIPT = join(REPO_ROOT, 'scripts', 'install-fabric.sh');

/** Result of a script run whose output was captured. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script with its output streamed to ours; rejects when it exits non-zero. */
export function runStreamed(script: string, args: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(script, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${script} ${args.join(' ')} exited with status ${String(code)}`));
    });
  });
}

/** Runs a script and captures its output; never rejects on a non-zero exit. */
export function runCaptured(script: string, args: readonly string[]): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(script, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** `scripts/network.sh <args>`, output captured; rejects when it fails. */
export async function networkCommand(...args: string[]): Promise<string> {
  const result = await runCaptured(NETWORK_SCRIPT, args);
  if (result.code !== 0) {
    throw new Error(
      `scripts/network.sh ${args.join(' ')} failed (${result.code}): ${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

/** True when every node of a network is running and healthy. */
export async function networkHealthy(): Promise<boolean> {
  return (await runCaptured(NETWORK_SCRIPT, ['status'])).code === 0;
}

/** Installs Fabric if needed and brings the network up, streaming the scripts' output. */
export async function bringNetworkUp(): Promise<void> {
  await runStreamed(INSTALL_SCRIPT, []);
  await runStreamed(NETWORK_SCRIPT, ['up']);
}

/** Stops every node and deletes the network's data. */
export function bringNetworkDown(): Promise<void> {
  return runStreamed(NETWORK_SCRIPT, ['down']);
}

export function stopNode(name: string): Promise<string> {
  return networkCommand('stop-node', name);
}

/** Starts a node and waits until its health endpoint answers. */
export function startNode(name: string): Promise<string> {
  return networkCommand('start-node', name);
}

/** Block height of an orderer or a peer on the channel. */
export async function blockHeight(name: string): Promise<number> {
  const height = Number((await networkCommand('height', name)).trim());
  if (!Number.isSafeInteger(height)) throw new Error(`unexpected block height of ${name}`);
  return height;
}

/** The network's folder, as scripts/network.sh computes it. */
export function networkDir(): string {
  const fromEnv = process.env['FEDLEDGER_NETWORK_DIR'];
  return fromEnv ? resolve(REPO_ROOT, fromEnv) : join(REPO_ROOT, '.fedledger', 'network');
}

/** True if the connection profile of a network exists in `dir`. */
export function hasConnectionProfile(dir: string): boolean {
  return existsSync(join(dir, 'connection.json'));
}

/**
 * Calls `probe` until it returns a value other than `undefined`, every `intervalMs`, for at most
 * `timeoutMs`; the last error (or `what`) is in the message when it gives up.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
