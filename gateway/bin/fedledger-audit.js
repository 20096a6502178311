#!/usr/bin/env node
// fedledger-audit: the auditor's command (gateway/src/audit/audit-cli.ts; see bin/launch.js for why this file).
require('./launch').launch('fedledger-audit', 'dist/src/cli/audit.js', 'now');
