'use strict';
// Starts a workspace's command from its compiled JavaScript. npm links a workspace's bins while it
// installs, before anything is compiled, and silently skips a bin whose file does not exist yet;
// so each bin is a small file of the source tree (<package>/bin/<command>.js) that loads dist/
// here, compiling its package first (once) when a fresh `npm install` has left it uncompiled.
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { dirname, join, relative } = require('node:path');

/** The package of the bin that node started (`<package>/bin/<command>.js`; links resolved). */
const PACKAGE_DIR = dirname(dirname(require.main ? require.main.filename : process.argv[1]));

function fail(name, message) {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(1);
}

/** Compiles this package and what it depends on (tsc -b), or stops with what to run instead. */
function build(name) {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [PACKAGE_DIR] });
  } catch {
    fail(
      name,
      'is not built and TypeScript is not installed: run `npm install` then `npm run build` in the repository root',
    );
  }
  const where = relative(process.cwd(), PACKAGE_DIR) || '.';
  process.stderr.write(`${name}: first use, compiling ${where} (tsc -b, once) …\n`);
  // The compiler's output goes to stderr so that a command's own output stays clean.
  const result = spawnSync(process.execPath, [tsc, '-b', PACKAGE_DIR], { stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    fail(
      name,
      'could not be compiled; run `npm run build` in the repository root and read its errors',
    );
  }
}

/**
 * Runs the command whose compiled module is `entry` (relative to the package, exporting
 * `main(argv): Promise<number>`). `exit: 'now'` ends the process with the exit code at once (a
 * server or ledger connection may still hold it open); `'when-idle'` sets it and lets it drain.
 */
function launch(name, entry, exit) {
  const target = join(PACKAGE_DIR, entry);
  if (!existsSync(target)) {
    build(name);
    if (!existsSync(target)) {
      fail(
        name,
        `${entry} is missing after compiling; run \`npx tsc -b --force\` in the repository root`,
      );
    }
  }
  const cli = require(target);
  cli.main(process.argv.slice(2)).then(
    (code) => {
      if (exit === 'now') process.exit(code);
      process.exitCode = code;
    },
    (err) => fail(name, String(err)),
  );
}

module.exports = { launch };
