#include "http/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace dram::http {
namespace {

std::string Gunzip(const std::string& compressed) {
  z_stream stream{};
  inflateInit2(&stream, 16 + MAX_WBITS);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out(1 << 20, '\0');
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = inflate(&stream, Z_FINISH);
  out.resize(out.size() - stream.avail_out);
  bool whole = status == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  return whole ? out : "<corrupt>";
}

TEST(GzipTest, SharedPrefixPlusTailIsOneValidMember) {
  std::string prefix;
  for (int i = 0; i < 5000; ++i) prefix += "{\"id\":" + std::to_string(i) + ",\"name\":\"row\"},";
  auto shared = std::make_shared<const SharedBytes>(prefix);
  for (const std::string& tail : {std::string(), std::string(",\"meta\":{\"request_id\":\"abc\"}}"), std::string(70000, 'z')}) {
    Response response;
    response.shared = shared;
    response.tail = tail;
    std::string zipped = GzipBody(response);
    EXPECT_EQ(Gunzip(zipped), prefix + tail);
    EXPECT_LT(zipped.size(), (prefix + tail).size() / 4);
  }
}

TEST(GzipTest, TailOnlyAndEmptyBodies) {
  Response response;
  response.tail = "hello";
  EXPECT_EQ(Gunzip(GzipBody(response)), "hello");
  response.tail.clear();
  EXPECT_EQ(Gunzip(GzipBody(response)), "");
}

}  // namespace
}  // namespace dram::http
