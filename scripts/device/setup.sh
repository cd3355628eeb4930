# Sourced by run.sh and run_workers.sh on the lent machine: the carried wheels and this checkout installed, the
# model rebuilt, the bundled reports indexed with it (all-MiniLM-L6-v2) into /tmp/idx.
set -o pipefail
rm -rf /tmp/site /tmp/idx /tmp/cache
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
python3 .dev/make_model.py /tmp/site || exit 1
echo "cores $(nproc)"; nvidia-smi --query-gpu=name --format=csv,noheader
export REPORTRAG_MODEL=minilm REPORTRAG_INDEX_DIR=/tmp/idx REPORTRAG_CACHE_DIR=/tmp/cache
python3 -c "from reportrag.skins.cli import main; raise SystemExit(main(['ingest']))" 2>&1 | tail -1 || exit 1
