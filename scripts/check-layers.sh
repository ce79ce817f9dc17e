#!/usr/bin/env bash
# Checks that dependencies flow one way (README "Layout"):
#   data-prep (formats)        no tch, no timely/differential
#   src/augment, src/data, src/metric, src/sweep, src/host_memory.rs   no tch, no timely/differential
#   src/dataflow               the only timely/differential code
#   the library (src/ minus src/main.rs, src/bin/, src/cli/)   no clap, indicatif or anyhow
# Exits non-zero listing every offending line.
set -uo pipefail
shopt -s lastpipe  # `... | report` runs report in this shell, so it can set fail
cd "$(dirname "$0")/.."
fail=0
# Rust uses of a crate: `use krate`, `krate::`, `extern crate krate` (not words in comments).
uses() { grep -rnE "(^|[^[:alnum:]_:])(use |extern crate )?($1)::|^\s*use ($1)\b|extern crate ($1)\b" "${@:2}" --include='*.rs' 2>/dev/null | grep -vE '^[^:]+:[0-9]+:\s*//' ; }
report() {
  local what=$1; shift
  local hits
  hits=$(cat)
  if [ -n "$hits" ]; then
    echo "layer violation: $what" >&2
    echo "$hits" >&2
    fail=1
  fi
}
uses 'tch|torch_sys|timely|differential_dataflow' data-prep | report "data-prep must not use tch or timely"
grep -nE '^(tch|torch-sys|timely|differential-dataflow)\s*=' data-prep/Cargo.toml | report "data-prep must not depend on tch or timely"
uses 'tch|torch_sys|timely|differential_dataflow' src/augment src/data src/metric src/submit src/sweep src/canvas.rs src/host_memory.rs | report "augment, data, metric, submit, sweep, canvas and host_memory must not use tch or timely"
uses 'timely|differential_dataflow' src | grep -v '^src/dataflow/' | report "timely/differential only in src/dataflow/"
uses 'clap|indicatif|anyhow' src | grep -vE '^src/(main\.rs|cli/|bin/)' | report "clap, indicatif and anyhow only in the binaries (src/main.rs, src/bin/, src/cli/)"
if [ "$fail" = 0 ]; then echo "layers: ok"; fi
exit $fail
