// read_pickled_ndarray: a pickle of one NumPy array, as pickle.dump(array) writes it.
//
//   protocol 2-4: numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'), then BUILD
//                 with ndarray.__setstate__'s (version, shape, dtype, is_fortran, raw bytes),
//                 dtype = numpy.dtype('f2', False, True) + BUILD (3, '<', ...)
//   protocol 5:   numpy.core.numeric._frombuffer(bytes, dtype, shape, 'C' | 'F')
// NumPy 2 spells the modules numpy._core.*; both are accepted.
#include "io/invalid.hpp"
#include "io/mapped_file.hpp"
#include "io/numpy_dtype.hpp"
#include "io/pickle.hpp"
#include "io/strided_view.hpp"
#include "io/tensor_file.hpp"
#include "io/zip_reader.hpp"

namespace safescan::io {

namespace {

using pickle::Kind;
using pickle::Value;

bool is_numpy_call(const Value& v, std::string_view module_tail, std::string_view function) {
  for (std::string_view root : {"numpy.core.", "numpy._core."}) {
    const std::string name = std::string(root) + std::string(module_tail) + "." + std::string(function);
    if (v.is_call_of(name)) return true;
  }
  return false;
}

class ArrayReader {
 public:
  explicit ArrayReader(const std::string& file) : file_(file) {}

  RawTensor read(const Value& root) {
    if (is_numpy_call(root, "multiarray", "_reconstruct")) return reconstruct(root);
    if (is_numpy_call(root, "numeric", "_frombuffer")) return from_buffer(root);
    fail("the pickle holds a " + root.describe() + ", not a NumPy array");
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw_invalid(file_, message); }

  RawTensor reconstruct(const Value& root) {
    const Value* state = root.state;
    if (!state || !state->is(Kind::tuple)) fail("pickled NumPy array without its __setstate__ tuple");
    // (version, shape, dtype, is_fortran, data), or without the version in old pickles.
    auto items = state->items;
    if (items.size() == 5) items.erase(items.begin());
    if (items.size() != 4) fail("pickled NumPy array state has " + std::to_string(state->items.size()) + " items, expected 5");
    if (!items[2]->is(Kind::boolean) && !items[2]->is(Kind::integer)) fail("pickled NumPy array: fortran flag is " + items[2]->describe());
    const bool fortran = items[2]->is(Kind::boolean) ? items[2]->boolean : items[2]->integer != 0;
    return array(items[3], dtype(*items[1]), shape(*items[0]), fortran);
  }

  RawTensor from_buffer(const Value& root) {
    const Value* order = root.arg(3);
    if (!root.arg(1) || !root.arg(2) || !order || !order->is(Kind::string)) fail("pickled NumPy _frombuffer call with bad arguments");
    return array(root.arg(0), dtype(*root.arg(1)), shape(*root.arg(2)), order->text == "F");
  }

  std::vector<std::int64_t> shape(const Value& v) const {
    if (!v.is_sequence()) fail("pickled NumPy array: shape is " + v.describe() + ", not a tuple");
    std::vector<std::int64_t> out;
    for (const Value* d : v.items) {
      if (!d->is(Kind::integer) || d->integer < 0) fail("pickled NumPy array: a dimension is not a non-negative integer");
      out.push_back(d->integer);
    }
    return out;
  }

  // numpy.dtype('f2', False, True) with BUILD state (3, '<', ...): byte order + type code.
  DType dtype(const Value& v) const {
    if (!v.is_call_of("numpy.dtype") || !v.arg(0) || !v.arg(0)->is_text())
      fail("pickled NumPy array: dtype is " + v.describe() + ", not numpy.dtype(...)");
    std::string descr = v.arg(0)->text;
    if (v.state && v.state->is(Kind::tuple) && v.state->items.size() > 1 && v.state->items[1]->is_text())
      descr = v.state->items[1]->text + descr;
    return parse_numpy_descr(descr, file_);
  }

  RawTensor array(const Value* data, DType dtype, std::vector<std::int64_t> dims, bool fortran) const {
    if (!data || !data->is(Kind::bytes))
      fail("pickled NumPy array: data is " + (data ? data->describe() : std::string("missing")) + ", not raw bytes");
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(data->text.data()), data->text.size());
    if (checked_nbytes(dims, dtype) != bytes.size())
      fail("pickled NumPy array holds " + std::to_string(bytes.size()) + " bytes of data, which does not match its shape and " +
           to_string(dtype) + " elements");
    StridedView view;
    view.dtype = dtype;
    view.strides = fortran ? column_major_strides(dims) : row_major_strides(dims);
    view.shape = std::move(dims);
    return materialize(view, bytes, bytes.size(), file_, "pickled NumPy array");
  }

  const std::string& file_;
};

}  // namespace

RawTensor read_pickled_ndarray(const std::filesystem::path& path) {
  const MappedFile file(path);
  if (file.bytes()[0] != 0x80) {  // PROTO: every pickle of protocol 2 or later starts with it
    throw_invalid(file.name(), ZipArchive::looks_like_zip(file.bytes())
                                   ? "a zip archive (a PyTorch checkpoint?), not a pickled NumPy array"
                                   : "not a Python pickle of protocol 2 or later (no PROTO opcode at byte 0)");
  }
  const pickle::Pickle pickled = pickle::Pickle::parse(file.bytes(), file.name(), "");
  return ArrayReader(file.name()).read(pickled.root());
}

}  // namespace safescan::io
