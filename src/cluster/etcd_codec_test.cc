// The JSON gateway's messages, as etcd 3.4.23 wrote them (captured with curl).

#include "cluster/internal/etcd_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace dram::cluster::internal {
namespace {

constexpr const char* kHeader = R"("header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"4","raft_term":"2"})";

std::string WithHeader(const std::string& rest) { return "{" + std::string(kHeader) + rest + "}"; }

TEST(EtcdCodecTest, RangeReadsKeyValuesAndOmittedFields) {
  auto parsed = ParseRangeResponse(WithHeader(
      R"(,"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmFy","lease":"77"},)"
      R"({"key":"Zm9vMQ==","create_revision":"3","mod_revision":"3","version":"1"}],"count":"2")"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->revision, 4);
  ASSERT_EQ(parsed->kvs.size(), 2u);
  EXPECT_EQ(parsed->kvs[0], (EtcdKeyValue{"foo", "bar", 2, 3, 2, 77}));
  EXPECT_EQ(parsed->kvs[1], (EtcdKeyValue{"foo1", "", 3, 3, 1, 0}));  // an empty value is omitted

  auto empty = ParseRangeResponse(WithHeader(""));  // nothing found: no "kvs", no "count"
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_EQ(empty->revision, 4);
}

TEST(EtcdCodecTest, MalformedRepliesAreInternalErrorsThatDoNotEchoThem) {
  for (const char* body : {"", "not json", "[]", R"({"header":{"revision":"x"}})", R"({"kvs":[{"key":"!!"}]})",
                           R"({"kvs":{"key":"Zm9v"}})", R"({"kvs":[{"key":"Zm9v","version":true}]})"}) {
    auto parsed = ParseRangeResponse(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInternal) << body;
    if (std::string_view(body).size() > 3) {
      EXPECT_EQ(parsed.status().message().find(body), std::string::npos);
    }
  }
}

TEST(EtcdCodecTest, TxnReadsSucceededAndBranchResults) {
  auto won = ParseTxnResponse(WithHeader(
      R"(,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"5"}}},)"
      R"({"response_delete_range":{"header":{"revision":"5"},"deleted":"2"}}])"));
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_TRUE(won->succeeded);
  ASSERT_EQ(won->results.size(), 2u);
  EXPECT_EQ(won->results[1].deleted, 2);

  auto lost = ParseTxnResponse(WithHeader(  // a failed txn has no "succeeded"
      R"(,"responses":[{"response_range":{"header":{"revision":"5"},"kvs":[{"key":"Zm9v","create_revision":"5","mod_revision":"5","version":"1","value":"eA=="}],"count":"1"}}])"));
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_FALSE(lost->succeeded);
  EXPECT_EQ(lost->revision, 4);
  ASSERT_EQ(lost->results.size(), 1u);
  ASSERT_EQ(lost->results[0].kvs.size(), 1u);
  EXPECT_EQ(lost->results[0].kvs[0].value, "x");
}

TEST(EtcdCodecTest, LeasesAndTheirExpiry) {
  auto granted = ParseGrantResponse(WithHeader(R"(,"ID":"7587869263651370762","TTL":"10")"));
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(*granted, 7587869263651370762);

  auto alive = ParseKeepAliveResponse(R"({"result":{)" + std::string(kHeader) + R"(,"ID":"12345","TTL":"9"}})", 12345);
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 9);
  // An expired lease's keepalive carries no TTL.
  auto expired = ParseKeepAliveResponse(R"({"result":{)" + std::string(kHeader) + R"(,"ID":"12345"}})", 12345);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kNotFound);
}

TEST(EtcdCodecTest, ErrorRepliesKeepTheGrpcCode) {
  Status not_found = StatusOfErrorReply(
      404, R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
  EXPECT_EQ(not_found.code(), StatusCode::kNotFound);
  EXPECT_EQ(not_found.message(), "etcd: etcdserver: requested lease not found");
  Status no_leader = StatusOfErrorReply(503, R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})");
  EXPECT_EQ(no_leader.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(SaysNoLeader(no_leader));
  EXPECT_FALSE(SaysNoLeader(not_found));
  EXPECT_EQ(StatusOfErrorReply(502, "<html>bad gateway</html>").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusOfErrorReply(400, "").code(), StatusCode::kInvalidArgument);
}

TEST(EtcdCodecTest, WatchStreamMessages) {
  struct Case {
    std::string line;
    WatchMessage::Kind kind;
    int64_t header_revision;
  };
  const Case cases[] = {
      {R"({"result":{)" + std::string(kHeader) + R"(,"created":true}})", WatchMessage::Kind::kCreated, 4},
      {R"({"result":{)" + std::string(kHeader) + R"(}})", WatchMessage::Kind::kProgress, 4},
      {R"({"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"canceled":true,"compact_revision":"4"}})",
       WatchMessage::Kind::kCanceled, 0},
      {R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})",
       WatchMessage::Kind::kError, 0},
  };
  for (const Case& c : cases) {
    auto parsed = ParseWatchMessage(c.line);
    ASSERT_TRUE(parsed.ok()) << c.line << " " << parsed.status().ToString();
    EXPECT_EQ(parsed->kind, c.kind) << c.line;
    EXPECT_EQ(parsed->header_revision, c.header_revision) << c.line;
  }
  auto compacted = ParseWatchMessage(cases[2].line);
  EXPECT_EQ(compacted->compact_revision, 4);
  auto error = ParseWatchMessage(cases[3].line);
  EXPECT_EQ(error->error.code(), StatusCode::kUnavailable);

  // A put event has no "type"; a delete event's kv has only the key and the delete's revision.
  auto events = ParseWatchMessage(R"({"result":{)" + std::string(kHeader) +
                                  R"(,"events":[{"kv":{"key":"Zm9vMQ==","create_revision":"3","mod_revision":"3","version":"1"}},)"
                                  R"({"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"4"}}]}})");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ(events->kind, WatchMessage::Kind::kEvents);
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0], (EtcdEvent{EtcdEvent::Type::kPut, {"foo1", "", 3, 3, 1, 0}}));
  EXPECT_EQ(events->events[1], (EtcdEvent{EtcdEvent::Type::kDelete, {"foo", "", 0, 4, 0, 0}}));
  EXPECT_FALSE(ParseWatchMessage(R"({"result":{"events":[{"type":"BOGUS"}]}})").ok());
}

TEST(EtcdCodecTest, RequestsCarryBase64AndStringIntegers) {
  auto parse = [](const std::string& text) { return boost::json::parse(text).as_object(); };
  auto put = parse(PutRequest(std::string("\0\xff", 2), "", 42));
  EXPECT_EQ(put["key"].as_string(), "AP8=");
  EXPECT_EQ(put["value"].as_string(), "");
  EXPECT_EQ(put["lease"].as_string(), "42");
  EXPECT_FALSE(parse(PutRequest("k", "v", 0)).contains("lease"));

  auto txn = parse(TxnRequest({EtcdCompare::CreateRevisionEquals("k", 0)}, {EtcdOp::Put("k", "v")},
                              {EtcdOp::Range(EtcdKeyRange::Single("k"))}));
  auto compare = txn["compare"].as_array().at(0).as_object();
  EXPECT_EQ(compare["target"].as_string(), "CREATE");
  EXPECT_EQ(compare["result"].as_string(), "EQUAL");
  EXPECT_EQ(compare["create_revision"].as_string(), "0");
  EXPECT_TRUE(txn["success"].as_array().at(0).as_object().contains("request_put"));
  EXPECT_TRUE(txn["failure"].as_array().at(0).as_object().contains("request_range"));

  auto watch = parse(WatchCreateRequest(EtcdKeyRange::Prefix("a"), 7)).at("create_request").as_object();
  EXPECT_EQ(watch["key"].as_string(), "YQ==");
  EXPECT_EQ(watch["range_end"].as_string(), "Yg==");
  EXPECT_EQ(watch["start_revision"].as_string(), "7");
  EXPECT_EQ(watch["progress_notify"].as_bool(), true);
  EXPECT_EQ(parse(RangeRequest(EtcdKeyRange::Single("a"), true))["serializable"].as_bool(), true);
}

}  // namespace
}  // namespace dram::cluster::internal
