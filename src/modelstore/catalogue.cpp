// The model catalogue: data/models.json (compiled in), parsed once. Tests and programs may
// add or replace entries with register_model().
#include "modelstore/catalogue.hpp"

#include <nlohmann/json.hpp>

#include "core/embedded_data.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"

namespace safescan {

namespace {

struct Catalogue {
  NpmPackage npm;
  std::vector<KnownModel> models;
};

std::string text_field(const nlohmann::json& j, const char* key, const std::string& where, bool required = true) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  if (required) throw Error(ErrorCode::internal, std::string("data/models.json: ") + where + " has no string \"" + key + "\"");
  return {};
}

Catalogue parse_catalogue() {
  const auto j = nlohmann::json::parse(embedded::text("models.json"), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array())
    throw Error(ErrorCode::internal, "data/models.json (compiled in) is not a model catalogue");
  Catalogue c;
  c.npm.package = text_field(j, "npm_package", "the catalogue");
  c.npm.integrity = text_field(j, "npm_integrity", "the catalogue");
  for (const auto& m : j["models"]) {
    KnownModel k;
    k.name = text_field(m, "name", "a model");
    const std::string where = "model " + k.name;
    k.kind = text_field(m, "kind", where);
    k.format = text_field(m, "format", where);
    k.description = text_field(m, "description", where);
    k.source = text_field(m, "source", where);
    k.license = text_field(m, "license", where);
    k.note = text_field(m, "note", where, false);
    if (m.contains("install")) k.install = text_field(m, "install", where);
    if (m.contains("files")) {
      for (const auto& f : m["files"]) {
        ModelFile file;
        file.name = text_field(f, "name", where);
        file.url = text_field(f, "url", where, false);
        file.sha256 = text_field(f, "sha256", where, false);
        file.size = f.value("bytes", std::uint64_t{0});
        k.files.push_back(std::move(file));
      }
    }
    c.models.push_back(std::move(k));
  }
  return c;
}

Catalogue& catalogue() {
  static Catalogue c = parse_catalogue();
  return c;
}

}  // namespace

const NpmPackage& catalogue_npm_package() { return catalogue().npm; }

const std::vector<KnownModel>& known_models() { return catalogue().models; }

const KnownModel* find_known_model(std::string_view name) {
  for (const auto& m : catalogue().models)
    if (m.name == name) return &m;
  return nullptr;
}

void register_model(KnownModel model) {
  check_model_name(model.name);
  for (auto& m : catalogue().models) {
    if (m.name == model.name) {
      m = std::move(model);
      return;
    }
  }
  catalogue().models.push_back(std::move(model));
}

}  // namespace safescan
