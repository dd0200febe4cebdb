/** Lambda entry point of the rotation watchdog (EventBridge schedule); same bundle as the rotation handler. */
import { createWatchdogHandler } from './watchdog-runtime.js';

export const handler = createWatchdogHandler(process.env);
