# Shared by scripts/demo and scripts/test: create .venv on first use and install the
# project (editable) with the given extras; reinstall when pyproject.toml changes.
ensure_venv() {
    local extras="$1"
    local py="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        echo "== creating .venv"
        "$py" -m venv .venv
    fi
    local stamp=".venv/.stormproof-installed-$extras"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "== installing stormproof[$extras] into .venv"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[$extras]"
        touch "$stamp"
    fi
}
