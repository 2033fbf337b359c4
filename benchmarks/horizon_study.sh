#!/usr/bin/env bash
# The init-horizons study (issue 19), stage by stage, each resumable: rerun this script after an
# interruption and finished trunks and branches are kept. Outputs in runs/ (not committed); the
# small results are copied to docs/results/horizons/ by hand after each stage.
#   bash benchmarks/horizon_study.sh [sweep|refine|study|longref|report|width|ablations|bvb|bvb_width|all]   (OMP_NUM_THREADS=1: one core per process)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=benchmarks/configs/horizons.yaml  # the settings every stage shares
COMMON=(--config "$CONFIG" ${CORPUS:+--corpus "$CORPUS"} --quiet --resume)
SWEEP_HORIZON=${SWEEP_HORIZON:-400}
HORIZONS=${HORIZONS:-100,200,400,800,1600}
REFERENCE_HORIZONS=${REFERENCE_HORIZONS:-3200}
RUNS=${RUNS:-runs}  # where the stages write (outside the work tree: RUNS=~/runs)
stage=${1:-all}

SWEEP=(--n-embd 128 --inits random,ppmi_svd+unigram --lrs 1e-3,2e-3,4e-3 --horizons "$SWEEP_HORIZON" --seeds 1
       -o runs/horizons-sweep)

sweep() {  # the baseline's learning rate and embedding multiplier, and the analytic init's own best, at one horizon
  # two processes of one thread each (one per multiplier), then one pass that reads both back into one report
  mobius-init horizons "${COMMON[@]}" "${SWEEP[@]}" --embedding-lr-mults 1 &
  sleep 120  # the first prepares the data; the second reuses it
  mobius-init horizons "${COMMON[@]}" "${SWEEP[@]}" --embedding-lr-mults 10
  wait
  mobius-init horizons "${COMMON[@]}" "${SWEEP[@]}" --embedding-lr-mults 1,10
}

refine() {  # the sweep's best random arm sat at the grid's corner (lowest lr, largest multiplier): steps past it
  shared_data runs/horizons-refine
  mkdir -p runs/horizons-refine/runs  # the corner arm itself is reused, not retrained
  cp -n runs/horizons-sweep/runs/random_lr0.001_emb10_seed0*.json runs/horizons-refine/runs/
  local one=(--n-embd 128 --inits random --horizons "$SWEEP_HORIZON" --seeds 1 -o runs/horizons-refine)
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --lrs 5e-4 --embedding-lr-mults 10,30 &
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --lrs 1e-3 --embedding-lr-mults 30
  wait
  # x30 beat x10 at both rates: one more step along the multiplier
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --lrs 5e-4 --embedding-lr-mults 100 &
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --lrs 1e-3 --embedding-lr-mults 100
  wait
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --lrs 5e-4,1e-3 --embedding-lr-mults 10,30,100
}

best() {  # the random arm with the lowest final loss in the sweep and its refinement: "LR MULT"
  python - <<'PY'
import json
rows = [e for d in ("runs/horizons-sweep", "runs/horizons-refine")
        for e in json.load(open(f"{d}/results.json"))["summary"].values() if e["init"] == "random"]
b = min(rows, key=lambda e: next(iter(e["horizons"].values()))["final_val_loss"][0])
print(f'{b["lr"]:g} {b["embedding_lr_mult"]:g}')
PY
}

shared_data() {  # every stage uses the sweep's prepared data (its key is checked on reuse)
  mkdir -p "$1"; [ -e "$1/data" ] || cp -r runs/horizons-sweep/data "$1/data"
}

study() {
  read -r LR MULT < <(best)
  shared_data runs/horizons
  STUDY=(--n-embd 128 --lr "$LR" --embedding-lr-mult "$MULT" --horizons "$HORIZONS" -o runs/horizons
         --inits random,random+unigram,ppmi_svd+unigram,ppmi_svd:shuffled+unigram)
  mobius-init horizons "${COMMON[@]}" "${STUDY[@]}" --seeds 1 --first-seed 0 &  # one process per seed
  mobius-init horizons "${COMMON[@]}" "${STUDY[@]}" --seeds 1 --first-seed 1
  wait
  mobius-init horizons "${COMMON[@]}" "${STUDY[@]}" --seeds 2
}

longref() {  # random's curve past the longest horizon, so the steps saved there are read, not bounded
  read -r LR MULT < <(best)
  local ref=(--n-embd 128 --lr "$LR" --embedding-lr-mult "$MULT" --horizons "$HORIZONS" -o runs/horizons
             --reference-horizons "$REFERENCE_HORIZONS")
  for seed in ${SEEDS:-0 1}; do
    mobius-init horizons "${COMMON[@]}" "${ref[@]}" --inits random --seeds 1 --first-seed "$seed"
  done
}

report() {  # the study's reports against random's longer curve: three inits x 2 seeds; the shuffled control, seed 0
  read -r LR MULT < <(best)
  local rep=(--n-embd 128 --lr "$LR" --embedding-lr-mult "$MULT" --horizons "$HORIZONS" -o runs/horizons
             --reference-horizons "$REFERENCE_HORIZONS")
  mobius-init horizons "${COMMON[@]}" "${rep[@]}" --inits random,random+unigram,ppmi_svd+unigram --seeds 2
  for f in results.json results.md horizons.png; do cp "runs/horizons/$f" "runs/horizons/main-$f"; done
  mobius-init horizons "${COMMON[@]}" "${rep[@]}" --inits random,ppmi_svd:shuffled+unigram --seeds 1
  for f in results.json results.md horizons.png; do cp "runs/horizons/$f" "runs/horizons/shuffled-$f"; done
}

width() {  # model size at the sweep's horizon: widths 64 and 256 (depth 4 at 256); 128 is the sweep itself
  read -r LR MULT < <(best)
  local shapes=("64 2" "256 4")
  [ -n "${SHAPE:-}" ] && shapes=("$SHAPE")  # SHAPE="64 2": one of them
  for shape in "${shapes[@]}"; do
    read -r W L <<<"$shape"
    shared_data "runs/horizons-width$W"
    mobius-init horizons "${COMMON[@]}" --n-embd "$W" --n-layer "$L" --lr "$LR" --embedding-lr-mult "$MULT" \
      --inits random,ppmi_svd+unigram --horizons "$SWEEP_HORIZON" --seeds 1 -o "runs/horizons-width$W"
  done
}

ablations() {  # at the sweep's horizon and best setting: the embedding frozen; untied; the prior that survives saves
  read -r LR MULT < <(best)
  local one=(--n-embd 128 --lr "$LR" --horizons "$SWEEP_HORIZON" --seeds 1)
  shared_data runs/horizons-frozen
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --embedding-lr-mult 0 --inits random,ppmi_svd+unigram \
    -o runs/horizons-frozen
  shared_data runs/horizons-untied
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --embedding-lr-mult "$MULT" --no-tie-embeddings \
    --inits random,random+unigram,ppmi_svd+unigram -o runs/horizons-untied
  shared_data runs/horizons-prior
  mkdir -p runs/horizons-prior/runs  # random at this setting is the refinement's run: reused, not retrained
  cp -n runs/horizons-refine/runs/random_lr"$LR"_emb"$MULT"_seed0*.json runs/horizons-prior/runs/ 2>/dev/null || true
  mobius-init horizons "${COMMON[@]}" "${one[@]}" --embedding-lr-mult "$MULT" --inits random,ppmi_svd+prior \
    -o runs/horizons-prior
}

BVB_MULTS=${BVB_MULTS:-30 10 3 100 1}  # the central cells first, so a partial study has both arms' likely bests
BVB_JOBS=${BVB_JOBS:-1}  # processes at once (one core each): 1 leaves the other core free
bvb() {  # best against best (issue 28): both arms over one grid of embedding multipliers, 6 horizons, 3 seeds
  # each command trains random and the init at one multiplier for one seed; seed 0 over the grid first
  local out=${BVB_OUT:-$RUNS/horizons-bvb}
  local one=(--config benchmarks/configs/horizons-bvb.yaml -o "$out")
  for seed in ${SEEDS:-0 1 2}; do
    for mult in $BVB_MULTS; do
      mobius-init horizons "${COMMON[@]}" "${one[@]}" --embedding-lr-mults "$mult" --seeds 1 --first-seed "$seed" &
      while [ "$(jobs -rp | wc -l)" -ge "$BVB_JOBS" ]; do sleep 10; done
    done
  done
  wait  # the report of everything the directory holds: python benchmarks/horizon_bvb_report.py "$out"
}

bvb_width() {  # width 256 x 4 layers (issue 28): both arms at their two best multipliers of bvb, seed 0, to 800 steps
  local out=${BVB_OUT:-$RUNS/horizons-width256}
  for mult in 10 3 30; do
    mobius-init horizons "${COMMON[@]}" --config benchmarks/configs/horizons-width256.yaml -o "$out" \
      --embedding-lr-mults "$mult" &
    while [ "$(jobs -rp | wc -l)" -ge "$BVB_JOBS" ]; do sleep 10; done
  done
  wait
}

case $stage in
  sweep) sweep ;;
  refine) refine ;;
  study) study ;;
  width) width ;;
  ablations) ablations ;;
  longref) longref ;;
  report) report ;;
  bvb) bvb ;;
  bvb_width) bvb_width ;;
  all) sweep; refine; study; longref & { ablations; width; }; wait; report ;;
  *) echo "usage: $0 [sweep|refine|study|longref|report|width|ablations|bvb|bvb_width|all]" >&2; exit 2 ;;
esac
