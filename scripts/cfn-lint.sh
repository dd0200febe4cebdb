#!/usr/bin/env bash
# Synthesizes the CDK app (offline, local esbuild) into a temporary directory and lints every template with
# cfn-lint: the test and live stacks of cdk.json, plus an environment using every option (customer managed
# key, existing secrets, site-list path) so the conditional resources and policies are linted too.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "FAIL: cfn-lint is not on PATH, so the synthesized templates cannot be linted (pip install cfn-lint)." >&2
  exit 1
fi

export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

every_option='{"everyOption": {
  "keyMode": "live", "account": "123456789012", "region": "eu-west-3", "encryptionKey": "create",
  "rotatedSecret": {"arn": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/live/key-AbC123",
                    "kmsKeyArn": "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
  "masterApiKeySecret": {"arn": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:stripe/master-XyZ789"},
  "siteList": {"path": "/stripe/live/sites/",
               "kmsKeyArn": "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
  "schedule": "rate(7 days)", "notificationEmails": ["ops@example.com"]}}'

echo "== cdk synth (environments of cdk.json)"
npx cdk synth --quiet --output "$out/default" >/dev/null
echo "== cdk synth (an environment with every option)"
# The CLI cuts a -c value at the first newline: pass the JSON on one line.
npx cdk synth --quiet --output "$out/every-option" -c environments="$(tr -d '\n' <<<"$every_option")" >/dev/null

shopt -s nullglob
templates=("$out"/default/*.template.json "$out"/every-option/*.template.json)
if [ "${#templates[@]}" -lt 3 ]; then
  echo "FAIL: expected at least 3 synthesized templates, found ${#templates[@]} under $out" >&2
  exit 1
fi

echo "== $(cfn-lint --version) over ${#templates[@]} templates"
# W3005: CDK always adds DependsOn on a function's role next to the GetAtt that already orders them.
# Any other error or warning fails.
if ! cfn-lint --ignore-checks W3005 -- "${templates[@]}"; then
  echo "FAIL: cfn-lint reported problems in the synthesized templates (see above)." >&2
  exit 1
fi
echo "cfn-lint: no findings"
