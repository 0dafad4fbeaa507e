# The S3-compatible server the object-storage tests start on loopback: PyPI moto in server mode
# (`moto_server`), pinned. pip only runs when that version is not already importable.
MOTO_VERSION=5.2.1
if ! python3 -c "import moto, flask, werkzeug; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null \
   || ! command -v moto_server >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
