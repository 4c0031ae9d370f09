#!/usr/bin/env bash
# The quick start, end to end: both services on loopback, train, serve, ask, stop.
set -euo pipefail

WORK=${DEMO_DIR:-.demo}
STORE="$WORK/model_store"
TRAINER=127.0.0.1:${MOVIEREC_TRAINER_PORT:-50051}
SERVING=127.0.0.1:${MOVIEREC_SERVING_PORT:-50052}
MODEL=demo
rm -rf "$WORK" && mkdir -p "$WORK"

pids=()
stop_services() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_services EXIT

step() { printf '\n== %s\n' "$*"; }

step "starting the trainer on $TRAINER and the serving service on $SERVING (store $STORE)"
movierec trainer --port "${TRAINER##*:}" --store "$STORE" >"$WORK/trainer.log" 2>&1 &
pids+=($!)
movierec serving --port "${SERVING##*:}" --store "$STORE" --poll-interval 0.5 >"$WORK/serving.log" 2>&1 &
pids+=($!)

# Each service prints "<name> listening on host:port" once it accepts calls.
wait_for_listening() {
  local log=$1 pid=$2
  for _ in $(seq 1 300); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "service died; its log:" >&2; cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "service did not start within 30 s; its log:" >&2
  cat "$log" >&2
  return 1
}
wait_for_listening "$WORK/trainer.log" "${pids[0]}"
wait_for_listening "$WORK/serving.log" "${pids[1]}"

latest_version() {
  movierec models --trainer "$TRAINER" --model "$1" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["versions"][0]["version"])'
}

step "movierec train --model $MODEL   (the default kind, ease: what Recommend should rank by)"
movierec train --trainer "$TRAINER" --timeout 30 --model "$MODEL" --dataset ml-100k --split u1
step "movierec train --model $MODEL-ratings --objective rating   (what Predict should answer)"
movierec train --trainer "$TRAINER" --timeout 30 --model "$MODEL-ratings" --kind dot \
  --objective rating --dataset ml-100k --split u1
step "movierec train --model $MODEL-towers --kind two_tower   (user features: cold start)"
movierec train --trainer "$TRAINER" --timeout 30 --model "$MODEL-towers" --kind two_tower \
  --objective retrieval --dataset ml-100k --split u1 --quiet

step "waiting until serving answers from the new versions"
for model in "$MODEL" "$MODEL-ratings" "$MODEL-towers"; do
  movierec status --serving "$SERVING" --model "$model" --wait-version "$(latest_version "$model")" \
    --wait-timeout 60 >/dev/null
done

step "top 10 for user 196 (movies user 196 rated in training are excluded)"
movierec recommend --serving "$SERVING" --model "$MODEL" --user 196 -k 10

step "top 10 for a new user who only said: Adventure 5, Fantasy 4.5 (two_tower user tower)"
movierec recommend --serving "$SERVING" --model "$MODEL-towers" --genre Adventure=5 \
  --genre Fantasy=4.5 -k 10

step "predicted ratings of user 196 for Star Wars (50) and Kolya (242)"
movierec predict --serving "$SERVING" --model "$MODEL-ratings" --user 196 --item 50 242

step "the 10 movies most similar to Star Wars (item 50)"
movierec similar --serving "$SERVING" --model "$MODEL-ratings" --item 50 -k 10

step "held-out metrics of the retrieval version beside the rating version"
movierec metrics --serving "$SERVING" --model "$MODEL"
movierec metrics --serving "$SERVING" --model "$MODEL-ratings"

step "stopping both services"
stop_services
trap - EXIT
echo "done; logs in $WORK/"
