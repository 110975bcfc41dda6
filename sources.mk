# The one list of sources. The PGXS Makefile includes this file and
# CMakeLists.txt parses it, so both builds compile exactly the same code.
#
# CORE_SRCS: plain C++17, never includes a PostgreSQL header.
# SHIM_SRCS: C, the only code that includes PostgreSQL headers.

CORE_SRCS = \
	src/core/common/api.cpp \
	src/core/common/text.cpp \
	src/core/replication/auto_conf.cpp \
	src/core/replication/primary_settings.cpp \
	src/core/replication/identifiers.cpp \
	src/core/replication/hba_file.cpp \
	src/core/replication/password.cpp \
	src/core/health/status_checks.cpp \
	src/core/common/shell_quote.cpp \
	src/core/replication/standby_setup.cpp \
	src/core/replication/standby_script.cpp \
	src/core/replication/pgcat_config.cpp \
	src/core/replication/pgbackrest_info.cpp \
	src/core/replication/api.cpp \
	src/core/health/check.cpp \
	src/core/health/api.cpp \
	src/core/hf_cache/scan.cpp \
	src/core/hf_cache/checksum.cpp \
	src/core/hf_cache/names.cpp \
	src/core/hf_cache/manifest.cpp \
	src/core/hf_cache/layout.cpp \
	src/core/hf_cache/api.cpp \
	src/core/hf_cache/hub_env.cpp \
	src/core/hf_cache/blob_read.cpp \
	src/core/hf_cache/api_blob.cpp \
	src/core/hf_cache/extras.cpp \
	src/core/hf_cache/api_extras.cpp \
	src/core/hf_fetch/rows.cpp \
	src/core/hf_fetch/sink.cpp \
	src/core/common/work_pool.cpp \
	src/core/hf_fetch/fs.cpp \
	src/core/hf_fetch/sweep.cpp \
	src/core/hf_fetch/plan.cpp \
	src/core/hf_fetch/partial_file.cpp \
	src/core/hf_fetch/range_set.cpp \
	src/core/hf_fetch/ranged_writer.cpp \
	src/core/hf_fetch/ranged_download.cpp \
	src/core/hf_fetch/blob_setup.cpp \
	src/core/hf_fetch/retry_policy.cpp \
	src/core/hf_fetch/rate_limiter.cpp \
	src/core/hf_fetch/durable_batch.cpp \
	src/core/hf_fetch/publisher.cpp \
	src/core/hf_fetch/rate_limit_headers.cpp \
	src/core/hf_fetch/fetch_memory.cpp \
	src/core/hf_fetch/hub_answer.cpp \
	src/core/hf_fetch/job_memory.cpp \
	src/core/hf_fetch/hub_source.cpp \
	src/core/hf_fetch/upstream_answer.cpp \
	src/core/hf_fetch/upstream_source.cpp \
	src/core/hf_fetch/extras_write.cpp \
	src/core/hf_fetch/upstream_extras.cpp \
	src/core/hf_fetch/api_upstream_extras.cpp \
	src/core/hf_fetch/job.cpp \
	src/core/hf_fetch/api.cpp \
	src/core/hf_fetch/yield_controller.cpp \
	src/core/hf_fetch/api_yield.cpp \
	src/core/hf_fetch/sources_setting.cpp \
	src/core/hf_fetch/upstream_conninfo.cpp \
	src/core/hf_fetch/upstream_ping.cpp \
	src/core/hf_fetch/api_sources.cpp \
	src/core/hf_fetch/model_request.cpp \
	src/core/hf_fetch/api_model_request.cpp \
	src/core/hf_fetch/hub_api.cpp \
	src/core/hf_fetch/model_listing.cpp \
	src/core/hf_fetch/api_models.cpp

SHIM_SRCS = \
	src/shim/module.c \
	src/shim/errors.c \
	src/shim/spi.c \
	src/shim/commit_actions.c \
	src/shim/replication/configure_primary.c \
	src/shim/replication/auto_conf_file.c \
	src/shim/replication/replication_user.c \
	src/shim/replication/hba_rules.c \
	src/shim/replication/hba_notices.c \
	src/shim/replication/blob_fetch.c \
	src/shim/health/archive_status.c \
	src/shim/health/replication_status.c \
	src/shim/replication/operator_config.c \
	src/shim/health/check.c \
	src/shim/hf_cache/functions.c \
	src/shim/hf_cache/manifest_table.c \
	src/shim/hf_cache/blob_read.c \
	src/shim/hf_cache/extras.c \
	src/shim/hf_cache/large_send.c \
	src/shim/gucs.c \
	src/shim/worker/state.c \
	src/shim/worker/main.c \
	src/shim/worker/standby_role.c \
	src/shim/worker/standby_report.c \
	src/shim/worker/fetch_sources.c \
	src/shim/worker/primary_role.c \
	src/shim/worker/priority.c \
	src/shim/worker/load_probe.c \
	src/shim/worker/yield.c \
	src/shim/hf_fetch/wanted_models.c \
	src/shim/hf_fetch/model_status.c \
	src/shim/worker/models_role.c

UNIT_TEST_SRCS = \
	test/unit/common/error_test.cpp \
	test/unit/replication/auto_conf_test.cpp \
	test/unit/replication/identifiers_test.cpp \
	test/unit/replication/hba_file_test.cpp \
	test/unit/replication/password_test.cpp \
	test/unit/health/status_checks_test.cpp \
	test/unit/replication/standby_setup_test.cpp \
	test/unit/replication/pgcat_config_test.cpp \
	test/unit/replication/pgbackrest_info_test.cpp \
	test/unit/health/check_test.cpp \
	test/unit/hf_cache/scan_test.cpp \
	test/unit/hf_cache/checksum_test.cpp \
	test/unit/hf_cache/names_test.cpp \
	test/unit/hf_cache/manifest_test.cpp \
	test/unit/hf_fetch/rows_test.cpp \
	test/unit/hf_fetch/plan_test.cpp \
	test/unit/hf_fetch/job_parts_test.cpp \
	test/unit/hf_fetch/ranged_test.cpp \
	test/unit/hf_fetch/blob_setup_test.cpp \
	test/unit/hf_fetch/durable_batch_test.cpp \
	test/unit/hf_fetch/rate_limit_headers_test.cpp \
	test/unit/hf_fetch/fetch_memory_test.cpp \
	test/unit/hf_fetch/job_memory_test.cpp \
	test/unit/common/work_pool_test.cpp \
	test/unit/hf_fetch/hub_test.cpp \
	test/unit/hf_fetch/upstream_test.cpp \
	test/unit/hf_fetch/yield_controller_test.cpp \
	test/unit/hf_cache/hub_env_test.cpp \
	test/unit/hf_cache/blob_read_test.cpp \
	test/unit/hf_fetch/sources_test.cpp \
	test/unit/hf_cache/extras_test.cpp \
	test/unit/hf_fetch/extras_write_test.cpp \
	test/unit/hf_fetch/upstream_extras_test.cpp \
	test/unit/hf_fetch/model_request_test.cpp \
	test/unit/hf_fetch/model_listing_test.cpp \
	test/unit/hf_fetch/hub_api_test.cpp
