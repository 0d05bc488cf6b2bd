#!/usr/bin/env bash
# Compares rwdoctor builds on one input, interleaved: every round runs each
# binary once, in turn, after reading the input again, so that this VM's
# drifts fall on all of them alike. Prints the min and median wall and CPU
# (user + system) time of each, in milliseconds (GNU time: 10 ms steps).
#
#   bash bench/ab.sh [-n ROUNDS] [-t THREADS] INPUT BINARY...
#
#   cp target/release/rwdoctor /tmp/rw-before   # build, change, build again
#   bash bench/ab.sh -n 8 -t 2 /tmp/rwdoctor-bench/meta-1G-i5-s1.log \
#       /tmp/rw-before target/release/rwdoctor
#
# The per-change numbers in the commit messages came from a copy of this script.
set -euo pipefail

rounds=6
threads=1
while getopts "n:t:" opt; do
    case $opt in
    n) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if (($# < 2)); then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
input=$1
shift
/usr/bin/time -f %e true 2>/dev/null || {
    echo "ab.sh: needs GNU time (/usr/bin/time; apt-get install time)" >&2
    exit 2
}
for binary in "$@"; do
    [[ -x $binary ]] || {
        echo "ab.sh: $binary is not an executable" >&2
        exit 2
    }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for ((round = 0; round < rounds; round++)); do
    for index in $(seq 0 $(($# - 1))); do
        binary=${*:$((index + 1)):1}
        cat "$input" >/dev/null
        # exit 1 (findings) is expected; only the times matter here
        /usr/bin/time -o "$scratch/time" -f "%e %U %S" \
            "$binary" --threads "$threads" --format json "$input" >"$scratch/out.json" 2>/dev/null || true
        tail -n 1 "$scratch/time" >"$scratch/time.last"
        read -r wall user system <"$scratch/time.last"
        awk -v w="$wall" -v u="$user" -v s="$system" 'BEGIN { printf "%d %d\n", w * 1000, (u + s) * 1000 }' >>"$scratch/runs-$index"
    done
done

summary() { # column of a runs file → "min M med M"
    cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "min %d med %d", v[1], v[int((NR + 1) / 2)] }'
}
for index in $(seq 0 $(($# - 1))); do
    binary=${*:$((index + 1)):1}
    printf '%s  wall: %s  cpu: %s  (ms, %d rounds, --threads %d)\n' \
        "$binary" "$(summary "$scratch/runs-$index" 1)" "$(summary "$scratch/runs-$index" 2)" "$rounds" "$threads"
done
