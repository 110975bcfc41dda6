# A throwaway nginx serving the generated www/ trees, which mirror the Hub's
# /{repo_id}/resolve/{revision}/{path} URLs. Source, don't run.

# nginx_start DIR PORT ROOT [ADDR] [EXTRA_HTTP_DIRECTIVES]
nginx_start() {
	local dir="$1" port="$2" root="$3" addr="${4:-127.0.0.1}" extra="${5:-}"
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    $extra
    server {
        listen $addr:$port;
        root $root;
        location / { }
    }
}
EOF
	nginx -c "$dir/nginx.conf" -g 'user www-data;' >>"$BENCH_LOG" 2>&1 || return 1
	local i
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null "http://$addr:$port/" && return 0
		sleep 0.1
	done
	echo "nginx did not answer on $addr:$port" >&2
	return 1
}

nginx_stop() {
	local dir="$1"
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
	rm -f "$dir/nginx.pid"
	return 0
}
