# The one list of sources. The PGXS Makefile includes this file and
# CMakeLists.txt parses it, so both builds compile exactly the same code.
#
# CORE_SRCS: plain C++17, never includes a PostgreSQL header.
# SHIM_SRCS: C, the only code that includes PostgreSQL headers.

CORE_SRCS = \
	src/core/status.cpp \
	src/core/text_util.cpp \
	src/core/auto_conf.cpp \
	src/core/primary_settings.cpp \
	src/core/identifiers.cpp \
	src/core/hba_file.cpp \
	src/core/password.cpp \
	src/core/health.cpp \
	src/core/shell_quote.cpp \
	src/core/standby_setup.cpp \
	src/core/standby_script.cpp \
	src/core/pgcat_config.cpp \
	src/core/pgbackrest_info.cpp \
	src/core/doctor.cpp \
	src/core/hf_cache_scan.cpp \
	src/core/hf_hash.cpp \
	src/core/hf_names.cpp \
	src/core/hf_manifest.cpp \
	src/core/hf_cache_paths.cpp \
	src/core/hf_cache_api.cpp \
	src/core/hf_fetch_rows.cpp \
	src/core/hf_fetch_hash.cpp \
	src/core/hf_fetch_sink.cpp \
	src/core/hf_fetch_pool.cpp \
	src/core/hf_fetch_fs.cpp \
	src/core/hf_fetch_sweep.cpp \
	src/core/hf_fetch_plan.cpp \
	src/core/hf_fetch_job.cpp \
	src/core/hf_fetch_api.cpp

SHIM_SRCS = \
	src/shim/module.c \
	src/shim/errors.c \
	src/shim/commit_actions.c \
	src/shim/configure_primary.c \
	src/shim/auto_conf_file.c \
	src/shim/replication_user.c \
	src/shim/hba_rules.c \
	src/shim/hba_notices.c \
	src/shim/archive_status.c \
	src/shim/replication_status.c \
	src/shim/operator_config.c \
	src/shim/doctor.c \
	src/shim/hf_cache.c \
	src/shim/prefetch_gucs.c \
	src/shim/prefetch_state.c \
	src/shim/prefetch_worker.c \
	src/shim/prefetch_cycle.c \
	src/shim/prefetch_priority.c

UNIT_TEST_SRCS = \
	test/unit/status_test.cpp \
	test/unit/auto_conf_test.cpp \
	test/unit/identifiers_test.cpp \
	test/unit/hba_file_test.cpp \
	test/unit/password_test.cpp \
	test/unit/health_test.cpp \
	test/unit/standby_setup_test.cpp \
	test/unit/pgcat_config_test.cpp \
	test/unit/pgbackrest_info_test.cpp \
	test/unit/doctor_test.cpp \
	test/unit/hf_cache_scan_test.cpp \
	test/unit/hf_hash_test.cpp \
	test/unit/hf_names_test.cpp \
	test/unit/hf_manifest_test.cpp \
	test/unit/hf_fetch_rows_test.cpp \
	test/unit/hf_fetch_plan_test.cpp \
	test/unit/hf_fetch_pool_test.cpp \
	test/unit/hf_fetch_hub_test.cpp
