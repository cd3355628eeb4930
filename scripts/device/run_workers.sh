# As run.sh, with app.py replaced by `reportrag api --workers $WORKERS` (scripts/device/api_workers.py).
source .dev/setup.sh
cp .dev/api_workers.py app.py  # this copy only
export REPORTRAG_DEVICE=cpu
cp BENCHMARKS.md $OUT/w.md
WORKERS=${WORKERS:-6} timeout 200 python3 -m reportrag.eval.concurrency_bench --rounds 1 --out $OUT/w.md 2>&1 | grep -v Warn | grep -E "round|32 clients get|Error|error" | head
cp eval/results/concurrency.json $OUT/workers.json
