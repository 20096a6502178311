#!/usr/bin/env node
// fedledger-gateway: the REST gateway (gateway/src/cli/gateway.ts; see the repository's bin/launch.js for why this file).
require('../../bin/launch').launch('fedledger-gateway', 'dist/src/cli/gateway.js', 'now');
