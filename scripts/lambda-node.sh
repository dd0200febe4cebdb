#!/usr/bin/env bash
# Prints the path of a Node binary of the Lambda's runtime major (the construct deploys nodejs24.x), fetched
# once by scripts/node-binary.sh. CI runs the rotation core's suites with it, since the machine's own Node is
# 20; `BENCH_LAMBDA_NODE=$(bash scripts/lambda-node.sh) npm run bench` adds its rows to the benchmark.
set -euo pipefail
exec bash "$(dirname "$0")/node-binary.sh" 24.21.0
