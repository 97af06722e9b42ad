#!/bin/bash
# The main job on a fresh Debian 12 machine: install the dependencies, build Strider (Release,
# build/demo), measure the system once with strider-measure when there is no performance model
# yet, then run the 3-D halo-exchange benchmark (bench/halo3d.c, a plain MPI program) natively
# and with libstrider.so preloaded for a set of grids, rank counts and datatype constructions,
# alternating native and Strider runs, and print one table. Every halo cell is verified after
# every exchange. Results go to results/demo.csv and results/demo.png (gnuplot).
#   usage, from anywhere:  bash tools/demo.sh
# Environment: DEMO_ROUNDS (native/Strider pairs per configuration, default 5: an exchange on
# the smallest grids takes tens of µs, and on a busy or virtual machine whole runs now and then
# come out a third slower, which a median of three can pick), DEMO_REPS (exchanges per run;
# by default 2000 on 32^3 grids, 500 on 64^3 and 200 on larger ones, so that every run spans
# tens of milliseconds and one scheduler hiccup cannot decide it), DEMO_QUICK=1 (half the configurations), STRIDER_CUDA (AUTO,
# ON or OFF, default AUTO), BUILD_DIR (default build/demo), DEMO_SKIP_DEPS=1 (skip
# tools/install-deps.sh), DEMO_SKIP_MEASURE=1 (do not run strider-measure; Strider then uses
# its built-in policy unless a model exists).
#
# Then, when a GPU is usable (one 2-rank `halo3d --memory device --staging hand` run exits 0,
# not 77), a second table for device buffers: the hand-staged baseline a careful user writes
# without Strider (cudaMemcpy2D/3D of each box through pinned host buffers, contiguous MPI,
# natively), against Strider preloaded with the device array and its datatypes, and, when
# ompi_info says the MPI is CUDA-aware, the same datatypes handed to that MPI natively. Its rows
# go to the same CSV (columns memory=device, baseline=hand-staged; host rows say host, native).
# Without a GPU (or a build without CUDA) the demo says in one line that it skipped this part.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/demo}
rounds=${DEMO_ROUNDS:-5}
reps=${DEMO_REPS:-}
# reps_for N: exchanges per run on an N^3 grid (see DEMO_REPS above).
reps_for() {
  if [ -n "$reps" ]; then echo "$reps"; elif (($1 <= 32)); then echo 2000; elif (($1 <= 64)); then echo 500; else echo 200; fi
}
run_reps=200  # set per configuration from reps_for
results=results
say() { printf '== %s\n' "$*"; }
started=$SECONDS

if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
  say "dependencies (tools/install-deps.sh)"
  bash tools/install-deps.sh
fi

say "configure and build (Release, $build)"
mkdir -p "$(dirname "$build")"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRIDER_CUDA="${STRIDER_CUDA:-AUTO}" \
  -DSTRIDER_BUILD_TESTS=OFF -DSTRIDER_BUILD_BENCH=ON >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; echo "demo: configure failed" >&2; exit 1; }
# Only what the demo runs (the C++ benchmarks are bench/run-all.sh's business).
targets=(strider strider_bench_halo3d strider-demo-exchange)
if cmake --build "$build" --target help 2>/dev/null | grep -q '^strider-measure:'; then
  targets+=(strider-measure)
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$build.build.log" 2>&1 \
  || { tail -n 60 "$build.build.log"; echo "demo: build failed (log: $build.build.log)" >&2; exit 1; }

halo=$build/bench/strider_bench_halo3d
lib=$(find "$build" -name libstrider.so -type f -print -quit)
[ -x "$halo" ] || { echo "demo: $halo was not built" >&2; exit 1; }
[ -n "$lib" ] || { echo "demo: libstrider.so was not built under $build" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/libstrider.so
say "built in $((SECONDS - started)) s"

# Open MPI refuses to start as root without these; harmless otherwise.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Ranks are bound to cores (Open MPI's default) when there are enough cores: two busy-polling
# ranks left to the scheduler measure its time slices as much as the exchange. With more ranks
# than cores, binding would stack them: they run unbound, and --oversubscribe lets Open MPI
# start them and makes idle ranks yield.
cores=$(nproc 2>/dev/null || echo 2)
mpiexec_for() {  # RANKS: the launcher for that many ranks
  if [ "$1" -le "$cores" ]; then echo "mpiexec -n $1"; else echo "mpiexec --oversubscribe --bind-to none -n $1"; fi
}

# The performance model: measured once per system. strider-measure may not exist in this
# version; Strider then uses its built-in policy.
model_dir=${STRIDER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strider}
measure=$build/bin/strider-measure
if [ "${DEMO_SKIP_MEASURE:-0}" = 1 ]; then
  say "performance model: not measured (DEMO_SKIP_MEASURE=1); model dir $model_dir"
elif [ -f "$model_dir/model.json" ]; then
  say "performance model: $model_dir/model.json"
elif [ -x "$measure" ]; then
  say "performance model: none yet; strider-measure --quick (2 ranks)"
  timeout 180 $(mpiexec_for 2) "$measure" --quick \
    || echo "demo: strider-measure failed; Strider uses its built-in policy" >&2
else
  say "performance model: none, and strider-measure is not built in this version; built-in policy"
fi

# run MODE RANKS ARGS...: prints halo3d's RESULT line plus methods=... (the methods Strider
# reports for rank 0 with STRIDER_STATS=1; "-" natively).
run() {
  local mode=$1 ranks=$2 out methods=-
  shift 2
  local cmd
  read -r -a cmd <<<"$(mpiexec_for "$ranks")"
  [ "$mode" = strider ] && cmd+=(-x LD_PRELOAD="$lib" -x STRIDER_STATS=1)
  out=$("${cmd[@]}" "$halo" --reps "$run_reps" --warmup 3 "$@" 2>&1) || true
  if ! grep -q '^RESULT ' <<<"$out"; then
    printf 'demo: %s run (%d ranks, %s) failed:\n%s\n' "$mode" "$ranks" "$*" "$(tail -n 20 <<<"$out")" >&2
    echo "RESULT median_ms=nan verified=failed methods=-"
    return
  fi
  if [ "$mode" = strider ]; then
    methods=$(sed -n 's/^strider\[0\] stats: method-calls \([^ ]*\) .*/\1/p' <<<"$out" | sort -u | paste -sd+ -)
    methods=${methods:-none}
  fi
  echo "$(grep '^RESULT ' <<<"$out" | head -n 1) methods=$methods"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
median() { tr ' ' '\n' <<<"$*" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "nan" }'; }
# summarise BASE BASEMIN: from the arrays named BASE and BASEMIN (the baseline's medians and
# minima per run) and str, strmin and ratios, sets base_ms, str_ms, speedup, base_min, str_min,
# best, lo, hi and spread ("lo..hi" of the per-pair ratios).
summarise() {
  local -n base_runs=$1 base_mins=$2
  base_ms=$(median "${base_runs[@]}") str_ms=$(median "${str[@]}")
  speedup=$(ratio "$base_ms" "$str_ms")
  base_min=$(median "${base_mins[@]}") str_min=$(median "${strmin[@]}")
  best=$(ratio "$base_min" "$str_min")
  lo=$(tr ' ' '\n' <<<"${ratios[*]}" | sort -g | head -n 1) hi=$(tr ' ' '\n' <<<"${ratios[*]}" | sort -g | tail -n 1)
  spread=$(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.2f..%.2f", a, b }')
}

# ranks grid types method q r periodic: x-faces (8-byte blocks when r = 1) between ranks in all
# of them; in the last two, non-periodic in y and z, they are the only messages. MPI_Neighbor_alltoallw goes through Strider only in versions that intercept it; the
# "Strider methods" column (STRIDER_STATS) shows whether it packed anything.
configs=(
  "2 32 subarray-c isend 1 1 111"
  "2 64 subarray-c isend 1 1 111"
  "2 64 subarray-f isend 2 1 000"
  "2 64 vector sendrecv 4 1 111"
  "2 64 resized isend 1 2 111"
  "4 32 subarray-c isend 2 2 110"
  "4 32 vector isend 4 1 111"
  "4 64 resized sendrecv 1 1 111"
  "2 64 subarray-c alltoallw 1 1 111"
  "2 128 subarray-c isend 1 1 100"
  "2 128 vector isend 4 1 100"
)
if [ "${DEMO_QUICK:-0}" = 1 ]; then configs=("${configs[@]:0:5}"); fi

say "halo3d: ${#configs[@]} configurations x $rounds native/Strider pairs (alternating), ${reps:-2000, 500 or 200 (32^3, 64^3, larger)} exchanges each"
say "load average: $(cut -d' ' -f1-3 /proc/loadavg); Strider: $lib"
mkdir -p "$results"
csv=$results/demo.csv
# Device rows (the GPU part) put the hand-staged baseline in the native_* columns.
echo "grid,ranks,dims,types,method,q,r,periodic,bytes,native_ms,strider_ms,speedup,speedup_min,speedup_max,native_best_ms,strider_best_ms,speedup_best,verified,strider_methods,memory,baseline,cuda_aware_native_ms" >"$csv"
format='%-6s %5s %-6s %-10s %-9s %2s %2s %4s %8s %9s %10s %7s %11s %7s %4s  %s\n'
printf "$format" grid ranks dims types method q r per bytes "native ms" "Strider ms" speedup "min..max" "best" ok "Strider methods"
failed=0
for config in "${configs[@]}"; do
  read -r ranks n types method q r periodic <<<"$config"
  run_reps=$(reps_for "$n")
  args=(--n "$n" --types "$types" --method "$method" --q "$q" --r "$r" --periodic "$periodic")
  nat=() str=() natmin=() strmin=() ratios=() verified=yes methods=- dims=? bytes=?
  for ((k = 1; k <= rounds; k++)); do
    if ((k % 2)); then order=(native strider); else order=(strider native); fi
    for mode in "${order[@]}"; do
      line=$(run "$mode" "$ranks" "${args[@]}")
      [ "$(field "$line" verified)" = yes ] || verified=no
      if [ "$mode" = native ]; then
        nat+=("$(field "$line" median_ms)")
        natmin+=("$(field "$line" min_ms)")
        dims=$(field "$line" dims) bytes=$(field "$line" bytes)
      else
        str+=("$(field "$line" median_ms)")
        strmin+=("$(field "$line" min_ms)")
        methods=$(field "$line" methods)
      fi
    done
    ratios+=("$(awk -v a="${nat[-1]}" -v b="${str[-1]}" 'BEGIN { if (b + 0 > 0) print a / b; else print "nan" }')")
  done
  [ "$verified" = yes ] || failed=1
  summarise nat natmin
  printf "$format" "$n^3" "$ranks" "$dims" "$types" "$method" "$q" "$r" "$periodic" "$bytes" "$base_ms" "$str_ms" \
    "$speedup" "$spread" "$best" "$verified" "$methods"
  echo "$n^3,$ranks,$dims,$types,$method,$q,$r,$periodic,$bytes,$base_ms,$str_ms,$speedup,$lo,$hi,$base_min,$str_min,$best,$verified,$methods,host,native," >>"$csv"
done
say "ms: median over $rounds runs of each run's median exchange time (slowest rank); speedup = native / Strider"
say "(min..max: per native/Strider pair; best: the same from each run's fastest exchange, the undisturbed"
say "cost on a loaded machine); bytes: sent by all ranks per exchange. Wrote $csv"

# The GPU part: device arrays (--memory device). One small run decides whether there is a usable
# device: halo3d exits 77 without one (or when built without CUDA) and says why on a SKIP: line.
gpu_configs=(
  "2 32 subarray-c isend 1 1 111"
  "2 64 subarray-c isend 1 1 111"
  "2 128 subarray-c isend 1 1 111"
  "2 64 resized isend 1 1 111"
)
read -r -a probe_cmd <<<"$(mpiexec_for 2)"
probe_status=0
probe=$("${probe_cmd[@]}" "$halo" --n 8 --reps 1 --warmup 0 --memory device --staging hand 2>&1) || probe_status=$?
if [ "$probe_status" = 77 ]; then
  why=$(sed -n 's/^SKIP: //p' <<<"$probe" | head -n 1)
  say "GPU part skipped: ${why:-halo3d --memory device exited 77}"
elif [ "$probe_status" != 0 ]; then
  printf 'demo: GPU probe (halo3d --memory device --staging hand, 2 ranks) failed with status %s:\n%s\n' \
    "$probe_status" "$(tail -n 20 <<<"$probe")" >&2
  say "GPU part skipped: the probe run failed (status $probe_status)"
  failed=1
else
  # CUDA-aware MPI: only then can the datatypes be handed to it natively with device buffers.
  cuda_aware=0
  if grep -q 'mpi_built_with_cuda_support:value:true' <<<"$(ompi_info --parsable --all 2>/dev/null || true)"; then
    cuda_aware=1
  fi
  say "GPU part: device buffers, ${#gpu_configs[@]} configurations x $rounds hand-staged/Strider pairs (alternating)$(
    [ "$cuda_aware" = 1 ] && echo ", plus the CUDA-aware MPI natively" || echo "; the MPI is not CUDA-aware (no native column)")"
  gformat='%-6s %5s %-6s %-10s %-9s %8s %8s %10s %7s %11s %7s %11s %4s  %s\n'
  printf "$gformat" grid ranks dims types method bytes "hand ms" "Strider ms" speedup "min..max" "best" "CUDA-aware" ok \
    "Strider methods"
  for config in "${gpu_configs[@]}"; do
    read -r ranks n types method q r periodic <<<"$config"
    run_reps=$(reps_for "$n")
    args=(--n "$n" --types "$types" --method "$method" --q "$q" --r "$r" --periodic "$periodic" --memory device)
    hand=() str=() handmin=() strmin=() cuda=() ratios=() verified=yes methods=- dims=? bytes=?
    for ((k = 1; k <= rounds; k++)); do
      if ((k % 2)); then order=(hand strider); else order=(strider hand); fi
      [ "$cuda_aware" = 1 ] && order+=(cuda)
      for mode in "${order[@]}"; do
        case $mode in
          hand) line=$(run native "$ranks" "${args[@]}" --staging hand) ;;
          strider) line=$(run strider "$ranks" "${args[@]}") ;;
          cuda) line=$(run native "$ranks" "${args[@]}") ;;
        esac
        [ "$(field "$line" verified)" = yes ] || verified=no
        case $mode in
          hand)
            hand+=("$(field "$line" median_ms)")
            handmin+=("$(field "$line" min_ms)")
            dims=$(field "$line" dims) bytes=$(field "$line" bytes) ;;
          strider)
            str+=("$(field "$line" median_ms)")
            strmin+=("$(field "$line" min_ms)")
            methods=$(field "$line" methods) ;;
          cuda) cuda+=("$(field "$line" median_ms)") ;;
        esac
      done
      ratios+=("$(awk -v a="${hand[-1]}" -v b="${str[-1]}" 'BEGIN { if (b + 0 > 0) print a / b; else print "nan" }')")
    done
    [ "$verified" = yes ] || failed=1
    summarise hand handmin
    cuda_ms=
    [ "$cuda_aware" = 1 ] && cuda_ms=$(median "${cuda[@]}")
    printf "$gformat" "$n^3" "$ranks" "$dims" "$types" "$method" "$bytes" "$base_ms" "$str_ms" "$speedup" "$spread" \
      "$best" "${cuda_ms:--}" "$verified" "$methods"
    echo "$n^3,$ranks,$dims,$types,$method,$q,$r,$periodic,$bytes,$base_ms,$str_ms,$speedup,$lo,$hi,$base_min,$str_min,$best,$verified,$methods,device,hand-staged,$cuda_ms" >>"$csv"
  done
  say "GPU ms: as above; speedup = hand-staged / Strider (hand-staged: cudaMemcpy2D/3D of every box through"
  say "pinned host buffers, contiguous MPI, natively; CUDA-aware: the datatypes given to the MPI natively)"
fi

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF >/dev/null 2>&1 || echo "demo: gnuplot failed; the CSV is complete" >&2
set terminal png size 1000,500 noenhanced
set output "$results/demo.png"
set datafile separator ","
set title "halo3d: median time per exchange, host buffers (speedup = native / Strider above the bars)"
set ylabel "ms per exchange (log scale)"
set logscale y
set bmargin 9
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30 font ",8"
set key top left
plot "< grep -v ',device,hand-staged,' '$csv'" using 10:xtic(stringcolumn(1)." ".stringcolumn(2)."r ".stringcolumn(4)." ".stringcolumn(5)." q".stringcolumn(6)." r".stringcolumn(7)) title "native", \
     "" using 11 title "Strider", \
     "" using (\$0):(\$11):12 with labels offset 2.5,1 notitle
EOF
  if [ -f "$results/demo.png" ]; then say "wrote $results/demo.png"; fi
fi
say "done in $((SECONDS - started)) s"

if [ "$failed" != 0 ]; then
  echo "demo: some runs failed or did not verify (see above)" >&2
  exit 1
fi
