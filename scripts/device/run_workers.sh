# As run.sh, with app.py replaced by `reportrag api --workers $WORKERS` (scripts/device/api_workers.py).
set -o pipefail
rm -rf /tmp/site /tmp/idx /tmp/cache
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
python3 .dev/make_model.py /tmp/site || exit 1
cp .dev/api_workers.py app.py  # this copy only
export REPORTRAG_MODEL=minilm REPORTRAG_INDEX_DIR=/tmp/idx REPORTRAG_CACHE_DIR=/tmp/cache REPORTRAG_DEVICE=cpu
python3 -c "from reportrag.skins.cli import main; raise SystemExit(main(['ingest']))" 2>&1 | tail -1 || exit 1
cp BENCHMARKS.md $OUT/w.md
WORKERS=${WORKERS:-6} timeout 200 python3 -m reportrag.eval.concurrency_bench --rounds 1 --out $OUT/w.md 2>&1 | grep -v Warn | grep -E "round|32 clients get|Error|error" | head
cp eval/results/concurrency.json $OUT/workers.json
