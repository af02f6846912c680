// safescan/nsfw.hpp - the nsfwjs NSFW image classifiers (MobileNetV2, MobileNetV2Mid,
// InceptionV3), run with libtorch on the weights published in the npm package `nsfwjs`.
//
//   auto clf = safescan::NsfwClassifier::load("nsfw-mobilenet-v2");
//   safescan::NsfwScores s = clf.classify(safescan::load_image("photo.jpg"));
//   float sexual = s.sexual();   // porn + hentai: the Sexual category (decisions: policy.hpp)
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "safescan/image.hpp"

namespace safescan {

// Output order of the nsfwjs models.
enum class NsfwClass { drawing = 0, hentai, neutral, porn, sexy };
inline constexpr std::array<std::string_view, 5> kNsfwClassNames = {"drawing", "hentai", "neutral", "porn", "sexy"};

struct NsfwScores {
  std::array<float, 5> probs{};  // softmax over kNsfwClassNames

  float operator[](NsfwClass c) const { return probs[static_cast<int>(c)]; }
  NsfwClass top() const;
  float sexual() const { return (*this)[NsfwClass::porn] + (*this)[NsfwClass::hentai]; }
  float suggestive() const { return (*this)[NsfwClass::sexy]; }
};

class NsfwClassifier {
 public:
  // A model name from known_models() (resolved in the models directory) or a path to a
  // tfjs model folder / model.json. Throws Error(model_missing / model_invalid).
  static NsfwClassifier load(std::string_view name_or_path);

  NsfwClassifier(NsfwClassifier&&) noexcept;
  NsfwClassifier& operator=(NsfwClassifier&&) noexcept;
  ~NsfwClassifier();

  const std::string& name() const;  // "nsfw-mobilenet-v2", or the folder name for a path
  const std::filesystem::path& path() const;
  int input_size() const;            // 224 or 299

  // nsfwjs preprocessing of one image into 3 * input_size()^2 floats (NCHW planes).
  void preprocess(const Image& image, float* out) const;
  // Runs the network on `batch` preprocessed images laid out one after another.
  std::vector<NsfwScores> run(const float* input, int batch) const;

  // For the benchmark's white-box attacks (gradients; not needed to classify): run()'s
  // scores; `gradient` is given the batch * 5 probabilities and writes d loss / d p, and
  // `input_grad` receives d loss / d inputs (the preprocessed pixel / 255 at the input size).
  using Gradient = std::function<void(const float* probs, float* grad)>;
  std::vector<NsfwScores> run_with_gradient(const float* input, int batch, const Gradient& gradient, float* input_grad) const;

  std::vector<NsfwScores> classify(std::span<const Image* const> images) const;
  NsfwScores classify(const Image& image) const;

 private:
  NsfwClassifier();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safescan
