#!/usr/bin/env bash
# Set up, build the index of the bundled corpus if there is none, and serve the app
# on http://127.0.0.1:8501 (PORT=... for another port).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
index=${KB_INDEX:-index}
if [ ! -f "$index/manifest.json" ]; then
    echo "Building the index of corpus/ in $index (about a minute)…"
    .venv/bin/kb ingest corpus/
fi
echo "Open http://127.0.0.1:${PORT:-8501} in a browser."
exec .venv/bin/streamlit run app.py --server.address 127.0.0.1 --server.port "${PORT:-8501}" \
    --server.headless true --browser.gatherUsageStats false
