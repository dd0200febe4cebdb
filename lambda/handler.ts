/**
 * Lambda entry point for Secrets Manager rotation. Configuration is validated and clients are built once,
 * at cold start: a misconfigured function fails at init with a message naming the variable.
 * Logged errors carry source-mapped stacks (stack-map.ts) without `--enable-source-maps`, which would parse
 * the bundle's source map at every cold start.
 */
import { createRotationHandler } from './runtime.js';

export const handler = createRotationHandler(process.env);
