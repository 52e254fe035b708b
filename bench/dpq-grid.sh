#!/bin/sh
# Defaults for DPQ, chosen by measured mAP on cached CIFAR-10 dev features (the library's backbone layer):
# one JSON line per setting, appended to the file given as $1 (default .tmp/dpq/grid.jsonl).
#   sh bench/dpq-grid.sh [out.jsonl] [train-per-class] [layers] [base options, JSON without braces]
# (the first round, base '"schedule":"joint"' with gamma 1 / codebookInit normal, is in docs/dpq.md)
out=${1:-.tmp/dpq/grid.jsonl}
n=${2:-100}
layers=${3:-block_13_expand_relu}
mkdir -p "$(dirname "$out")"
base=${4:-'"schedule":"alternating"'}
for extra in \
  '' \
  ',"hidden":256' \
  ',"D":128' \
  ',"epochs":15' \
  ',"epochs":60' \
  ',"lr":0.0003' \
  ',"dropout":0' \
  ',"warmup":0.25' \
  ',"gamma":30'; do
  dpq="{$base$extra}"
  npx tsx bench/dpq-eval-cached.ts --dataset cifar10 --layers "$layers" --train-per-class "$n" --queries-per-class 100 --no-pq --dpq "$dpq" 2>/dev/null | tail -n 1 >> "$out"
done
