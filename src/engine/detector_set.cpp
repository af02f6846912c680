// DetectorSet: detectors composed from heads (leaves), ensembles and cascades, evaluated on a
// batch with each backbone run at most once per item, and only on the items that need it.
#include <algorithm>
#include <numeric>
#include <set>

#include "safescan/detector.hpp"
#include "safescan/error.hpp"
#include "safescan/policy.hpp"

namespace safescan {

namespace {

// What one evaluation of a batch knows: each backbone's features per item, computed on demand.
struct BatchState {
  const std::vector<DetectorSet::BatchItem>& items;
  std::vector<std::vector<std::vector<float>>> features;  // [backbone][item]; empty: not computed
  std::vector<std::vector<bool>> tried;                   // [backbone][item]: ensure() looked at it
};

struct Node {
  virtual ~Node() = default;
  std::string name, spec;
  std::vector<std::string> outputs;
  std::vector<CategoryMap> categories;  // covered categories, kCategories order
  // out[k]: outputs of items[k], or empty when this detector cannot score that item (no
  // features for it: an embedding item given to an image-only detector).
  virtual void eval(BatchState& state, const std::vector<int>& items, std::vector<std::vector<float>>& out) const = 0;

  // The category scores of one item's outputs.
  std::vector<float> category_values(const std::vector<float>& outs) const {
    std::vector<float> v;
    v.reserve(categories.size());
    for (const CategoryMap& c : categories) {
      float sum = 0;
      for (const int i : c.outputs) sum += outs[static_cast<std::size_t>(i)];
      v.push_back(std::min(sum, 1.0f));
    }
    return v;
  }
  int category_slot(std::string_view category) const {
    for (std::size_t i = 0; i < categories.size(); ++i)
      if (categories[i].category == category) return static_cast<int>(i);
    return -1;
  }
};

// Compositions output their category scores.
void outputs_are_categories(Node& n, const std::vector<std::string>& cats) {
  n.outputs = cats;
  n.categories.clear();
  for (std::size_t i = 0; i < cats.size(); ++i) n.categories.push_back({cats[i], {static_cast<int>(i)}});
}

std::vector<std::string> sorted_categories(std::set<std::string> cats) {
  std::vector<std::string> out(cats.begin(), cats.end());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return category_index(a) < category_index(b); });
  return out;
}

// The backbones of a set, and how to run one on the items of a batch that still need it.
struct Backbones {
  std::vector<std::shared_ptr<const Backbone>> list;
  std::vector<std::size_t> offsets;  // per backbone: where its input starts in an item's floats
  std::size_t floats = 0;
  int embedding = -1;  // the "clip" backbone: precomputed embeddings stand for its features
  void ensure(BatchState& state, int b, const std::vector<int>& items) const;
};

}  // namespace

struct DetectorSet::Impl {
  Backbones bb;
  std::vector<std::shared_ptr<const Backbone>>& backbones = bb.list;
  std::vector<std::size_t>& offsets = bb.offsets;
  std::size_t& floats = bb.floats;
  int& embedding_backbone = bb.embedding;
  std::map<std::string, std::shared_ptr<const Head>> heads;
  std::vector<std::shared_ptr<const Annotator>> annotators;
  std::vector<std::unique_ptr<Node>> nodes;  // every node, members before their compositions
  struct Top {
    std::string name;  // as in results (a node shared by several detectors keeps one name per detector)
    const Node* node;
  };
  std::vector<Top> top;  // the scoring detectors, in --detectors order (heads and compositions)
  std::vector<Info> info;

  void ensure(BatchState& state, int b, const std::vector<int>& items) const { bb.ensure(state, b, items); }
  const Node* build(const DetectorSpec& spec);
};

namespace {

struct LeafNode final : Node {
  const Head* head = nullptr;
  int backbone = -1;
  const Backbones* set = nullptr;
  void eval(BatchState& state, const std::vector<int>& items, std::vector<std::vector<float>>& out) const override {
    set->ensure(state, backbone, items);
    out.assign(items.size(), {});
    for (std::size_t k = 0; k < items.size(); ++k) {
      const auto& f = state.features[static_cast<std::size_t>(backbone)][static_cast<std::size_t>(items[k])];
      if (f.empty()) continue;
      out[k].resize(outputs.size());
      head->score(f.data(), out[k].data());
    }
  }
};

struct EnsembleNode final : Node {
  std::vector<const Node*> members;
  void eval(BatchState& state, const std::vector<int>& items, std::vector<std::vector<float>>& out) const override {
    std::vector<std::vector<float>> sum(items.size(), std::vector<float>(outputs.size(), 0.0f));
    std::vector<std::vector<int>> count(items.size(), std::vector<int>(outputs.size(), 0));
    for (const Node* m : members) {
      std::vector<std::vector<float>> mo;
      m->eval(state, items, mo);
      for (std::size_t k = 0; k < items.size(); ++k) {
        if (mo[k].empty()) continue;
        const auto values = m->category_values(mo[k]);
        for (std::size_t c = 0; c < m->categories.size(); ++c) {
          const int slot = category_slot(m->categories[c].category);
          sum[k][static_cast<std::size_t>(slot)] += values[c];
          ++count[k][static_cast<std::size_t>(slot)];
        }
      }
    }
    out.assign(items.size(), {});
    for (std::size_t k = 0; k < items.size(); ++k) {
      bool any = false;
      for (std::size_t c = 0; c < outputs.size(); ++c) any = any || count[k][c] > 0;
      if (!any) continue;
      out[k].resize(outputs.size());
      for (std::size_t c = 0; c < outputs.size(); ++c)
        out[k][c] = count[k][c] ? sum[k][c] / static_cast<float>(count[k][c]) : 0.0f;
    }
  }
};

struct CascadeNode final : Node {
  const Node* first = nullptr;
  const Node* second = nullptr;
  float bound = 0.5f;
  std::vector<int> shared;  // categories of first (by slot) that second also covers
  void eval(BatchState& state, const std::vector<int>& items, std::vector<std::vector<float>>& out) const override {
    std::vector<std::vector<float>> fo;
    first->eval(state, items, fo);
    out.assign(items.size(), {});
    std::vector<int> again;       // item indices (into the batch) that reach the bound
    std::vector<std::size_t> at;  // their positions in `items`
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (fo[k].empty()) continue;
      out[k] = first->category_values(fo[k]);
      float top = 0;
      for (const int c : shared) top = std::max(top, out[k][static_cast<std::size_t>(c)]);
      if (top >= bound) {
        again.push_back(items[k]);
        at.push_back(k);
      }
    }
    if (again.empty()) return;
    std::vector<std::vector<float>> so;
    second->eval(state, again, so);
    for (std::size_t j = 0; j < again.size(); ++j) {
      if (so[j].empty()) continue;  // the second stage could not run: the first's score stands
      const auto values = second->category_values(so[j]);
      for (const int c : shared)
        out[at[j]][static_cast<std::size_t>(c)] =
            values[static_cast<std::size_t>(second->category_slot(categories[static_cast<std::size_t>(c)].category))];
    }
  }
};

}  // namespace

void Backbones::ensure(BatchState& state, int b, const std::vector<int>& items) const {
  const Backbone& backbone = *list[static_cast<std::size_t>(b)];
  auto& feats = state.features[static_cast<std::size_t>(b)];
  auto& tried = state.tried[static_cast<std::size_t>(b)];
  const std::size_t in = backbone.input_floats();
  std::vector<int> run;
  for (const int i : items) {
    const auto u = static_cast<std::size_t>(i);
    if (tried[u]) continue;
    tried[u] = true;
    const DetectorSet::BatchItem& item = state.items[u];
    if (item.embedding && b == embedding) {
      feats[u].assign(item.embedding, item.embedding + backbone.feature_dim());
    } else if (item.input && in > 0) {
      run.push_back(i);
    }
  }
  if (run.empty()) return;
  std::vector<float> packed(in * run.size());
  for (std::size_t k = 0; k < run.size(); ++k)
    std::copy_n(state.items[static_cast<std::size_t>(run[k])].input + offsets[static_cast<std::size_t>(b)], in,
                packed.data() + k * in);
  const std::vector<float> out = backbone.run(packed.data(), static_cast<int>(run.size()));
  const auto dim = static_cast<std::size_t>(backbone.feature_dim());
  if (out.size() != dim * run.size())
    throw Error(ErrorCode::internal, "backbone " + backbone.name() + " returned " + std::to_string(out.size()) +
                                         " values for " + std::to_string(run.size()) + " images of width " + std::to_string(dim));
  for (std::size_t k = 0; k < run.size(); ++k)
    feats[static_cast<std::size_t>(run[k])].assign(out.begin() + static_cast<std::ptrdiff_t>(k * dim),
                                                   out.begin() + static_cast<std::ptrdiff_t>((k + 1) * dim));
}

const Node* DetectorSet::Impl::build(const DetectorSpec& spec) {
  const std::string text = spec.text();
  for (const auto& n : nodes)
    if (n->spec == text) return n.get();  // shared: a head named twice is scored once
  std::unique_ptr<Node> node;
  switch (spec.kind) {
    case DetectorSpec::Kind::name: {
      const auto h = heads.find(text);
      if (h == heads.end()) throw Error(ErrorCode::invalid_argument, "'" + text + "' is not a head: it cannot be composed or scored");
      auto leaf = std::make_unique<LeafNode>();
      leaf->head = h->second.get();
      leaf->set = &bb;
      for (std::size_t b = 0; b < backbones.size(); ++b)
        if (backbones[b]->name() == leaf->head->backbone()) leaf->backbone = static_cast<int>(b);
      if (leaf->backbone < 0)
        throw Error(ErrorCode::invalid_argument, "detector " + text + " reads backbone '" + leaf->head->backbone() + "', which is not loaded");
      if (backbones[static_cast<std::size_t>(leaf->backbone)]->feature_dim() != leaf->head->feature_dim())
        throw Error(ErrorCode::invalid_argument,
                    "detector " + text + " takes " + std::to_string(leaf->head->feature_dim()) + "-wide features, but " +
                        leaf->head->backbone() + " gives " +
                        std::to_string(backbones[static_cast<std::size_t>(leaf->backbone)]->feature_dim()));
      leaf->outputs = leaf->head->outputs();
      leaf->categories = leaf->head->categories();
      std::sort(leaf->categories.begin(), leaf->categories.end(),
                [](const CategoryMap& a, const CategoryMap& b) { return category_index(a.category) < category_index(b.category); });
      node = std::move(leaf);
      break;
    }
    case DetectorSpec::Kind::ensemble: {
      auto e = std::make_unique<EnsembleNode>();
      std::set<std::string> cats;
      for (const auto& m : spec.members) {
        e->members.push_back(build(m));
        for (const auto& c : e->members.back()->categories) cats.insert(c.category);
      }
      outputs_are_categories(*e, sorted_categories(cats));
      node = std::move(e);
      break;
    }
    case DetectorSpec::Kind::cascade: {
      auto c = std::make_unique<CascadeNode>();
      c->first = build(spec.members.at(0));
      c->second = build(spec.members.at(1));
      c->bound = spec.bound;
      std::vector<std::string> cats;
      for (const auto& m : c->first->categories) cats.push_back(m.category);
      outputs_are_categories(*c, cats);
      for (std::size_t i = 0; i < cats.size(); ++i)
        if (c->second->category_slot(cats[i]) >= 0) c->shared.push_back(static_cast<int>(i));
      if (c->shared.empty())
        throw Error(ErrorCode::invalid_argument, "in " + text + " the second detector covers none of the first's categories");
      node = std::move(c);
      break;
    }
  }
  node->spec = text;
  node->name = spec.display_name();
  nodes.push_back(std::move(node));
  return nodes.back().get();
}

DetectorSet::DetectorSet() : impl_(std::make_unique<Impl>()) {}
DetectorSet::DetectorSet(DetectorSet&&) noexcept = default;
DetectorSet& DetectorSet::operator=(DetectorSet&&) noexcept = default;
DetectorSet::~DetectorSet() = default;

DetectorSet DetectorSet::compose(const std::vector<DetectorSpec>& specs, Parts parts) {
  DetectorSet set;
  Impl& d = *set.impl_;
  for (auto& [name, b] : parts.backbones) {
    if (b->input_floats() > 0) {
      d.offsets.push_back(d.floats);
      d.floats += b->input_floats();
    } else {
      d.offsets.push_back(0);
    }
    if (name == "clip") d.embedding_backbone = static_cast<int>(d.backbones.size());
    d.backbones.push_back(b);
  }
  d.heads = std::move(parts.heads);
  std::set<std::string> names;
  for (const DetectorSpec& spec : specs) {
    const std::string text = spec.text();
    Info info;
    info.spec = text;
    info.name = spec.display_name();
    if (!names.insert(info.name).second) continue;  // named twice: once is enough
    if (spec.kind == DetectorSpec::Kind::name && parts.annotators.count(text)) {
      if (!spec.label.empty()) info.name = spec.label;
      info.annotator = true;
      d.annotators.push_back(parts.annotators.at(text));
      d.info.push_back(std::move(info));
      continue;
    }
    for (const auto& m : spec.members)
      if (m.kind == DetectorSpec::Kind::name && parts.annotators.count(m.text()))
        throw Error(ErrorCode::invalid_argument, m.text() + " finds faces, it has no scores to compose (in " + text + ")");
    const Node* node = d.build(spec);
    d.top.push_back({info.name, node});
    info.outputs = node->outputs;
    for (const auto& c : node->categories) info.categories.push_back(c.category);
    d.info.push_back(std::move(info));
  }
  return set;
}

const std::vector<DetectorSet::Info>& DetectorSet::detectors() const { return impl_->info; }

std::optional<DetectorSet::Leaf> DetectorSet::leaf(const std::string& name) const {
  for (const auto& t : impl_->top) {
    if (t.name != name) continue;
    const auto* leaf = dynamic_cast<const LeafNode*>(t.node);
    if (!leaf) return std::nullopt;
    return Leaf{impl_->backbones[static_cast<std::size_t>(leaf->backbone)].get(), leaf->head};
  }
  return std::nullopt;
}

std::vector<float> Backbone::run_with_gradient(const float*, int, const FeatureGradient&, float*) const {
  throw Error(ErrorCode::invalid_argument, "backbone '" + name() + "' has no gradients (white-box attacks need one)");
}

std::vector<std::string> DetectorSet::names() const {
  std::vector<std::string> out;
  for (const auto& i : impl_->info) out.push_back(i.name);
  return out;
}

std::vector<std::string> DetectorSet::categories() const {
  std::set<std::string> cats;
  for (const auto& i : impl_->info) cats.insert(i.categories.begin(), i.categories.end());
  return sorted_categories(cats);
}

bool DetectorSet::needs_pixels() const { return impl_->floats > 0 || !impl_->annotators.empty(); }

int DetectorSet::min_side() const {
  int side = 0;
  for (const auto& b : impl_->backbones)
    if (b->input_floats() > 0) side = std::max(side, b->min_side());
  for (const auto& a : impl_->annotators) side = std::max(side, a->min_side());
  return side;
}

std::size_t DetectorSet::input_floats() const { return impl_->floats; }

int DetectorSet::embedding_dim() const {
  return impl_->embedding_backbone < 0 ? 0 : impl_->backbones[static_cast<std::size_t>(impl_->embedding_backbone)]->feature_dim();
}

void DetectorSet::preprocess(const Image& image, float* out) const {
  for (std::size_t b = 0; b < impl_->backbones.size(); ++b)
    if (impl_->backbones[b]->input_floats() > 0) impl_->backbones[b]->preprocess(image, out + impl_->offsets[b]);
}

void DetectorSet::annotate(const Image& image, int full_width, int full_height, ItemResult& result) const {
  for (const auto& a : impl_->annotators) a->annotate(image, full_width, full_height, result);
}

void DetectorSet::run_batch(const std::vector<BatchItem>& batch, const Policy& policy, bool keep_embedding) const {
  const Impl& d = *impl_;
  BatchState state{batch, {}, {}};
  state.features.assign(d.backbones.size(), std::vector<std::vector<float>>(batch.size()));
  state.tried.assign(d.backbones.size(), std::vector<bool>(batch.size(), false));
  std::vector<int> all;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (batch[i].result && batch[i].result->ok && (batch[i].input || batch[i].embedding)) all.push_back(static_cast<int>(i));
  if (all.empty()) return;
  // Every backbone a detector reads on every item runs first, on the whole batch (cascades'
  // second stages are left to run on their few items).
  std::set<int> always;
  for (const auto& t : d.top)
    if (const auto* leaf = dynamic_cast<const LeafNode*>(t.node)) always.insert(leaf->backbone);
  for (const int b : always) d.ensure(state, b, all);
  if (keep_embedding && d.embedding_backbone >= 0) d.ensure(state, d.embedding_backbone, all);

  for (const auto& [name, node] : d.top) {
    std::vector<std::vector<float>> out;
    node->eval(state, all, out);
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (out[k].empty()) continue;
      ItemResult& r = *batch[static_cast<std::size_t>(all[k])].result;
      for (std::size_t o = 0; o < node->outputs.size(); ++o) r.scores.push_back({name, node->outputs[o], out[k][o], false});
      const auto values = node->category_values(out[k]);
      for (std::size_t c = 0; c < node->categories.size(); ++c)
        r.categories.push_back({name, node->categories[c].category, values[c], Likelihood::very_unlikely, Decision::allow});
    }
  }
  for (const int i : all) {
    ItemResult& r = *batch[static_cast<std::size_t>(i)].result;
    policy.apply(r);
    if (keep_embedding && d.embedding_backbone >= 0)
      r.embedding = state.features[static_cast<std::size_t>(d.embedding_backbone)][static_cast<std::size_t>(i)];
    // A raw score is flagged when a category it counts towards was not allowed.
    for (const CategoryRecord& c : r.categories) {
      if (c.decision == Decision::allow) continue;
      for (const auto& [name, node] : d.top) {
        if (name != c.detector) continue;
        const int slot = node->category_slot(c.category);
        if (slot < 0) continue;
        for (const int o : node->categories[static_cast<std::size_t>(slot)].outputs)
          for (ScoreRecord& s : r.scores)
            if (s.detector == name && s.category == node->outputs[static_cast<std::size_t>(o)]) s.flagged = true;
      }
    }
  }
}

std::vector<ModelInfo> DetectorSet::models() const {
  std::vector<ModelInfo> out;
  auto add = [&](std::vector<ModelInfo> ms) {
    for (auto& m : ms) {
      const bool seen = std::any_of(out.begin(), out.end(), [&](const ModelInfo& o) { return o.name == m.name && o.path == m.path; });
      if (!seen) out.push_back(std::move(m));
    }
  };
  for (const auto& b : impl_->backbones) add(b->models());
  for (const auto& [text, h] : impl_->heads) add(h->models());
  for (const auto& a : impl_->annotators) add(a->models());
  return out;
}

}  // namespace safescan
