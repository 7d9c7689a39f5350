#!/usr/bin/env bash
# cti-backup throughput and memory: events/s and peak RSS on generated streams of 50k and 100k
# events (about 1 KB each), without --fsync, into a folder on disk and into tmpfs (/dev/shm),
# plus the floor the file system sets: the same create+write+rename calls made by a bare
# Python loop. A flat RSS between the two sizes shows memory does not grow with the stream
# (beyond the id index: one entry of ~40 bytes per file in the tree).
#
# Then the start-up cost of the id index (one listing per bucket folder): a tree of 200,000
# files in 100 folders, opened to apply one event.
#
# CTI_BACKUP_BASELINE=/path/to/an/older/cti-backup runs that binary on the same streams and
# tree right after each measurement, for a before/after on the same machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
disk=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$disk" "$shm"' EXIT
swift build -c release --product cti-backup >/dev/null
bin=$(swift build -c release --show-bin-path)
baseline=${CTI_BACKUP_BASELINE:-}
python3 scripts/bench/gen_events.py 100000 > "$disk/events-100000.ndjson"
head -n 50000 "$disk/events-100000.ndjson" > "$disk/events-50000.ndjson"
report() { # label count seconds rss_kb
  python3 -c 'import sys; l,c,s,r=sys.argv[1],int(sys.argv[2]),max(float(sys.argv[3]),0.01),int(sys.argv[4]); print("%-36s %7d events  %6.2f s  %8.0f events/s  peak RSS %6.1f MB" % (l,c,s,c/s,r/1024))' "$@"
}
measure() { # label binary target input count
  rm -rf "$3/backup" && mkdir "$3/backup"
  /usr/bin/time -f "%e %M" -o "$disk/time" "$2" --quiet "$3/backup" < "$4"
  read -r seconds rss < "$disk/time"
  report "$1" "$5" "$seconds" "$rss"
}
for target in "$disk" "$shm"; do
  where=$([ "$target" = "$disk" ] && echo disk || echo tmpfs)
  for count in 50000 100000; do
    measure "cti-backup ($where)" "$bin/cti-backup" "$target" "$disk/events-$count.ndjson" "$count"
    if [ -n "$baseline" ]; then
      measure "baseline ($where)" "$baseline" "$target" "$disk/events-$count.ndjson" "$count"
    fi
  done
  rm -rf "$target/backup"
done

# Start-up on a big tree: 200,000 files in 100 hour folders, built once on tmpfs.
python3 - "$shm/big" <<'PY'
import os, sys
root = os.path.join(sys.argv[1], "opencti_data")
for folder in range(100):
    path = os.path.join(root, "202401%02dT%02d0000Z" % (1 + folder // 24, folder % 24))
    os.makedirs(path)
    for n in range(2000):
        uid = folder * 2000 + n
        name = "indicator--%08x-0000-4000-8000-%012x.json" % (uid, uid)
        with open(os.path.join(path, name), "w") as f:
            f.write('{"type":"bundle","objects":[{"id":"%s"}]}' % name[:-5])
PY
one=$(head -n 1 "$disk/events-50000.ndjson")
startup() { # label binary
  /usr/bin/time -f "%e %M" -o "$disk/time" "$2" --quiet "$shm/big" <<< "$one"
  read -r seconds rss < "$disk/time"
  printf '%-36s 200000 files  %6.2f s to open and apply one event  peak RSS %6.1f MB\n' "$1" "$seconds" "$(awk "BEGIN { print $rss / 1024 }")"
}
startup "cti-backup start-up (tmpfs)" "$bin/cti-backup"
if [ -n "$baseline" ]; then startup "baseline start-up (tmpfs)" "$baseline"; fi
rm -rf "$shm/big"

floor=$(python3 - "$disk" <<'PY'
import os, sys, time
root = os.path.join(sys.argv[1], "floor")
os.mkdir(root)
start = time.perf_counter()
for i in range(20000):
    folder = os.path.join(root, str(i // 2000))
    if i % 2000 == 0:
        os.mkdir(folder)
    tmp = os.path.join(folder, ".t%d" % i)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"x" * 1100)
    os.close(fd)
    os.rename(tmp, os.path.join(folder, "indicator--%036d.json" % i))
print("%.0f" % (20000 / (time.perf_counter() - start)))
PY
)
echo "file-system floor (disk, bare create+write+rename in Python): $floor files/s"
