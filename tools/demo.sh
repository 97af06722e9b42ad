#!/bin/bash
# The main job on a fresh Debian 12 machine: install the dependencies, build Strider (Release,
# build/demo), run the two-rank exchange demo natively and with libstrider.so preloaded for a
# few sizes, and print one table. Results go to results/demo.csv (and results/demo.svg when
# gnuplot is installed).
#   usage, from anywhere:  bash tools/demo.sh
# Environment: DEMO_REPS (repetitions per run, default 100), STRIDER_CUDA (AUTO, ON or OFF,
# default AUTO), BUILD_DIR (default build/demo), DEMO_SKIP_DEPS=1 (skip tools/install-deps.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/demo}
reps=${DEMO_REPS:-100}
results=results
say() { printf '== %s\n' "$*"; }

if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
  say "dependencies (tools/install-deps.sh)"
  bash tools/install-deps.sh
fi

say "configure and build (Release, $build)"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRIDER_CUDA="${STRIDER_CUDA:-AUTO}" \
  -DSTRIDER_BUILD_TESTS=OFF -DSTRIDER_BUILD_BENCH=OFF >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; echo "demo: configure failed" >&2; exit 1; }
cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1 \
  || { tail -n 60 "$build.build.log"; echo "demo: build failed (log: $build.build.log)" >&2; exit 1; }

demo=$build/examples/exchange/strider-demo-exchange
lib=$(find "$build" -name libstrider.so -type f -print -quit)
[ -x "$demo" ] || { echo "demo: $demo was not built" >&2; exit 1; }
[ -n "$lib" ] || { echo "demo: libstrider.so was not built under $build" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/libstrider.so
strider_run=$build/bin/strider-run

# Open MPI refuses to start as root without these; harmless otherwise.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Two ranks even on a one-core machine; no binding, so ranks are not pinned to one core.
mpiexec=(mpiexec --oversubscribe --bind-to none -n 2)

# run MODE CASE N: prints the RESULT line of one run, plus methods=... (the methods Strider
# reports for rank 0 with STRIDER_STATS=1, "none" when it reports none); MODE is native or
# strider.
run() {
  local mode=$1 args=(--case "$2" --n "$3" --reps "$reps" --warmup 10) out methods
  if [ "$mode" = native ]; then
    out=$("${mpiexec[@]}" "$demo" "${args[@]}" 2>&1) || true
  elif [ -x "$strider_run" ]; then
    out=$(STRIDER_STATS=1 "$strider_run" "${mpiexec[@]}" "$demo" "${args[@]}" 2>&1) || true
  else
    out=$("${mpiexec[@]}" -x STRIDER_STATS=1 -x LD_PRELOAD="$lib" "$demo" "${args[@]}" 2>&1) \
      || true
  fi
  if ! grep -q '^RESULT ' <<<"$out"; then
    printf 'demo: %s run of --case %s --n %s failed:\n%s\n' "$mode" "$2" "$3" "$out" >&2
    echo "RESULT median_ms=nan verified=failed methods=-"
    return
  fi
  methods=-
  if [ "$mode" = strider ]; then
    methods=$(sed -n 's/^strider\[0\] stats: method-calls \([^ ]*\) .*/\1/p' <<<"$out" \
      | sort -u | paste -sd+ -)
    methods=${methods:-none}
  fi
  echo "$(grep '^RESULT ' <<<"$out" | head -n 1) methods=$methods"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

if [ -x "$strider_run" ]; then how="$strider_run"; else how="LD_PRELOAD=$lib"; fi
say "exchange: 2 ranks, median of $reps repetitions; Strider via $how"
mkdir -p "$results"
csv=$results/demo.csv
echo "case,n,bytes,ranks,native_ms,strider_ms,speedup,verified,strider_methods" >"$csv"
format='%-8s %6s %9s %5s %10s %11s %8s %8s  %s\n'
printf "$format" case n bytes ranks "native ms" "Strider ms" speedup verified "Strider method"
failed=0
for spec in face:16 face:64 face:128 column:256 column:1024 column:2048; do
  c=${spec%%:*} n=${spec##*:}
  native=$(run native "$c" "$n")
  strider=$(run strider "$c" "$n")
  nat_ms=$(field "$native" median_ms) str_ms=$(field "$strider" median_ms)
  bytes=$(field "$native" bytes)
  [ -n "$bytes" ] || bytes=$(field "$strider" bytes)
  if [ "$(field "$native" verified)" = yes ] && [ "$(field "$strider" verified)" = yes ]; then
    verified=yes
  else
    verified=no failed=1
  fi
  speedup=$(awk -v a="$nat_ms" -v b="$str_ms" \
    'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "nan" }')
  methods=$(field "$strider" methods)
  printf "$format" "$c" "$n" "${bytes:-?}" 2 "$nat_ms" "$str_ms" "$speedup" "$verified" "$methods"
  echo "$c,$n,${bytes:-},2,$nat_ms,$str_ms,$speedup,$verified,$methods" >>"$csv"
done
say "wrote $csv"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF || echo "demo: gnuplot failed; the CSV is complete" >&2
set terminal svg size 800,450 noenhanced
set output "$results/demo.svg"
set datafile separator ","
set title "strider-demo-exchange, 2 ranks: median time per exchange"
set ylabel "ms (log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key top left
plot "$csv" using 5:xtic(stringcolumn(1)."-".stringcolumn(2)) title "native", \
     "" using 6 title "Strider"
EOF
  if [ -f "$results/demo.svg" ]; then say "wrote $results/demo.svg"; fi
fi

if [ "$failed" != 0 ]; then
  echo "demo: some runs failed or did not verify (see above)" >&2
  exit 1
fi
