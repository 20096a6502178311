#!/usr/bin/env node
// fedledger-run: the operator's run commands (trainer/src/operator/run-cli.ts; see the repository's bin/launch.js for why this file).
require('../../bin/launch').launch('fedledger-run', 'dist/src/operator/run-cli.js', 'when-idle');
