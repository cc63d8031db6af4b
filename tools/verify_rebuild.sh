#!/usr/bin/env bash
# Auditor check: two clean rebuilds of the current commit, in two different
# directories, must give byte-identical results. Prints the SHA-256 of the PDF
# and the number of files compared; exits non-zero on any difference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
snakemake="$root/.venv/bin/snakemake"
work=$(mktemp -d /tmp/aiha-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT

for side in a b; do
  git clone -q "$root" "$work/$side-$RANDOM"
done
dirs=("$work"/*)
for d in "${dirs[@]}"; do
  echo "building $(git -C "$d" rev-parse --short HEAD) in $d"
  (cd "$d" && "$snakemake" --cores all --quiet all >"$d.log" 2>&1) || { tail -50 "$d.log"; exit 1; }
  (cd "$d" && find results -type f -print0 | sort -z | xargs -0 sha256sum) >"$d.sha256"
done
if diff -u "${dirs[0]}.sha256" "${dirs[1]}.sha256"; then
  echo "identical: $(wc -l <"${dirs[0]}.sha256") files under results/"
  grep 'study_report.pdf' "${dirs[0]}.sha256" || true
else
  echo "rebuilds differ" >&2
  exit 1
fi
