#!/usr/bin/env node
// fedledger-run: the operator's run commands (trainer/src/operator/run-cli.ts; see bin/launch.js for why this file).
require('./launch').launch('fedledger-run', 'dist/src/operator/run-cli.js', 'when-idle');
