# Shared shell helpers for the test runner and the demo. Source, don't run.
# Clusters run as the postgres OS user (initdb and postgres refuse root);
# when the caller is not root they run as the caller.

PGBIN="$(pg_config --bindir)"
PGXS_PERL="$(pg_config --pkglibdir)/pgxs/src/test/perl"
PG_REGRESS_BIN="$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress"
export PGBIN PGXS_PERL PG_REGRESS_BIN

if [ "$(id -u)" -eq 0 ]; then
	PG_OS_USER=postgres
	as_pg() { runuser -u postgres -- "$@"; }
	as_root() { "$@"; }
else
	PG_OS_USER="$(id -un)"
	as_pg() { "$@"; }
	as_root() { sudo "$@"; }
fi
export PG_OS_USER

# A folder the cluster user owns, with traversable parents.
make_pg_dir() {
	local dir
	dir="$(mktemp -d "${TMPDIR:-/tmp}/pgml_repl.$1.XXXXXX")"
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$dir"
	echo "$dir"
}

# A loopback TCP port nobody listens on (bounded number of tries), below
# the kernel's ephemeral range: a port that a client connection holds (or
# held, in TIME_WAIT after thousands of curl requests) answers no connect
# but still cannot be bound by a server.
free_port() {
	local port tries=0 lo=32768 base=10000 span
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	span=$((lo - base))
	((span >= 1000)) || { base=20000 span=30000; }
	while ((tries < 200)); do
		port=$((base + RANDOM % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
		tries=$((tries + 1))
	done
	echo "free_port: no free port found" >&2
	return 1
}

# scratch_cluster_start DIR PORT [extra postgresql.conf lines...]
# initdb in DIR/data, loopback only, trust auth for local test clients.
scratch_cluster_start() {
	local dir="$1" port="$2"
	shift 2
	as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -N >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	{
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		echo "fsync = off"
		echo "log_min_messages = warning"
		for line in "$@"; do echo "$line"; done
	} | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
		cat "$dir/server.log" >&2
		return 1
	}
}

scratch_cluster_stop() {
	local dir="$1"
	[ -f "$dir/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1
	return 0
}
