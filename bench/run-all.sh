#!/bin/bash
# Runs every benchmark and collects their results into one JSON file, so that runs on
# different days, commits or machines can be compared:
#   strider_bench_pack        MPI_Pack/MPI_Unpack, Strider vs. native vs. memcpy bound
#   strider_bench_type_commit MPI_Type_commit with and without Strider's canonicalisation
#   strider_bench_forward     a forwarded MPI_Send + MPI_Recv against PMPI_Send + PMPI_Recv
#   bench/pingpong.sh         2-rank ping-pong of 2-D/3-D objects and contiguous types,
#                             native and preloaded, alternating
#   strider_bench_halo3d      3-D halo exchange, native and preloaded, alternating; with a GPU
#                             also device arrays, hand-staged baseline vs Strider
#   strider_bench_transpose   3-D transpose by MPI_Alltoallw or MPI_Alltoallv (FFT slab redistribution), native
#                             and preloaded, alternating
#   strider_bench_gather      a 2-D array gathered to (scattered from) one rank by MPI_Gatherv
#                             (MPI_Scatterv), native and preloaded, alternating
#   strider_bench_model_check the model's choices against every host method forced (2 ranks)
#   strider_bench_pack_device CUDA pack kernels vs copy engines (CUDA builds; skipped, exit 77,
#                             without a device)
#   usage: bash bench/run-all.sh [--quick] [--build DIR] [--out DIR] [--rounds K]
# Writes OUT/all.json (OUT defaults to results/) and keeps each benchmark's own files under
# OUT/all/. Build first: cmake --build build/bench (see bench/CMakeLists.txt).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/bench} out=$root/results quick=0 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run-all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
lib=${STRIDER_LIB:-$build/lib/libstrider.so}
for f in "$build/bench/strider_bench_pack" "$build/bench/strider_bench_type_commit" \
         "$build/bench/strider_bench_pingpong" "$build/bench/strider_bench_halo3d" \
         "$build/bench/strider_bench_forward" "$build/bench/strider_bench_model_check" \
         "$build/bench/strider_bench_transpose" "$build/bench/strider_bench_gather" "$lib"; do
  [ -e "$f" ] || { echo "run-all.sh: $f is missing (cmake --build $build)" >&2; exit 1; }
done
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
work=$out/all
mkdir -p "$work"
q=()
[ "$quick" = 1 ] && q=(--quick)
say() { printf '== %s\n' "$*"; }

# alternate NAME DIR CONFIG...: runs strider_bench_NAME in each configuration ("RANKS ARGS...")
# natively and with Strider preloaded, $rounds pairs, alternating which goes first, with $reps
# repetitions; keeps every run's JSON and stderr as DIR/cC-MODE-K.json and .log, then prints one
# line per configuration: medians over rounds and the ratio. A configuration with --memory
# (halo3d's device arrays) runs natively hand-staged: that baseline takes the "native" slot.
alternate() {
  local name=$1 dir=$2
  shift 2
  local c=0 config ranks args k order mode env extra baseline
  mkdir -p "$dir"
  rm -f "$dir"/*.json
  for config in "$@"; do
    c=$((c + 1))
    read -r ranks args <<<"$config"
    read -ra args <<<"$args"
    for ((k = 1; k <= rounds; k++)); do
      if ((k % 2)); then order=(native strider); else order=(strider native); fi
      for mode in "${order[@]}"; do
        env=() extra=()
        [ "$mode" = strider ] && env=(-x LD_PRELOAD="$lib")
        [ "$mode" = native ] && [[ " ${args[*]} " == *" --memory "* ]] && extra=(--staging hand)
        if ! mpiexec --oversubscribe --bind-to none -n "$ranks" "${env[@]}" "$build/bench/strider_bench_$name" \
             "${args[@]}" "${extra[@]}" --reps "$reps" --json "$dir/c$c-$mode-$k.json" >/dev/null 2>"$dir/c$c-$mode-$k.log"; then
          echo "run-all.sh: $name config $c ($mode, round $k) failed:" >&2
          tail -n 5 "$dir/c$c-$mode-$k.log" >&2
          status=1
        fi
      done
    done
    baseline=native
    [[ " ${args[*]} " == *" --memory "* ]] && baseline=hand-staged
    awk -v cfg="$ranks ranks ${args[*]}" -v base="$baseline" '
      FNR == 1 { mode = FILENAME ~ /-strider-/ ? "s" : "n" }
      { if (match($0, /"median_ms": [0-9.]+/)) v[mode] = v[mode] " " substr($0, RSTART + 13, RLENGTH - 13) }
      function med(l,   n, a, i, j, t) { n = split(l, a, " "); for (i = 2; i <= n; i++) { t = a[i] + 0;
        for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      END { n = med(v["n"]); s = med(v["s"]); printf "   %-75s %s %.4f ms  Strider %.4f ms  speedup %.2f\n", cfg, base, n, s, (s > 0 ? n / s : 0) }
    ' "$dir"/c$c-native-*.json "$dir"/c$c-strider-*.json || true
  done
}

# runs_json DIR: alternate()'s runs in DIR as a JSON list of their objects, each tagged with its
# configuration, mode and round.
runs_json() {
  local sep="" f base cfg mode round
  printf '['
  for f in "$1"/c*-*.json; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .json)
    IFS=- read -r cfg mode round <<<"$base"
    printf '%s\n  {"config": "%s", "mode": "%s", "round": %s, "result": %s}' "$sep" "$cfg" "$mode" "$round" "$(cat "$f")"
    sep=","
  done
  printf '\n ]'
}

status=0
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

say "pack (single process)"
"$build/bench/strider_bench_pack" "${q[@]}" --json "$work/pack.json" || status=1

say "type_commit (single process)"
"$build/bench/strider_bench_type_commit" --json "$work/type_commit.json" || status=1

say "forward (1 rank, Strider preloaded: MPI_Send/MPI_Recv against PMPI_Send/PMPI_Recv to self)"
mpiexec -n 1 -x LD_PRELOAD="$lib" "$build/bench/strider_bench_forward" --json "$work/forward.json" || status=1

say "pingpong (2 ranks, $rounds rounds native/Strider)"
STRIDER_LIB=$lib bash "$here/pingpong.sh" --build "$build" --out "$work" --rounds "$rounds" "${q[@]}" || status=1

say "model_check (2 ranks: the installed model's choices against each host method forced)"
mpiexec -n 2 "$build/bench/strider_bench_model_check" "${q[@]}" --json "$work/model_check.json" || status=1

# Device benchmarks exit 77 without a GPU: recorded as skipped, not failed.
pack_device=$build/bench/strider_bench_pack_device
rm -f "$work/pack_device.json"
if [ -x "$pack_device" ]; then
  say "pack_device (CUDA pack kernels)"
  rc=0
  "$pack_device" "${q[@]}" --json "$work/pack_device.json" || rc=$?
  [ $rc = 77 ] && say "pack_device skipped: no CUDA device"
  [ $rc != 0 ] && [ $rc != 77 ] && status=1
else
  say "pack_device skipped: not built (a build without CUDA)"
fi

# halo3d: each configuration native and Strider, alternating, $rounds pairs; every run's
# JSON is kept and listed.
say "halo3d (native and Strider alternating, $rounds pairs per configuration)"
halo_configs=(
  "2 --n 64 --q 1 --r 1 --types subarray-c --method isend"
  "2 --n 64 --q 1 --r 1 --types subarray-f --method sendrecv --periodic 0"
  "2 --n 64 --q 4 --r 2 --types vector --method isend"
  "2 --n 64 --q 2 --r 1 --types resized --method isend"
  "2 --n 64 --q 1 --r 1 --types subarray-c --method alltoallw"
  "2 --n 32 --q 1 --r 1 --types subarray-c --method ineighbor --periodic 0"
  "4 --n 32 --q 2 --r 1 --types subarray-c --method isend --periodic 110"
)
[ "$quick" = 1 ] && halo_configs=("${halo_configs[@]:0:3}")
# Device arrays: the hand-staged baseline takes the "native" slot. Only when a 2-rank probe runs
# (halo3d exits 77 without CUDA in the build or without a device).
if mpiexec -n 2 "$build/bench/strider_bench_halo3d" --n 16 --memory device --staging hand --reps 2 >/dev/null 2>&1; then
  halo_configs+=(
    "2 --n 64 --q 1 --r 1 --types subarray-c --method isend --memory device"
    "2 --n 64 --q 1 --r 1 --types subarray-c --method isend --memory pitched"
  )
else
  say "halo3d device arrays skipped: no usable CUDA device (or a build without CUDA)"
fi
halo_dir=$work/halo3d
reps=$([ "$quick" = 1 ] && echo 20 || echo 50)
alternate halo3d "$halo_dir" "${halo_configs[@]}"

# transpose: MPI_Alltoallw (or MPI_Ialltoallw, MPI_Alltoallv with one resized type per side)
# from z-slabs to x-slabs, received in slab order (subarray) or transposed (hvectors of single
# doubles); the same pairs and files as halo3d.
say "transpose (native and Strider alternating, $rounds pairs per configuration)"
transpose_configs=(
  "2 --n 128 --types subarray"
  "2 --n 128 --types transpose"
  "2 --n 128 --types transpose --method ialltoallw"
  "4 --n 64 --types transpose"
  "2 --n 128 --types transpose --method alltoallv"
  "4 --n 64 --types transpose --method alltoallv"
)
transpose_dir=$work/transpose
alternate transpose "$transpose_dir" "${transpose_configs[@]}"

# gather: a column-split 2-D array gathered to (scattered from) rank 0 by MPI_Gatherv
# (MPI_Scatterv) with a resized block type (blocks of N / P doubles) or column type (single
# doubles) at the root.
say "gather (native and Strider alternating, $rounds pairs per configuration)"
gather_configs=(
  "2 --n 1024 --types block"
  "2 --n 1024 --types columns"
  "2 --n 1024 --types columns --method igatherv"
  "4 --n 512 --types columns --method scatterv"
)
gather_dir=$work/gather
alternate gather "$gather_dir" "${gather_configs[@]}"

# One JSON: metadata, then each benchmark's own output (pack, type_commit, forward and pingpong
# are JSON objects; halo3d and transpose are lists of per-run objects tagged with configuration,
# mode, round).
all=$out/all.json
{
  printf '{"schema": "strider-bench-all/1", "started": "%s", "finished": "%s",\n' "$started" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf ' "host": "%s", "cpu": "%s", "cores": %s, "load_start": "%s", "load_end": "%s",\n' \
    "$(hostname)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | tr -d '"')" "$(nproc)" \
    "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf ' "mpi": "%s", "quick": %s, "rounds": %s,\n' "$(mpirun --version 2>/dev/null | head -n 1)" \
    "$([ "$quick" = 1 ] && echo true || echo false)" "$rounds"
  for name in pack type_commit forward pingpong model_check pack_device; do
    printf ' "%s": ' "$name"
    if [ -s "$work/$name.json" ]; then cat "$work/$name.json"; else echo null; fi
    echo ","
  done
  printf ' "halo3d": '
  runs_json "$halo_dir"
  printf ',\n "transpose": '
  runs_json "$transpose_dir"
  printf ',\n "gather": '
  runs_json "$gather_dir"
  printf '}\n'
} >"$all"
if command -v jq >/dev/null && ! jq empty "$all" 2>/dev/null; then
  echo "run-all.sh: $all is not valid JSON" >&2
  status=1
fi
say "wrote $all"
exit $status
