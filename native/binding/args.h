// Argument helpers for the bindings: every typed array's type and length is checked here
// before a kernel sees its pointer, even though the TypeScript layer validated first.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

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
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

// The data of a typed array of element type T and exactly `expected` elements.
template <typename T>
T* typed_data(Napi::Env env, const Napi::Value& v, size_t expected, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayKind<T>::type)
    throw_type(env, what + " must be a " + TypedArrayKind<T>::name);
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (arr.ElementLength() != expected)
    throw_range(env, what + " must have " + std::to_string(expected) + " elements, received " +
                         std::to_string(arr.ElementLength()));
  return arr.Data();
}

// Like typed_data, but null/undefined give nullptr.
template <typename T>
T* optional_typed_data(Napi::Env env, const Napi::Value& v, size_t expected, const std::string& what) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return typed_data<T>(env, v, expected, what);
}

inline int32_t int_arg(Napi::Env env, const Napi::Value& v, const std::string& what, int32_t lo,
                       int32_t hi) {
  if (!v.IsNumber()) throw_type(env, what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_range(env, what + " must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], received " + std::to_string(d));
  return static_cast<int32_t>(d);
}

inline double number_arg(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw_type(env, what + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline bool bool_arg(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsBoolean()) throw_type(env, what + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline Napi::Array array_arg(Napi::Env env, const Napi::Value& v, size_t expected, const std::string& what) {
  if (!v.IsArray()) throw_type(env, what + " must be an array");
  auto a = v.As<Napi::Array>();
  if (a.Length() != expected)
    throw_range(env, what + " must have " + std::to_string(expected) + " entries, received " +
                         std::to_string(a.Length()));
  return a;
}

}  // namespace binding
