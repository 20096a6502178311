// The packages' commands as npm installs them: their bins are files of the source tree (npm links
// a bin only if its file exists when it installs, before anything is compiled), npm links them
// into node_modules/.bin from a clean tree, and `npx --no-install <bin> --help` runs the local
// command.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const ROOT = join(__dirname, '..', '..', '..');
const WORKSPACES = ['gateway', 'trainer'];

interface PackageJson {
  name: string;
  bin?: Record<string, string>;
  [key: string]: unknown;
}

function packageJson(workspace: string): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as PackageJson;
}

const BINS = WORKSPACES.flatMap((w) =>
  Object.entries(packageJson(w).bin ?? {}).map(([name, path]) => ({ workspace: w, name, path })),
);

describe('the installed commands (package bins)', function () {
  it('has the four commands, each a committed executable launcher outside dist/', function () {
    expect(BINS.map((b) => b.name).sort()).to.deep.equal([
      'fedledger-audit',
      'fedledger-gateway',
      'fedledger-run',
      'fedledger-trainer',
    ]);
    const tracked = execFileSync('git', ['ls-files', ...WORKSPACES.map((w) => `${w}/bin`)], {
      cwd: ROOT,
      encoding: 'utf8',
    }).split('\n');
    for (const bin of BINS) {
      expect(bin.path, bin.name).to.match(/^bin\//);
      const file = join(ROOT, bin.workspace, bin.path);
      expect(tracked, bin.name).to.include(`${bin.workspace}/${bin.path}`);
      expect(readFileSync(file, 'utf8'), bin.name).to.match(/^#!\/usr\/bin\/env node\n/);
      accessSync(file, constants.X_OK);
    }
  });

  for (const bin of [
    { name: 'fedledger-trainer', usage: /^Usage: fedledger-trainer <command>/ },
    { name: 'fedledger-gateway', usage: /^Usage: fedledger-gateway serve/ },
    { name: 'fedledger-audit', usage: /^Usage: fedledger-audit <command>/ },
    { name: 'fedledger-run', usage: /^Usage: fedledger-run <command>[\s\S]*create RUNFILE/ },
  ]) {
    it(`npx --no-install ${bin.name} --help runs the local command`, function () {
      const result = spawnSync('npx', ['--no-install', bin.name, '--help'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.match(bin.usage);
    });
  }

  it('npm links every bin into node_modules/.bin from a clean, uncompiled tree', function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'fedledger-bins-'));
    try {
      // The workspaces as a clean clone has them (no dist/), without their dependencies, so that
      // the install needs no registry.
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'bins-check', private: true, workspaces: WORKSPACES }),
      );
      cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
      for (const w of WORKSPACES) {
        const { name, version, bin } = packageJson(w);
        cpSync(join(ROOT, w, 'bin'), join(dir, w, 'bin'), { recursive: true });
        writeFileSync(join(dir, w, 'package.json'), JSON.stringify({ name, version, bin }));
      }
      execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        stdio: 'pipe',
        timeout: 100_000,
      });
      for (const bin of BINS) {
        const link = join(dir, 'node_modules', '.bin', bin.name);
        expect(realpathSync(link), bin.name).to.equal(
          realpathSync(join(dir, bin.workspace, bin.path)),
        );
        // Uncompiled and without TypeScript at hand, it says what to run instead of failing obscurely.
        const result = spawnSync(link, ['--help'], { cwd: dir, encoding: 'utf8' });
        expect(result.status, bin.name).to.equal(1);
        expect(result.stderr, bin.name).to.contain(`${bin.name}: is not built`);
        expect(result.stderr, bin.name).to.contain('npm run build');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
