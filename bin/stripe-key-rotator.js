#!/usr/bin/env node
// The package's `bin` (`npx stripe-key-rotator ...` in a clone after `npm ci`): runs the TypeScript CLI
// through tsx's ESM loader, a devDependency, so no build step stands between a clone and the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
