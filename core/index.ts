/**
 * The rotation core's front door: everything outside `core/` (adapters, functions, CLI, constructs, simulation)
 * imports the core from here. This file only re-exports.
 */
export * from './config.js';
export * from './contract.js';
export * from './errors.js';
export * from './http.js';
export * from './log.js';
export * from './operations/abort.js';
export * from './operations/deployment.js';
export * from './operations/doctor.js';
export * from './operations/doctor-facts.js';
export * from './operations/doctor-notices.js';
export * from './operations/plan.js';
export * from './operations/ports.js';
export * from './operations/push-fleet.js';
export * from './operations/rotate.js';
export * from './operations/stage.js';
export * from './operations/status.js';
export * from './ports.js';
export * from './push/dns-queue.js';
export * from './push/engine.js';
export * from './push/fleet-http.js';
export * from './push/site-answer.js';
export * from './retry.js';
export * from './rotation/deps.js';
export * from './rotation/event.js';
export * from './rotation/ledger.js';
export * from './rotation/messages.js';
export * from './rotation/next-key.js';
export * from './rotation/staleness.js';
export * from './rotation/steps.js';
export * from './rules/keys.js';
export * from './rules/ledger-schema.js';
export * from './rules/site-list.js';
export * from './rules/staged-key.js';
export * from './services.js';
export * from './stripe-check.js';
