// LAION's CLIP-based NSFW detector (LAION-AI/CLIP-based-NSFW-Detector): the AutoKeras head
// on the L2-normalised image embedding. Output "nsfw", covering Sexual (clip-retrieval flags
// p > 0.5; the policy's Sexual threshold decides here).
#include "heads/clip_head.hpp"
#include "heads/keras_mlp.hpp"
#include "heads/vector_math.hpp"
#include "safescan/error.hpp"

namespace safescan {

namespace {

class LaionNsfwHead final : public detect::ClipHead {
 public:
  LaionNsfwHead(detect::KerasMlp mlp, std::string name)
      : ClipHead(std::move(name), mlp.input_dim, "nsfw", {"Sexual"}), mlp_(std::move(mlp)) {}

  void score(const float* embedding, float* out) const override {
    const auto e = detect::l2_normalized(embedding, static_cast<std::size_t>(mlp_.input_dim));
    out[0] = mlp_.forward(e.data());
  }

  bool score_gradient(const float* embedding, const float* out_grad, float* feature_grad) const override {
    const auto n = static_cast<std::size_t>(mlp_.input_dim);
    const auto e = detect::l2_normalized(embedding, n);
    const std::vector<float> grad_e = mlp_.backward(e.data(), out_grad[0]);
    const auto gx = detect::l2_normalized_vjp(embedding, grad_e.data(), n);
    std::copy(gx.begin(), gx.end(), feature_grad);
    return true;
  }

 private:
  detect::KerasMlp mlp_;
};

}  // namespace

std::unique_ptr<Head> load_laion_nsfw_head(const std::filesystem::path& zip_or_dir, std::string name) {
  auto head = std::make_unique<LaionNsfwHead>(detect::load_autokeras_mlp(zip_or_dir), std::move(name));
  head->set_file(zip_or_dir);
  return head;
}

}  // namespace safescan
