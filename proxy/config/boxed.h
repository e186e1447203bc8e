// Boxed<T>: a config field kept on the heap only when set, with value semantics (copies copy the
// T). For fields most resources leave unset or default, so the common case costs 8 bytes instead
// of sizeof(T): a route table holds thousands of routes, and most have no redirect, no direct
// response, no route-level header mutations and no retry policy of their own.
#pragma once

#include <memory>
#include <utility>

namespace pilotfish::config {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(T value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT: like optional
  Boxed(const Boxed& o) : value_(o.value_ != nullptr ? std::make_unique<T>(*o.value_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) value_ = o.value_ != nullptr ? std::make_unique<T>(*o.value_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(T value) {
    value_ = std::make_unique<T>(std::move(value));
    return *this;
  }

  // Set at all (for optional fields). An unset box reads as a default T.
  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  const T& operator*() const { return value_ != nullptr ? *value_ : Default(); }
  const T* operator->() const { return &**this; }
  operator const T&() const { return **this; }  // NOLINT: reads as the T it holds
  // The value to write, created (default) if unset.
  T& Mutable() {
    if (value_ == nullptr) value_ = std::make_unique<T>();
    return *value_;
  }
  void reset() { value_.reset(); }

 private:
  static const T& Default() {
    static const T kDefault{};
    return kDefault;
  }
  std::unique_ptr<T> value_;
};

}  // namespace pilotfish::config
