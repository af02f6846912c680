#include "common.hpp"

#include <fstream>

#include "safescan/error.hpp"

namespace safescan::cli {

namespace fs = std::filesystem;

void add_detector_flags(CLI::App* cmd, DetectorFlags& flags, const std::string& default_help) {
  cmd->add_option("-d,--detectors,-m,--model", flags.detectors,
                  "Detectors, comma-separated: " + detector_names() +
                      "; NAME:FILE for another model file; ensemble(A,B,...) and cascade(A,B[,BOUND]) compose them; "
                      "LABEL=... names one (docs/detectors.md). Default: " + default_help);
  cmd->add_option("--clip-model", flags.options.clip_model,
                  "CLIP for the CLIP heads: an installed name (clip-vit-b-32 ...) or a checkpoint (.pt, .bin, .safetensors); "
                  "default: the first installed");
  cmd->add_option("--precision,--clip-precision", flags.options.clip_precision, "CLIP precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--clip-variant", flags.options.clip_variant,
                  "ViT-B-32, ViT-B-16 or ViT-L-14: which CLIP made precomputed embeddings, when their width does not say");
  cmd->add_option("--prompts", flags.options.prompts, "Zero-shot prompt file (default: data/zeroshot_prompts.json, built in)");
  cmd->add_option("--vocab", flags.options.vocab, "CLIP vocabulary for the zero-shot prompts (default: the installed clip-vocab)");
  cmd->add_option("--face-model", flags.options.face_model, "YuNet .onnx for faces (default: the installed yunet)");
  cmd->add_option("--face-max-side", flags.options.face_max_side, "Longest side faces are searched at")
      ->check(CLI::Range(64, 8192))
      ->capture_default_str();
}

void add_policy_flags(CLI::App* cmd, PolicyFlags& flags) {
  cmd->add_option("--policy", flags.policy,
                  "Policy file (TOML or JSON, docs/policy.md): likelihood levels and allow/review/block thresholds per "
                  "category and detector (default: the built-in data/policy.toml)");
  cmd->add_option("-t,--threshold", flags.threshold, "Block every category at this score (overrides the policy's block thresholds)")
      ->check(CLI::Range(0.0, 1.0));
}

Policy load_policy(const PolicyFlags& flags) {
  Policy p = flags.policy.empty() ? Policy::builtin() : Policy::load(flags.policy);
  if (flags.threshold) p.set_block_threshold(*flags.threshold);
  return p;
}

std::vector<std::string> read_text_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::unreadable, "cannot open the texts file", file.string());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace safescan::cli
