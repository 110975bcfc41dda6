// What the whole-job unit tests (job_parts_test, job_memory_test) share: two
// small files with their real blob names and a manifest row of org/m.
#pragma once

#include <string>

#include "hf_fetch/job.hpp"

namespace job_fixture {

inline const std::string kRev = std::string(40, '1');
inline const std::string kHello = "hello\n";
inline const std::string kHelloBlob = "ce013625030ba8dba906f756967f9e9ca394464a";  // git blob id
inline const std::string kAbc = "abc";
inline const std::string kAbcBlob = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // sha256

inline pgmlr::hf_fetch::Row row(const std::string &path, const std::string &blob, int64_t size) {
	pgmlr::hf_fetch::Row r;
	r.repo_type = "model";
	r.repo_id = "org/m";
	r.revision = kRev;
	r.refs = {"main"};
	r.path = path;
	r.blob = blob;
	r.size = size;
	return r;
}

}  // namespace job_fixture
