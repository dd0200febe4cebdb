#!/usr/bin/env bash
# The package as consumers get it: `npm pack`, then each example app — examples/consumer-app (ES modules) and
# examples/consumer-cjs (CommonJS, as `cdk init app --language typescript` generates it) — copied into an
# empty directory, installed from the tarball with --omit=dev, type-checked strictly against the published
# declarations, synthesized offline with cdk-nag's AwsSolutions and Serverless packs (an unacknowledged
# finding fails synthesis), and the installed CLI run. The CommonJS app is also compiled by its own tsc and run
# by plain Node (no TypeScript loader) at each floor of the `engines` range and on the Lambda's Node: there
# require() itself loads the package, as docs/architecture.md explains. Before any of it, the version claims
# are held to what is tested. Prints the tarball's and the installed sizes, which bench/results.md records.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
cd "$root"

echo "== the peer ranges' floors are the versions developed and tested against"
# A claim of ^X.Y.Z must be backed by X.Y.Z here and in both example apps, or the floor is untested.
node -e '
const { readFileSync } = require("node:fs");
const read = (path) => JSON.parse(readFileSync(path, "utf8"));
const pkg = read("package.json");
const pins = {
  "devDependencies": pkg.devDependencies,
  "examples/consumer-app": read("examples/consumer-app/package.json").dependencies,
  "examples/consumer-cjs": read("examples/consumer-cjs/package.json").dependencies,
};
for (const [name, range] of Object.entries(pkg.peerDependencies)) {
  const floor = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (floor === undefined) throw new Error(`peer range ${name}@${range} is not ^X.Y.Z`);
  for (const [where, deps] of Object.entries(pins)) {
    if (deps[name] !== floor) throw new Error(`${where} has ${name}@${deps[name]}, not the peer floor ${floor}`);
  }
  console.log(`${name}: peer ${range}, developed and tested on ${floor}`);
}'

# `prepack` builds dist/ first, so the tarball always holds the sources as they are.
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
mv "$work/$tarball" "$work/stripe-key-rotator.tgz"
listing="$(tar -tzf "$work/stripe-key-rotator.tgz")"
echo "== packed $tarball: $(du -k "$work/stripe-key-rotator.tgz" | cut -f1) kB ($(wc -l <<<"$listing") files)"
for shipped in LICENSE NOTICE CHANGELOG.md dist/lib/index.js dist/lib/index.d.ts dist/cli/main.js \
  dist/cli/THIRD-PARTY-NOTICES.md dist/assets/{rotation-handler,watchdog}/{index.js,THIRD-PARTY-NOTICES.md}; do
  grep -qx "package/$shipped" <<<"$listing" || { echo "FAIL: the tarball lacks $shipped" >&2; exit 1; }
done
# npm runs these when it installs a package (prepare: from git) and warns of them; the build is `prepack`.
tar -xzOf "$work/stripe-key-rotator.tgz" package/package.json | node -e '
const { scripts = {} } = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const run = ["preinstall", "install", "postinstall", "prepare"].filter((name) => name in scripts);
if (run.length > 0) throw new Error(`the packed package.json runs scripts on install: ${run.join(", ")}`);'


# Installs an example app from the tarball into $work/<dir>, type-checks it and synthesizes it offline.
consumer() {
  local example="$1" dir="$2"
  cp -R "$root/examples/$example" "$work/$dir"
  cd "$work/$dir"
  npm install --omit=dev --no-audit --no-fund --loglevel=error
  echo "== $example: installed stripe-key-rotator $(du -sk node_modules/stripe-key-rotator | cut -f1) kB; whole app with --omit=dev $(du -sk node_modules | cut -f1) kB"
  echo "== $example: strict type-check against the package's declarations"
  npx --no-install tsc -p .
  echo "== $example: cdk synth, offline, cdk-nag AwsSolutions and Serverless checks"
  npx --no-install cdk synth --quiet --no-notices --no-version-reporting
  echo "== $example: the installed CLI"
  # Captured first: `| head` could cut the CLI off mid-write (EPIPE) and fail the check for nothing.
  local help
  help="$(npx --no-install stripe-key-rotator --help)"
  printf '%s\n' "$help" | head -n 3
  npx --no-install stripe-key-rotator --version
}

consumer consumer-app esm
test -f cdk.out/Payments.template.json
node --input-type=module -e "
const construct = await import('stripe-key-rotator');
if (typeof construct.StripeKeyRotation !== 'function') throw new Error('no StripeKeyRotation export');
console.log('stripe-key-rotator/cli ->', import.meta.resolve('stripe-key-rotator/cli'));
"

consumer consumer-cjs cjs
test -f cdk.out/Checkout.template.json
npx --no-install tsc -p . --noEmit false --outDir build
grep -q 'require("stripe-key-rotator")' build/lib/consumer-cjs-stack.js ||
  { echo "FAIL: the CommonJS app did not compile to require('stripe-key-rotator')" >&2; exit 1; }
nodes=()
for floor in $(node -p "require('$root/package.json').engines.node" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+'); do
  nodes+=("$(bash "$root/scripts/node-binary.sh" "$floor")")
done
nodes+=("$(bash "$root/scripts/lambda-node.sh")")
for nodebin in "${nodes[@]}"; do
  version="$("$nodebin" --version)"
  echo "== consumer-cjs on plain Node $version: require() loads the package, the app synthesizes"
  CDK_OUTDIR="$work/cjs/cdk.out.$version" "$nodebin" build/bin/consumer-cjs.js
  test -f "$work/cjs/cdk.out.$version/Checkout.template.json"
done
echo "== package check done in ${SECONDS}s"
