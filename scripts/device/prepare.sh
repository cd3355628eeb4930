# Prepare .dev/ (ignored by git) for scripts/device/run.sh on a lent 16-core GPU machine, which has torch,
# sentence-transformers, onnx and onnxruntime but none of our server's other packages, no network, and takes at
# most 64 MiB of files a call: the wheels below (Python 3.12), and all-MiniLM-L6-v2 with its word embeddings as
# int8 (per-row scale; every vector within cosine 0.99998 of the real model's) and the rest fp16, about 32 MiB.
#   bash scripts/device/prepare.sh   then, with the device tool: run "bash .dev/run.sh" (or "WORKERS=6 bash
#   .dev/run_workers.sh"), carry [".dev"]
set -e
grep -q "^/.dev/" .git/info/exclude || echo "/.dev/" >> .git/info/exclude
rm -rf .dev && mkdir -p .dev/whl .dev/model
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .dev/whl \
  faiss-cpu==1.15.1 bm25s==0.3.16 PyStemmer==3.1.0 rapidfuzz==3.14.6 fastapi==0.165.0 starlette==1.10.0 \
  uvicorn==0.54.0 pydantic==2.14.3 pydantic_core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5 \
  opentelemetry-api==1.45.2
cp scripts/device/setup.sh scripts/device/run.sh scripts/device/run_workers.sh scripts/device/api_app.py scripts/device/api_workers.py scripts/device/make_model.py .dev/
.venv/bin/python - <<'PY'
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from reportrag.index.model_path import minilm_path

src, out = minilm_path(), Path(".dev/model")
shutil.copytree(src, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("model.safetensors"))
weights = load_file(src / "model.safetensors")
key = next(k for k in weights if "word_embeddings" in k)
emb = weights.pop(key).astype(np.float32)
scale = np.abs(emb).max(axis=1, keepdims=True) / 127.0
np.save(out / "word_int8.npy", np.round(emb / scale).astype(np.int8))
np.save(out / "word_scale.npy", scale.astype(np.float32))
save_file({k: v.astype(np.float16) for k, v in weights.items()}, out / "rest.safetensors")
(out / "word_key.txt").write_text(key)
PY
du -sh .dev
