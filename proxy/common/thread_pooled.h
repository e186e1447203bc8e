// ThreadPooled<T>: class-specific operator new/delete that keep up to kMax freed blocks of
// sizeof(T) per thread for the next allocation, for objects made and destroyed once per request
// (streams, filters). A block freed on another thread joins that thread's pool; blocks of
// another size (a subclass) and everything in sanitizer builds go to the global allocator.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace pilotfish::common {

template <typename T, size_t kMax = 64>
class ThreadPooled {
 public:
  static void* operator new(size_t size) {
    if (size == sizeof(T)) {
      if (std::vector<void*>* pool = Pool(); pool != nullptr && !pool->empty()) {
        void* p = pool->back();
        pool->pop_back();
        return p;
      }
    }
    return ::operator new(size);
  }

  static void operator delete(void* p, size_t size) {
    if (size == sizeof(T)) {
      if (std::vector<void*>* pool = Pool(); pool != nullptr && pool->size() < kMax) {
        pool->push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }

 private:
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  static constexpr bool kEnabled = false;  // the sanitizers must see every block freed
#else
  static constexpr bool kEnabled = true;
#endif

  struct Blocks {
    std::vector<void*> free;
    Blocks() { free.reserve(kMax); }
    ~Blocks() {
      for (void* p : free) ::operator delete(p);
      gone = true;
    }
  };
  // Set once the thread's pool is destroyed (thread exit): later frees go straight back.
  static inline thread_local bool gone = false;

  static std::vector<void*>* Pool() {
    if (!kEnabled || gone) return nullptr;
    thread_local Blocks blocks;
    return &blocks.free;
  }
};

}  // namespace pilotfish::common
