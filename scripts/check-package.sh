#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack`, then, in an empty directory, the example consumer app
# (examples/consumer-app) installed with --omit=dev from the tarball, type-checked against the package's
# declarations, synthesized offline with cdk-nag's AWS Solutions checks, and the installed CLI's --help.
# Prints the tarball's size and the installed size, which bench/results.md records.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true

cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "== packed $tarball: $(du -k "$work/$tarball" | cut -f1) kB ($(tar -tzf "$work/$tarball" | wc -l) files)"

cp -R "$root/examples/consumer-app" "$work/app"
cd "$work/app"
npm install --omit=dev --no-audit --no-fund --loglevel=error
echo "== installed stripe-key-rotator: $(du -sk node_modules/stripe-key-rotator | cut -f1) kB; whole app with --omit=dev: $(du -sk node_modules | cut -f1) kB"

echo "== type-check and compile the consumer app against the package's declarations"
npx tsc -p .
echo "== cdk synth, offline, cdk-nag AWS Solutions checks on"
npx cdk synth --quiet
test -f cdk.out/Payments.template.json
echo "== the installed CLI"
help="$(npx --no-install stripe-key-rotator --help)"
printf '%s\n' "$help" | head -n 3
npx --no-install stripe-key-rotator --version
echo "== the package's exports name the construct entry and the CLI"
node --input-type=module -e "
const construct = await import('stripe-key-rotator');
if (typeof construct.StripeKeyRotation !== 'function') throw new Error('no StripeKeyRotation export');
console.log('stripe-key-rotator/cli ->', import.meta.resolve('stripe-key-rotator/cli'));
"
