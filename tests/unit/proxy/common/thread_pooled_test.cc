// ThreadPooled: per-thread reuse of freed blocks for one-per-request objects.
#include "proxy/common/thread_pooled.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace pilotfish::common {
namespace {

int live = 0;

class Base : public ThreadPooled<Base, 4> {
 public:
  Base() { ++live; }
  virtual ~Base() { --live; }
  char payload[40] = {};
};

class Bigger : public Base {
 public:
  char more[8192] = {};
};

TEST(ThreadPooledTest, AFreedBlockIsTheNextOneHandedOut) {
  if (!kRecycling) GTEST_SKIP() << "sanitizer builds do not pool (every block is freed)";
  Base* first = new Base();
  delete first;
  std::unique_ptr<Base> again(new Base());
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(live, 1);
}

TEST(ThreadPooledTest, KeepsAtMostKMaxBlocks) {
  if (!kRecycling) GTEST_SKIP() << "sanitizer builds do not pool";
  std::vector<Base*> made;
  for (int i = 0; i < 10; ++i) made.push_back(new Base());
  for (Base* b : made) delete b;  // the first four freed are kept, the rest go back
  std::vector<std::unique_ptr<Base>> next;
  for (int i = 0; i < 4; ++i) next.emplace_back(new Base());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(next[static_cast<size_t>(i)].get(), made[3 - i]);
  EXPECT_EQ(live, 4);
}

// A subclass has another size: deleted through the base, its block is not pooled for Base.
TEST(ThreadPooledTest, ASubclassBlockIsNotReusedForTheBase) {
  Base* big = new Bigger();
  EXPECT_EQ(live, 1);
  delete big;
  EXPECT_EQ(live, 0);
  std::unique_ptr<Base> b(new Base());
  EXPECT_NE(static_cast<void*>(b.get()), static_cast<void*>(big));
}

// Made on one thread, destroyed on another that then exits: no crash, no double free.
TEST(ThreadPooledTest, BlocksMayBeFreedOnAnotherThread) {
  std::vector<Base*> made;
  for (int i = 0; i < 6; ++i) made.push_back(new Base());
  std::thread t([&made] {
    for (Base* b : made) delete b;
    std::unique_ptr<Base> reused(new Base());  // from this thread's pool
  });
  t.join();
  EXPECT_EQ(live, 0);
  std::unique_ptr<Base> here(new Base());
  EXPECT_EQ(live, 1);
}

int released = 0;
void CountRelease(int* p) {
  ++released;
  delete p;
}
using Ints = ThreadFreeList<int*, 2, &CountRelease>;

// The list keeps at most kMax, hands back the newest first, and releases what it still holds
// when its thread exits; after that, Keep on that thread refuses.
TEST(ThreadFreeListTest, KeepsUpToKMaxAndReleasesAtThreadExit) {
  if (!kRecycling) GTEST_SKIP() << "sanitizer builds keep nothing (every list is off)";
  std::thread t([] {
    EXPECT_EQ(Ints::Take(), nullptr);
    int* a = new int(1);
    int* b = new int(2);
    int* c = new int(3);
    EXPECT_TRUE(Ints::Keep(a));
    EXPECT_TRUE(Ints::Keep(b));
    EXPECT_FALSE(Ints::HasRoom());
    EXPECT_FALSE(Ints::Keep(c));
    delete c;
    EXPECT_EQ(Ints::Take(), b);
    EXPECT_TRUE(Ints::Keep(b));
  });
  t.join();
  EXPECT_EQ(released, 2);            // a and b, at the thread's exit
  EXPECT_EQ(Ints::Take(), nullptr);  // this thread's own list is separate and empty
}

}  // namespace
}  // namespace pilotfish::common
