#!/usr/bin/env node
// fedledger-audit: the auditor's command (gateway/src/audit/audit-cli.ts; see the repository's bin/launch.js for why this file).
require('../../bin/launch').launch('fedledger-audit', 'dist/src/cli/audit.js', 'now');
