// "pgbackrest --output=json info" output is read from a program the server
// runs; a broken or hostile repository controls parts of it. Target: the
// info JSON validator, archive_max and stanza_system_id.
// Invariants:
//  - no input makes the core throw (an exception would surface as
//    PGMLR_ERR_INTERNAL): every failure is a typed error in house style, with
//    valid UTF-8 texts;
//  - the three readers agree: text the validator refuses is refused by the
//    others with the same message; text it accepts never fails them with a
//    format error;
//  - archive_max, when it answers, is a 24-hex-digit WAL segment name;
//    stanza_system_id is a decimal integer's digits.
#include <cstring>
#include <string>

#include "fuzz_common.hpp"
#include "replication/pgbackrest_info.hpp"
#include "pgml_repl/replication.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	std::string text(reinterpret_cast<const char *>(data), size);
	text.resize(std::strlen(text.c_str()));  // the shim passes a C string

	pgmlr_status v;
	pgmlr_pgbackrest_info_validate(text.c_str(), &v);
	FUZZ_CHECK(v.code == PGMLR_OK || v.code == PGMLR_ERR_IO, v.message);
	if (v.code != PGMLR_OK) fuzz::check_status_texts(v);

	for (const char *stanza : {"main", "demo"}) {
		pgmlr_status st;
		char *max = pgmlr_pgbackrest_archive_max(text.c_str(), stanza, &st);
		FUZZ_CHECK(st.code != PGMLR_ERR_INTERNAL && st.code != PGMLR_ERR_OUT_OF_MEMORY, st.message);
		if (v.code != PGMLR_OK) {
			FUZZ_CHECK(st.code == v.code && std::string(st.message) == v.message, st.message, v.message);
		} else {
			FUZZ_CHECK(st.code != PGMLR_ERR_IO, st.message);
		}
		if (st.code != PGMLR_OK) {
			FUZZ_CHECK(max == nullptr);
			fuzz::check_status_texts(st);
		} else if (max) {
			std::string m = max;
			FUZZ_CHECK(m.size() == 24, m);
			for (char c : m) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), m);
		}
		pgmlr_free(max);

		pgmlr::Result<std::string> id = pgmlr::stanza_system_id(text, stanza);
		if (v.code != PGMLR_OK) FUZZ_CHECK(!id && id.error().message == v.message);
		if (id) {
			const std::string &s = *id;
			FUZZ_CHECK(!s.empty(), s);
			for (size_t i = 0; i < s.size(); ++i) FUZZ_CHECK((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '-' && s.size() > 1), s);
		}
	}
	return 0;
}
