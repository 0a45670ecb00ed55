# Sourced by scripts/quickstart and scripts/test: create or reuse a virtual environment, install the
# project (with the given extra), and compile the translation catalogues.
# Usage: . scripts/_install.sh [extra]
set -euo pipefail
extra="${1:-}"
venv="${VENV:-.venv}"
python_bin="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating virtual environment $venv"
  "$python_bin" -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
echo "==> installing Python packages${extra:+ (with [$extra])}"
python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
target="."
[ -n "$extra" ] && target=".[$extra]"
python -m pip install --quiet --disable-pip-version-check -e "$target" 2>&1 | grep -v "^WARNING: Location" || true
python -c "import portal" || { echo "installation failed" >&2; exit 1; }
echo "==> compiling translations"
pybabel compile -d portal/translations -D messages
