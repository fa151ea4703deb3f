#!/usr/bin/env bash
# Builds the tool as it was at a commit, for the anchor side of scripts/bench-*-anchor.sh, and prints the path of its
# spikernel.dll (progress goes to stderr). The commit's files come from `git archive`, so the checkout is untouched.
#
#   scripts/anchor-build.sh COMMIT FOLDER
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/anchor-build.sh COMMIT FOLDER" >&2; exit 2; }
COMMIT=$1; DIR=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
echo "building the anchor ($COMMIT) in $DIR/anchor ..." >&2
mkdir -p "$DIR/anchor"
git -C "$ROOT" archive "$COMMIT" | tar -x -C "$DIR/anchor"
dotnet build "$DIR/anchor/pipeline/Cli" -c Release -o "$DIR/anchor-bin" > "$DIR/anchor-build.log" 2>&1 \
  || { echo "the anchor did not build: $DIR/anchor-build.log" >&2; exit 1; }
echo "$DIR/anchor-bin/spikernel.dll"
