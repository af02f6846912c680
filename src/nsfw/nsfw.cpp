#include "safescan/nsfw.hpp"

#include <algorithm>

#include "tfjs/network.hpp"
#include "safescan/error.hpp"
#include "safescan/models.hpp"
#include "safescan/resize.hpp"

namespace safescan {

NsfwClass NsfwScores::top() const {
  return static_cast<NsfwClass>(std::max_element(probs.begin(), probs.end()) - probs.begin());
}

struct NsfwClassifier::Impl {
  std::string name;
  std::filesystem::path path;
  tfjs::Network network;
};

NsfwClassifier::NsfwClassifier() = default;
NsfwClassifier::NsfwClassifier(NsfwClassifier&&) noexcept = default;
NsfwClassifier& NsfwClassifier::operator=(NsfwClassifier&&) noexcept = default;
NsfwClassifier::~NsfwClassifier() = default;

NsfwClassifier NsfwClassifier::load(std::string_view name_or_path) {
  const std::filesystem::path path = resolve_model(name_or_path);
  tfjs::Network network = tfjs::Network::load(path);
  const auto json_path = std::filesystem::is_directory(path) ? path / "model.json" : path;
  if (network.output_size() != static_cast<int>(kNsfwClassNames.size())) {
    throw Error(ErrorCode::model_invalid,
                "an NSFW classifier must output 5 classes (drawing, hentai, neutral, porn, sexy), this one outputs " +
                    std::to_string(network.output_size()),
                json_path.string());
  }
  if (network.input_channels() != 3) {
    throw Error(ErrorCode::model_invalid, "the model input must have 3 channels (RGB)", json_path.string());
  }
  NsfwClassifier c;
  const auto dir = std::filesystem::is_directory(path) ? path : path.parent_path();
  c.impl_ = std::unique_ptr<Impl>(new Impl{dir.filename().string(), dir, std::move(network)});
  return c;
}

const std::string& NsfwClassifier::name() const { return impl_->name; }
const std::filesystem::path& NsfwClassifier::path() const { return impl_->path; }
int NsfwClassifier::input_size() const { return impl_->network.input_size(); }

void NsfwClassifier::preprocess(const Image& image, float* out) const {
  tfjs_resize_bilinear_planar(image, input_size(), out);
}

std::vector<NsfwScores> NsfwClassifier::run(const float* input, int batch) const {
  std::vector<NsfwScores> out(batch);
  if (batch == 0) return out;
  const std::vector<float> probs = impl_->network.run(input, batch);
  for (int i = 0; i < batch; ++i) std::copy_n(probs.begin() + i * 5, 5, out[i].probs.begin());
  return out;
}

std::vector<NsfwScores> NsfwClassifier::run_with_gradient(const float* input, int batch, const Gradient& gradient,
                                                          float* input_grad) const {
  std::vector<NsfwScores> out(batch);
  if (batch == 0) return out;
  const std::vector<float> probs = impl_->network.run_with_gradient(input, batch, gradient, input_grad);
  for (int i = 0; i < batch; ++i) std::copy_n(probs.begin() + i * 5, 5, out[i].probs.begin());
  return out;
}

std::vector<NsfwScores> NsfwClassifier::classify(std::span<const Image* const> images) const {
  const size_t per = 3ull * input_size() * input_size();
  std::vector<float> input(per * images.size());
  for (size_t i = 0; i < images.size(); ++i) preprocess(*images[i], input.data() + i * per);
  return run(input.data(), static_cast<int>(images.size()));
}

NsfwScores NsfwClassifier::classify(const Image& image) const {
  const Image* one[] = {&image};
  return classify(one)[0];
}

}  // namespace safescan
