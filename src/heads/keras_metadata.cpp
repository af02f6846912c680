#include "heads/keras_metadata.hpp"

#include "heads/protobuf_wire.hpp"
#include "safescan/error.hpp"

namespace safescan::detect {

std::vector<KerasNode> read_keras_metadata(std::span<const std::uint8_t> bytes, const std::string& file) {
  std::vector<KerasNode> nodes;
  pb::Reader top(bytes, file, "SavedMetadata (keras_metadata.pb)");
  pb::Field f;
  while (top.next(f)) {
    if (f.number != 1) continue;  // repeated SavedObject nodes = 1
    top.expect(f, pb::WireType::bytes);
    KerasNode node;
    std::string json_text;
    pb::Reader r(f.bytes, file, "SavedObject #" + std::to_string(nodes.size()) + " of keras_metadata.pb");
    pb::Field nf;
    while (r.next(nf)) {
      if (nf.number < 3 || nf.number > 5) continue;  // node_path = 3, identifier = 4, metadata = 5
      r.expect(nf, pb::WireType::bytes);
      std::string text(reinterpret_cast<const char*>(nf.bytes.data()), nf.bytes.size());
      if (nf.number == 3) node.path = std::move(text);
      else if (nf.number == 4) node.identifier = std::move(text);
      else json_text = std::move(text);
    }
    node.metadata = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (node.metadata.is_discarded() || !node.metadata.is_object())
      throw Error(ErrorCode::model_invalid,
                  "keras_metadata.pb: the metadata of node '" + node.path + "' is not a JSON object", file);
    nodes.push_back(std::move(node));
  }
  if (nodes.empty()) throw Error(ErrorCode::model_invalid, "keras_metadata.pb holds no saved objects", file);
  return nodes;
}

}  // namespace safescan::detect
