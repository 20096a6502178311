// fedledger-gateway serve --host: the gateway listens on the address it is given and nowhere
// else, its TLS certificate names that address (a client that checks the name accepts it), and a
// certificate made for another address is made again.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { ensureServerTls } from '../src/pki/dev-pki';

const GATEWAY = resolve(__dirname, '..', 'src', 'cli', 'gateway.js');

function serve(stateDir: string, host: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      GATEWAY,
      'serve',
      '--ledger',
      'simulated',
      '--state-dir',
      stateDir,
      '--host',
      host,
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((done, fail) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const ready = /fedledger gateway ready at (https:\/\/\S+)/.exec(output);
      if (ready?.[1]) done({ child, url: ready[1] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => fail(new Error(`the gateway exited (${String(code)}):\n${output}`)));
  });
}

/** GET /healthz, checking the server's certificate against the CA and the URL's host. */
function healthz(url: string, ca: string): Promise<number> {
  return new Promise((done, fail) => {
    get(`${url}/healthz`, { ca }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    }).on('error', fail);
  });
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, host);
    socket.on('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

describe('fedledger-gateway serve --host', function () {
  this.timeout(60_000);

  it('listens only on the given address, with a certificate that names it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fedledger-host-'));
    // Any 127.0.0.0/8 address is this machine's loopback on Linux: an address of its own.
    const { child, url } = await serve(stateDir, '127.0.0.2');
    try {
      expect(url).to.match(/^https:\/\/127\.0\.0\.2:\d+$/);
      const ca = readFileSync(join(stateDir, 'tls', 'ca.pem'), 'utf8');
      expect(await healthz(url, ca)).to.equal(200);
      const port = Number(new URL(url).port);
      expect(await refused('127.0.0.1', port)).to.equal(true);
      const info = JSON.parse(readFileSync(join(stateDir, 'gateway.json'), 'utf8')) as {
        url: string;
      };
      expect(info.url).to.equal(url);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('makes the certificate again when it does not name the address, and keeps it when it does', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedledger-host-tls-')), 'tls');
    const first = await ensureServerTls(dir);
    const before = readFileSync(first.certPath, 'utf8');
    expect(new X509Certificate(before).checkIP('10.218.0.9')).to.equal(undefined);
    await ensureServerTls(dir, ['10.218.0.9', 'gateway.consortium.example']);
    const after = new X509Certificate(readFileSync(first.certPath, 'utf8'));
    expect(after.checkIP('10.218.0.9')).to.equal('10.218.0.9');
    expect(after.checkHost('gateway.consortium.example')).to.equal('gateway.consortium.example');
    expect(after.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    const kept = readFileSync(first.certPath, 'utf8');
    await ensureServerTls(dir, ['10.218.0.9']);
    expect(readFileSync(first.certPath, 'utf8')).to.equal(kept);
  });

  it('refuses a --host that is neither an address nor a name (exit 2)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fedledger-host-bad-'));
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [
        GATEWAY,
        'serve',
        '--ledger',
        'simulated',
        '--state-dir',
        stateDir,
        '--host',
        'not a host',
      ]);
      child.on('exit', done);
    });
    expect(code).to.equal(2);
  });
});
