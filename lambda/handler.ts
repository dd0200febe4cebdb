/**
 * Lambda entry point for Secrets Manager rotation. Configuration is validated and clients are built once,
 * at cold start: a misconfigured function fails at init with a message naming the variable.
 */
import { createRotationHandler } from './runtime.js';

export const handler = createRotationHandler(process.env);
