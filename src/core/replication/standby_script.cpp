// The body of the script standby_setup() returns: everything after the
// settings block. Static bash text, except the lines standby_setup.cpp
// renders from validated, quoted values (the pgpass example line, the
// restore_command line) and the optional model cache step.
//
// The order is the safety argument: steps 1-4 only read (the local checks,
// one replication connection to the primary, what the data directory holds,
// where the copy can go); the first change is in step 5, and from there an
// EXIT trap puts back what was there if a later step fails.
#include "common/core_only.hpp"
#include "replication/standby_script.hpp"

namespace pgmlr {

namespace {

constexpr std::string_view kHelpers = R"SH(
FORCE=no
CHECK_ONLY=no
IN_PLACE=no
for arg in "$@"; do
	case "$arg" in
		--force) FORCE=yes ;;
		--check) CHECK_ONLY=yes ;;
		--in-place) IN_PLACE=yes ;;
		*) echo "usage: bash $0 [--check] [--force] [--in-place]" >&2; exit 2 ;;
	esac
done

say() { printf '%s\n' "$*"; }
fail() {
	printf 'standby_setup: %s\n' "$*" >&2
	exit 1
}
# A refusal that --force overrides.
refuse() {
	if [ "$FORCE" = yes ]; then
		say "--force: replacing $PGDATA_DIR although $*"
	else
		fail "refusing to replace $PGDATA_DIR: $*. Nothing was changed; --force replaces it anyway."
	fi
}
# Whether the server running from $PGDATA_DIR is the one $PRIMARY_HOST:
# $PRIMARY_PORT leads to: it listens on that port, and that address is
# one of this host's.
serves_primary_address() {
	local pid_port address local_address
	pid_port="$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
	[ "$pid_port" = "$PRIMARY_PORT" ] || return 1
	for address in $(getent ahosts "$PRIMARY_HOST" 2>/dev/null | awk '{print $1}' | sort -u); do
		case "$address" in 127.* | ::1) return 0 ;; esac
		for local_address in $(hostname -I 2>/dev/null); do
			[ "$address" = "$local_address" ] && return 0
		done
	done
	return 1
}
WAS_RUNNING=no
stop_local_server() {
	if "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
		"$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop
		WAS_RUNNING=yes
	fi
}
start_server() {
	"$PGBIN/pg_ctl" -D "${PGCONF_DIR:-$PGDATA_DIR}" -l "$PG_CTL_LOG" -w -t "$PG_CTL_TIMEOUT" \
		${PG_CTL_START_OPTIONS:+-o "$PG_CTL_START_OPTIONS"} start
}
# On a failure from step 5 on: put back what the data directory held.
STAGE=checks
MODE=none
CREATED_DIR=no
on_exit() {
	local rc=$?
	set +e
	[ "$rc" -eq 0 ] && return
	case "$STAGE:$MODE" in
		copy:swap)
			rm -rf -- "$NEW_DIR"
			say "removed the unfinished copy $NEW_DIR; $PGDATA_DIR was not touched" >&2 ;;
		copy:direct)
			find "$PGDATA_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
			[ "$CREATED_DIR" = yes ] && rmdir -- "$PGDATA_DIR"
			say "removed the unfinished copy from $PGDATA_DIR" >&2 ;;
		copy:in_place)
			say "$PGDATA_DIR was emptied (--in-place) and holds an unfinished copy: run the script again" >&2 ;;
		swap:swap)
			say "the swap or the start of the new replica failed; putting the old data directory back" >&2
			[ -f "$PG_CTL_LOG" ] && tail -n 20 -- "$PG_CTL_LOG" >&2
			if [ -d "$OLD_DIR" ]; then
				if [ -d "$PGDATA_DIR" ]; then
					"$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1
					rm -rf -- "$PGDATA_DIR"
				fi
				mv -T -- "$OLD_DIR" "$PGDATA_DIR"
			fi
			rm -rf -- "$NEW_DIR"
			if [ "$WAS_RUNNING" = yes ]; then
				start_server || say "the old replica did not start again either: see $PG_CTL_LOG" >&2
			fi
			say "$PGDATA_DIR holds the old data directory again" >&2 ;;
	esac
}
)SH";

constexpr std::string_view kLocalChecks = R"SH(case "$PGPASSFILE" in
	/*) ;;
	*) fail "PGPASSFILE must be an absolute path: $PGPASSFILE" ;;
esac
case "$PGPASSFILE" in
	*[\'\\]* | *$'\n'*) fail "PGPASSFILE must not contain quotes, backslashes or newlines" ;;
esac
if [ ! -r "$PGPASSFILE" ]; then
	fail "no password file at $PGPASSFILE: create it first (step 1)"
fi
case "$APPLICATION_NAME" in
	'' | *[!A-Za-z0-9_.-]*) fail "APPLICATION_NAME must be letters, digits, '_', '-' and '.'" ;;
esac
case "${PGDATA_DIR:?PGDATA_DIR is empty}" in
	/*[!/]*) ;;
	*) fail "refusing to use $PGDATA_DIR as the data directory: not an absolute path below /" ;;
esac
while [ "${PGDATA_DIR%/}" != "$PGDATA_DIR" ]; do PGDATA_DIR="${PGDATA_DIR%/}"; done
if [ "${PGCONF_DIR%/}" = "$PGDATA_DIR" ]; then
	PGCONF_DIR=
fi
if [ -L "$PGDATA_DIR" ]; then
	# The folder it points to is the one to replace.
	PGDATA_DIR="$(readlink -f -- "$PGDATA_DIR")"
	say "the data directory is a symbolic link to $PGDATA_DIR"
fi
for program in pg_basebackup pg_controldata pg_ctl postgres psql; do
	if [ ! -x "$PGBIN/$program" ]; then
		fail "$PGBIN/$program not found: set PGBIN to the folder of PostgreSQL's programs"
	fi
done

# --- 2. Can this host replicate from the primary? -------------------------
# One replication connection, as pg_basebackup and the standby make it: it
# proves the password file, the primary's pg_hba.conf rule and the role's
# REPLICATION attribute, and reads the primary's system identifier.
if ! identify="$("$PGBIN/psql" -X -A -t -F ' ' -w -c IDENTIFY_SYSTEM \
	-d "$PRIMARY_CONNINFO replication=true connect_timeout=10" 2>&1)"; then
	fail "cannot replicate from $PRIMARY_HOST:$PRIMARY_PORT as $REPLICATION_ROLE. Nothing was changed.
$identify
Check the password in $PGPASSFILE, the primary's pg_hba.conf rule for this host
(SELECT * FROM pgml_repl.allow_replica('<this host's address>'); on the primary)
and that the role has REPLICATION."
fi
read -r PRIMARY_SYSTEM_ID _ <<<"$identify"
case "$PRIMARY_SYSTEM_ID" in
	'' | *[!0-9]*) fail "unexpected answer to IDENTIFY_SYSTEM from the primary: $identify" ;;
esac
say "ok: $REPLICATION_ROLE may replicate from $PRIMARY_HOST:$PRIMARY_PORT (system identifier $PRIMARY_SYSTEM_ID)"

# --- 3. What does the data directory hold? --------------------------------
# Replaced without --force: nothing, an empty folder, or a standby of this
# same primary (standby.signal and the primary's system identifier).
# Never replaced, even with --force: a running server that is the primary
# (reached at PRIMARY_HOST:PRIMARY_PORT) or not a standby.
TARGET=empty
if [ -e "$PGDATA_DIR" ] && [ ! -d "$PGDATA_DIR" ]; then
	fail "$PGDATA_DIR exists and is not a directory. Nothing was changed."
fi
if [ -d "$PGDATA_DIR" ] && [ -n "$(ls -A -- "$PGDATA_DIR")" ]; then
	TARGET=other
	local_running=no
	if "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
		local_running=yes
	fi
	if [ "$local_running" = yes ] && serves_primary_address; then
		fail "refusing to touch $PGDATA_DIR: the server running from it listens on port $PRIMARY_PORT of this host, where $PRIMARY_HOST:$PRIMARY_PORT leads: it is the server to copy from. Nothing was changed."
	fi
	if [ ! -f "$PGDATA_DIR/global/pg_control" ]; then
		refuse "it is not empty and holds no PostgreSQL cluster (no global/pg_control)"
	elif ! controldata="$(LC_ALL=C "$PGBIN/pg_controldata" -D "$PGDATA_DIR" 2>&1)"; then
		refuse "its control file cannot be read: $controldata"
	else
		local_system_id="$(sed -n 's/^Database system identifier: *//p' <<<"$controldata")"
		local_state="$(sed -n 's/^Database cluster state: *//p' <<<"$controldata")"
		if [ "$local_system_id" != "$PRIMARY_SYSTEM_ID" ]; then
			refuse "it holds another cluster (system identifier $local_system_id; the primary's is $PRIMARY_SYSTEM_ID)"
		elif [ ! -e "$PGDATA_DIR/standby.signal" ]; then
			if [ "$local_running" = yes ]; then
				fail "refusing to touch $PGDATA_DIR: a server runs from it that is not a standby and has the primary's system identifier ($local_state): the primary itself, or a promoted copy of it. Nothing was changed. To rebuild a promoted copy as a replica, stop it first, then run this script with --force."
			fi
			refuse "it holds the primary's cluster but no standby (no standby.signal; state: $local_state): the primary itself, stopped, or a promoted copy of it"
		else
			TARGET=standby
			say "ok: $PGDATA_DIR holds a standby of this primary ($local_state)"
		fi
	fi
fi

# --- 4. Where the copy goes ------------------------------------------------
# A missing or empty data directory receives the copy directly. Otherwise
# the copy is made next to it, in $PGDATA_DIR.pgml_new on the same file
# system, while the local server keeps running; step 8 swaps the two.
NEW_DIR="$PGDATA_DIR.pgml_new"
OLD_DIR="$PGDATA_DIR.pgml_old"
PARENT_DIR="$(dirname -- "$PGDATA_DIR")"
if [ "$TARGET" = empty ]; then
	MODE=direct
	if [ -d "$PGDATA_DIR" ] && [ ! -w "$PGDATA_DIR" ]; then
		fail "$PGDATA_DIR is not writable by $(id -un). Nothing was changed."
	elif [ ! -d "$PGDATA_DIR" ] && [ ! -w "$PARENT_DIR" ]; then
		fail "cannot create $PGDATA_DIR: $PARENT_DIR is not writable by $(id -un). Nothing was changed."
	fi
elif [ "$IN_PLACE" = yes ]; then
	MODE=in_place
	if [ ! -w "$PGDATA_DIR" ]; then
		fail "$PGDATA_DIR is not writable by $(id -un). Nothing was changed."
	fi
else
	MODE=swap
	if mountpoint -q -- "$PGDATA_DIR" 2>/dev/null; then
		fail "$PGDATA_DIR is a mount point: a copy next to it cannot be renamed into its place. Nothing was changed. Run the script with --in-place (the local server is then down during the copy)."
	fi
	if [ ! -w "$PARENT_DIR" ]; then
		fail "cannot create $NEW_DIR: $PARENT_DIR is not writable by $(id -un). Nothing was changed. Make it writable, or run the script with --in-place (the local server is then down during the copy)."
	fi
	for leftover in "$NEW_DIR" "$OLD_DIR"; do
		if [ -e "$leftover" ]; then
			fail "$leftover exists, left by an interrupted run? Check it, remove it (rm -rf -- '$leftover') and run the script again. Nothing was changed."
		fi
	done
fi
case "$MODE" in
	direct) say "ok: the copy goes straight into $PGDATA_DIR" ;;
	in_place) say "ok: --in-place: the local server stops now and $PGDATA_DIR is emptied for the copy" ;;
	swap) say "ok: the copy goes to $NEW_DIR; a running local server keeps running until the swap" ;;
esac
if [ "$CHECK_ONLY" = yes ]; then
	say "all checks passed; nothing was changed (--check)"
	exit 0
fi

# --- 5. Copy the primary, streaming the WAL written meanwhile --------------
# From here on a failure puts back what was there (on_exit above).
COPY_DIR="$PGDATA_DIR"
if [ "$MODE" = swap ]; then
	COPY_DIR="$NEW_DIR"
fi
trap on_exit EXIT
trap 'exit 130' INT TERM HUP
STAGE=copy
if [ "$MODE" = in_place ]; then
	stop_local_server
	find "$PGDATA_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
fi
if [ ! -d "$COPY_DIR" ]; then
	CREATED_DIR=yes
	mkdir -m 700 -- "$COPY_DIR"
fi
"$PGBIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_ROLE" \
	-D "$COPY_DIR" -X stream --checkpoint=fast --no-password

# --- 6. Standby settings, appended to the copy's postgresql.auto.conf -----
# Later lines win over earlier ones, so the primary's copied settings stay
# unless named here.
AUTO_CONF="$COPY_DIR/postgresql.auto.conf"
printf "primary_conninfo = '%s application_name=%s passfile=''%s'''\n" \
	"$PRIMARY_CONNINFO" "$APPLICATION_NAME" "$PGPASSFILE" >>"$AUTO_CONF"
cat >>"$AUTO_CONF" <<'PGMLR_END_OF_SETTINGS'
)SH";

constexpr std::string_view kLibraries = R"SH(hot_standby = on
PGMLR_END_OF_SETTINGS
# shared_preload_libraries: keep what the copied configuration lists and
# add pgml_replication, whose worker prefetches the model cache.
if [ -z "$PGCONF_DIR" ]; then
	current_libraries="$("$PGBIN/postgres" -D "$COPY_DIR" -C shared_preload_libraries)"
else
	current_libraries="$("$PGBIN/postgres" -D "$PGCONF_DIR" -c "data_directory=$COPY_DIR" -C shared_preload_libraries)"
fi
case ",$(printf '%s' "$current_libraries" | tr -d ' "')," in
	*,pgml_replication,*) libraries="$current_libraries" ;;
	,,) libraries=pgml_replication ;;
	*) libraries="$current_libraries,pgml_replication" ;;
esac
libraries="${libraries//\\/\\\\}"
libraries="${libraries//\'/\'\'}"
printf "shared_preload_libraries = '%s'\n" "$libraries" >>"$AUTO_CONF"
touch "$COPY_DIR/standby.signal"

)SH";

constexpr std::string_view kStart = R"SH(
# --- 8. Start the replica -------------------------------------------------
# With a copy made next to the old data directory, the local server stops
# only now; two renames put the copy in its place, and the old one is
# deleted once the new replica runs. If it does not start, on_exit puts the
# old data directory back and starts it again.
if [ "$MODE" = swap ]; then
	STAGE=swap
	stop_local_server
	mv -T -- "$PGDATA_DIR" "$OLD_DIR"
	mv -T -- "$NEW_DIR" "$PGDATA_DIR"
fi
start_server
STAGE=started
if [ "$MODE" = swap ]; then
	rm -rf -- "$OLD_DIR"
fi

# --- 9. Verify -------------------------------------------------------------
echo "replica started; check it streams with:"
echo "  psql -c 'SELECT * FROM pgml_repl.replication_status();'"
)SH";

}  // namespace

std::string render_standby_script_body(const StandbyScriptParts &p) {
	std::string o;
	o += "\n# --- Helpers -------------------------------------------------------------";
	o += kHelpers;
	o += "\n# --- 1. Local checks -------------------------------------------------------\n";
	o += "# The password never appears in this script or in the server's settings.\n";
	o += "# Create the file once, readable by you only (write ':' and '\\' in the\n";
	o += "# password as '\\:' and '\\\\'):\n";
	o += "#   (umask 077; echo " + p.pgpass_example + " >> \"$PGPASSFILE\")\n";
	o += kLocalChecks;
	o += p.restore_command_line + "\n";
	o += kLibraries;
	o += "# --- 7. Model cache --------------------------------------------------------\n";
	if (p.copy_model_cache) {
		o += "# Optional: the pgml_replication prefetch worker downloads the primary's\n";
		o += "# models by itself; copying saves the download. Needs ssh to the primary.\n";
		o += "HF_HUB_DIR=/var/lib/postgresql/.cache/huggingface/hub\n";
		o += "mkdir -p \"$HF_HUB_DIR\"\n";
		o += "rsync -a --partial \"$PRIMARY_HOST:$HF_HUB_DIR/\" \"$HF_HUB_DIR/\"\n";
	} else {
		o += "# Nothing to copy: the pgml_replication prefetch worker downloads the\n";
		o += "# models the primary lists (standby_setup(copy_model_cache => true)\n";
		o += "# adds an rsync step instead).\n";
	}
	o += kStart;
	return o;
}

}  // namespace pgmlr
