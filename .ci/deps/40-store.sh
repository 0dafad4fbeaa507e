# The S3-compatible server the object-storage tests and scripts/check-slurm.sh start on loopback:
# PyPI moto in server mode (`moto_server`), pinned. pip only runs when that version is missing.
# Debian's own python3 refuses pip installs outside a venv (PEP 668): then the same install is
# retried with --break-system-packages (it goes to /usr/local, which apt does not manage).
MOTO_VERSION=5.2.1
if ! python3 -c "import moto, flask, boto3; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null \
   || ! command -v moto_server >/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends python3-pip
  pip_install=(python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION")
  "${pip_install[@]}" || "${pip_install[@]}" --break-system-packages
fi
