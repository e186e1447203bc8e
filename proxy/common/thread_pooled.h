// Per-thread recycling of objects made and destroyed once per request.
//
// ThreadFreeList<P, kMax, kRelease>: up to kMax pointers per thread kept for reuse; at thread
// exit the list hands what it holds to kRelease, and later Keep calls on that thread fail (the
// caller frees normally). Header blocks (proxy/http) and ThreadPooled below use it. In sanitizer
// builds (kRecycling false) every list is off, so ASan and TSan see each block freed: this is
// the one place that decides it.
//
// ThreadPooled<T>: class-specific operator new/delete that keep up to kMax freed blocks of
// sizeof(T) per thread for the next allocation (streams, filters). A block freed on another
// thread joins that thread's list; blocks of another size (a subclass) go to the global
// allocator.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace pilotfish::common {

// False in ASan and TSan builds: the free lists keep nothing (tests of reuse read this).
#if defined(__SANITIZE_ADDRESS__) || defined(PF_TSAN)
inline constexpr bool kRecycling = false;
#else
inline constexpr bool kRecycling = true;
#endif

template <typename P, size_t kMax, void (*kRelease)(P)>
class ThreadFreeList {
 public:
  // A kept pointer, or P{} when this thread has none (or the list is off: kMax 0 or
  // !kRecycling).
  static P Take() {
    std::vector<P>* list = List();
    if (list == nullptr || list->empty()) return P{};
    P p = list->back();
    list->pop_back();
    return p;
  }
  // Whether Keep would take one more.
  static bool HasRoom() {
    std::vector<P>* list = List();
    return list != nullptr && list->size() < kMax;
  }
  // Keeps `p` for a later Take on this thread; false (and `p` untouched) when full or gone.
  static bool Keep(P p) {
    std::vector<P>* list = List();
    if (list == nullptr || list->size() >= kMax) return false;
    list->push_back(p);
    return true;
  }

 private:
  struct Holder {
    std::vector<P> free;
    Holder() { free.reserve(kMax); }
    ~Holder() {
      for (P p : free) kRelease(p);
      gone = true;
    }
  };
  // Set once the thread's list is destroyed (thread exit): later frees go straight back.
  static inline thread_local bool gone = false;

  static std::vector<P>* List() {
    if (kMax == 0 || !kRecycling || gone) return nullptr;
    thread_local Holder holder;
    return &holder.free;
  }
};

template <typename T, size_t kMax = 64>
class ThreadPooled {
 public:
  static void* operator new(size_t size) {
    if (size == sizeof(T)) {
      if (void* p = Blocks::Take(); p != nullptr) return p;
    }
    return ::operator new(size);
  }

  static void operator delete(void* p, size_t size) {
    if (size == sizeof(T) && Blocks::Keep(p)) return;
    ::operator delete(p);
  }

 private:
  static void Release(void* p) { ::operator delete(p); }
  using Blocks = ThreadFreeList<void*, kMax, &ThreadPooled::Release>;
};

}  // namespace pilotfish::common
