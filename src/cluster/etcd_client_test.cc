#include "cluster/etcd_client.h"

#include <gtest/gtest.h>

namespace dram::cluster {
namespace {

TEST(EtcdEndpointsTest, ParsesAndNormalizesAList) {
  auto parsed = ParseEtcdEndpoints(" http://127.0.0.1:2379, http://etcd-2.local:22379/ ,https://[::1]:2379");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, (std::vector<std::string>{"http://127.0.0.1:2379", "http://etcd-2.local:22379", "https://[::1]:2379"}));
}

TEST(EtcdEndpointsTest, RejectsMalformedEntriesByName) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "no etcd endpoints"},
      {"  ", "no etcd endpoints"},
      {"127.0.0.1:2379", "127.0.0.1:2379"},
      {"http://127.0.0.1", "http://127.0.0.1"},
      {"http://127.0.0.1:", "http://127.0.0.1:"},
      {"http://127.0.0.1:0", "http://127.0.0.1:0"},
      {"http://127.0.0.1:65536", "http://127.0.0.1:65536"},
      {"http://127.0.0.1:23x9", "http://127.0.0.1:23x9"},
      {"http://:2379", "http://:2379"},
      {"http://h_st:2379", "http://h_st:2379"},
      {"http://127.0.0.1:2379/v3", "http://127.0.0.1:2379/v3"},
      {"ftp://127.0.0.1:2379", "ftp://127.0.0.1:2379"},
      {"http://127.0.0.1:2379,,http://127.0.0.1:2380", "empty etcd endpoint"},
      {"http://127.0.0.1:2379,", "empty etcd endpoint"},
      {"http://127.0.0.1:2379,http//127.0.0.2:2379", "http//127.0.0.2:2379"},
  };
  for (const auto& [list, named] : cases) {
    auto parsed = ParseEtcdEndpoints(list);
    ASSERT_FALSE(parsed.ok()) << list;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << list;
    EXPECT_NE(parsed.status().message().find(named), std::string::npos) << parsed.status().message();
  }
}

TEST(EtcdEndpointsTest, RefusesCredentialsWithoutEchoingThem) {
  for (const char* list : {"http://root:hunter2@127.0.0.1:2379", "ftp://root:hunter2@127.0.0.1:2379",
                           "http://root:hunter2@127.0.0.1:2379,,http://127.0.0.1:2379"}) {
    auto parsed = ParseEtcdEndpoints(list);
    ASSERT_FALSE(parsed.ok()) << list;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().find("hunter2"), std::string::npos) << parsed.status().message();
  }
}

TEST(EtcdEndpointsTest, CreateRefusesAMalformedListAndBadTimeouts) {
  auto client = EtcdClient::Create("http://127.0.0.1:2379,localhost");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("localhost"), std::string::npos);
  EXPECT_FALSE(EtcdClient::Create("http://127.0.0.1:2379", {.call_timeout = std::chrono::milliseconds(0)}).ok());
}

TEST(EtcdKeyRangeTest, PrefixEndsAfterTheLastKeyWithThePrefix) {
  const std::pair<std::string, std::string> cases[] = {
      {"a", "b"},
      {"/dram/nodes/", "/dram/nodes0"},
      {std::string("a\xff", 2), "b"},
      {std::string("a\x01\xff\xff", 4), std::string("a\x02", 2)},
      {std::string("\xff\xff", 2), std::string(1, '\0')},
      {"", std::string(1, '\0')},
  };
  for (const auto& [prefix, end] : cases) {
    EXPECT_EQ(EtcdKeyRange::Prefix(prefix).range_end, end) << prefix;
  }
  EXPECT_EQ(EtcdKeyRange::Prefix("").key, std::string(1, '\0'));
  EXPECT_EQ(EtcdKeyRange::Single("k").range_end, "");
}

}  // namespace
}  // namespace dram::cluster
