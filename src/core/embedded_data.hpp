// Data files of data/ compiled into the library (CMakeLists.txt generates the definition), so
// that an installed `safescan` finds its catalogue, default policy and prompts anywhere.
#pragma once

#include <string_view>

namespace safescan::embedded {

// The text of data/<name> as it was at build time ("models.json", "policy.toml",
// "zeroshot_prompts.json"); empty for an unknown name.
std::string_view text(std::string_view name);

}  // namespace safescan::embedded
