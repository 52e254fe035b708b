#!/bin/sh
# The few-photos-per-album sweep (docs/dpq.md, "Few photos per album"): indexes each dataset into a
# library file once (the product's own feature; a rerun reuses it), runs bench/dpq-few-shot.ts on
# it and prints the tables. JSON lines go to $1 (default .tmp/dpq-few-shot).
#   nice -n 10 sh bench/dpq-few-shot.sh [outdir]      (datasets from $DATASETS, default ../shared/datasets)
out=${1:-.tmp/dpq-few-shot}
data=${DATASETS:-../shared/datasets}
mkdir -p "$out"
variants='[{"name":"dpq-library","library":true},{"name":"dpq-retrain","retrain":true}]'
for ds in clothing-small coco256 cifar10-dev; do
  [ -f "$out/$ds.sqlite" ] || node bin/lookalike.js index "$data/$ds" --db "$out/$ds.sqlite" --json > /dev/null
done
sweep() { npx tsx bench/dpq-few-shot.ts --variants "$variants" "$@"; }
sweep --db "$out/clothing-small.sqlite" --queries 30 > "$out/clothing-small.jsonl" 2> "$out/clothing-small.log" &
sweep --db "$out/coco256.sqlite" --labels "tsv:$data/coco256/labels.tsv" --queries 1 > "$out/coco256.jsonl" 2> "$out/coco256.log" &
sweep --db "$out/clothing-small.sqlite" --queries 30 --albums half --per-album 10,50 > "$out/clothing-small-half.jsonl" 2> "$out/clothing-small-half.log" &
# Secondary: CIFAR-10 dev, its first 300 photos per class (3,000; 50 queries per class).
sweep --db "$out/cifar10-dev.sqlite" --queries 50 --library-per-class 300 > "$out/cifar10-dev.jsonl" 2> "$out/cifar10-dev.log" &
wait
for v in dpq-retrain dpq-library; do
  echo "## DPQ: $v"
  npx tsx bench/dpq-few-shot-table.ts --variant "$v" "$out"/*.jsonl
done
