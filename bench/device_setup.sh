# Source on an offline GPU machine whose image holds torch/cupy but not openai/hydra:
# installs the wheels carried in .whl/ and this project (editable, no dependencies).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site:$PWD
python3 -m pip install -q --no-deps --no-index --no-build-isolation -e . >/dev/null 2>&1 || true
export PYTHONUNBUFFERED=1
