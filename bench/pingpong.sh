#!/bin/bash
# Ping-pong of host objects, natively and with libstrider.so preloaded, side by side.
# Runs strider_bench_pingpong (2 ranks) alternately native and Strider, ROUNDS times each, in
# the order N S S N N S ... so that slow drift of a shared machine hits both alike; then joins
# the runs per case (see the comment above the join below).
#   usage: bash bench/pingpong.sh [--rounds K] [--quick] [--bind core|none] [--build DIR]
#                                 [--out DIR] [-- ARGS for strider_bench_pingpong]
# Writes OUT/pingpong.csv, OUT/pingpong.json and the raw runs under OUT/pingpong-runs/
# (OUT defaults to results/). Environment: STRIDER_LIB (library to preload; default the
# build's lib/libstrider.so), MPIEXEC (default mpiexec).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=3 quick=0 bind=core build=${BUILD_DIR:-$root/build/bench} out=$root/results
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --bind) bind=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "pingpong.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# The benchmark next to this script (installed) or in the build tree.
bin=$here/strider_bench_pingpong
[ -x "$bin" ] || bin=$build/bench/strider_bench_pingpong
[ -x "$bin" ] || { echo "pingpong.sh: $bin not built (cmake --build $build --target strider_bench_pingpong)" >&2; exit 1; }
lib=${STRIDER_LIB:-$build/lib/libstrider.so}
[ -f "$lib" ] || lib=$here/../../lib/libstrider.so
[ -f "$lib" ] || { echo "pingpong.sh: libstrider.so not found; set STRIDER_LIB" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")

if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpiexec=("${MPIEXEC:-mpiexec}" --bind-to "$bind" -n 2)
args=()
[ "$quick" = 1 ] && args+=(--quick)
args+=("${extra[@]}")

runs=$out/pingpong-runs
mkdir -p "$runs"
rm -f "$runs"/*.csv "$runs"/*.log

echo "== pingpong: $rounds rounds native/Strider alternating, bind-to $bind, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== Strider: $lib"
# run MODE ROUND: one run into $runs/MODE-ROUND.csv (stderr with Strider's counters: .log).
run() {
  local mode=$1 r=$2 env=()
  [ "$mode" = strider ] && env=(-x LD_PRELOAD="$lib" -x STRIDER_STATS=1)
  if ! "${mpiexec[@]}" "${env[@]}" "$bin" "${args[@]}" >"$runs/$mode-$r.csv" 2>"$runs/$mode-$r.log"; then
    echo "pingpong.sh: $mode run $r failed or did not verify:" >&2
    tail -n 20 "$runs/$mode-$r.log" >&2
    return 1
  fi
  printf '   round %d %-7s done (%s cases)\n' "$r" "$mode" "$(($(wc -l <"$runs/$mode-$r.csv") - 1))"
}
status=0
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then order=(native strider); else order=(strider native); fi
  for m in "${order[@]}"; do run "$m" "$r" || status=1; done
done

# Join, per case: the median over rounds of each run's median (native run, Strider run), the
# cross-run ratio native/Strider with its lowest and highest per-round value, and the same-run
# ratio of the Strider runs (PMPI samples = native, alternating with MPI samples = Strider,
# median over rounds) next to the same quantity in the native runs (both paths native: the
# noise floor, ideally 1.00).
csv=$out/pingpong.csv json=$out/pingpong.json
awk -F, -v rounds="$rounds" -v csv="$csv" -v json="$json" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n == 0 ? 0 : (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
  }
  FNR == 1 { np = split(FILENAME, p, "/"); f = p[np]; mode = substr(f, 1, index(f, "-") - 1)
             round = substr(f, index(f, "-") + 1); sub(/\.csv$/, "", round); next }
  {
    key = $1
    if (!(key in seen)) { seen[key] = 1; order[++ncase] = key; object[key] = $2; block[key] = $3; bytes[key] = $4 }
    med[mode, key] = med[mode, key] " " $7
    if ($7 > 0) inrun[mode, key] = inrun[mode, key] " " ($9 / $7)
    at[mode, key, round] = $7
    if ($11 != "yes") bad[key] = 1
    nrun[mode, key]++
  }
  END {
    fmt = "%-20s %-6s %5s %9s %10s %10s %6s %12s %8s %8s %4s\n"
    printf fmt, "case", "object", "block", "bytes", "native us", "strider us", "ratio", "min..max", "same-run", "control", "ok"
    print "case,object,block,bytes,native_us,strider_us,ratio,ratio_min,ratio_max,same_run_ratio,control_ratio,native_spread_pct,strider_spread_pct,rounds,verified" > csv
    printf "{\"benchmark\": \"pingpong\", \"statistic\": \"median over rounds of per-run medians of one-way time\", \"ratio\": \"native / strider (> 1: Strider faster)\", \"rounds\": %d, \"load_at_end\": \"%s\", \"results\": [", rounds, load > json
    for (i = 1; i <= ncase; i++) {
      k = order[i]
      if (nrun["native", k] == 0 || nrun["strider", k] == 0) continue
      n = median(med["native", k]); s = median(med["strider", k])
      same = median(inrun["strider", k]); control = median(inrun["native", k])
      lo = 1e300; hi = 0; nlo = 1e300; nhi = 0; slo = 1e300; shi = 0
      for (r = 1; r <= rounds; r++) {
        if (!(("native", k, r) in at) || !(("strider", k, r) in at)) continue
        a = at["native", k, r] + 0; b = at["strider", k, r] + 0
        if (b > 0) { q = a / b; if (q < lo) lo = q; if (q > hi) hi = q }
        if (a < nlo) nlo = a; if (a > nhi) nhi = a; if (b < slo) slo = b; if (b > shi) shi = b
      }
      ratio = s > 0 ? n / s : 0
      v = (k in bad) ? "no" : "yes"
      printf fmt, k, object[k], block[k], bytes[k], sprintf("%.3f", n), sprintf("%.3f", s), sprintf("%.2f", ratio),
             sprintf("%.2f..%.2f", lo, hi), sprintf("%.2f", same), sprintf("%.2f", control), v
      ns = n > 0 ? 100 * (nhi - nlo) / n : 0; ss = s > 0 ? 100 * (shi - slo) / s : 0
      printf "%s,%s,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.1f,%.1f,%d,%s\n", k, object[k], block[k], bytes[k], n, s, ratio, lo, hi, same, control, ns, ss, rounds, v > csv
      printf "%s\n  {\"case\": \"%s\", \"object\": \"%s\", \"block_bytes\": %s, \"bytes\": %s, \"native_us\": %.4f, \"strider_us\": %.4f, \"ratio\": %.4f, \"ratio_min\": %.4f, \"ratio_max\": %.4f, \"same_run_ratio\": %.4f, \"control_ratio\": %.4f, \"native_spread_pct\": %.1f, \"strider_spread_pct\": %.1f, \"verified\": %s}", (sep++ ? "," : ""), k, object[k], block[k], bytes[k], n, s, ratio, lo, hi, same, control, ns, ss, (v == "yes" ? "true" : "false") > json
    }
    print "\n]}" > json
  }' "$runs"/native-*.csv "$runs"/strider-*.csv
echo "== one-way times: median over $rounds rounds of per-run medians. ratio = native/Strider (> 1: Strider"
echo "   faster), min..max over rounds; same-run = PMPI/MPI samples alternating inside the Strider runs"
echo "   (native/Strider on the same machine state); control = the same inside the native runs (noise floor)"
methods=$(sed -n 's/^strider\[0\] stats: method-calls \([^ ]*\) \([0-9]*\)$/\1=\2/p' "$runs"/strider-1.log | paste -sd' ' -)
echo "== Strider rank 0 methods (round 1): ${methods:-none reported}"
echo "== wrote $csv $json"
exit $status
