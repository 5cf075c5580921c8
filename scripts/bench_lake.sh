# Sourced by the bench scripts that need a large generated lake (needs `log`, KVAUDIT and
# BENCH_DIR set). Defines `build_lake LAKE DAYS`: the lake holds the first DAYS days from
# START of `kvaudit generate --teams TEAMS --scale SCALE --seed SEED`, generated and
# ingested CHUNK_DAYS at a time (JSON deleted once ingested, so the disk holds one chunk of
# JSON at most beside the lake).
#
# Idempotent and growable: each chunk leaves a marker (`LAKE.chunks/<first day>` holding its
# number of days), a chunk whose marker exists is skipped, an interrupted chunk is ingested
# again (ingest is idempotent per source file), and a later call with more DAYS adds only
# the missing days. Changing TEAMS/SCALE/SEED/START starts a new lake.
TEAMS=${TEAMS:-20}
SCALE=${SCALE:-2.0}
SEED=${SEED:-7}
START=${START:-2026-10-01}
CHUNK_DAYS=${CHUNK_DAYS:-3}

build_lake() {
    local lake=$1 days=$2
    local marks=$lake.chunks
    local params="teams=$TEAMS scale=$SCALE seed=$SEED start=$START"
    if [ "$(cat "$marks/params" 2>/dev/null)" != "$params" ]; then
        log "new lake $lake ($params)"
        rm -rf "$lake" "$marks" "$lake".gen-*
        mkdir -p "$marks"
        echo "$params" >"$marks/params"
    fi
    local day=0 n first gen want resumed before added
    while [ "$day" -lt "$days" ]; do
        first=$(date -u -d "$START + $day days" +%F)
        if [ -f "$marks/$first" ]; then
            day=$(( day + $(cat "$marks/$first") ))
            continue
        fi
        n=$(( days - day < CHUNK_DAYS ? days - day : CHUNK_DAYS ))
        # Each chunk in a folder of its own: ingest keys sources by absolute path, and the
        # hour after a chunk's last day holds that day's late records under the same blob
        # path as the next chunk's first hour.
        gen=$lake.gen-$first
        rm -rf "$lake".gen-*
        want=$(for i in $(seq 0 $(( n - 1 ))); do date -u -d "$first + $i days" +%F; done)
        resumed=0
        [ -f "$marks/$first.started" ] && resumed=1 # an interrupted run of this chunk
        before=$(lake_dates "$lake")
        if [ "$resumed" = 0 ] && [ -n "$(comm -12 <(echo "$before") <(echo "$want"))" ]; then
            echo "chunk $first: its dates are already in the lake" >&2
            return 1
        fi
        touch "$marks/$first.started"
        log "chunk $first (+$n days): generate --teams $TEAMS --scale $SCALE --seed $SEED"
        "$KVAUDIT" generate --out "$gen" --start "$first" --days "$n" --teams "$TEAMS" --scale "$SCALE" \
            --seed "$SEED" --format json >"$marks/$first.generate.json"
        log "chunk $first: $(du -sh "$gen" | cut -f1) of JSON; ingest"
        "$KVAUDIT" --lake "$lake" ingest --from "$gen/insights-logs-auditevent" --format json --no-progress \
            >"$marks/$first.ingest.json"
        rm -rf "$gen"
        # The chunk added exactly its own event dates: consecutive chunks never share a date.
        added=$(comm -13 <(echo "$before") <(lake_dates "$lake"))
        if [ "$resumed" = 1 ]; then
            added=$(comm -12 <(lake_dates "$lake") <(echo "$want"))
        fi
        if [ "$added" != "$want" ]; then
            echo "chunk $first added dates [$added], expected [$want]" >&2
            return 1
        fi
        echo "$n" >"$marks/$first"
        day=$(( day + n ))
    done
}

lake_dates() { if [ -d "$1/events" ]; then ls "$1/events" | sed -n "s/^date=//p" | sort; fi; }
