#include "io/torch_pickle.hpp"

#include <array>
#include <optional>
#include <utility>

#include "io/invalid.hpp"

namespace safescan::io {

namespace {

using pickle::Kind;
using pickle::Value;

// torch.<Name>Storage (legacy typed storages, also under torch.cuda.) -> element type.
constexpr std::array<std::pair<std::string_view, DType>, 10> kStorageTypes{{
    {"FloatStorage", DType::f32},
    {"HalfStorage", DType::f16},
    {"BFloat16Storage", DType::bf16},
    {"DoubleStorage", DType::f64},
    {"LongStorage", DType::i64},
    {"IntStorage", DType::i32},
    {"ShortStorage", DType::i16},
    {"CharStorage", DType::i8},
    {"ByteStorage", DType::u8},
    {"BoolStorage", DType::boolean},
}};

// torch.<dtype> globals, as _rebuild_tensor_v3 names the element type of an UntypedStorage.
constexpr std::array<std::pair<std::string_view, DType>, 17> kDTypes{{
    {"float32", DType::f32},  {"float", DType::f32},  {"float16", DType::f16},  {"half", DType::f16},
    {"bfloat16", DType::bf16}, {"float64", DType::f64}, {"double", DType::f64},  {"int64", DType::i64},
    {"long", DType::i64},     {"int32", DType::i32},  {"int", DType::i32},      {"int16", DType::i16},
    {"short", DType::i16},    {"int8", DType::i8},    {"uint8", DType::u8},     {"bool", DType::boolean},
    {"char", DType::i8},
}};

template <std::size_t N>
std::optional<DType> lookup(const std::array<std::pair<std::string_view, DType>, N>& table, std::string_view name) {
  for (const auto& [key, dtype] : table)
    if (key == name) return dtype;
  return std::nullopt;
}

std::string join(const std::string& prefix, const std::string& key) { return prefix.empty() ? key : prefix + "." + key; }

class Walker {
 public:
  explicit Walker(const std::string& file) : file_(file) {}

  void walk(const Value& v, const std::string& name, int depth) {
    if (depth > max_depth)
      throw_invalid(file_, "the pickled object tree is nested more than " + std::to_string(max_depth) + " levels deep at '" +
                               name + "' (a cycle?)");
    if (v.is(Kind::dict)) return walk_dict(v, name, depth);
    if (!v.is(Kind::object)) return;  // numbers, strings, lists, None ...: not part of a state dict
    const std::string_view cls = v.class_name();
    if (cls == "torch._utils._rebuild_parameter" || cls == "torch._utils._rebuild_parameter_with_state") {
      if (const Value* data = v.arg(0)) walk(*data, name, depth + 1);
      return;
    }
    if (cls.starts_with("torch._utils._rebuild_")) return tensor(v, name, cls);
    if (!v.state || !v.state->is(Kind::dict)) return;
    if (v.state->get("_modules")) {  // a pickled torch.nn.Module
      for (const char* part : {"_parameters", "_buffers", "_modules"})
        if (const Value* d = v.state->get(part)) walk(*d, name, depth + 1);
    } else if (cls.starts_with("__torch__.")) {  // a TorchScript module: attributes are its state
      walk_dict(*v.state, name, depth);
    }
  }

  std::vector<TensorRef> take() { return std::move(out_); }

 private:
  void walk_dict(const Value& d, const std::string& name, int depth) {
    for (std::size_t i = 0; i + 1 < d.items.size(); i += 2)
      if (d.items[i]->is(Kind::string)) walk(*d.items[i + 1], join(name, d.items[i]->text), depth + 1);
  }

  [[noreturn]] void fail(const std::string& name, const std::string& message) const {
    throw_invalid(file_, "tensor '" + name + "': " + message);
  }

  std::int64_t integer(const Value* v, const std::string& name, const char* what) const {
    if (!v || !v->is(Kind::integer)) fail(name, std::string(what) + " is " + (v ? v->describe() : "missing") + ", not an integer");
    return v->integer;
  }

  std::vector<std::int64_t> integers(const Value* v, const std::string& name, const char* what) const {
    if (!v || !v->is_sequence()) fail(name, std::string(what) + " is " + (v ? v->describe() : "missing") + ", not a tuple");
    std::vector<std::int64_t> out;
    out.reserve(v->items.size());
    for (const Value* item : v->items) out.push_back(integer(item, name, what));
    return out;
  }

  void tensor(const Value& v, const std::string& name, std::string_view cls) {
    const bool v3 = cls == "torch._utils._rebuild_tensor_v3";
    if (cls != "torch._utils._rebuild_tensor" && cls != "torch._utils._rebuild_tensor_v2" && !v3)
      fail(name, "stored with " + std::string(cls) + " (a quantized, sparse, nested or device-specific tensor), which is not supported");

    // Persistent id ('storage', torch.<T>Storage, key, location, numel).
    const Value* pid = v.arg(0);
    if (!pid || !pid->is(Kind::persistent_id) || !pid->items[0]->is(Kind::tuple) || pid->items[0]->items.size() < 5)
      fail(name, "its storage is " + (pid ? pid->describe() : std::string("missing")) +
                     ", not a persistent id ('storage', type, key, location, numel)");
    const auto& id = pid->items[0]->items;
    if (!id[0]->is(Kind::string) || id[0]->text != "storage")
      fail(name, "persistent id of type '" + (id[0]->is_text() ? id[0]->text : id[0]->describe()) + "', expected 'storage'");
    if (!id[1]->is(Kind::global)) fail(name, "storage type is " + id[1]->describe() + ", not a torch storage class");
    std::string_view type = id[1]->text;
    for (std::string_view prefix : {"torch.cuda.", "torch."})
      if (type.starts_with(prefix)) {
        type.remove_prefix(prefix.size());
        break;
      }

    TensorRef ref;
    ref.name = name;
    if (id[2]->is(Kind::string)) {
      ref.storage_key = id[2]->text;
    } else if (id[2]->is(Kind::integer)) {
      ref.storage_key = std::to_string(id[2]->integer);
    } else {
      fail(name, "storage key is " + id[2]->describe() + ", not a string");
    }
    const std::int64_t storage_numel = integer(id[4], name, "storage size");
    if (storage_numel < 0) fail(name, "negative storage size " + std::to_string(storage_numel));

    if (type == "UntypedStorage") {  // bytes; the element type is _rebuild_tensor_v3's 7th argument
      const Value* dtype = v.arg(6);
      if (!v3 || !dtype || !dtype->is(Kind::global) || !dtype->text.starts_with("torch."))
        fail(name, "an UntypedStorage without a torch dtype (expected torch._utils._rebuild_tensor_v3)");
      const auto element = lookup(kDTypes, std::string_view(dtype->text).substr(6));
      if (!element) fail(name, "dtype " + dtype->text + " is not supported");
      ref.view.dtype = *element;
      ref.storage_numel = storage_numel / static_cast<std::int64_t>(element_size(*element));
    } else {
      const auto element = lookup(kStorageTypes, type);
      if (!element) fail(name, "storage type " + id[1]->text + " is not supported");
      ref.view.dtype = *element;
      ref.storage_numel = storage_numel;
    }
    ref.view.offset = integer(v.arg(1), name, "storage offset");
    ref.view.shape = integers(v.arg(2), name, "size");
    ref.view.strides = integers(v.arg(3), name, "stride");
    if (ref.view.shape.size() != ref.view.strides.size())
      fail(name, "size has " + std::to_string(ref.view.shape.size()) + " dimensions but stride has " +
                     std::to_string(ref.view.strides.size()));
    out_.push_back(std::move(ref));
  }

  const std::string& file_;
  std::vector<TensorRef> out_;
};

}  // namespace

std::vector<TensorRef> find_tensors(const pickle::Value& root, const std::string& file) {
  Walker walker(file);
  walker.walk(root, "", 0);
  return walker.take();
}

}  // namespace safescan::io
