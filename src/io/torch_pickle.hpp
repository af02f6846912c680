// What the data.pkl of a PyTorch archive means: tensors (views into storages that live in
// the archive as <prefix>/data/<key>) under dotted state-dict names.
//
// The object tree is flattened the way module.state_dict() names things:
//   - a dict (dict, OrderedDict) contributes its string keys: {"visual": {"proj": t}} -> "visual.proj";
//   - a TorchScript module (__torch__.* object whose BUILD state is a dict of attributes)
//     contributes its tensor attributes (parameters and buffers) and its submodules;
//   - a pickled torch.nn.Module contributes _parameters, _buffers and _modules;
//   - a tensor (torch._utils._rebuild_tensor[_v2|_v3], possibly inside _rebuild_parameter)
//     is a leaf; every other value (numbers, strings, lists, None ...) is ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/pickle.hpp"
#include "io/strided_view.hpp"

namespace safescan::io {

struct TensorRef {
  std::string name;            // "visual.conv1.weight"
  std::string storage_key;     // the entry <prefix>/data/<storage_key>
  std::int64_t storage_numel;  // declared size of the storage, in elements of view.dtype
  StridedView view;
};

// Throws Error(model_invalid) about `file` naming the tensor when a tensor is malformed
// (bad storage id, unknown storage type, shape/stride not integers), is of a kind that is
// not supported (quantized, sparse, on the meta device ...), or when the tree is nested
// deeper than max_depth (a cycle).
std::vector<TensorRef> find_tensors(const pickle::Value& root, const std::string& file);

inline constexpr int max_depth = 64;

}  // namespace safescan::io
