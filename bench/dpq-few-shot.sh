#!/bin/sh
# The few-photos-per-album sweep (docs/dpq.md, "Few photos per album"): indexes each dataset into a
# library file once (the product's own feature; a rerun reuses it), runs bench/dpq-few-shot.ts on
# it — DPQ as Retrain trains it (`trainLibraryModel`), its float embedding, the unsupervised codes and
# the float feature — and prints the tables. JSON lines go to $1 (default .tmp/dpq-few-shot).
#   nice -n 10 sh bench/dpq-few-shot.sh [outdir]      (datasets from $DATASETS, default ../shared/datasets)
# Add cifar10-dev (secondary check) with WITH_CIFAR=1: its first 300 photos per class, 50 queries per class.
out=${1:-.tmp/dpq-few-shot}
data=${DATASETS:-../shared/datasets}
mkdir -p "$out"
variants='[{"name":"dpq-retrain","retrain":true}]'
for ds in clothing-small coco256 ${WITH_CIFAR:+cifar10-dev}; do
  [ -f "$out/$ds.sqlite" ] || node bin/lookalike.js index "$data/$ds" --db "$out/$ds.sqlite" --json > /dev/null
done
sweep() { npx tsx bench/dpq-few-shot.ts --variants "$variants" "$@"; }
# Two processes per dataset where it is large: the 2-core box runs them side by side.
sweep --db "$out/clothing-small.sqlite" --queries 30 --per-album 5,10,20 > "$out/clothing-small.jsonl" 2> "$out/clothing-small.log" &
sweep --db "$out/clothing-small.sqlite" --queries 30 --per-album 50,100 > "$out/clothing-small-more.jsonl" 2> "$out/clothing-small-more.log" &
sweep --db "$out/coco256.sqlite" --labels "tsv:$data/coco256/labels.tsv" --queries 1 > "$out/coco256.jsonl" 2> "$out/coco256.log" &
# COCO-256 alone is smaller than one block's 256 codewords (every length exact); in a library of
# 3,107 photos, clothing-small's in no album and relevant to no query, the lengths separate.
sweep --db "$out/coco256.sqlite" --labels "tsv:$data/coco256/labels.tsv" --queries 1 --distractors "$out/clothing-small.sqlite" > "$out/coco256-among-clothing.jsonl" 2> "$out/coco256-among-clothing.log" &
# Albums on half the classes: queries of the other half against the unsupervised model.
sweep --db "$out/clothing-small.sqlite" --queries 30 --albums half --per-album 10,50 > "$out/clothing-small-half.jsonl" 2> "$out/clothing-small-half.log" &
[ -n "$WITH_CIFAR" ] && sweep --db "$out/cifar10-dev.sqlite" --queries 50 --library-per-class 300 > "$out/cifar10-dev.jsonl" 2> "$out/cifar10-dev.log" &
wait
npx tsx bench/dpq-few-shot-table.ts --variant dpq-retrain "$out"/*.jsonl
