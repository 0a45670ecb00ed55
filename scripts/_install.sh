# Sourced by scripts/quickstart and scripts/test: create or reuse a virtual environment, install the
# project (with the given extra), and compile the translation catalogues.
# The install is skipped when pyproject.toml (and the extra) are unchanged since the last one that
# succeeded: a stamp in the virtual environment holds their hash. REINSTALL=1 forces it.
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

stamp="$venv/.haichuang-install"
project_hash="$(python -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
installed() {
  # "<hash> <extra>" lines; an install with an extra also covers the plain install.
  [ -f "$stamp" ] || return 1
  if [ -n "$extra" ]; then grep -qx "$project_hash $extra" "$stamp"; else grep -q "^$project_hash " "$stamp"; fi
}
if [ "${REINSTALL:-0}" != "1" ] && installed && python -c "import portal" 2>/dev/null; then
  echo "==> Python packages up to date${extra:+ (with [$extra])} (pyproject.toml unchanged; REINSTALL=1 to force)"
else
  echo "==> installing Python packages${extra:+ (with [$extra])}"
  pip_quietly() {  # pip's output without the notes about unreachable index locations; fails when pip fails
    local output status=0
    output="$(python -m pip --quiet --disable-pip-version-check "$@" 2>&1)" || status=$?
    [ -z "$output" ] || printf '%s\n' "$output" | grep -v "^WARNING: Location" || true
    return "$status"
  }
  pip_quietly install --upgrade pip || echo "(could not upgrade pip; carrying on with the one installed)" >&2
  target="."
  [ -n "$extra" ] && target=".[$extra]"
  pip_quietly install -e "$target" || { echo "installation failed" >&2; exit 1; }
  python -c "import portal" || { echo "installation failed" >&2; exit 1; }
  # Keep the stamps of this pyproject.toml only, and add this install's.
  { [ -f "$stamp" ] && grep "^$project_hash " "$stamp" || true; echo "$project_hash ${extra:--}"; } | sort -u > "$stamp.new"
  mv "$stamp.new" "$stamp"
fi

echo "==> compiling translations"
pybabel compile -d portal/translations -D messages
