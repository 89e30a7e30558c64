#include "http/gzip.h"

#include <zlib.h>

#include <cstring>

namespace dram::http {

namespace {

// Level 6 is zlib's default; responses are compressed once per cache fill for the shared part,
// so the better ratio is worth it there. Tails are tiny.
constexpr int kLevel = 6;

// Raw-deflates `input` appending to `out`; `flush` is Z_SYNC_FLUSH (stream continues) or Z_FINISH.
void Deflate(std::string_view input, int flush, std::string& out) {
  z_stream stream{};
  deflateInit2(&stream, kLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  size_t start = out.size();
  out.resize(start + deflateBound(&stream, input.size()) + 16);
  stream.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  stream.avail_out = static_cast<uInt>(out.size() - start);
  deflate(&stream, flush);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
}

void AppendLittleEndian32(std::string& out, uLong value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

const SharedBytes::Deflated& SharedBytes::deflated() const {
  std::call_once(deflate_once_, [this] {
    Deflate(bytes_, Z_SYNC_FLUSH, deflated_.data);
    deflated_.crc = crc32(0, reinterpret_cast<const Bytef*>(bytes_.data()), static_cast<uInt>(bytes_.size()));
  });
  return deflated_;
}

std::string GzipBody(const Response& response) {
  static constexpr char kHeader[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
  std::string out(kHeader, sizeof(kHeader));
  uLong crc = crc32(0, nullptr, 0);
  size_t total = 0;
  if (response.shared) {
    const auto& deflated = response.shared->deflated();
    out += deflated.data;
    crc = deflated.crc;
    total += response.shared->bytes().size();
  }
  // A new deflate stream for the tail: its blocks never refer back into the shared part, so the
  // concatenation is one valid deflate stream ending with the tail's final block.
  Deflate(response.tail, Z_FINISH, out);
  uLong tail_crc = crc32(0, reinterpret_cast<const Bytef*>(response.tail.data()), static_cast<uInt>(response.tail.size()));
  crc = crc32_combine(crc, tail_crc, static_cast<z_off_t>(response.tail.size()));
  total += response.tail.size();
  AppendLittleEndian32(out, crc);
  AppendLittleEndian32(out, static_cast<uLong>(total));
  return out;
}

}  // namespace dram::http
