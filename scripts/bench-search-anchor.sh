#!/usr/bin/env bash
# Search speed against the search as it was, side by side in one run (docs/measurements/train-speed.md#bench-search).
#
# `bench search` times the reference score against the Gram score inside one process, so both share today's forward
# pass and heap. This script times the whole old path instead: the anchor is the tool built from ANCHOR (default
# 363e90f, main just before issue 14's first commit: reference score, libtorch's avg_pool2d, glibc's heap), the other
# side is the tool built from this checkout. The two run as alternating processes, round by round, on the same
# searches (small Fashion-MNIST network, seed 1, batch 64, repeat 2); each search's candidates/s is scored candidates
# over the summed per-candidate seconds of candidates.csv (building and scoring, no start-up), and the two searches'
# score columns must be identical to the last digit for forward cells. Backward cells' scores differ from an anchor
# older than the fix that counts their feedback LIFs on the last timestep too (method.md: every call), which also
# makes this build run those convolutions while scoring; they are marked "other".
#
#   scripts/bench-search-anchor.sh [ROUNDS] [CANDIDATES]
# ANCHOR_CLI=/path/to/spikernel.dll skips building the anchor; CLI picks this checkout's build.
set -euo pipefail
ROUNDS=${1:-2}; CANDIDATES=${2:-12}
ANCHOR=${ANCHOR:-363e90f}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=${CLI:-"$ROOT/pipeline/Cli/bin/Release/net10.0/linux-x64/spikernel.dll"}
WORK=$(mktemp -d)
[ -f "$CLI" ] || { echo "no build of this checkout at $CLI (dotnet build pipeline/Cli -c Release)" >&2; exit 1; }
ANCHOR_CLI=${ANCHOR_CLI:-$("$ROOT/scripts/anchor-build.sh" "$ANCHOR" "$WORK")}

rate() { # candidates.csv -> candidates/s over the scored rows
  python3 -c '
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "scored"]
print("%.3f" % (len(rows) / sum(float(r["seconds"]) for r in rows)))' "$1"
}
scores() { python3 -c 'import csv, sys; print([r["score"] for r in csv.DictReader(open(sys.argv[1]))])' "$1"; }

differ=0
printf '%-10s %-9s %-6s %10s %10s %7s  %s\n' kernels cell round "anchor/s" "now/s" ratio scores
for kernels in 1,3 1,3,5,7; do
  for cell in forward backward; do
    for r in $(seq 1 "$ROUNDS"); do
      sides="anchor now"; [ $((r % 2)) -eq 0 ] && sides="now anchor" # neither always runs first
      for side in $sides; do
        dll=$ANCHOR_CLI; [ $side = now ] && dll=$CLI
        dir="$WORK/$side-${kernels//,/}-$cell-$r"
        dotnet "$dll" search --kernels "$kernels" --cell "$cell" --candidates "$CANDIDATES" --batch 64 --repeat 2 \
          --seed 1 --out "$dir" > "$dir.log" 2>&1 || { echo "$side search failed: $dir.log" >&2; exit 1; }
      done
      a=$(rate "$WORK/anchor-${kernels//,/}-$cell-$r/candidates.csv")
      b=$(rate "$WORK/now-${kernels//,/}-$cell-$r/candidates.csv")
      sa=$(scores "$WORK/anchor-${kernels//,/}-$cell-$r/candidates.csv")
      sb=$(scores "$WORK/now-${kernels//,/}-$cell-$r/candidates.csv")
      same=identical; [ "$sa" = "$sb" ] || if [ "$cell" = backward ]; then same=other; else same=DIFFER; differ=1; fi
      printf '%-10s %-9s %-6s %10s %10s %6.2fx  %s\n' "{$kernels}" "$cell" "$r" "$a" "$b" "$(echo "$b / $a" | bc -l)" "$same"
      echo "{$kernels} $cell $a $b $same" >> "$WORK/figures"
    done
  done
done
python3 - "$WORK/figures" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
# a search whose scores differ does other work (backward cells: the feedback edges now scored on the last step too):
# its speed is shown, not folded into the ratio of the same work
for label, keep in (("same work", lambda s: s == "identical"), ("other work (backward cells)", lambda s: s == "other")):
    ratios = [float(b) / float(a) for _, _, a, b, s in rows if keep(s)]
    if ratios:
        print(f"ratio now/anchor, {label}: median {statistics.median(ratios):.2f}x, min {min(ratios):.2f}x, max {max(ratios):.2f}x over {len(ratios)} searches")
EOF
echo "anchor: $ANCHOR   raw output: $WORK"
[ "$differ" = 0 ] || { echo "the scores differ between the two builds" >&2; exit 1; }
