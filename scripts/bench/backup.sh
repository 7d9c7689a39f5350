#!/usr/bin/env bash
# cti-backup throughput and memory: events/s and peak RSS on generated streams of 50k and 100k
# events (about 1 KB each), without --fsync, into a folder on disk and into tmpfs (/dev/shm),
# plus the floor the file system sets: the same create+write+rename calls made by a bare
# Python loop. A flat RSS between the two sizes shows memory does not grow with the stream.
set -euo pipefail
cd "$(dirname "$0")/../.."
disk=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$disk" "$shm"' EXIT
swift build -c release --product cti-backup >/dev/null
bin=$(swift build -c release --show-bin-path)
python3 scripts/bench/gen_events.py 100000 > "$disk/events-100000.ndjson"
head -n 50000 "$disk/events-100000.ndjson" > "$disk/events-50000.ndjson"
report() { # label count seconds rss_kb
  python3 -c 'import sys; l,c,s,r=sys.argv[1],int(sys.argv[2]),max(float(sys.argv[3]),0.01),int(sys.argv[4]); print("%-28s %7d events  %6.2f s  %8.0f events/s  peak RSS %6.1f MB" % (l,c,s,c/s,r/1024))' "$@"
}
for target in "$disk" "$shm"; do
  for count in 50000 100000; do
    rm -rf "$target/backup" && mkdir "$target/backup"
    /usr/bin/time -f "%e %M" -o "$disk/time" "$bin/cti-backup" --quiet "$target/backup" < "$disk/events-$count.ndjson"
    read -r seconds rss < "$disk/time"
    report "cti-backup ($([ "$target" = "$disk" ] && echo disk || echo tmpfs))" "$count" "$seconds" "$rss"
  done
  rm -rf "$target/backup"
done
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
