// CLIP checkpoint contents: the configuration inferred from tensor shapes, and the check that
// every tensor the reference model needs is present with the right shape. Torch-free.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/tensor_file.hpp"
#include "safescan/clip.hpp"

namespace safescan::clip {

// Infers the configuration as openai/CLIP's build_model does (vision width from
// visual.conv1.weight, layers by counting resblocks, resolution = patch * grid, heads =
// width / 64, ...) and validates every key. Throws Error(model_invalid) naming `file` and
// the missing or mis-shaped key. ResNet CLIP checkpoints are refused with a clear message.
ClipConfig infer_config(const io::TensorMap& tensors, const std::filesystem::path& file);

// The names of all tensors a ViT CLIP of this configuration has (for checks and tests).
std::vector<std::string> expected_keys(const ClipConfig& config);
// The shape of one of them (empty for the scalar logit_scale).
std::vector<std::int64_t> expected_shape(const ClipConfig& config, const std::string& key);

}  // namespace safescan::clip
