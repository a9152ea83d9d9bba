#!/bin/sh
# The sandbox's entrypoint: mounts a workspace with wsd, runs the command it was given inside the
# mount (none: waits), and unmounts cleanly when the command ends or on SIGTERM/SIGINT.
#
#   WORKSPACE_URL    the workspace, http(s)://host/w/<workspace> (required)
#   WORKSPACE_TOKEN  its token, when the server has tokens on
#   WORKSPACE_DIR    where to mount it (default /workspace)
#
# Exits with the command's status; 143 after SIGTERM; wsd's status if it could not mount.
set -eu

: "${WORKSPACE_URL:?set WORKSPACE_URL to the workspace to mount, http(s)://host/w/<workspace>}"
# The installed wsd (the image's); in a checkout of the repository, its own.
wsd="$(command -v wsd || echo "$(dirname "$0")/../../bin/wsd.js")"
dir="${WORKSPACE_DIR:-/workspace}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd -P)"

# The token goes in wsd's environment (WSD_TOKEN, the same as --token), not on its command line.
WSD_TOKEN="${WORKSPACE_TOKEN:-}" "$wsd" mount "$WORKSPACE_URL" "$dir" &
wsd_pid=$!
command_pid=""

# Stops the command, then wsd, which unmounts after pushing what is left.
stop() {
  trap - TERM INT
  if [ -n "$command_pid" ]; then kill -TERM "$command_pid" 2>/dev/null || true; fi
  kill -TERM "$wsd_pid" 2>/dev/null || true
  wait "$wsd_pid" || true
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT

until grep -qsF " $dir fuse" /proc/mounts; do
  if ! kill -0 "$wsd_pid" 2>/dev/null; then
    status=0
    wait "$wsd_pid" || status=$?
    echo "entrypoint: wsd exited ($status) before mounting $dir" >&2
    exit $((status == 0 ? 1 : status))
  fi
  sleep 0.1
done

# The command runs in the background so that a signal is handled at once; fd 3 hands it this
# script's stdin (a background job's own is /dev/null), so `docker run -it ... bash` works.
exec 3<&0
if [ "$#" -gt 0 ]; then
  (cd "$dir" && exec "$@" <&3 3<&-) &
else
  sleep infinity <&3 3<&- &
fi
command_pid=$!
status=0
wait "$command_pid" || status=$?
command_pid=""
stop
exit "$status"
