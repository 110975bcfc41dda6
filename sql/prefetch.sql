-- The prefetch worker's functions and settings on a server where
-- pgml_replication is not in shared_preload_libraries: no worker, no shared
-- memory, the functions still answer.
\pset null '(null)'
SELECT role, state, detail, worker_pid, files_wanted, files_done, files_failed,
       bytes_wanted, bytes_done, bytes_failed, current_repo, current_path,
       current_bytes, current_total, throughput_bytes_per_sec, last_error,
       last_error_at, last_cycle_started_at, last_cycle_finished_at,
       next_cycle_at, cycles, queued_files, paused_until
  FROM pgml_repl.prefetch_status();
SELECT * FROM pgml_repl.prefetch_queue();
SELECT pgml_repl.prefetch_now();

-- Settings and their defaults.
SELECT name, setting, unit, context, vartype, min_val, max_val
  FROM pg_settings
 WHERE name IN ('pgml_replication.prefetch', 'pgml_replication.naptime',
                'pgml_replication.hf_endpoint', 'pgml_replication.hf_token',
                'pgml_replication.hf_ca_file', 'pgml_replication.max_parallel_downloads',
                'pgml_replication.min_free_disk', 'pgml_replication.max_download_rate',
                'pgml_replication.prefetch_nice', 'pgml_replication.hf_sources',
                'pgml_replication.upstream_conninfo')
 ORDER BY name;
SHOW pgml_replication.naptime;
SHOW pgml_replication.min_free_disk;
SHOW pgml_replication.max_download_rate;
SHOW pgml_replication.prefetch_nice;

-- Where a standby fetches from: upstream and hub, each at most once.
ALTER SYSTEM SET pgml_replication.hf_sources = 'upstream, ftp';
ALTER SYSTEM SET pgml_replication.hf_sources = 'hub, HUB';
ALTER SYSTEM SET pgml_replication.hf_sources = '';
SET pgml_replication.hf_sources = 'hub';

-- Changed only in the server's configuration, and checked there.
SET pgml_replication.naptime = 5;
ALTER SYSTEM SET pgml_replication.naptime = 0;
ALTER SYSTEM SET pgml_replication.max_parallel_downloads = 65;
SET pgml_replication.prefetch_nice = 15;
SELECT set_config('pgml_replication.max_download_rate', '10MB', false);
-- A rate in kB per second (units accepted), at most INT_MAX kB.
ALTER SYSTEM SET pgml_replication.max_download_rate = -1;
ALTER SYSTEM SET pgml_replication.max_download_rate = '2TB';
ALTER SYSTEM SET pgml_replication.max_download_rate = '10 MB/s';
-- A nice value, 0 (the server's priority) .. 19 (the lowest).
ALTER SYSTEM SET pgml_replication.prefetch_nice = -1;
ALTER SYSTEM SET pgml_replication.prefetch_nice = 20;
ALTER SYSTEM SET pgml_replication.prefetch_nice = 'low';
ALTER SYSTEM SET pgml_replication.hf_endpoint = 'ftp://mirror.example';
ALTER SYSTEM SET pgml_replication.hf_endpoint = 'https://';
ALTER SYSTEM SET pgml_replication.hf_endpoint = 'https://mirror.example/ x';
-- A rejected token is quoted as the mask, never as typed.
ALTER SYSTEM SET pgml_replication.hf_token = 'hf_almost right';
ALTER SYSTEM SET pgml_replication.no_such_setting = 1;
