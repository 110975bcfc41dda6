# PGXS build of pgml_replication. Sources come from sources.mk, which
# CMakeLists.txt reads too.

EXTENSION  = pgml_replication
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = $(EXTENSION)

include sources.mk
OBJS = $(CORE_SRCS:.cpp=.o) $(SHIM_SRCS:.c=.o)

# Versioned install and upgrade scripts: sql/pgml_replication--X.sql, --X--Y.sql
DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# pg_regress suites: sql/<name>.sql against expected/<name>.out
REGRESS = $(sort $(filter-out $(EXTENSION)--%,$(notdir $(basename $(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -Isrc/include -Isrc/core -Isrc/shim
# The core's upstream source is a libpq client (hf_fetch/upstream_source.cpp),
# linked the way contrib/dblink does it: PGXS defines libpq_srcdir and libpq.
PG_CPPFLAGS += -I$(libpq_srcdir)
SHLIB_LINK_INTERNAL += $(libpq)
# The shim is C compiled with PostgreSQL's own flags; PostgreSQL headers are
# not -Wextra clean, so the shim gets -Wall -Werror and the core gets more.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-cast-function-type
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -fno-strict-aliasing
SHLIB_LINK  = -lcurl -lcrypto -lpthread -lstdc++

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Debian builds PostgreSQL with LLVM, so PGXS also emits bitcode with clang,
# which ignores PG_CXXFLAGS and would compile the core as C++14.
override BITCODE_CXXFLAGS += -std=c++17

# PGXS tracks no header dependencies (Debian's PostgreSQL is built without
# --enable-depend), so an object compiled against an older struct layout
# would be linked with newer ones. Every object depends on every header:
# coarse, but a header change can never leave a stale object behind.
HEADERS = $(wildcard src/include/pgml_repl/*.h src/core/*/*.hpp src/shim/*.h src/shim/*/*.h)
$(OBJS) $(OBJS:.o=.bc): $(HEADERS)

.PHONY: unit-test
unit-test:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j2
	cd build && ctest --output-on-failure
