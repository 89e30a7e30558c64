// The security suite: the real binary with auth on (keys + JWT), over real HTTP on 127.0.0.1.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <regex>
#include <thread>

#include "testutil/http_client.h"
#include "testutil/jwt_signer.h"
#include "testutil/metrics_text.h"
#include "testutil/server_process.h"

namespace dram::testing {
namespace {

namespace json = boost::json;

std::string TenantOf(int row) { return "t" + std::to_string(row % 3); }  // t0, t1, t2

// Runs `dram keys create` and returns the printed token.
std::string CreateKey(const TempDir& project, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {DramBinary(), "keys", "create", project.path()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  CommandResult result = RunCommand(argv);
  std::smatch match;
  if (result.exit_code != 0 || !std::regex_search(result.output, match, std::regex("(dram_[0-9a-f]{12}_[A-Za-z0-9_-]+)"))) {
    ADD_FAILURE() << result.output;
    return "";
  }
  return match[1];
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    project_ = new TempDir();
    cache_ = new TempDir();
    signer_ = new JwtSigner();
    now_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string csv = "id,tenant_id,status,amount,day,secret_note\n";
    for (int row = 0; row < 300; ++row) {
      csv += std::to_string(row) + "," + TenantOf(row) + "," + (row % 2 ? "open" : "closed") + "," + std::to_string(row * 10) +
             ",2024-01-" + (row % 28 < 9 ? "0" : "") + std::to_string(1 + row % 28) + ",classified-" + std::to_string(row) + "\n";
    }
    project_->Write("data/orders.csv", csv);
    project_->Write("jwks.json", signer_->Jwks());
    project_->Write("dram.yml", R"(server:
  read_timeout: 1s
auth:
  mode: hybrid
  keys_file: keys.json
  jwt: {issuer: "https://issuer.test", audience: dram, jwks_file: jwks.json}
limits:
  query_timeout: 1s   # roomy enough for cold queries under TSan; the 504 test query runs for minutes
engine:
  threads: 1
  pool_size: 2
)");
    project_->Write("datasets/shop.yml", "name: shop\ntables:\n  orders: {path: data/orders.csv, key: [id]}\n");
    project_->Write("endpoints/orders.yml", R"(name: orders
dataset: shop
tenant_column: tenant_id
params:
  status: {type: string}
  min_amount: {type: integer}
  day: {type: date}
  ids: {type: list<integer>}
  open: {type: boolean}
  score: {type: number}
filters:
  - {column: status, op: eq, param: status}
  - {column: amount, op: gte, param: min_amount}
  - {column: day, op: eq, param: day}
  - {column: id, op: in, param: ids}
  - {column: amount, op: gte, param: score}
columns: [id, tenant_id, status, amount, day]
order_by: [id]
limit: {default: 1000, max: 1000}
)");
    project_->Write("endpoints/orders_sql.yml", R"(name: orders_sql
dataset: shop
tenant_column: tenant_id
params:
  status: {type: string, required: true}
sql: SELECT id, tenant_id, amount FROM orders WHERE status = {{status}} ORDER BY id
limit: {default: 1000, max: 1000}
)");
    project_->Write("endpoints/status_counts.yml", R"(name: status_counts
dataset: shop
public: true
group_by: [status]
select: [status, {agg: count, as: n}]
order_by: [status]
)");
    project_->Write("endpoints/slow.yml", R"(name: slow
dataset: shop
cache: false
params:
  n: {type: integer, required: true}
sql: SELECT count(*) AS c FROM range({{n}}) a(i), range(1000) b(j) WHERE hash(i + j) % 7 = 0
)");
    keys_["t0"] = CreateKey(*project_, {"--tenant", "t0", "--name", "tenant zero"});
    keys_["t1"] = CreateKey(*project_, {"--tenant", "t1"});
    keys_["orders_only"] = CreateKey(*project_, {"--tenant", "t2", "--endpoints", "orders"});
    keys_["limited"] = CreateKey(*project_, {"--tenant", "t2", "--quota", "60"});
    keys_["short"] = CreateKey(*project_, {"--tenant", "t1", "--expires", "2s"});
    keys_["to_revoke"] = CreateKey(*project_, {"--tenant", "t1"});
    server_ = ServerProcess::Start(project_->path(), cache_->path()).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete signer_;
    delete cache_;
    delete project_;
  }
  HttpResult Get(const std::string& target, const std::string& token) {
    if (token.empty()) return api_.Get(target);
    return api_.Get(target, {{"Authorization", "Bearer " + token}});
  }
  json::value Json(const std::string& target, const std::string& token) {
    HttpResult result = Get(target, token);
    EXPECT_EQ(result.status, 200) << target << " " << result.body;
    boost::system::error_code ec;
    json::value value = json::parse(result.body, ec);
    return ec ? json::value(json::object{{"data", json::array{}}}) : value;
  }
  std::string Jwt(const std::string& alg, const std::string& tenant, int64_t exp_offset = 600) {
    return signer_->Sign(alg, R"({"iss":"https://issuer.test","aud":"dram","sub":"u1","tenant":")" + tenant +
                                  R"(","endpoints":["orders*"],"exp":)" + std::to_string(now_ + exp_offset) + "}");
  }

  static TempDir* project_;
  static TempDir* cache_;
  static JwtSigner* signer_;
  static ServerProcess* server_;
  static std::map<std::string, std::string> keys_;
  static int64_t now_;
  HttpClient api_{"127.0.0.1", server_->api_port()};
};

TempDir* SecurityTest::project_ = nullptr;
TempDir* SecurityTest::cache_ = nullptr;
JwtSigner* SecurityTest::signer_ = nullptr;
ServerProcess* SecurityTest::server_ = nullptr;
std::map<std::string, std::string> SecurityTest::keys_;
int64_t SecurityTest::now_ = 0;

TEST_F(SecurityTest, MissingMalformedAndForgedCredentialsAre401) {
  const std::string good = keys_["t0"];
  std::vector<std::pair<std::string, std::string>> cases = {
      {"none", ""},
      {"malformed key", "dram_nothex"},
      {"wrong secret", good.substr(0, good.size() - 2) + (good.back() == 'A' ? "BB" : "AA")},
      {"unknown id", "dram_000000000000_" + good.substr(18)},
      {"jwt alg none", signer_->Unsigned(R"({"iss":"https://issuer.test","aud":"dram","tenant":"t0","endpoints":["*"],"exp":)" +
                                         std::to_string(now_ + 600) + "}")},
      {"jwt bad signature", Jwt("RS256", "t0").substr(0, Jwt("RS256", "t0").size() - 6) + "AAAAAA"},
      {"jwt expired", Jwt("ES256", "t0", -3600)},
      {"jwt wrong issuer", signer_->Sign("HS256", R"({"iss":"https://evil","aud":"dram","tenant":"t0","exp":)" + std::to_string(now_ + 60) + "}")},
      {"jwt wrong audience", signer_->Sign("HS256", R"({"iss":"https://issuer.test","aud":"x","tenant":"t0","exp":)" + std::to_string(now_ + 60) + "}")},
      {"jwt HS/RS confusion", signer_->SignHs256WithRsaPublicKey(R"({"iss":"https://issuer.test","aud":"dram","tenant":"t0","endpoints":["*"],"exp":)" +
                                                                 std::to_string(now_ + 600) + "}")},
  };
  for (const auto& [name, token] : cases) {
    for (const std::string& path : {std::string("/v1/orders"), std::string("/v1/does_not_exist")}) {
      HttpResult result = Get(path, token);
      EXPECT_EQ(result.status, 401) << name << " " << path;
      EXPECT_EQ(result.Header("www-authenticate"), "Bearer") << name;
      EXPECT_NE(result.body.find("\"unauthorized\""), std::string::npos);
      if (!token.empty()) {
        EXPECT_EQ(result.body.find(token), std::string::npos);
      }
    }
  }
  EXPECT_EQ(api_.Get("/v1/orders", {{"X-API-Key", good}}).status, 200);  // the key header works too
}

TEST_F(SecurityTest, EachJwtAlgorithmAuthenticates) {
  for (const char* alg : {"HS256", "RS256", "ES256"}) {
    HttpResult result = Get("/v1/orders?limit=1", Jwt(alg, "t1"));
    EXPECT_EQ(result.status, 200) << alg << result.body;
  }
}

TEST_F(SecurityTest, TenantsSeeOnlyTheirOwnRows) {
  struct Caller {
    std::string tenant;
    std::string token;
  };
  for (const Caller& caller : {Caller{"t0", keys_["t0"]}, Caller{"t1", keys_["t1"]}, Caller{"t2", Jwt("ES256", "t2")}}) {
    for (const std::string& path : {std::string("/v1/orders"), std::string("/v1/orders_sql?status=open")}) {
      HttpResult result = Get(path, caller.token);
      ASSERT_EQ(result.status, 200) << path << result.body;
      json::value body = json::parse(result.body);
      std::set<int64_t> ids;
      for (const auto& row : body.at("data").as_array()) {
        EXPECT_EQ(row.at("tenant_id").as_string(), caller.tenant) << path;
        int64_t id = row.at("id").as_int64();
        EXPECT_EQ(TenantOf(static_cast<int>(id)), caller.tenant);
        ids.insert(id);
      }
      std::set<int64_t> expected;
      for (int row = 0; row < 300; ++row) {
        bool status_ok = path.find("status=open") == std::string::npos || row % 2 == 1;
        if (TenantOf(row) == caller.tenant && status_ok) expected.insert(row);
      }
      EXPECT_EQ(ids, expected) << caller.tenant << " " << path;
    }
  }
  // Same params, different tenants: different cache entries and ETags.
  HttpResult a = Get("/v1/orders?status=open", keys_["t0"]);
  HttpResult b = Get("/v1/orders?status=open", keys_["t1"]);
  EXPECT_NE(a.Header("etag"), b.Header("etag"));
  EXPECT_NE(a.body.substr(0, 200), b.body.substr(0, 200));
  EXPECT_EQ(Get("/v1/orders?status=open", keys_["t1"]).Header("x-cache"), "hit");
}

TEST_F(SecurityTest, TenantSmugglingAndProjectionOutsideTheAllowlistAre422) {
  const std::string token = keys_["t0"];
  EXPECT_EQ(Get("/v1/orders?tenant_id=t1", token).status, 422);
  EXPECT_EQ(Get("/v1/orders?columns=id,secret_note", token).status, 422);
  HttpResult all = Get("/v1/orders", token);
  EXPECT_EQ(all.body.find("classified"), std::string::npos);
}

TEST_F(SecurityTest, ForbiddenLooksExactlyLikeMissing) {
  const std::string token = keys_["orders_only"];
  HttpResult forbidden = Get("/v1/orders_sql?status=open", token);
  HttpResult missing = Get("/v1/nothing_here", token);
  EXPECT_EQ(forbidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  auto strip_id = [](std::string body) { return std::regex_replace(body, std::regex("\"request_id\":\"[^\"]*\""), ""); };
  EXPECT_EQ(strip_id(forbidden.body), strip_id(missing.body));
  EXPECT_EQ(Get("/v1/orders", token).status, 200);
}

TEST_F(SecurityTest, InjectionInEveryParamTypeMatchesNothingAndChangesNothing) {
  const std::string token = keys_["t0"];
  const std::string injection = "1%27%20OR%20%271%27%3D%271";  // 1' OR '1'='1
  EXPECT_EQ(Json("/v1/orders?status=" + injection, token).at("data").as_array().size(), 0u);
  for (const char* param : {"min_amount", "day", "ids", "open", "score"}) {
    EXPECT_EQ(Get(std::string("/v1/orders?") + param + "=" + injection, token).status, 422) << param;
  }
  EXPECT_EQ(Json("/v1/orders_sql?status=open%27%3B%20DROP%20TABLE%20orders%3B--", token).at("data").as_array().size(), 0u);
  EXPECT_EQ(Json("/v1/orders", token).at("data").as_array().size(), 100u);  // table intact
}

TEST_F(SecurityTest, BoundsPathsAndAdminSeparation) {
  const std::string token = keys_["t0"];
  for (const char* target : {"/v1/orders?limit=0", "/v1/orders?limit=1001", "/v1/orders?offset=-5", "/v1/orders?limit=1e3"}) {
    EXPECT_EQ(Get(target, token).status, 422) << target;
  }
  for (const char* target : {"/v1/../v1/orders", "/v1/%2e%2e/orders", "/v1/orders/../../etc/passwd", "/metrics", "/status", "/v1/orders%00"}) {
    EXPECT_EQ(Get(target, token).status, 404) << target;
  }
}

TEST_F(SecurityTest, RateLimitGives429WithRetryAfter) {
  const std::string token = keys_["limited"];  // 60 per minute, burst 10
  int ok = 0;
  HttpResult limited;
  double refusal_seconds = 0;
  for (int i = 0; i < 30; ++i) {
    auto started = std::chrono::steady_clock::now();
    HttpResult result = Get("/v1/orders?limit=1", token);
    if (result.status == 200) {
      ++ok;
    } else {
      limited = result;
      refusal_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      break;
    }
  }
  EXPECT_GE(refusal_seconds, 0.045);  // refusals are paced, so a flood cannot spin the CPU
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_NE(limited.body.find("\"rate_limited\""), std::string::npos);
  EXPECT_EQ(Get("/v1/orders?limit=1", keys_["t1"]).status, 200);  // other keys unaffected
  // The refusal is counted by reason and by the key's tenant (dashboards and alerts read these).
  std::string metrics = HttpClient("127.0.0.1", server_->admin_port()).Get("/metrics").body;
  EXPECT_GE(SampleValue(metrics, "dram_refusals_total{reason=\"key_rate_limit\"}").value_or(0), 1) << metrics;
  EXPECT_GE(SampleValue(metrics, "dram_tenant_refusals_total{tenant=\"t2\"}").value_or(0), 1) << metrics;
}

TEST_F(SecurityTest, SlowQueriesAreInterruptedAt504) {
  auto started = std::chrono::steady_clock::now();
  HttpResult result = Get("/v1/slow?n=100000000", keys_["t0"]);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(result.status, 504) << result.body;
  EXPECT_NE(result.body.find("\"timeout\""), std::string::npos);
  EXPECT_LT(seconds, 5.0);
  EXPECT_EQ(Get("/v1/slow?n=10", keys_["t0"]).status, 200);  // the connection serves the next query
}

TEST_F(SecurityTest, RevokedAndExpiredKeysStopWorkingWithoutRestart) {
  const std::string revoked = keys_["to_revoke"];
  ASSERT_EQ(Get("/v1/orders?limit=1", revoked).status, 200);
  std::string id = revoked.substr(5, 12);
  CommandResult revoke = RunCommand({DramBinary(), "keys", "revoke", project_->path(), id});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  int status = 200;
  for (int i = 0; i < 50 && status == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Get("/v1/orders?limit=1", revoked).status;
  }
  EXPECT_EQ(status, 401);
  // The short key was created with a 2 s lifetime at suite start.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(Get("/v1/orders?limit=1", keys_["short"]).status, 401);
}

TEST_F(SecurityTest, SlowClientsAreCutOff) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server_->api_port()));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  std::string partial = "GET /v1/orders HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_GT(::send(fd, partial.data(), partial.size(), 0), 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  auto started = std::chrono::steady_clock::now();
  char buffer[256];
  ssize_t received = ::recv(fd, buffer, sizeof(buffer), 0);  // 0 = closed by the server
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ::close(fd);
  EXPECT_LE(received, 0);
  EXPECT_LT(seconds, 4.0);  // read_timeout is 1 s
}

// Sends `raw` on a new connection and returns everything the server answers until it closes.
std::string Exchange(int port, const std::string& raw) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return "connect failed";
  ::send(fd, raw.data(), raw.size(), 0);
  timeval timeout{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return answer;
}

size_t CountResponses(const std::string& answer) {
  size_t count = 0;
  for (size_t at = answer.find("HTTP/1.1 "); at != std::string::npos; at = answer.find("HTTP/1.1 ", at + 1)) ++count;
  return count;
}

// Behind a proxy, a body the proxy forwards must never be read by dram as a second request.
TEST_F(SecurityTest, NoRequestSmuggling) {
  const std::string hidden = "GET /v1/orders?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + keys_["t0"] + "\r\n\r\n";
  for (const char* encoding : {"gzip", "xchunked", "chunked, identity", "identity", " chunked2", "gzip, chunked, gzip"}) {
    std::string raw = std::string("POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + encoding + "\r\n\r\n" + hidden;
    std::string answer = Exchange(server_->api_port(), raw);
    EXPECT_EQ(CountResponses(answer), 1u) << encoding << "\n" << answer;
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << encoding << "\n" << answer;
  }
  std::string doubled = "POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n" + hidden;
  EXPECT_EQ(CountResponses(Exchange(server_->api_port(), doubled)), 1u);
  std::string no_host = "GET /v1/orders HTTP/1.1\r\nAuthorization: Bearer " + keys_["t0"] + "\r\n\r\n";
  EXPECT_EQ(Exchange(server_->api_port(), no_host).rfind("HTTP/1.1 400", 0), 0u);
  std::string two_hosts = "GET /v1/orders HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Bearer " + keys_["t0"] + "\r\n\r\n";
  EXPECT_EQ(Exchange(server_->api_port(), two_hosts).rfind("HTTP/1.1 400", 0), 0u);
  // Plain chunked bodies and keep-alive still work: two requests, two answers.
  std::string fine = "GET /v1/orders?limit=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer " + keys_["t0"] +
                     "\r\n\r\n0\r\n\r\n" + "GET /v1/orders?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                     keys_["t0"] + "\r\n\r\n";
  std::string both = Exchange(server_->api_port(), fine);
  EXPECT_EQ(CountResponses(both), 2u) << both;
  EXPECT_EQ(both.rfind("HTTP/1.1 200", 0), 0u) << both;
}

// No token shape escapes the rate limits: without `sub`, with a non-string tenant claim, or with a
// subject equal to an API key's id.
TEST_F(SecurityTest, NoJwtDodgesTheRateLimits) {
  TempDir project, cache;
  project.Write("data/orders.csv", "id,tenant_id\n1,t0\n2,t1\n");
  project.Write("jwks.json", signer_->Jwks());
  project.Write("dram.yml", R"(auth:
  mode: jwt
  jwt: {issuer: "https://issuer.test", audience: dram, jwks_file: jwks.json}
limits:
  requests_per_minute_per_key: 60
  requests_per_minute_per_tenant: 600
  burst: 5
)");
  project.Write("datasets/shop.yml", "name: shop\ntables:\n  orders: {path: data/orders.csv}\n");
  project.Write("endpoints/orders.yml", "name: orders\ndataset: shop\ntenant_column: tenant_id\ncolumns: [id]\n");
  project.Write("endpoints/all_ids.yml", "name: all_ids\ndataset: shop\ncolumns: [id]\n");
  auto server = ServerProcess::Start(project.path(), cache.path());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port());
  auto claims = [&](const std::string& fields) {
    return R"({"iss":"https://issuer.test","aud":"dram","endpoints":["*"],"exp":)" + std::to_string(now_ + 600) + fields + "}";
  };
  auto limited_within = [&](const std::string& token, const std::string& path) {
    for (int i = 0; i < 20; ++i) {
      int status = api.Get(path, {{"Authorization", "Bearer " + token}}).status;
      if (status == 429) return true;
      if (status != 200) ADD_FAILURE() << path << " answered " << status;
    }
    return false;
  };
  EXPECT_TRUE(limited_within(signer_->Sign("ES256", claims(R"(,"tenant":"t0")")), "/v1/orders")) << "no sub";
  EXPECT_TRUE(limited_within(signer_->Sign("ES256", claims(R"(,"sub":"a")")), "/v1/all_ids")) << "no tenant";
  for (const char* tenant : {R"(,"sub":"b","tenant":["t0","t1"])", R"(,"sub":"c","tenant":5)", R"(,"sub":"d","tenant":null)"}) {
    EXPECT_EQ(api.Get("/v1/all_ids", {{"Authorization", "Bearer " + signer_->Sign("ES256", claims(tenant))}}).status, 401) << tenant;
  }
}

// A flood of unauthenticated requests cannot flood the log: one audit line per second per source
// and reason, whose counts add up to every refusal.
TEST_F(SecurityTest, AuditLinesOfRefusalsAreAggregated) {
  TempDir cache;
  auto server = ServerProcess::Start(project_->path(), cache.path());
  ASSERT_TRUE(server);
  HttpClient api("127.0.0.1", server->api_port());
  constexpr int kFlood = 600;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kFlood; ++i) EXPECT_EQ(api.Get("/v1/orders", {{"X-API-Key", "dram_000000000000_nope"}}).status, 401);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(api.Get("/v1/orders", {{"X-API-Key", "dram_000000000000_nope"}}).status, 401);  // flushes the last window
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string log = server->log();
  int lines = 0;
  int64_t counted = 0;
  std::regex count_field(R"("count":(\d+))");
  size_t at = 0;
  while ((at = log.find("\"event\":\"auth_failure\"", at)) != std::string::npos) {
    size_t end = log.find('\n', at);
    std::string line = log.substr(at, end - at);
    std::smatch match;
    counted += std::regex_search(line, match, count_field) ? std::stoll(match[1]) : 1;
    ++lines;
    at = end;
  }
  EXPECT_EQ(counted, kFlood + 1) << log.substr(0, 2000);
  EXPECT_LE(lines, static_cast<int>(seconds) + 4) << "lines for " << kFlood + 1 << " refusals in " << seconds << " s";
}

// `public: true` serves an endpoint without credentials in any auth mode; credentials that are
// sent must still be good; nothing else opens up.
TEST_F(SecurityTest, PublicEndpointsNeedNoCredentialsAndOpenNothingElse) {
  HttpResult open = api_.Get("/v1/status_counts");
  EXPECT_EQ(open.status, 200) << open.body;
  EXPECT_NE(open.body.find("\"n\":150"), std::string::npos) << open.body;
  EXPECT_EQ(api_.Get("/v1/status_counts", {{"X-API-Key", "dram_000000000000_nope"}}).status, 401);
  EXPECT_EQ(Get("/v1/status_counts", keys_["t0"]).status, 200);
  EXPECT_EQ(api_.Get("/v1/orders").status, 401);
  EXPECT_EQ(api_.Get("/v1/nope").status, 401);
  HttpResult preflight = api_.Request("OPTIONS", "/v1/status_counts", {{"Origin", "https://dashboard.example"},
                                                                        {"Access-Control-Request-Headers", "x-api-key"}});
  EXPECT_NE(preflight.Header("access-control-allow-headers").find("X-API-Key"), std::string::npos);
  // A public endpoint cannot be tenant-scoped.
  TempDir project;
  project.Write("data/t.csv", "id,tenant_id\n1,a\n");
  project.Write("dram.yml", "auth: {mode: keys, keys_file: keys.json}\n");
  project.Write("datasets/d.yml", "name: d\ntables:\n  t: {path: data/t.csv}\n");
  project.Write("endpoints/e.yml", "name: e\ndataset: d\ntenant_column: tenant_id\npublic: true\n");
  CommandResult validated = RunCommand({DramBinary(), "validate", project.path()});
  EXPECT_EQ(validated.exit_code, 1);
  EXPECT_NE(validated.output.find("e.yml:4:9: a public endpoint cannot be tenant-scoped"), std::string::npos) << validated.output;
}

// One tenant cannot hold every pooled connection: with a pool of 2 it holds at most 1, and another
// tenant's query starts at once instead of behind the first tenant's backlog.
TEST_F(SecurityTest, ATenantCannotHoldThePool) {
  TempDir project, cache;
  project.Write("data/t.csv", "id\n1\n");
  project.Write("dram.yml", "auth: {mode: keys, keys_file: keys.json}\nengine: {threads: 1, pool_size: 2}\n"
                            "limits: {query_timeout: 60s, max_in_flight_per_tenant: 16}\n");
  project.Write("datasets/d.yml", "name: d\ntables:\n  t: {path: data/t.csv}\n");
  project.Write("endpoints/spin.yml", R"(name: spin
dataset: d
cache: false
params:
  n: {type: integer, required: true}
sql: SELECT count(*) AS c FROM range({{n}}) a(i), range(1000) b(j) WHERE hash(i + j) % 7 = 0
)");
  const std::string heavy = CreateKey(project, {"--tenant", "heavy"});
  const std::string light = CreateKey(project, {"--tenant", "light"});
  auto server = ServerProcess::Start(project.path(), cache.path());
  ASSERT_TRUE(server);
  // Calibrate a query of about 400 ms on this machine and build, warm (a cold first query can be
  // slow for reasons of its own, which would leave the heavy queries short).
  auto timed = [&](int64_t size) {
    HttpClient client("127.0.0.1", server->api_port());
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(client.Get("/v1/spin?n=" + std::to_string(size), {{"X-API-Key", heavy}}).status, 200);
    return std::chrono::steady_clock::now() - started;
  };
  timed(1000);
  int64_t n = 2000;
  for (int i = 0; i < 16 && timed(n) < std::chrono::milliseconds(400); ++i) n *= 2;
  std::mutex mu;
  std::vector<std::string> finished;  // in completion order
  auto call = [&](const std::string& who, const std::string& key, int64_t size) {
    HttpClient client("127.0.0.1", server->api_port());
    HttpResult result = client.Get("/v1/spin?n=" + std::to_string(size), {{"X-API-Key", key}});
    std::lock_guard lock(mu);
    finished.push_back(result.status == 200 ? who : who + " failed " + std::to_string(result.status));
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) threads.emplace_back(call, "heavy", heavy, n);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  threads.emplace_back(call, "light", light, n);
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(finished.size(), 7u);
  size_t light_at = std::find(finished.begin(), finished.end(), "light") - finished.begin();
  EXPECT_LE(light_at, 2u) << "light finished " << light_at + 1 << "th of 7";
}

// Admin SQL (with the token) cannot reach the host: no file read or written outside the data, no
// database attached, no setting changed, no extension fetched or loaded. Each is refused with a
// clear error, and the server is unchanged after.
TEST_F(SecurityTest, AdminSqlCannotTouchTheHost) {
  TempDir cache;
  const std::string token = "admin-sql-token-0123456789abcdef";
  auto server = ServerProcess::Start(project_->path(), cache.path(), {{"DRAM_ADMIN_TOKEN", token}});
  ASSERT_TRUE(server);
  HttpClient admin("127.0.0.1", server->admin_port());
  auto sql = [&](const std::string& text) {
    json::object body{{"database", "shop"}, {"format", "csv"}, {"sql", text}};
    return admin.Request("POST", "/query", {{"Authorization", "Bearer " + token}}, json::serialize(body));
  };
  const std::string written = cache.path() + "/written.csv";
  const std::string attached = cache.path() + "/attached.duckdb";
  const std::string attacks[] = {
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_text('" + project_->path() + "/keys.json')",
      "SELECT * FROM glob('/etc/*')",
      "COPY (SELECT * FROM orders) TO '" + written + "'",
      "ATTACH '" + attached + "' AS side (READ_WRITE)",
      "SET GLOBAL memory_limit = '1MB'",
      "SET enable_external_access = true",
      "INSTALL httpfs FROM 'http://127.0.0.1:9/'",
      "LOAD httpfs",
  };
  for (const auto& attack : attacks) {
    HttpResult refused = sql(attack);
    EXPECT_TRUE(refused.status == 403 || refused.status == 422) << attack << " → " << refused.status << " " << refused.body;
    EXPECT_EQ(refused.body.find("root:"), std::string::npos) << attack;
    EXPECT_EQ(refused.body.find("dram_"), std::string::npos) << attack;  // no key hash or token from keys.json
  }
  EXPECT_FALSE(std::filesystem::exists(written));
  EXPECT_FALSE(std::filesystem::exists(attached));
  HttpResult limit = sql("SELECT current_setting('memory_limit') <> '1.0 MiB' AS unchanged");
  EXPECT_EQ(limit.status, 200) << limit.body;
  EXPECT_NE(limit.body.find("true"), std::string::npos) << limit.body;
  HttpResult count = sql("SELECT count(*) AS n FROM orders");
  EXPECT_NE(count.body.find("300"), std::string::npos) << count.body;
}

// The admin port is closed to browsers and, with a token, to everyone without it; without a token
// it only ever listens on loopback.
TEST_F(SecurityTest, AdminPortIsClosedToBrowsersAndStrangers) {
  TempDir cache;
  const std::string token = "admin-port-token-0123456789abcdef";
  auto server = ServerProcess::Start(project_->path(), cache.path(), {{"DRAM_ADMIN_TOKEN", token}});
  ASSERT_TRUE(server);
  HttpClient stranger("127.0.0.1", server->admin_port());
  HttpClient operator_client("127.0.0.1", server->admin_port(), token);
  for (const char* route : {"/status", "/metrics", "/openapi.json", "/schema"}) {
    EXPECT_EQ(stranger.Get(route).status, 401) << route;
    EXPECT_EQ(operator_client.Get(route).status, 200) << route;
  }
  EXPECT_EQ(stranger.Get("/live").status, 200);
  EXPECT_EQ(stranger.Get("/ready").status, 200);
  // A page in the operator's browser (which holds no token, but might reach the port): refused,
  // whatever it sends, and never given CORS headers.
  json::object body{{"database", "shop"}, {"sql", "SELECT 1"}};
  for (const auto& client : {&stranger, &operator_client}) {
    HttpResult posted = client->Request("POST", "/query", {{"Origin", "https://evil.example"}, {"Content-Type", "text/plain"}},
                                        json::serialize(body));
    EXPECT_EQ(posted.status, 403) << posted.body;
    EXPECT_EQ(posted.Header("access-control-allow-origin"), "");
  }
  HttpResult preflight = stranger.Request("OPTIONS", "/query", {{"Origin", "https://evil.example"},
                                                                {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "");
  EXPECT_EQ(operator_client.Request("POST", "/query", {}, json::serialize(body)).status, 200);

  // Public reads for a scraper, when asked for.
  TempDir scrape_project;
  scrape_project.Write("dram.yml", "admin: {public_read: true}\n");
  scrape_project.Write("data/t.csv", "a\n1\n");
  scrape_project.Write("datasets/d.yml", "name: d\ntables:\n  t: {path: data/t.csv}\n");
  auto scraped = ServerProcess::Start(scrape_project.path(), cache.path() + "/scrape", {{"DRAM_ADMIN_TOKEN", token}});
  ASSERT_TRUE(scraped);
  HttpClient scraper("127.0.0.1", scraped->admin_port());
  EXPECT_EQ(scraper.Get("/metrics").status, 200);
  EXPECT_EQ(scraper.Request("POST", "/query", {}, R"({"database":"d","sql":"SELECT 1"})").status, 401);

  // No token and a non-loopback admin address: the server refuses to start, saying why.
  TempDir open_project;
  open_project.Write("dram.yml", "server: {admin_listen: 0.0.0.0:0}\n");
  open_project.Write("data/t.csv", "a\n1\n");
  open_project.Write("datasets/d.yml", "name: d\ntables:\n  t: {path: data/t.csv}\n");
  CommandResult refused = RunCommand({"/usr/bin/timeout", "20", DramBinary(), "serve", open_project.path(), "--listen", "127.0.0.1:0",
                                      "--cache-dir", cache.path() + "/open"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("without an admin token"), std::string::npos) << refused.output;
}

TEST_F(SecurityTest, ZNoSecretInLogsMetricsOrStatus) {
  Get("/v1/orders", keys_["t0"]);
  Get("/v1/orders", "dram_ffffffffffff_notarealsecretvalue");
  HttpClient admin("127.0.0.1", server_->admin_port());
  std::string everything = server_->log() + admin.Get("/metrics").body + admin.Get("/status").body +
                           admin.Get("/openapi.json").body;
  for (const auto& [name, token] : keys_) {
    EXPECT_EQ(everything.find(token.substr(18)), std::string::npos) << name;  // the secret part
  }
  EXPECT_EQ(everything.find("notarealsecretvalue"), std::string::npos);
  EXPECT_EQ(everything.find(Jwt("RS256", "t0").substr(0, 40)), std::string::npos);
  EXPECT_NE(server_->log().find("\"event\":\"auth_failure\""), std::string::npos);  // but the failure is audited
}

}  // namespace
}  // namespace dram::testing
