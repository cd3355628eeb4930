# On a lent GPU machine (16 cores), from the repository root, after scripts/device/prepare.sh here: install the
# carried wheels, rebuild the model, index the bundled reports, then eval/concurrency_bench.py with the queries
# embedded on the CPU and then on the GPU. app.py is replaced in that copy only, by the API without the Gradio page
# (Gradio does not fit the transfer). Results land in $OUT.
source .dev/setup.sh
cp .dev/api_app.py app.py   # this copy only: the API without the Gradio page
for dev in cpu cuda; do
  cp BENCHMARKS.md $OUT/$dev.md
  REPORTRAG_DEVICE=$dev timeout 250 python3 -m reportrag.eval.concurrency_bench --rounds ${ROUNDS:-2} --out $OUT/$dev.md 2>&1 | grep -v Warn | tail -4 \
    && cp eval/results/concurrency.json $OUT/$dev.json
done
ls $OUT
