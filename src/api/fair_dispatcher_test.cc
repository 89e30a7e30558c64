#include "api/fair_dispatcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dram::api {
namespace {

// Jobs are collected instead of run, so the test decides when each one finishes.
class FairDispatcherTest : public ::testing::Test {
 protected:
  struct Started {
    std::string name;
    std::function<void()> job;
  };
  FairDispatcher dispatcher_{[this](std::function<void()> job) { started_.push_back({"", std::move(job)}); }, 4, 2};
  std::vector<Started> started_;
  const int pool_ = 0;
  std::vector<std::string> order_;

  void Submit(const std::string& tenant, const std::string& name) {
    dispatcher_.Submit(&pool_, tenant, [this, name] { order_.push_back(name); });
  }
  // Runs the i-th started job (records its name) and reports it done for `tenant`.
  void Finish(size_t i, const std::string& tenant) {
    started_[i].job();
    dispatcher_.Done(&pool_, tenant);
  }
};

TEST_F(FairDispatcherTest, ATenantHoldsAtMostItsShareAndWaitingTenantsTakeTurns) {
  for (int i = 0; i < 6; ++i) Submit("heavy", "h" + std::to_string(i));
  EXPECT_EQ(dispatcher_.running(&pool_), 2u);  // the share, though 4 connections are free
  EXPECT_EQ(dispatcher_.waiting(&pool_), 4u);
  Submit("light", "l0");
  Submit("other", "o0");
  EXPECT_EQ(dispatcher_.running(&pool_), 4u);  // the free connections go to the other tenants at once
  Submit("light", "l1");
  Submit("other", "o1");
  // One connection frees at a time: the waiting tenants are served in turn, not heavy's backlog first.
  Finish(0, "heavy");  // h0 done: heavy is under its share again, and its turn comes round
  Finish(2, "light");  // l0 done
  Finish(3, "other");  // o0 done
  ASSERT_EQ(started_.size(), 7u);
  std::vector<std::string> next;
  for (size_t i = 4; i < started_.size(); ++i) {
    started_[i].job();
    next.push_back(order_.back());
  }
  EXPECT_EQ(next, (std::vector<std::string>{"h2", "l1", "o1"}));
  EXPECT_EQ(dispatcher_.running(&pool_), 4u);
}

TEST_F(FairDispatcherTest, CallersWithoutATenantAreNotCappedAndIdleStateIsForgotten) {
  for (int i = 0; i < 5; ++i) Submit("", "a" + std::to_string(i));
  EXPECT_EQ(dispatcher_.running(&pool_), 4u);
  EXPECT_EQ(dispatcher_.waiting(&pool_), 1u);
  for (size_t i = 0; i < 5; ++i) Finish(i, "");
  EXPECT_EQ(order_.size(), 5u);
  EXPECT_EQ(dispatcher_.running(&pool_), 0u);
  EXPECT_EQ(dispatcher_.waiting(&pool_), 0u);
}

}  // namespace
}  // namespace dram::api
