// A minimal Python pickle virtual machine (protocols 2-5, plus the protocol 0/1 opcodes that
// torch and numpy pickles still use). It never imports or calls anything: GLOBAL pushes a
// name, and REDUCE / NEWOBJ / BUILD record "call this with these arguments, then set this
// state" as a generic Object that the readers interpret (torch tensors, TorchScript modules,
// NumPy arrays). Persistent ids (torch storages) are kept as PersistentId values.
//
//   const pickle::Pickle p = pickle::Pickle::parse(bytes, "model.pt", "archive/data.pkl");
//   const pickle::Value& root = p.root();
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace safescan::io::pickle {

enum class Kind : std::uint8_t {
  none,
  boolean,
  integer,      // fits in int64
  big_integer,  // wider than 64 bits: its value is not kept
  floating,
  string,         // str
  bytes,          // bytes, bytearray, and Python 2 str (BINSTRING)
  tuple,          // also frozenset
  list,           // also set
  dict,           // also collections.OrderedDict
  global,         // a module attribute named by GLOBAL / STACK_GLOBAL: text is "module.name"
  object,         // the result of REDUCE or NEWOBJ: callable(*args), then BUILD's state
  persistent_id,  // BINPERSID / PERSID: items[0] is the id
};

struct Value {
  Kind kind = Kind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;                 // string, bytes, global
  std::vector<const Value*> items;  // tuple, list, persistent_id; dict: key, value, key, value ...
  const Value* callable = nullptr;  // object: what was called (usually a global)
  const Value* args = nullptr;      // object: the argument tuple
  const Value* state = nullptr;     // object, dict: the last BUILD state (nullptr when none)

  bool is(Kind k) const noexcept { return kind == k; }
  bool is_sequence() const noexcept { return kind == Kind::tuple || kind == Kind::list; }
  bool is_text() const noexcept { return kind == Kind::string || kind == Kind::bytes; }
  // A global with exactly this dotted name ("torch._utils._rebuild_tensor_v2").
  bool is_global(std::string_view dotted_name) const noexcept { return kind == Kind::global && text == dotted_name; }
  // An object made by calling the global of that name.
  bool is_call_of(std::string_view dotted_name) const noexcept {
    return kind == Kind::object && callable && callable->is_global(dotted_name);
  }
  // The dotted name of an object's callable ("" when it is not a global).
  std::string_view class_name() const noexcept {
    return kind == Kind::object && callable && callable->kind == Kind::global ? std::string_view(callable->text) : std::string_view();
  }
  // The i-th argument of an object, or nullptr.
  const Value* arg(std::size_t i) const noexcept { return args && i < args->items.size() ? args->items[i] : nullptr; }
  // dict: the value of the first string key equal to `key` (last one wins, as in Python), or nullptr.
  const Value* get(std::string_view key) const noexcept;
  // "int", "str", "tuple", "torch._utils._rebuild_tensor_v2(...)": for error messages.
  std::string describe() const;
};

class Pickle {
 public:
  // Runs the pickle program in `bytes`. Throws Error(model_invalid) about `file` with `what`
  // (the zip entry, e.g. "archive/data.pkl"; "" for a whole file) and the byte offset when it is malformed,
  // truncated, uses an unsupported opcode, or builds more than max_values values.
  static Pickle parse(std::span<const std::uint8_t> bytes, const std::string& file, const std::string& what);

  static constexpr std::size_t max_values = std::size_t{1} << 22;

  const Value& root() const noexcept { return *root_; }

 private:
  friend class Machine;
  std::deque<Value> values_;  // every value; pointers into a deque stay valid as it grows
  const Value* root_ = nullptr;
};

}  // namespace safescan::io::pickle
