// Where the repository and its runtime folders are, for integration tests.
import { resolve } from 'node:path';

/** Repository root (test/dist/support → ../../..). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
