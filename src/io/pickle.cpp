#include "io/pickle.hpp"

#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <unordered_map>

#include "io/invalid.hpp"

namespace safescan::io::pickle {

const Value* Value::get(std::string_view key) const noexcept {
  const Value* found = nullptr;
  if (kind != Kind::dict) return nullptr;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2)
    if (items[i]->kind == Kind::string && items[i]->text == key) found = items[i + 1];
  return found;
}

std::string Value::describe() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer:
    case Kind::big_integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global " + text;
    case Kind::object: {
      const auto name = class_name();
      return (name.empty() ? std::string("object") : std::string(name)) + "(...)";
    }
    case Kind::persistent_id: return "persistent id";
  }
  return "?";
}

namespace {

// Opcodes we recognise but refuse, named in the error message.
const char* unsupported_opcode_name(std::uint8_t op) {
  switch (op) {
    case 'S': return "STRING (protocol 0 text string)";
    case 'V': return "UNICODE (protocol 0 text string)";
    case 'F': return "FLOAT (protocol 0 text float)";
    case 'i': return "INST (protocol 0 instance)";
    case 'o': return "OBJ (protocol 1 instance)";
    case 0x82:
    case 0x83:
    case 0x84: return "EXT (extension registry)";
    case 0x97: return "NEXT_BUFFER (out-of-band buffer)";
    default: return nullptr;
  }
}

}  // namespace

// Executes one pickle program; the values it builds live in the Pickle's arena.
class Machine {
 public:
  Machine(std::span<const std::uint8_t> bytes, const std::string& file, const std::string& what, Pickle& out)
      : bytes_(bytes), file_(file), what_(what), out_(out) {}

  void run();

 private:
  [[noreturn]] void fail(const std::string& message, std::size_t at) const {
    throw_invalid(file_, "pickle" + (what_.empty() ? std::string() : " '" + what_ + "'") + " at byte " + std::to_string(at) + ": " + message);
  }
  [[noreturn]] void fail(const std::string& message) const { fail(message, op_at_); }

  // Reading operands.
  std::span<const std::uint8_t> take(std::uint64_t n) {
    if (n > bytes_.size() - pos_)
      fail("the pickle ends early: opcode needs " + std::to_string(n) + " more bytes at byte " + std::to_string(pos_) +
           ", only " + std::to_string(bytes_.size() - pos_) + " are left (truncated)");
    const auto s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t le(unsigned n) {
    const auto s = take(n);
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t{s[i]} << (8 * i);
    return v;
  }
  std::string_view line() {  // protocol 0 operand: up to and excluding '\n'
    const auto* begin = bytes_.data() + pos_;
    const void* nl = std::memchr(begin, '\n', bytes_.size() - pos_);
    if (!nl) fail("the pickle ends early: no end of line after the opcode (truncated)");
    const auto n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - begin);
    pos_ += n + 1;
    return {reinterpret_cast<const char*>(begin), n};
  }
  std::int64_t decimal(std::string_view text) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) fail("bad decimal operand '" + std::string(text) + "'");
    return v;
  }

  // Building values.
  Value* make(Kind kind) {
    if (out_.values_.size() >= Pickle::max_values)
      fail("more than " + std::to_string(Pickle::max_values) + " values: refusing to build this pickle");
    Value& v = out_.values_.emplace_back();
    v.kind = kind;
    return &v;
  }
  Value* make_text(Kind kind, std::span<const std::uint8_t> s) {
    Value* v = make(kind);
    v->text.assign(s.begin(), s.end());
    return v;
  }
  Value* make_integer(std::int64_t i) {
    Value* v = make(Kind::integer);
    v->integer = i;
    return v;
  }
  Value* make_long(std::span<const std::uint8_t> s) {  // little-endian two's complement
    if (s.size() > 8) return make(Kind::big_integer);
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < s.size(); ++i) u |= std::uint64_t{s[i]} << (8 * i);
    if (!s.empty() && s.size() < 8 && (s.back() & 0x80)) u |= ~std::uint64_t{0} << (8 * s.size());  // sign-extend
    return make_integer(static_cast<std::int64_t>(u));
  }
  Value* make_global(std::string_view module, std::string_view name) {
    Value* v = make(Kind::global);
    v->text = std::string(module) + "." + std::string(name);
    return v;
  }

  // The stack.
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    return stack_.back();
  }
  std::size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK, and the mark.
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Value* tuple_of(const std::vector<Value*>& items) {
    Value* t = make(Kind::tuple);
    t->items.assign(items.begin(), items.end());
    return t;
  }

  // Memo.
  void put(std::uint64_t key) { memo_[key] = top(); }
  Value* get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }

  void append(Value* container, const std::vector<Value*>& items) {
    if (container->kind != Kind::list) fail("APPEND(S)/ADDITEMS to a " + container->describe() + ", not a list");
    container->items.insert(container->items.end(), items.begin(), items.end());
  }
  void set_items(Value* container, const std::vector<Value*>& items) {
    if (container->kind != Kind::dict) fail("SETITEM(S) on a " + container->describe() + ", not a dict");
    if (items.size() % 2) fail("SETITEMS with an odd number of keys and values");
    container->items.insert(container->items.end(), items.begin(), items.end());
  }
  // callable(*args): collections.OrderedDict() and dict() become dicts, the rest Objects.
  Value* call(Value* callable, Value* args) {
    if (args->kind != Kind::tuple) fail("REDUCE/NEWOBJ arguments are a " + args->describe() + ", not a tuple");
    if ((callable->is_global("collections.OrderedDict") || callable->is_global("builtins.dict")) && args->items.empty())
      return make(Kind::dict);
    Value* v = make(Kind::object);
    v->callable = callable;
    v->args = args;
    return v;
  }
  void build(Value* target, Value* state) {
    if (target->kind != Kind::object && target->kind != Kind::dict)
      fail("BUILD on a " + target->describe() + " (only objects have a state)");
    target->state = state;
  }

  void step(std::uint8_t op);

  std::span<const std::uint8_t> bytes_;
  const std::string& file_;
  const std::string& what_;
  Pickle& out_;
  std::size_t pos_ = 0;
  std::size_t op_at_ = 0;  // offset of the opcode being executed
  bool stopped_ = false;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value*> memo_;
  Value* none_ = nullptr;
  Value* true_ = nullptr;
  Value* false_ = nullptr;
};

void Machine::run() {
  none_ = make(Kind::none);
  true_ = make(Kind::boolean);
  true_->boolean = true;
  false_ = make(Kind::boolean);
  while (!stopped_) {
    if (pos_ >= bytes_.size())
      fail("the pickle ends early, without a STOP opcode (truncated)", pos_);
    op_at_ = pos_;
    step(bytes_[pos_++]);
  }
}

void Machine::step(std::uint8_t op) {
  switch (op) {
    // Framing and control.
    case 0x80: {  // PROTO
      const auto version = le(1);
      if (version > 5) fail("pickle protocol " + std::to_string(version) + " is newer than 5");
      break;
    }
    case 0x95: le(8); break;  // FRAME: a length hint; the data follows inline
    case '.': {               // STOP
      out_.root_ = pop();
      stopped_ = true;
      break;
    }
    case '(': marks_.push_back(stack_.size()); break;  // MARK
    case '0': pop(); break;                            // POP
    case '1': pop_mark(); break;                       // POP_MARK
    case '2': push(top()); break;                      // DUP

    // Constants and numbers.
    case 'N': push(none_); break;
    case 0x88: push(true_); break;   // NEWTRUE
    case 0x89: push(false_); break;  // NEWFALSE
    case 'J': push(make_integer(static_cast<std::int32_t>(le(4)))); break;  // BININT
    case 'K': push(make_integer(static_cast<std::int64_t>(le(1)))); break;  // BININT1
    case 'M': push(make_integer(static_cast<std::int64_t>(le(2)))); break;  // BININT2
    case 0x8a: push(make_long(take(le(1)))); break;                         // LONG1
    case 0x8b: {                                                            // LONG4
      const auto n = static_cast<std::int32_t>(le(4));
      if (n < 0) fail("LONG4 with a negative length");
      push(make_long(take(static_cast<std::uint64_t>(n))));
      break;
    }
    case 'I': {  // INT (protocol 0): "01"/"00" are True/False
      const auto text = line();
      if (text == "01" || text == "00") {
        push(text == "01" ? true_ : false_);
      } else {
        push(make_integer(decimal(text)));
      }
      break;
    }
    case 'L': {  // LONG (protocol 0): decimal digits and an 'L'
      auto text = line();
      if (!text.empty() && text.back() == 'L') text.remove_suffix(1);
      push(make_integer(decimal(text)));
      break;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const auto s = take(8);
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | s[static_cast<std::size_t>(i)];
      Value* v = make(Kind::floating);
      v->floating = std::bit_cast<double>(bits);
      push(v);
      break;
    }

    // Strings and bytes.
    case 0x8c: push(make_text(Kind::string, take(le(1)))); break;  // SHORT_BINUNICODE
    case 'X': push(make_text(Kind::string, take(le(4)))); break;   // BINUNICODE
    case 0x8d: push(make_text(Kind::string, take(le(8)))); break;  // BINUNICODE8
    case 'C': push(make_text(Kind::bytes, take(le(1)))); break;    // SHORT_BINBYTES
    case 'B': push(make_text(Kind::bytes, take(le(4)))); break;    // BINBYTES
    case 0x8e: push(make_text(Kind::bytes, take(le(8)))); break;   // BINBYTES8
    case 0x96: push(make_text(Kind::bytes, take(le(8)))); break;   // BYTEARRAY8
    case 'U': push(make_text(Kind::bytes, take(le(1)))); break;    // SHORT_BINSTRING (Python 2 str)
    case 'T': {                                                    // BINSTRING (Python 2 str)
      const auto n = static_cast<std::int32_t>(le(4));
      if (n < 0) fail("BINSTRING with a negative length");
      push(make_text(Kind::bytes, take(static_cast<std::uint64_t>(n))));
      break;
    }
    case 0x98: top(); break;  // READONLY_BUFFER: no-op on an in-band buffer

    // Containers.
    case ')': push(tuple_of({})); break;  // EMPTY_TUPLE
    case 't': push(tuple_of(pop_mark())); break;
    case 0x85: {  // TUPLE1
      Value* a = pop();
      push(tuple_of({a}));
      break;
    }
    case 0x86: {  // TUPLE2
      Value* b = pop();
      Value* a = pop();
      push(tuple_of({a, b}));
      break;
    }
    case 0x87: {  // TUPLE3
      Value* c = pop();
      Value* b = pop();
      Value* a = pop();
      push(tuple_of({a, b, c}));
      break;
    }
    case ']': push(make(Kind::list)); break;  // EMPTY_LIST
    case 'l': {                               // LIST
      const auto items = pop_mark();
      Value* list = make(Kind::list);
      list->items.assign(items.begin(), items.end());
      push(list);
      break;
    }
    case 'a': {  // APPEND
      Value* item = pop();
      append(top(), {item});
      break;
    }
    case 'e': {  // APPENDS
      const auto items = pop_mark();
      append(top(), items);
      break;
    }
    case 0x8f: push(make(Kind::list)); break;  // EMPTY_SET (kept as a list)
    case 0x90: {                               // ADDITEMS
      const auto items = pop_mark();
      append(top(), items);
      break;
    }
    case 0x91: push(tuple_of(pop_mark())); break;  // FROZENSET (kept as a tuple)
    case '}': push(make(Kind::dict)); break;       // EMPTY_DICT
    case 'd': {                                    // DICT
      const auto items = pop_mark();
      Value* dict = make(Kind::dict);
      set_items(dict, items);
      push(dict);
      break;
    }
    case 's': {  // SETITEM
      Value* value = pop();
      Value* key = pop();
      set_items(top(), {key, value});
      break;
    }
    case 'u': {  // SETITEMS
      const auto items = pop_mark();
      set_items(top(), items);
      break;
    }

    // Memo.
    case 'q': put(le(1)); break;  // BINPUT
    case 'r': put(le(4)); break;  // LONG_BINPUT
    case 'p': {                   // PUT
      const auto key = decimal(line());
      if (key < 0) fail("negative memo key");
      put(static_cast<std::uint64_t>(key));
      break;
    }
    case 0x94: put(memo_.size()); break;  // MEMOIZE
    case 'h': push(get(le(1))); break;    // BINGET
    case 'j': push(get(le(4))); break;    // LONG_BINGET
    case 'g': {                           // GET
      const auto key = decimal(line());
      if (key < 0) fail("negative memo key");
      push(get(static_cast<std::uint64_t>(key)));
      break;
    }

    // Objects.
    case 'c': {  // GLOBAL "module\nname\n"
      const std::string module(line());
      const std::string name(line());
      push(make_global(module, name));
      break;
    }
    case 0x93: {  // STACK_GLOBAL
      Value* name = pop();
      Value* module = pop();
      if (name->kind != Kind::string || module->kind != Kind::string) fail("STACK_GLOBAL needs two strings");
      push(make_global(module->text, name->text));
      break;
    }
    case 'R': {  // REDUCE
      Value* args = pop();
      Value* callable = pop();
      push(call(callable, args));
      break;
    }
    case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
      Value* args = pop();
      Value* cls = pop();
      push(call(cls, args));
      break;
    }
    case 0x92: {  // NEWOBJ_EX: keyword arguments are dropped
      pop();
      Value* args = pop();
      Value* cls = pop();
      push(call(cls, args));
      break;
    }
    case 'b': {  // BUILD
      Value* state = pop();
      build(top(), state);
      break;
    }
    case 'Q': {  // BINPERSID
      Value* id = make(Kind::persistent_id);
      id->items.push_back(pop());
      push(id);
      break;
    }
    case 'P': {  // PERSID: the id is a line of text
      const auto text = line();
      Value* id = make(Kind::persistent_id);
      id->items.push_back(make_text(Kind::string, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
      push(id);
      break;
    }

    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      if (const char* name = unsupported_opcode_name(op)) fail(std::string("opcode ") + hex + " " + name + " is not supported");
      fail(std::string("unknown opcode ") + hex + " (not a pickle, or a corrupt one)");
    }
  }
}

Pickle Pickle::parse(std::span<const std::uint8_t> bytes, const std::string& file, const std::string& what) {
  Pickle pickle;
  Machine(bytes, file, what, pickle).run();
  return pickle;
}

}  // namespace safescan::io::pickle
