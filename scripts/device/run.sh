# On a lent GPU machine (16 cores), from the repository root, after scripts/device/prepare.sh here: install the
# carried wheels, rebuild the model, index the bundled reports, then eval/concurrency_bench.py with the queries
# embedded on the CPU and then on the GPU. app.py is replaced in that copy only, by the API without the Gradio page
# (Gradio does not fit the transfer). Results land in $OUT.
set -o pipefail
rm -rf /tmp/site /tmp/idx /tmp/cache
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
python3 .dev/make_model.py /tmp/site || exit 1
echo "cores $(nproc)"; nvidia-smi --query-gpu=name --format=csv,noheader
cp .dev/api_app.py app.py   # this copy only: the API without the Gradio page
export REPORTRAG_MODEL=minilm REPORTRAG_INDEX_DIR=/tmp/idx REPORTRAG_CACHE_DIR=/tmp/cache
python3 -c "from reportrag.skins.cli import main; raise SystemExit(main(['ingest']))" 2>&1 | tail -2 || exit 1
for dev in cpu cuda; do
  cp BENCHMARKS.md $OUT/$dev.md
  REPORTRAG_DEVICE=$dev timeout 250 python3 -m reportrag.eval.concurrency_bench --rounds ${ROUNDS:-2} --out $OUT/$dev.md 2>&1 | grep -v Warn | tail -4 \
    && cp eval/results/concurrency.json $OUT/$dev.json
done
ls $OUT
