#!/usr/bin/env bash
# Install each peer, at the versions pinned in requirements/<peer>.txt, into its own venv
# under bench/peers/.venvs/<peer> (ignored by git), from the package registries pip is
# configured with on this machine. Usage: bench/peers/setup.sh [peer ...] (default: all).
# A peer whose install fails is reported and skipped; the harness then marks its rows
# "not installed" instead of failing.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
peers=("$@")
if [ ${#peers[@]} -eq 0 ]; then
    peers=()
    for f in "$here"/requirements/*.txt; do peers+=("$(basename "$f" .txt)"); done
fi
status=0
for peer in "${peers[@]}"; do
    req="$here/requirements/$peer.txt"
    venv="$here/.venvs/$peer"
    stamp="$venv/.installed"
    if [ ! -f "$req" ]; then echo "== $peer: no $req" >&2; status=1; continue; fi
    if [ -f "$stamp" ] && [ ! "$req" -nt "$stamp" ]; then echo "== $peer: up to date"; continue; fi
    echo "== $peer: installing $(tr '\n' ' ' < "$req")"
    rm -rf "$venv"
    if "$py" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet -r "$req"; then
        touch "$stamp"
    else
        echo "== $peer: install FAILED" >&2
        status=1
    fi
done
exit $status
