#!/usr/bin/env bash
# Offline validation of deploy/k8s (used by `make k8s-validate`).
# Renders base + overlays with `kubectl kustomize` and checks every object:
# see deploy/k8s/validate.py for what is validated how. Extra arguments are
# passed through (e.g. --kustomize DIR, --file rendered.yaml, --quiet).
# Needs: kubectl (built-in kustomize), python with kubernetes-validate,
# jsonschema and PyYAML; promtool is used if present.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$repo/.venv/bin/python" ]]; then python="$repo/.venv/bin/python"; else python="python3"; fi
fi
if ! "$python" -c 'import kubernetes_validate, jsonschema, yaml' 2>/dev/null; then
  echo "k8s-validate: $python lacks kubernetes-validate/jsonschema/PyYAML (pip install -r requirements-dev or the pinned versions)" >&2
  exit 2
fi
exec "$python" "$repo/deploy/k8s/validate.py" "$@"
