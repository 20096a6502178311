// Child processes of the demo: started with a prefix on every output line, all stopped on exit or
// Ctrl-C, and commands run to completion with their output streamed.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A started child process and what it printed. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number). */
  exited: Promise<number>;
}

const children = new Set<Child>();
let handlersInstalled = false;

/** Stops every child still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopAll(graceMs = 10_000): Promise<void> {
  const running = [...children];
  for (const c of running) c.process.kill('SIGTERM');
  await Promise.all(
    running.map((c) =>
      Promise.race([
        c.exited,
        new Promise<number>((resolve) =>
          setTimeout(() => {
            c.process.kill('SIGKILL');
            resolve(137);
          }, graceMs).unref(),
        ),
      ]),
    ),
  );
}

/** Runs `cleanup` once on SIGINT/SIGTERM, then exits with 130. */
export function onInterrupt(cleanup: () => Promise<void>): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n[demo] ${signal}: stopping everything the demo started…\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each output line (stdout and stderr); defaults to printing it with the prefix. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** Starts `command` with every output line prefixed by `[name]`. */
export function start(
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): Child {
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A line that already names its source (the network scripts print "[network] …") keeps one tag.
  const tag = `[${name}]`;
  const onLine =
    options.onLine ??
    ((line: string) =>
      process.stdout.write(line.startsWith(tag) ? `${line}\n` : `${tag} ${line}\n`));
  createInterface({ input: proc.stdout }).on('line', (l) => onLine(l, 'stdout'));
  createInterface({ input: proc.stderr }).on('line', (l) => onLine(l, 'stderr'));
  const child: Child = {
    name,
    process: proc,
    exited: new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        children.delete(child);
        resolve(code ?? (signal === 'SIGKILL' ? 137 : 143));
      });
      proc.on('error', (err) => {
        children.delete(child);
        process.stdout.write(`[${name}] could not start: ${err.message}\n`);
        resolve(127);
      });
    }),
  };
  children.add(child);
  return child;
}

/**
 * Runs a command to completion, streaming its output with a prefix.
 * @throws {Error} naming the command when it exits non-zero.
 */
export async function run(
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): Promise<void> {
  const code = await start(name, command, args, options).exited;
  if (code !== 0)
    throw new Error(`${name}: \`${command} ${args.join(' ')}\` exited with code ${code}`);
}

/** Runs a command and returns its exit code without printing its output. */
export async function quietly(
  command: string,
  args: readonly string[],
  cwd?: string,
): Promise<number> {
  return start('quiet', command, args, { ...(cwd ? { cwd } : {}), onLine: () => undefined }).exited;
}
