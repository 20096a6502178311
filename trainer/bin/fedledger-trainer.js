#!/usr/bin/env node
// fedledger-trainer: the hospital trainer (trainer/src/cli/main.ts; see the repository's bin/launch.js for why this file).
require('../../bin/launch').launch('fedledger-trainer', 'dist/src/cli/main.js', 'when-idle');
