// The catalogue's file (data/models.json, compiled in) beyond the models themselves.
#pragma once

#include <string>

namespace safescan {

struct NpmPackage {
  std::string package;    // "nsfwjs@4.4.0": where the npm-installed models come from
  std::string integrity;  // the registry's sha512 of its tarball (the same pin as scripts/setup.sh)
};
const NpmPackage& catalogue_npm_package();

}  // namespace safescan
