// Argument helpers for the bindings: every typed array's type and length is checked here
// before a kernel sees its pointer, even though the TypeScript layer validated first.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace binding {

template <typename F>
struct TypedArrayKind;
template <>
struct TypedArrayKind<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayKind<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};
template <>
struct TypedArrayKind<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};
template <>
struct TypedArrayKind<uint16_t> {
  static constexpr napi_typedarray_type type = napi_uint16_array;
  static constexpr const char* name = "Uint16Array";
};
template <>
struct TypedArrayKind<int8_t> {
  static constexpr napi_typedarray_type type = napi_int8_array;
  static constexpr const char* name = "Int8Array";
};
template <>
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};

// An argument's name for error messages ("weights[3]", "hyper.lr"), put together only when an
// error is thrown: the checks below run on every call, and building strings there showed up in
// the one-step inference profile.
class ArgName {
 public:
  ArgName(const char* name) : head_(name) {}                       // NOLINT: implicit by design
  ArgName(const char* name, size_t index) : head_(name), index_(static_cast<long>(index)) {}
  ArgName(const char* prefix, const char* name) : head_(prefix), tail_(name) {}
  std::string str() const {
    std::string s = std::string(head_) + tail_;
    if (index_ >= 0) s += "[" + std::to_string(index_) + "]";
    return s;
  }

 private:
  const char* head_;
  const char* tail_ = "";
  long index_ = -1;
};

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

// The most elements one array handed to a kernel may have, and so the largest product of
// sizes: OpenBLAS's interface (Debian's is LP64) takes every dimension, leading dimension and
// index as a 32-bit int, and so do the kernels' element loops. 2^31 − 1 floats are 8 GiB.
constexpr size_t kMaxElements = INT32_MAX;

// The product of sizes ({T, B, I}: the elements of a (T, B, I) array), checked here rather
// than trusted to the TypeScript layer: a product that wraps around size_t would let a short
// array pass the length check that follows. Throws a RangeError naming `what` when the
// product overflows or exceeds kMaxElements.
inline size_t checked_size(Napi::Env env, std::initializer_list<size_t> sizes, const ArgName& what) {
  size_t product = 1;
  bool over = false;
  for (size_t s : sizes) {
    if (s == 0) return 0;
    over = over || __builtin_mul_overflow(product, s, &product);
  }
  if (over || product > kMaxElements) {  // "x would need 65536 x 65536 = 4294967296 elements, ..."
    std::string n;
    for (size_t s : sizes) n += (n.empty() ? "" : " x ") + std::to_string(s);
    if (sizes.size() > 1) n += over ? " (beyond size_t)" : " = " + std::to_string(product);
    throw_range(env, what.str() + " would need " + n + " elements, more than the " + std::to_string(kMaxElements) +
                         " one buffer can hold (BLAS dimensions are 32-bit ints)");
  }
  return product;
}

// The data of a typed array of element type T and exactly `expected` elements. One
// napi_get_typedarray_info call: Node's checks each typed-array kind in turn, so it is the
// costly part of a small call.
template <typename T>
T* typed_data(Napi::Env env, const Napi::Value& v, size_t expected, const ArgName& what) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != TypedArrayKind<T>::type)
    throw_type(env, what.str() + " must be a " + TypedArrayKind<T>::name);
  if (length != expected)
    throw_range(env, what.str() + " must have " + std::to_string(expected) + " elements, received " +
                         std::to_string(length));
  return static_cast<T*>(data);
}

// Whether a float argument is a Float64Array (the float64 twins, for gradient checks) or a
// Float32Array; anything else is a TypeError. The dtype-generic entry points dispatch on it
// and then check every other array with typed_data<F> of that type.
inline bool is_float64(Napi::Env env, const Napi::Value& v, const ArgName& what) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, nullptr, nullptr, nullptr, nullptr) != napi_ok ||
      (type != napi_float32_array && type != napi_float64_array))
    throw_type(env, what.str() + " must be a Float32Array (or a Float64Array)");
  return type == napi_float64_array;
}

// Runs Impl<float>::run or Impl<double>::run by the type of info[at]; RNN_DTYPE_ENTRY(Name,
// at, what) defines the entry point Name from NameImpl.
template <template <typename> class Impl>
Napi::Value dispatch_dtype(const Napi::CallbackInfo& info, size_t at, const char* what) {
  if (is_float64(info.Env(), info[at], what)) return Impl<double>::run(info);
  return Impl<float>::run(info);
}
#define RNN_DTYPE_ENTRY(Name, at, what) \
  Napi::Value Name(const Napi::CallbackInfo& info) { return dispatch_dtype<Name##Impl>(info, at, what); }

// The length of a typed array of element type T (checked like typed_data, any length).
template <typename T>
size_t typed_length(Napi::Env env, const Napi::Value& v, const ArgName& what) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, &length, nullptr, nullptr, nullptr) != napi_ok ||
      type != TypedArrayKind<T>::type)
    throw_type(env, what.str() + " must be a " + TypedArrayKind<T>::name);
  return length;
}

// Like typed_data, but null/undefined give nullptr.
template <typename T>
T* optional_typed_data(Napi::Env env, const Napi::Value& v, size_t expected, const ArgName& what) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return typed_data<T>(env, v, expected, what);
}

// A copy of an Int32Array's contents. Indices are checked on the copy and the kernels read the
// copy: an array on a SharedArrayBuffer can be rewritten by another thread between a check and
// a use of the original, and an index that changes after its check could read out of bounds.
inline std::vector<int32_t> int32_copy(Napi::Env env, const Napi::Value& v, size_t expected, const ArgName& what) {
  const int32_t* p = typed_data<int32_t>(env, v, expected, what);
  return std::vector<int32_t>(p, p + expected);
}

inline int32_t int_arg(Napi::Env env, const Napi::Value& v, const ArgName& what, int32_t lo,
                       int32_t hi) {
  if (!v.IsNumber()) throw_type(env, what.str() + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_range(env, what.str() + " must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], received " + std::to_string(d));
  return static_cast<int32_t>(d);
}

inline double number_arg(Napi::Env env, const Napi::Value& v, const ArgName& what) {
  if (!v.IsNumber()) throw_type(env, what.str() + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline bool bool_arg(Napi::Env env, const Napi::Value& v, const ArgName& what) {
  if (!v.IsBoolean()) throw_type(env, what.str() + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline Napi::Array array_arg(Napi::Env env, const Napi::Value& v, size_t expected, const ArgName& what) {
  if (!v.IsArray()) throw_type(env, what.str() + " must be an array");
  auto a = v.As<Napi::Array>();
  if (a.Length() != expected)
    throw_range(env, what.str() + " must have " + std::to_string(expected) + " entries, received " +
                         std::to_string(a.Length()));
  return a;
}

}  // namespace binding
