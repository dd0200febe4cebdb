/**
 * How `plan` shows its result as text: the plan's shape (also its `--json` output) and its rendering.
 */
import type { Plan, RotatorConfig } from '../../core/index.js';
import { describeMaskedKey, SETTINGS, SITE_ENDPOINT_PATH } from '../../core/index.js';
import { count } from './format.js';
import { PROGRAM } from './frame.js';

/** Larger fleets list only the canaries and a count in text (the JSON output has every endpoint). */
const MAX_LISTED_SITES = 50;

/** `selector`: the deployment as the operator named it (`--stack NAME` or `--secret-id ID`). */
export function render(plan: Plan, config: RotatorConfig, selector: string): string {
  const out: string[] = ['Plan: nothing was written anywhere and no site was contacted.', ''];
  const field = (label: string, text: string) => out.push(`${label.padEnd(12)}${text}`);
  field('Secret', plan.secret.arn);
  field(
    'In service',
    plan.secret.current === null
      ? 'no AWSCURRENT value'
      : describeMaskedKey(plan.secret.current.masked, plan.secret.current.fingerprint),
  );
  if (plan.key === null) field('Key', 'none would be chosen (see below)');
  else {
    const shown = `${describeMaskedKey(plan.key.masked, plan.key.fingerprint)}, ${plan.key.mode ?? 'unknown'} mode`;
    field(
      'Key',
      plan.key.trigger === 'staged'
        ? `the staged key ${shown}, from ${plan.key.from}`
        : `the current key ${shown} pushed again (nothing new is staged in ${config.stagedSecretId}; ` +
            `${SETTINGS.whenNothingStaged.variable}=${config.whenNothingStaged})`,
    );
  }
  const stripe: Record<Plan['stripeCheck'], string> = {
    passed: `accepted (read-only check at ${config.stripeApiBase})`,
    failed: 'refused or unreachable (see below)',
    not_requested: 'not checked (add --stripe-check for a read-only check)',
    not_needed: 'not needed: the key in service is pushed again',
  };
  field('Stripe', stripe[plan.stripeCheck]);
  field(
    'Master key',
    `${plan.masterKey.ok ? 'readable and valid' : 'NOT usable'}, from ${plan.masterKey.secretId}`,
  );
  const sites = plan.sites;
  if (sites === null) field('Sites', `the site list in ${config.sitesParameter} is unusable (see below)`);
  else {
    field(
      'Sites',
      `${sites.count} from ${sites.sources.join(', ')}` +
        (sites.duplicates.length > 0 ? ` (${count(sites.duplicates.length, 'duplicate')} ignored)` : ''),
    );
    for (const duplicate of sites.duplicates) out.push(`${''.padEnd(12)}ignored: ${duplicate}`);
    field(
      'Canaries',
      sites.canaries.length === 0
        ? `none (${SETTINGS.canarySites.variable}=0: every site at once)`
        : `${sites.canaries.join(', ')} first, one at a time; the first failure stops the push`,
    );
    field(
      'Push',
      `then up to ${plan.push.concurrency} at a time; ${plan.push.siteTimeoutMs} ms per attempt, up to ` +
        `${plan.push.attempts} attempts for transient failures`,
    );
    const listed = sites.endpoints.length <= MAX_LISTED_SITES;
    out.push(
      `Would PUT {"value": <the key>} with X-API-Key to ${listed ? 'every site' : `${sites.count} sites (--json lists them)`}` +
        `${listed ? ':' : ` at ${SITE_ENDPOINT_PATH}`}`,
    );
    if (listed) for (const endpoint of sites.endpoints) out.push(`  ${endpoint}`);
  }
  out.push('');
  if (plan.wouldProceed) {
    out.push(
      'A rotation would proceed. Start it, and follow it to the end, with:',
      `  ${PROGRAM} rotate ${selector} --wait`,
    );
  } else {
    // An indented reason details the one before it (a configuration error's problems): nested, one bullet.
    out.push(
      'A rotation would be REFUSED:',
      ...plan.reasons.map((reason) => (/^\s/.test(reason) ? `      - ${reason.trim()}` : `  - ${reason}`)),
    );
  }
  return `${out.join('\n')}\n`;
}
