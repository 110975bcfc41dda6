// Implements hf_fetch/model_request.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/model_request.hpp"

#include "common/text.hpp"
#include "hf_cache/names.hpp"

namespace pgmlr::hf_fetch {
namespace {

const char kRepoIdHint[] =
	"A repo id is \"name\" or \"namespace/name\" as on huggingface.co, for example "
	"\"sentence-transformers/all-MiniLM-L6-v2\": ASCII letters, digits, \"_\", \"-\" and \".\", "
	"each part at most 96 characters, not starting or ending with \"-\" or \".\", "
	"without \"--\", \"..\" or a final \".git\".";
const char kRevisionHint[] =
	"Pass a branch or tag such as \"main\" or \"v1.0\", a pull request ref such as \"refs/pr/1\", "
	"or a 40-character commit id.";
const char kRepoTypeHint[] = "Pass repo_type => 'model' (the default), 'dataset' or 'space'.";
const char kPatternHint[] =
	"Patterns are fnmatch patterns over the repo's file paths, as huggingface_hub's "
	"allow_patterns and ignore_patterns, for example '*.safetensors' or 'onnx/*'.";

Error refusal(std::string message, std::string detail, std::string hint) {
	return make_error(ErrCode::InvalidParameter, std::move(message), std::move(detail), std::move(hint));
}

Status null_refusal(std::string_view name, const char *hint) {
	return refusal(std::string(name) + " must not be NULL", "", hint);
}

Status problem_refusal(std::string_view name, const hf::Problem &problem, std::string_view value,
					   const char *hint) {
	if (!problem) return {};
	return refusal(std::string(name) + " " + *problem, "The value is " + hf::shown(value) + ".", hint);
}

}  // namespace

Status check_repo_type_arg(const std::optional<std::string> &v) {
	if (!v) return null_refusal("repo_type", kRepoTypeHint);
	return problem_refusal("repo_type", hf::repo_type_problem(*v), *v, kRepoTypeHint);
}

Status check_repo_id_arg(const std::optional<std::string> &v) {
	if (!v) return null_refusal("repo_id", kRepoIdHint);
	return problem_refusal("repo_id", hf::repo_id_problem(*v), *v, kRepoIdHint);
}

Status check_revision_arg(const std::optional<std::string> &v) {
	if (!v) return null_refusal("revision", kRevisionHint);
	return problem_refusal("revision", hf::ref_problem(*v), *v, kRevisionHint);
}

Status check_patterns_arg(std::string_view name, const PatternList &patterns) {
	if (!patterns) return {};
	const std::string arg(name);
	if (patterns->empty() && name == "allow_patterns")
		return refusal(arg + " is an empty array", "An empty allow list keeps no file of the repo.",
					   "Pass NULL (the default) to want every file, or list patterns such as "
					   "ARRAY['*.safetensors', '*.json'].");
	if (patterns->size() > kMaxPatterns)
		return refusal(arg + " has more than " + std::to_string(kMaxPatterns) + " patterns",
					   "It has " + std::to_string(patterns->size()) + ".",
					   "Use wildcards ('*.json', 'onnx/*') rather than listing files one by one.");
	for (size_t i = 0; i < patterns->size(); ++i) {
		const std::string at = arg + "[" + std::to_string(i + 1) + "]";
		const std::optional<std::string> &p = (*patterns)[i];
		if (!p) return refusal(at + " is NULL", "", kPatternHint);
		if (p->empty()) return refusal(at + " is empty", "", kPatternHint);
		if (p->size() > kMaxPatternBytes)
			return refusal(at + " is longer than " + std::to_string(kMaxPatternBytes) + " bytes",
						   "It has " + std::to_string(p->size()) + " bytes.", kPatternHint);
		if (has_control_chars(*p))
			return refusal(at + " contains control characters", "The value is " + hf::shown(*p) + ".",
						   kPatternHint);
	}
	return {};
}

Status check_model_request(const ModelRequest &request) {
	for (Status st : {check_repo_id_arg(request.repo_id), check_revision_arg(request.revision),
					  check_repo_type_arg(request.repo_type),
					  check_patterns_arg("allow_patterns", request.allow_patterns),
					  check_patterns_arg("ignore_patterns", request.ignore_patterns)})
		if (st) return st;
	return {};
}

}  // namespace pgmlr::hf_fetch
