// The method section's data, from ResultStore::runs() (report_method.hpp).
#include "report/report_method.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace safescan::report {

namespace {

std::string value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + value_text(e);
    return out;
  }
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename T>
void add_unique(std::vector<T>& list, const T& v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

void add_models(MethodInfo& m, const nlohmann::json& models) {
  if (!models.is_array()) return;
  for (const auto& e : models) {
    if (!e.is_object()) continue;
    const std::string name = e.value("name", std::string("?"));
    const std::string path = e.contains("path") && e["path"].is_string() ? e["path"].get<std::string>() : "";
    if (e.contains("files") && e["files"].is_object()) {
      for (const auto& [file, sha] : e["files"].items())
        add_unique(m.models, ModelRow{name, path.empty() ? file : path + "/" + file, sha.is_string() ? sha.get<std::string>() : ""});
    } else {
      const std::string sha = e.contains("sha256") && e["sha256"].is_string() ? e["sha256"].get<std::string>() : "";
      add_unique(m.models, ModelRow{name, path.empty() ? "(built in)" : path, sha});
    }
  }
}

}  // namespace

MethodInfo read_method(const ResultStore& store) {
  MethodInfo m;
  m.runs = store.runs();
  for (const RunRecord& r : m.runs) {
    m.versions.insert(r.info.version);
    if (!r.info.host.empty()) m.hosts.insert(r.info.host);
    m.max_ranks = std::max(m.max_ranks, r.info.ranks);
    if (m.first_started.empty() || r.info.started < m.first_started) m.first_started = r.info.started;
    if (r.ended > m.last_ended) m.last_ended = r.ended;
    const auto config = nlohmann::json::parse(r.info.config_json, nullptr, false);
    if (config.is_object()) {
      for (const auto& [key, value] : config.items()) {
        if (key == "detectors" && value.is_array()) {
          for (const auto& d : value) add_unique(m.detectors, value_text(d));
        } else if (key == "sources" && value.is_array()) {
          for (const auto& s : value) add_unique(m.sources, value_text(s));
        } else {
          auto row = std::find_if(m.settings.begin(), m.settings.end(), [&](const SettingRow& s) { return s.name == key; });
          if (row == m.settings.end()) row = m.settings.insert(m.settings.end(), SettingRow{key, {}});
          add_unique(row->values, value_text(value));
        }
      }
    }
    add_models(m, nlohmann::json::parse(r.info.models_json, nullptr, false));
  }
  return m;
}

}  // namespace safescan::report
